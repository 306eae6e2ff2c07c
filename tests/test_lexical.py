"""BM25 over whole articles: ranking, filters, limits, the IDF weights evidence scoring uses, and saving it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsdesk.index.lexical import CACHE_FILE, LexicalIndex, terms
from newsdesk.models import Article, Filters

ARTICLES = [
    Article("ferry", "The harbor ferry resumed service after the storm. Ferry crews checked every pier.",
            title="Ferry back in service", outlet="Regional Wire", published_at="2024-03-08"),
    Article("storm", "The storm cut power to 9,500 homes. Crews worked through the night on the lines.",
            title="Storm cuts power", outlet="Harbor Gazette", published_at="2024-03-06"),
    Article("storm-2", "A storm left 12,000 homes without power overnight, the utility said.",
            title="Overnight storm", outlet="Valley Courier", published_at="2024-03-05"),
    Article("library", "The library reopened with a new children's wing. The renovation cost $6.8 million.",
            title="Library reopens", outlet="Port Alder Radio", published_at="2024-03-10"),
]


def index() -> LexicalIndex:
    return LexicalIndex.build((article, f"v-{article.id}") for article in ARTICLES)


def test_the_article_with_the_rare_words_ranks_first_and_carries_its_version() -> None:
    hits = index().search("When did the ferry service resume?", 10, Filters())
    assert hits[0].article_id == "ferry" and hits[0].version == "v-ferry"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_only_articles_sharing_a_word_are_returned_and_k_limits_them() -> None:
    found = index().search("storm power homes", 10, Filters())
    assert {h.article_id for h in found} == {"storm", "storm-2", "ferry"}  # the ferry story mentions the storm
    assert all(h.score > 0 for h in found)
    assert len(index().search("storm power homes", 1, Filters())) == 1


def test_filters_keep_other_outlets_and_dates_out() -> None:
    lexical = index()
    by_outlet = lexical.search("storm power homes", 10, Filters(outlet="valley courier"))
    assert [h.article_id for h in by_outlet] == ["storm-2"]
    by_date = lexical.search("storm power homes", 10, Filters(published_after=20240306))
    assert {h.article_id for h in by_date} == {"storm", "ferry"}


def test_a_question_with_no_known_word_finds_nothing() -> None:
    assert index().search("quantum chromodynamics", 10, Filters()) == []
    assert index().search("what did they say?", 10, Filters()) == []  # stop words only


def test_rarer_words_weigh_more_and_unknown_words_weigh_most() -> None:
    lexical = index()
    (storm,), (ferry,), (unknown,) = terms("storm"), terms("ferry"), terms("zeppelin")
    assert lexical.weight(ferry) > lexical.weight(storm)  # in one article against three
    assert lexical.weight(unknown) > lexical.weight(ferry)
    assert lexical.outlets == ["Harbor Gazette", "Port Alder Radio", "Regional Wire", "Valley Courier"]


QUESTIONS = ["When did the ferry service resume?", "storm power homes", "How much did the library renovation cost?",
             "crews night lines", "quantum chromodynamics", "children's wing"]
FILTERS = [Filters(), Filters(outlet="valley courier"), Filters(published_after=20240306),
           Filters(published_before=20240307)]


def test_a_saved_index_scores_exactly_as_the_built_one(tmp_path: Path) -> None:
    built = index()
    built.save(tmp_path, "r1")
    loaded = LexicalIndex.load(tmp_path, "r1")
    assert loaded is not None and loaded is not built
    for question in QUESTIONS:
        for filters in FILTERS:
            assert loaded.search(question, 10, filters) == built.search(question, 10, filters), (question, filters)
    assert loaded.idf == built.idf and loaded.default_idf == built.default_idf
    assert (loaded.size, loaded.outlets, loaded.meta, loaded.hits) == (built.size, built.outlets, built.meta, built.hits)
    assert LexicalIndex.load(tmp_path, "r2") is None  # built for another revision of the store


def test_an_empty_index_round_trips(tmp_path: Path) -> None:
    LexicalIndex.build([]).save(tmp_path, "r0")
    loaded = LexicalIndex.load(tmp_path, "r0")
    assert loaded is not None and loaded.size == 0 and loaded.search("storm", 5, Filters()) == []


def test_a_save_replaces_the_previous_files_and_the_old_pickle(tmp_path: Path) -> None:
    (tmp_path / "newsdesk-lexical.pkl").write_bytes(b"left by an older Newsdesk")
    index().save(tmp_path, "r1")
    index().save(tmp_path, "r2")
    assert not (tmp_path / "newsdesk-lexical.pkl").exists()
    assert len(list(tmp_path.glob("newsdesk-lexical-*"))) == 1
    loaded = LexicalIndex.load(tmp_path, "r2")
    assert loaded is not None and loaded.search("ferry", 1, Filters())[0].article_id == "ferry"


def test_files_that_do_not_fit_the_articles_are_not_used(tmp_path: Path) -> None:
    index().save(tmp_path, "r1")
    (folder,) = tmp_path.glob("newsdesk-lexical-*")
    params = json.loads((folder / "params.index.json").read_text())
    (folder / "params.index.json").write_text(json.dumps({**params, "num_docs": 3}))
    assert LexicalIndex.load(tmp_path, "r1") is None
    (folder / "params.index.json").write_text(json.dumps({**params, "method": "bm25+"}))
    assert LexicalIndex.load(tmp_path, "r1") is None
    pointer = json.loads((tmp_path / CACHE_FILE).read_text())
    (tmp_path / CACHE_FILE).write_text(json.dumps({**pointer, "folder": "../elsewhere"}))
    assert LexicalIndex.load(tmp_path, "r1") is None


def test_the_streamed_build_scores_as_bm25s_own_index() -> None:
    """`LexicalIndex.build` keeps term counts, not token lists (bounded memory); its scores are bm25s' own."""
    import random

    import bm25s
    import numpy as np

    rng = random.Random(7)
    words = [f"w{i}" for i in range(400)] + [t for a in ARTICLES for t in terms(a.text)]
    texts = [a.text for a in ARTICLES] + [" ".join(rng.choices(words, k=rng.randint(1, 90))) for _ in range(300)]
    texts.append("the of and")  # an article with no content word at all
    articles = [Article(f"a{i}", text) for i, text in enumerate(texts)]
    built = LexicalIndex.build((a, "v") for a in articles)
    reference = bm25s.BM25()
    reference.index([terms(f"\n{a.text}") for a in articles], show_progress=False)
    assert built.size == len(articles) and set(built.idf) == set(reference.vocab_dict) - {""}
    for question in ["storm power homes", "ferry service", " ".join(rng.choices(words, k=6)), "w1 w1 w2"]:
        tokens = [t for t in terms(question) if t in built.idf]
        assert tokens
        ours, theirs = built.bm25.get_scores(tokens), reference.get_scores(tokens)
        assert np.allclose(ours, theirs, rtol=1e-6, atol=1e-7) and ours.max() > 0


