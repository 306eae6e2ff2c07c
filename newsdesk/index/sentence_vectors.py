"""Every stored sentence's vector and offsets in files beside the index, memory-mapped.

Scoring evidence needs the vectors of every sentence of the top articles. Fetching them from Chroma
costs about 10 ms for five NewsQA articles (its `get` converts each vector to Python and back); a
slice of a memory-mapped matrix costs microseconds. Rows are keyed by article id *and version* (a
hash of the content), so a file that lags behind the index is never wrong, only incomplete: the
service falls back to the store for whatever it lacks. The files travel with the index folder,
so S3 snapshots carry them too: data only (`.npy` read with allow_pickle=False, and JSON), never a pickle.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsdesk.models import Article, Sentence, StoredSentence
from newsdesk.ports import VectorStore

log = logging.getLogger(__name__)

INDEX_FILE, FORMAT = "newsdesk-sentences.json", 2  # revision, the two .npy names, each article's rows
DATA_FILE = re.compile(r"newsdesk-sentences-([0-9a-f]{12})\.(vectors|spans)\.npy")
LEGACY_FILE = "newsdesk-sentences.pkl"  # older format: never opened, deleted by the next save
LEGACY_DATA = re.compile(r"newsdesk-sentences-[0-9a-f]{12}\.npy")  # its vectors, deleted likewise
PAGE = 200  # articles fetched from the store at a time while building


@dataclass
class SentenceVectors:
    vectors: np.ndarray  # (rows, dimension) float32
    spans: np.ndarray  # (rows, 3) int64: sentence index, start, end of each row's sentence in its article
    rows: dict[tuple[str, str], tuple[int, int]]  # (article id, version) -> first row, number of rows
    revision: str = ""  # the store revision it is complete for

    def get(self, article: Article, version: str) -> list[StoredSentence] | None:
        """The article's sentences at this version, or None when the file does not hold that version."""
        found = self.rows.get((article.id, version))
        if found is None:
            return None
        first, count = found
        block = self.vectors[first : first + count]
        return [
            StoredSentence(Sentence(article.id, index, start, end, article.text[start:end]), version, block[row])
            for row, (index, start, end) in enumerate(self.spans[first : first + count].tolist())
        ]

    @classmethod
    def build(cls, store: VectorStore, current: Iterable[tuple[Article, str]],
              revision: str, previous: SentenceVectors | None = None) -> SentenceVectors:
        """From the store, reusing `previous` rows for versions it already holds (only new ones are fetched)."""
        blocks: list[np.ndarray] = []
        span_blocks: list[np.ndarray] = []
        rows: dict[tuple[str, str], tuple[int, int]] = {}
        count = 0
        wanted: dict[str, str] = {}

        def add(key: tuple[str, str], spans: np.ndarray, block: np.ndarray) -> None:
            nonlocal count
            rows[key] = (count, len(spans))
            blocks.append(block)
            span_blocks.append(spans)
            count += len(spans)

        def fetch() -> None:
            grouped: dict[str, list[StoredSentence]] = {}
            for stored in store.sentences(wanted):
                grouped.setdefault(stored.sentence.article_id, []).append(stored)
            for article_id, version in wanted.items():
                got = grouped.get(article_id, [])
                if got:
                    add((article_id, version),
                        np.array([(s.sentence.index, s.sentence.start, s.sentence.end) for s in got], np.int64),
                        np.stack([np.asarray(s.vector, np.float32) for s in got]))
            wanted.clear()

        for article, version in current:
            kept = previous.rows.get((article.id, version)) if previous is not None else None
            if previous is not None and kept is not None:  # copied as it is: rows and offsets
                first, n = kept
                add((article.id, version), previous.spans[first : first + n], previous.vectors[first : first + n])
                continue
            wanted[article.id] = version
            if len(wanted) >= PAGE:
                fetch()
        fetch()
        vectors = np.concatenate(blocks) if blocks else np.zeros((0, 0), np.float32)
        spans = np.concatenate(span_blocks) if span_blocks else np.zeros((0, 3), np.int64)
        return cls(vectors, spans, rows, revision)

    def save(self, folder: Path) -> None:
        """New data files, then the index naming them (atomic), then older data files go."""
        stem = f"newsdesk-sentences-{uuid.uuid4().hex[:12]}"
        names = {"vectors": f"{stem}.vectors.npy", "spans": f"{stem}.spans.npy"}
        np.save(folder / names["vectors"], np.ascontiguousarray(self.vectors, np.float32), allow_pickle=False)
        np.save(folder / names["spans"], np.ascontiguousarray(self.spans, np.int64), allow_pickle=False)
        articles = [[article_id, version, first, n] for (article_id, version), (first, n) in self.rows.items()]
        tmp = folder / f"{INDEX_FILE}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        tmp.write_text(json.dumps({"format": FORMAT, "revision": self.revision, **names, "articles": articles},
                                  ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        tmp.replace(folder / INDEX_FILE)  # atomic: readers see the old index or the new one
        for old in folder.glob("newsdesk-sentences-*"):
            if (DATA_FILE.fullmatch(old.name) or LEGACY_DATA.fullmatch(old.name)) and not old.name.startswith(stem):
                old.unlink(missing_ok=True)  # a reader that mapped it keeps its pages until it lets go
        (folder / LEGACY_FILE).unlink(missing_ok=True)

    @staticmethod
    def remove(folder: Path) -> None:
        """Delete every sentence-vectors file (a folder with part files keeps its vectors there, once)."""
        for old in folder.glob("newsdesk-sentences*"):
            if old.name in {INDEX_FILE, LEGACY_FILE} or DATA_FILE.fullmatch(old.name) or LEGACY_DATA.fullmatch(old.name):
                old.unlink(missing_ok=True)

    @staticmethod
    def load(folder: Path) -> SentenceVectors | None:
        """The saved files, or None when there are none or they are unreadable (then they are rebuilt)."""
        try:
            return _read(folder)
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file is rebuilt, never trusted
            log.warning("sentence vectors not loaded folder=%s error=%s", folder, exc)
            return None


def _read(folder: Path) -> SentenceVectors | None:
    saved = json.loads((folder / INDEX_FILE).read_bytes())
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        return None
    vectors, spans = _array(folder, saved["vectors"], "vectors"), _array(folder, saved["spans"], "spans")
    if vectors.ndim != 2 or vectors.dtype != np.float32 or spans.shape != (len(vectors), 3) or spans.dtype != np.int64:
        raise ValueError(f"data files hold {vectors.dtype}{vectors.shape} and {spans.dtype}{spans.shape}, "
                         "not float32 vectors with a span per row")
    rows: dict[tuple[str, str], tuple[int, int]] = {}
    for article_id, version, first, n in saved["articles"]:
        if not 0 <= int(first) <= int(first) + int(n) <= len(vectors):
            raise ValueError(f"rows of {article_id!r} lie outside the data files")
        rows[(str(article_id), str(version))] = (int(first), int(n))
    return SentenceVectors(vectors, spans, rows, str(saved["revision"]))


def _array(folder: Path, name: object, kind: str) -> np.ndarray:
    match = DATA_FILE.fullmatch(name) if isinstance(name, str) else None
    if match is None or match.group(2) != kind:
        raise ValueError(f"unexpected {kind} file {name!r}")
    # A plain array over the mapped pages: slicing np.memmap objects costs ~5 us each.
    return np.asarray(np.load(folder / match.group(0), mmap_mode="r", allow_pickle=False))
