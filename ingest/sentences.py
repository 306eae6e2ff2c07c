"""Split article text into sentences with exact character offsets (syntok)."""

from __future__ import annotations

import re

import syntok.segmenter as segmenter

from newsdesk.models import Sentence
from newsdesk.settings import DEFAULTS

# Where a run too long to be one sentence is cut, best first: a line break syntok kept inside the run, the end
# of a clause, a comma or dash, any space. Each mark stays with the piece before it.
_CUTS = (re.compile(r"[\r\v\f\x85\u2028\u2029]"), re.compile(r"[;:](?=\s)"), re.compile(r"[,\u2013\u2014)](?=\s)"),
         re.compile(r"\s"))


def split_sentences(article_id: str, text: str, max_chars: int = DEFAULTS.max_sentence_chars) -> tuple[Sentence, ...]:
    """Sentences in reading order, none longer than `max_chars`; every `text[s.start:s.end] == s.text`."""
    spans: list[tuple[int, int]] = []
    for paragraph in segmenter.analyze(text):
        for tokens in paragraph:
            if tokens:
                start = tokens[0].offset
                end = tokens[-1].offset + len(tokens[-1].value)
                for s, e in _clean_span(text, start, end):
                    spans.extend(_bounded(text, s, e, max_chars))
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


def _bounded(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """A trimmed span cut into trimmed pieces of at most `limit` characters (a 100 KB run is not one sentence)."""
    out = []
    while end - start > limit:
        cut = start + _cut_point(text[start : start + limit + 1], limit)
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        out.append((start, piece_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        out.append((start, end))
    return out


def _cut_point(window: str, limit: int) -> int:
    """Where to end the piece that starts `window`: after the best boundary in its second half, else at `limit`."""
    floor = max(1, limit // 2)
    for pattern in _CUTS:
        ends = [m.end() if m.group().strip() else m.start() for m in pattern.finditer(window, floor)]
        ends = [e for e in ends if floor <= e <= limit]
        if ends:
            return ends[-1]
    return limit
