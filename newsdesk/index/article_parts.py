"""Article texts and sentence vectors of an embedded index, in immutable part files beside Chroma's own.

Chroma keeps what it searches (chunk vectors) and the article rows (metadata and the current version); the rest
of an article lives here, once: its text, its sentences' offsets and their vectors as int8 with one scale per row
(NewsQA dev loses under half a point against float32: docs/scale.md). Each write adds a small part
(newsdesk.index.part_files); parts of a size tier are merged into one, dropping rows no article points at any
more, so a folder holds a few parts whatever its size. A part never changes once the pointer names it, so
readers keep what they mapped and a snapshot never uploads it twice.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from newsdesk.index.part_files import (
    PART,
    POINTER,
    Entry,
    Part,
    Written,
    copy_part,
    read_pointer,
    write_part,
    write_pointer,
)
from newsdesk.models import Hit, Matrix, Sentence, StoredSentence

__all__ = ["POINTER", "TIER_BASE", "ArticleParts", "Written", "copy_parts"]
log = logging.getLogger(__name__)

TIER_BASE = 4  # parts whose row counts share a power of four form a tier; a full tier becomes one part
KEY = 16  # versions are matched on their first 16 characters, as Chroma row ids carry them

Key = tuple[str, str]  # article id, version[:KEY]


class Located(NamedTuple):
    """Where one article version's rows and text are: which part, its rows, its compressed text's bytes (a tuple:
    an index of 50,000 articles makes 50,000 of these when it opens)."""

    part: Part
    version: str
    first: int
    rows: int
    text_start: int
    text_end: int


class ArticleParts:
    """The parts of one folder: add, read, search candidates' sentences, merge. Thread-safe; readers see whole
    parts only (a part is in the index once its files are complete and the pointer names it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._parts: list[Part] = []
        self._where: dict[Key, Located] = {}
        self.reload()

    @staticmethod
    def present(folder: Path | None) -> bool:
        """Whether `folder` keeps its articles in parts (an index made before them keeps them in Chroma)."""
        return folder is not None and (folder / POINTER).is_file()

    @classmethod
    def create(cls, folder: Path) -> ArticleParts:
        folder.mkdir(parents=True, exist_ok=True)
        if not cls.present(folder):
            write_pointer(folder, [])
        return cls(folder)

    # -- reading -------------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the pointer and the parts it names (a writer in another process may have changed them)."""
        with self._lock:
            names = read_pointer(self.folder)
            kept = {p.name: p for p in self._parts}
            parts = [kept.get(name) or Part(self.folder, name) for name in names]
            self._install(parts)

    def _install(self, parts: list[Part]) -> None:
        where: dict[Key, Located] = {}
        for part in parts:
            _locate(part, where)
        self._parts, self._where = parts, where

    def has(self, article_id: str, version: str) -> bool:
        return (article_id, version[:KEY]) in self._where

    def text(self, article_id: str, version: str) -> str | None:
        found = self._where.get((article_id, version[:KEY]))
        return None if found is None else found.part.text_of(found.text_start, found.text_end)

    def sentences(self, article_id: str, version: str, text: str) -> list[StoredSentence] | None:
        """The article version's sentences with vectors; None when no part holds that version."""
        found = self._where.get((article_id, version[:KEY]))
        if found is None:
            return None
        part = found.part
        block = part.block(found.first, found.rows)
        spans = part.spans[found.first : found.first + found.rows].tolist()
        return [StoredSentence(Sentence(article_id, index, start, end, text[start:end]), version, block[row])
                for row, (index, start, end) in enumerate(spans)]

    def count(self, article_id: str, version: str) -> int | None:
        found = self._where.get((article_id, version[:KEY]))
        return None if found is None else found.rows

    def best_sentences(self, candidates: Iterable[Key], vector: Matrix, k: int) -> list[Hit]:
        """The `k` sentences closest to `vector` among the candidates' sentences (exact cosine on unit vectors)."""
        where = self._where
        if k < 1:
            return []
        rows: dict[int, tuple[Part, list[np.ndarray], list[Key]]] = {}  # by part: row numbers, whose they are
        for article_id, version in dict.fromkeys(candidates):
            found = where.get((article_id, version[:KEY]))
            if found is not None:
                _, ranges, owners = rows.setdefault(id(found.part), (found.part, [], []))
                ranges.append(np.arange(found.first, found.first + found.rows))
                owners.extend([(article_id, version[:KEY])] * found.rows)
        if not rows:
            return []
        query = np.asarray(vector, np.float32).reshape(-1)
        scores, indexes, owners = [], [], []
        for part, ranges, whose in rows.values():
            picked = np.concatenate(ranges)
            scores.append((part.vectors[picked].astype(np.float32) @ query) * part.scales[picked])
            indexes.append(part.spans[picked, 0])
            owners.extend(whose)
        score, index = np.concatenate(scores), np.concatenate(indexes)
        top = np.argpartition(-score, k - 1)[:k] if k < len(score) else np.arange(len(score))
        top = top[np.argsort(-score[top], kind="stable")]
        return [Hit(owners[i][0], owners[i][1], int(index[i]), float(score[i])) for i in top.tolist()]

    # -- writing (one writer at a time: the folder's lock) -----------------------------------------------
    def add(self, written: Sequence[Written]) -> None:
        """A new part holding these article versions; visible once complete."""
        if written:
            self._append(Part(self.folder, write_part(self.folder, written)))

    def add_copies(self, picks: Sequence[tuple[Part, Entry]]) -> None:
        """A new part holding these article versions of other parts (as they store them)."""
        if picks:
            self._append(Part(self.folder, copy_part(self.folder, picks)))

    def _append(self, part: Part) -> None:
        with self._lock:
            self._parts = [*self._parts, part]
            write_pointer(self.folder, [p.name for p in self._parts])
            _locate(part, self._where)  # in place: a version's rows are the same in every part that holds them

    def merge(self, live: Callable[[Sequence[str]], Mapping[str, str]]) -> bool:
        """Fold a full size tier into one part. `live` gives the current version of each id it is asked about
        (rows of any other version, replaced or deleted, are dropped). Returns whether it merged."""
        tiers: dict[int, list[int]] = {}
        for index, part in enumerate(self._parts):
            tiers.setdefault(_tier(part.rows), []).append(index)
        full = sorted((t for t, members in tiers.items() if len(members) >= TIER_BASE))
        if not full:
            return False
        self._merge(tiers[full[0]], live)
        return True

    def compact(self, live: Callable[[Sequence[str]], Mapping[str, str]]) -> None:
        """Fold every part into one (dropping dead rows)."""
        if len(self._parts) > 1 or any(self._dead(p, live) for p in self._parts):
            self._merge(list(range(len(self._parts))), live)

    def _dead(self, part: Part, live: Callable[[Sequence[str]], Mapping[str, str]]) -> bool:
        current = live([a for a, *_ in part.articles])
        return any(current.get(a, "")[:KEY] != v[:KEY] for a, v, *_ in part.articles)

    def _merge(self, chosen: list[int], live: Callable[[Sequence[str]], Mapping[str, str]]) -> None:
        parts = self._parts
        ids = list(dict.fromkeys(a for i in chosen for a, *_ in parts[i].articles))
        current = {a: v[:KEY] for a, v in live(ids).items()}
        latest: dict[str, tuple[Part, Entry]] = {}
        for i in chosen:  # a live version's rows are the same in every part that holds them: keep one
            for entry in parts[i].articles:
                if current.get(entry[0]) == entry[1][:KEY]:
                    latest[entry[0]] = (parts[i], entry)
        kept = list(latest.values())
        merged = [Part(self.folder, copy_part(self.folder, kept))] if kept else []
        with self._lock:
            gone = {parts[i].name for i in chosen}
            now = [p for p in self._parts if p.name not in gone] + merged
            write_pointer(self.folder, [p.name for p in now])
            self._install(now)
        log.info("article parts merged parts=%d rows=%d kept_articles=%d", len(chosen),
                 sum(parts[i].rows for i in chosen), len(kept))
        self.clean()

    def clean(self) -> None:
        """Delete part files the pointer does not name: left by a merge, or by a writer killed midway.
        Only with the writer lock held (a writer in another process could be writing a new part)."""
        named = set(read_pointer(self.folder))
        for path in self.folder.glob("newsdesk-part-*"):
            stem = path.name.split(".", 1)[0]
            if PART.fullmatch(stem) and stem not in named:
                path.unlink(missing_ok=True)  # a reader that mapped it keeps its pages until it lets go

    def names(self) -> list[str]:
        return [p.name for p in self._parts]



def copy_parts(sources: Sequence[tuple[Path, frozenset[str]]], target: Path) -> int:
    """Compaction's copy: the articles in several folders' part files (oldest first, each with the article ids it
    hides) as one part in `target`; an article two folders hold keeps the newest folder's rows. Folders without
    part files are skipped. Returns the article versions copied."""
    seen: set[str] = set()
    kept: list[tuple[Part, Entry]] = []
    for path, hidden in reversed(sources):
        if not ArticleParts.present(path):
            continue
        held: set[str] = set()
        for part in ArticleParts(path)._parts:
            for entry in part.articles:
                held.add(entry[0])
                if entry[0] not in hidden and entry[0] not in seen:
                    kept.append((part, entry))
        seen |= held
    ArticleParts.create(target).add_copies(kept)
    return len(kept)


def _locate(part: Part, where: dict[Key, Located]) -> None:
    for article_id, version, first, count, t0, t1 in part.articles:
        where[(article_id, version[:KEY])] = Located(part, version, first, count, t0, t1)


def _tier(rows: int) -> int:
    return int(math.log(max(rows, 1), TIER_BASE))