def test_segments_score_each_term_with_the_idf_of_all_of_them() -> None:
    """SegmentedLexical: every kept article's score for a term is its segment's length-normalised tf times the
    idf over all kept articles of every segment; hidden articles never show; articles keep their segment order;
    one segment hiding nothing scores as its own index does."""
    import random

    import numpy as np

    from newsdesk.snapshots.lexical_segments import SegmentedLexical

    rng = random.Random(11)
    words = [f"w{i}" for i in range(60)]

    def segment(prefix: str, n: int) -> LexicalIndex:
        return LexicalIndex.build((Article(f"{prefix}{i}", " ".join(rng.choices(words, k=rng.randint(1, 40)))), "v")
                                  for i in range(n))

    parts = [(segment("a", 40), frozenset({"a3", "a7"})), (segment("b", 25), frozenset({"b0"})),
             (segment("c", 1), frozenset())]
    together = SegmentedLexical(parts)
    kept = [(lexical, i) for lexical, hidden in parts for i, h in enumerate(lexical.hits) if h.article_id not in hidden]
    assert [h.article_id for h in together.hits] == [lexical.hits[i].article_id for lexical, i in kept]
    assert together.size == len(kept) == 63
    for term in words:
        stem = terms(term)[0]
        df = sum(1 for lexical, i in kept if lexical.bm25.get_scores([stem])[i] > 0)
        idf = np.log1p((len(kept) - df + 0.5) / (df + 0.5))
        expected = {lexical.hits[i].article_id: lexical.bm25.get_scores([stem])[i] / lexical.idf[stem] * idf
                    for lexical, i in kept if stem in lexical.idf and lexical.bm25.get_scores([stem])[i] > 0}
        got = {h.article_id: h.score for h in together.search(term, together.size, Filters())}
        assert got.keys() == expected.keys(), term
        assert np.allclose([got[a] for a in expected], list(expected.values()), rtol=1e-5, atol=1e-6), term
        assert together.weight(stem) == pytest.approx(idf)
    assert not {"a3", "a7", "b0"} & {h.article_id for h in together.search("w1 w2 w3 w4 w5", 100, Filters())}
    alone = SegmentedLexical([(parts[0][0], frozenset())])
    for question in ["w1 w2", "w5 w5 w7", "w30 w31 w32 w33", "nothing"]:
        theirs = parts[0][0].search(question, 10, Filters())
        ours = alone.search(question, 10, Filters())
        assert [h.article_id for h in ours] == [h.article_id for h in theirs]
        assert np.allclose([h.score for h in ours], [h.score for h in theirs], rtol=1e-5)
