"""Every stored sentence's vector and offsets in one file beside the index, memory-mapped.

Scoring evidence needs the vectors of every sentence of the top articles. Fetching them from Chroma
costs about 10 ms for five NewsQA articles (its `get` converts each vector to Python and back); a
slice of a memory-mapped matrix costs microseconds. Rows are keyed by article id *and version* (a
hash of the content), so a file that lags behind the index is never wrong, only incomplete: the
service falls back to the store for whatever it lacks. The file travels with the index folder,
so S3 snapshots carry it too.
"""

from __future__ import annotations

import logging
import os
import pickle
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsdesk.models import Article, Sentence, StoredSentence
from newsdesk.ports import VectorStore

log = logging.getLogger(__name__)

INDEX_FILE, FORMAT = "newsdesk-sentences.pkl", 1
PAGE = 200  # articles fetched from the store at a time while building

Spans = tuple[tuple[int, int, int], ...]  # (sentence index, start, end) in reading order


@dataclass
class SentenceVectors:
    vectors: np.ndarray  # (rows, dimension) float32
    rows: dict[tuple[str, str], tuple[int, Spans]]  # (article id, version) -> first row, spans
    revision: str = ""  # the store revision it is complete for

    def get(self, article: Article, version: str) -> list[StoredSentence] | None:
        """The article's sentences at this version, or None when the file does not hold that version."""
        found = self.rows.get((article.id, version))
        if found is None:
            return None
        first, spans = found
        block = self.vectors[first : first + len(spans)]
        return [
            StoredSentence(Sentence(article.id, index, start, end, article.text[start:end]), version, block[row])
            for row, (index, start, end) in enumerate(spans)
        ]

    @classmethod
    def build(cls, store: VectorStore, current: Iterable[tuple[Article, str]],
              revision: str, previous: SentenceVectors | None = None) -> SentenceVectors:
        """From the store, reusing `previous` rows for versions it already holds (only new ones are fetched)."""
        blocks: list[np.ndarray] = []
        rows: dict[tuple[str, str], tuple[int, Spans]] = {}
        count = 0
        wanted: dict[str, str] = {}

        def add(key: tuple[str, str], spans: Spans, block: np.ndarray) -> None:
            nonlocal count
            rows[key] = (count, spans)
            blocks.append(block)
            count += len(spans)

        def fetch() -> None:
            grouped: dict[str, list[StoredSentence]] = {}
            for stored in store.sentences(wanted):
                grouped.setdefault(stored.sentence.article_id, []).append(stored)
            for article_id, version in wanted.items():
                got = grouped.get(article_id, [])
                if got:
                    add((article_id, version), tuple((s.sentence.index, s.sentence.start, s.sentence.end) for s in got),
                        np.stack([np.asarray(s.vector, np.float32) for s in got]))
            wanted.clear()

        for article, version in current:
            kept = previous.rows.get((article.id, version)) if previous is not None else None
            if previous is not None and kept is not None:  # copied as it is: rows and offsets
                first, spans = kept
                add((article.id, version), spans, previous.vectors[first : first + len(spans)])
                continue
            wanted[article.id] = version
            if len(wanted) >= PAGE:
                fetch()
        fetch()
        vectors = np.concatenate(blocks) if blocks else np.zeros((0, 0), np.float32)
        return cls(vectors, rows, revision)

    def save(self, folder: Path) -> None:
        """A new vectors file, then the index pointing at it (atomic), then older vectors files go."""
        name = f"newsdesk-sentences-{uuid.uuid4().hex[:12]}.npy"
        np.save(folder / name, self.vectors)
        tmp = folder / f"{INDEX_FILE}.{os.getpid()}.tmp"
        with tmp.open("wb") as f:
            pickle.dump({"format": FORMAT, "vectors": name, "rows": self.rows, "revision": self.revision}, f)
        tmp.replace(folder / INDEX_FILE)
        for old in folder.glob("newsdesk-sentences-*.npy"):
            if old.name != name:  # a reader that mapped it keeps its pages until it lets go
                old.unlink(missing_ok=True)

    @staticmethod
    def load(folder: Path) -> SentenceVectors | None:
        """The saved file (our own, never user input), or None when there is none or it is unreadable."""
        try:
            with (folder / INDEX_FILE).open("rb") as f:
                saved = pickle.load(f)
            if saved.get("format") != FORMAT:
                return None
            # A plain array over the mapped pages: slicing np.memmap objects costs ~5 us each.
            vectors = np.asarray(np.load(folder / str(saved["vectors"]), mmap_mode="r"))
        except (OSError, ValueError, pickle.UnpicklingError, EOFError, KeyError, AttributeError) as exc:
            if (folder / INDEX_FILE).exists():
                log.warning("sentence vectors not loaded folder=%s error=%s", folder, exc)
            return None
        return SentenceVectors(vectors, saved["rows"], str(saved.get("revision", "")))
