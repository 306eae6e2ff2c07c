"""JSONL on stdin is read a line at a time: articles flow before the stream ends, bad bytes fail one line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from newsdesk.ingest.load import load_stdin

from newsdesk.errors import ArticleError
from newsdesk.models import Article


class EndlessStdin:
    """A stdin whose bytes never end: reading it whole would never return."""

    def __init__(self) -> None:
        self.lines_read = 0
        self.buffer = self  # read as bytes, like sys.stdin.buffer
        self._lines = self._endless()

    def readline(self, limit: int = -1) -> bytes:
        return next(self._lines)

    def read(self, limit: int = -1) -> bytes:
        raise AssertionError("JSONL on stdin must be read a line at a time")

    def _endless(self) -> Iterator[bytes]:
        yield b"\n"
        while True:
            self.lines_read += 1
            yield json.dumps({"id": f"s{self.lines_read}", "text": "A ferry sailed."}).encode() + b"\n"


def test_articles_come_before_the_stream_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = EndlessStdin()
    monkeypatch.setattr("sys.stdin", stdin)
    items = load_stdin()
    first = [next(items) for _ in range(3)]
    assert [a.id for a in first if isinstance(a, Article)] == ["s1", "s2", "s3"]
    assert stdin.lines_read <= 4


def test_a_bad_byte_fails_only_its_line_and_line_numbers_count_blank_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = b'\xef\xbb\xbf\n{"id": "a", "text": "One."}\r\n{"id": "b", "text": "Bad \xff."}\n\n{"id": "c", "text": "Two."}\n'
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    items = list(load_stdin())
    assert [i.id for i in items if isinstance(i, Article)] == ["a", "c"]
    [bad] = [i for i in items if isinstance(i, ArticleError)]
    assert ":3:" in str(bad) and "surrogate" in str(bad)


def test_text_on_stdin_is_one_article_with_its_line_endings(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = b"\n\nStorm hits the coast.\r\nPower is out.\r\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    [item] = list(load_stdin())
    assert isinstance(item, Article) and item.text == raw.decode()
