"""Sentences carry exact offsets; chunks are sentence-aligned windows that cover every sentence."""

from __future__ import annotations

import pytest
from newsdesk.ingest.chunk import make_chunks
from newsdesk.ingest.sentences import split_sentences

TEXTS = {
    "news": (
        "The U.S. Coast Guard rescued 14 people on Sunday. Mr. Alvarez, 62, said the boat hit a rock at 5 p.m. "
        "near St. Ives. \"We were lucky,\" he said. Officials will review the route?! Nobody knows yet."
    ),
    "ptb": (
        "The mayor -LRB- who took office in 2019 -RRB- said the plan is n't finished .  `` We 're close , '' "
        "she said .\nThe council votes Tuesday ."
    ),
    "paragraphs": "First paragraph, one sentence.\n\n\n   Second paragraph starts here.  It has two.\r\n\tA tabbed line\n",
    "unicode": (
        "Caf\u00e9 owners in K\u00f6ln met on Friday.\u00a0They agreed.  Prices rise \u2014 again \u2014 in May. "
        "\u00dcber alles."
    ),
    "one": "Just one sentence without a full stop",
    "headline": "# Big headline\n\nBody sentence one. Body sentence two.\n- a bullet item\n- another item",
}


@pytest.mark.parametrize("name", TEXTS)
def test_every_sentence_is_its_exact_slice(name: str) -> None:
    text = TEXTS[name]
    sentences = split_sentences("a1", text)
    assert sentences
    for i, s in enumerate(sentences):
        assert text[s.start : s.end] == s.text
        assert s.index == i and s.article_id == "a1"
        assert s.text == s.text.strip() and s.text  # trimmed, never empty
        assert "\n" not in s.text  # a line break always ends a sentence
    starts = [s.start for s in sentences]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(sentences, sentences[1:], strict=False))  # no overlaps


def test_splitting_keeps_abbreviations_and_every_word() -> None:
    text = TEXTS["news"]
    got = [s.text for s in split_sentences("a", text)]
    assert got[0] == "The U.S. Coast Guard rescued 14 people on Sunday."
    assert got[1] == "Mr. Alvarez, 62, said the boat hit a rock at 5 p.m. near St. Ives."
    assert len(got) == 5
    # Nothing but whitespace is left out between sentences.
    assert "".join(text.split()) == "".join("".join(got).split())


def test_ptb_tokens_are_not_rewritten() -> None:
    got = [s.text for s in split_sentences("a", TEXTS["ptb"])]
    assert got[0].startswith("The mayor -LRB- who took office in 2019 -RRB- said the plan is n't finished")
    assert any("`` We 're close , ''" in s for s in got)
    assert got[-1] == "The council votes Tuesday ."


def test_blank_text_has_no_sentences() -> None:
    assert split_sentences("a", "  \n\t \n") == ()
    assert make_chunks("", (), 3, 1) == ()


LONG = " ".join(f"Sentence number {i} talks about topic {i % 4}." for i in range(23))


@pytest.mark.parametrize(("size", "overlap"), [(1, 0), (2, 1), (3, 0), (3, 1), (3, 2), (5, 1), (5, 4), (30, 1)])
def test_chunks_are_sentence_aligned_windows(size: int, overlap: int) -> None:
    sentences = split_sentences("doc", LONG)
    assert len(sentences) == 23
    chunks = make_chunks(LONG, sentences, size, overlap)
    spans = [(s.start, s.end) for s in sentences]
    covered: set[tuple[int, int]] = set()
    previous: tuple[tuple[int, int], ...] = ()
    for i, chunk in enumerate(chunks):
        assert chunk.index == i and chunk.article_id == "doc"
        assert 1 <= len(chunk.sentence_spans) <= size
        first = spans.index(chunk.sentence_spans[0])
        assert list(chunk.sentence_spans) == spans[first : first + len(chunk.sentence_spans)]  # consecutive sentences
        assert chunk.text == LONG[chunk.start : chunk.end]
        assert (chunk.start, chunk.end) == (chunk.sentence_spans[0][0], chunk.sentence_spans[-1][1])
        if previous:
            shared = [s for s in chunk.sentence_spans if s in previous]
            assert len(shared) == min(overlap, len(previous))
            assert chunk.sentence_spans[: len(shared)] == previous[len(previous) - len(shared) :]
        covered.update(chunk.sentence_spans)
        previous = chunk.sentence_spans
    assert covered == set(spans)  # every sentence is in some chunk
    # Only the last window may be short, and no window is redundant.
    assert all(len(c.sentence_spans) == min(size, len(spans)) for c in chunks[:-1])
    assert all(any(s not in prev.sentence_spans for s in c.sentence_spans) for prev, c in zip(chunks, chunks[1:], strict=False))


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 6, 7])
def test_short_articles_are_fully_covered(count: int) -> None:
    text = " ".join(f"Short sentence {i}." for i in range(count))
    sentences = split_sentences("s", text)
    chunks = make_chunks(text, sentences, 3, 1)
    assert {span for c in chunks for span in c.sentence_spans} == {(s.start, s.end) for s in sentences}
    assert len(chunks) == max(1, -(-(count - 1) // 2))  # windows of 3 stepping by 2


def test_markdown_heading_marks_are_not_quoted() -> None:
    text = TEXTS["headline"] + "\n\n## Sub head\n#1 seed wins.\n"
    got = [s.text for s in split_sentences("a", text)]
    assert got[0] == "Big headline" and "Sub head" in got and "#1 seed wins." in got
    assert not any(s.startswith("# ") or s.startswith("## ") for s in got)
