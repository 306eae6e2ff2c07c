"""Split article text into sentences with exact character offsets (syntok)."""

from __future__ import annotations

import syntok.segmenter as segmenter

from newsdesk.models import Sentence


def split_sentences(article_id: str, text: str) -> tuple[Sentence, ...]:
    """Sentences in reading order; every `text[s.start:s.end] == s.text`."""
    spans: list[tuple[int, int]] = []
    for paragraph in segmenter.analyze(text):
        for tokens in paragraph:
            if tokens:
                start = tokens[0].offset
                end = tokens[-1].offset + len(tokens[-1].value)
                spans.extend(_clean_span(text, start, end))
    return tuple(
        Sentence(article_id=article_id, index=i, start=s, end=e, text=text[s:e])
        for i, (s, e) in enumerate(spans)
    )


def _clean_span(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Trim whitespace and split at line breaks, which always end a sentence in our inputs."""
    out = []
    cursor = start
    for line in text[start:end].split("\n"):
        s, e = cursor, cursor + len(line)
        cursor = e + 1
        while s < e and text[s].isspace():
            s += 1
        s = _skip_heading_marker(text, s, e)
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def _skip_heading_marker(text: str, s: int, e: int) -> int:
    """Start a Markdown heading line ('## Title') at its words, so a quoted heading has no '#' marks."""
    marks = s
    while marks < e and marks - s < 6 and text[marks] == "#":
        marks += 1
    if marks in (s, e) or not text[marks].isspace():
        return s
    while marks < e and text[marks].isspace():
        marks += 1
    return marks
