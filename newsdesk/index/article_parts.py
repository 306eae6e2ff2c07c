"""Article texts and sentence vectors of an embedded index, in immutable part files beside Chroma's own.

Chroma keeps what it searches (chunk vectors) and the article rows (metadata and the current version); the rest
of an article lives here, once: its text (zlib), its sentences' offsets, and their vectors as int8 with one
scale per row (NewsQA dev loses nothing measurable against float32: docs/scale.md). Each write adds a small part;
parts of a size tier are merged into one, dropping rows no article points at any more, so a folder holds a few
parts whatever its size. A JSON pointer, replaced atomically, names the current parts; a part never changes, so
readers keep what they mapped and a snapshot reuploads nothing it already holds. Data formats only: `.npy`
read with allow_pickle=False, memory-mapped, and JSON.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsdesk.models import Hit, Matrix, Sentence, StoredSentence

log = logging.getLogger(__name__)

POINTER, FORMAT = "newsdesk-parts.json", 1
PART = re.compile(r"newsdesk-part-[0-9a-f]{12}")
FILES = ("json", "vectors.npy", "scales.npy", "spans.npy", "text.npy")
TIER_BASE = 4  # parts whose row counts share a power of four form a tier; a full tier becomes one part
PRECISION = "int8"  # or "float16", "float32": how new parts store sentence vectors (each part says its own)
KEY = 16  # versions are matched on their first 16 characters, as Chroma row ids carry them

Key = tuple[str, str]  # article id, version[:KEY]


@dataclass(frozen=True)
class Located:
    """Where one article version's rows and text are: which part, its rows, its compressed text's bytes."""

    part: Part
    version: str
    first: int
    count: int
    text_start: int
    text_end: int


@dataclass(frozen=True)
class Written:
    """One article version as a part stores it."""

    article_id: str
    version: str
    text: str
    spans: np.ndarray  # (n, 3) int32: sentence index, start, end
    vectors: Matrix  # (n, dimension) float32


class Part:
    """One part's arrays (memory-mapped) and its table of article versions."""

    def __init__(self, folder: Path, name: str) -> None:
        if not PART.fullmatch(name):
            raise ValueError(f"unexpected part name {name!r}")
        table = json.loads((folder / f"{name}.json").read_bytes())
        if not isinstance(table, dict) or table.get("format") != FORMAT:
            raise ValueError(f"part {name} is not in format {FORMAT}")
        self.name = name
        self.vectors = _array(folder, name, "vectors")
        self.scales = _array(folder, name, "scales")
        self.spans = _array(folder, name, "spans")
        self.text = _array(folder, name, "text")
        rows, dim = self.vectors.shape if self.vectors.ndim == 2 else (-1, -1)
        if (self.vectors.dtype not in (np.int8, np.float16, np.float32) or self.scales.shape != (rows,)
                or self.scales.dtype != np.float32 or self.spans.shape != (rows, 3) or self.spans.dtype != np.int32
                or self.text.ndim != 1 or self.text.dtype != np.uint8 or dim != int(table["dimension"])):
            raise ValueError(f"part {name} holds arrays of unexpected types or shapes")
        self.articles: list[tuple[str, str, int, int, int, int]] = []
        for article_id, version, first, count, t0, t1 in table["articles"]:
            if not (0 <= first <= first + count <= rows and 0 <= t0 <= t1 <= len(self.text)):
                raise ValueError(f"rows of {article_id!r} lie outside part {name}")
            self.articles.append((str(article_id), str(version), int(first), int(count), int(t0), int(t1)))

    @property
    def rows(self) -> int:
        return len(self.scales)

    def block(self, first: int, count: int) -> np.ndarray:
        """Rows as float32 vectors."""
        rows = self.vectors[first : first + count].astype(np.float32)
        return rows * self.scales[first : first + count, None]

    def text_of(self, start: int, end: int) -> str:
        return zlib.decompress(self.text[start:end].tobytes()).decode("utf-8")


class ArticleParts:
    """The parts of one folder: add, read, search candidates' sentences, merge. Thread-safe; readers see whole
    parts only (a part is in the index once its files are complete and the pointer names it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._parts: list[Part] = []
        self._where: dict[Key, Located] = {}
        self._pointer_state: tuple[int, int] = (0, 0)
        self.reload()

    @staticmethod
    def present(folder: Path | None) -> bool:
        """Whether `folder` keeps its articles in parts (an index made before them keeps them in Chroma)."""
        return folder is not None and (folder / POINTER).is_file()

    @classmethod
    def create(cls, folder: Path) -> ArticleParts:
        folder.mkdir(parents=True, exist_ok=True)
        if not cls.present(folder):
            _write_pointer(folder, [])
        return cls(folder)

    # -- reading -------------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the pointer and the parts it names (a writer in another process may have changed them)."""
        with self._lock:
            names = _read_pointer(self.folder)
            kept = {p.name: p for p in self._parts}
            parts = [kept.get(name) or Part(self.folder, name) for name in names]
            self._install(parts)
            self._pointer_state = _state(self.folder / POINTER)

    def changed_on_disk(self) -> bool:
        return _state(self.folder / POINTER) != self._pointer_state

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
        block = part.block(found.first, found.count)
        spans = part.spans[found.first : found.first + found.count].tolist()
        return [StoredSentence(Sentence(article_id, index, start, end, text[start:end]), version, block[row])
                for row, (index, start, end) in enumerate(spans)]

    def count(self, article_id: str, version: str) -> int | None:
        found = self._where.get((article_id, version[:KEY]))
        return None if found is None else found.count

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
                ranges.append(np.arange(found.first, found.first + found.count))
                owners.extend([(article_id, version[:KEY])] * found.count)
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
        if not written:
            return
        part = Part(self.folder, _write_part(self.folder, written))
        with self._lock:
            self._parts = [*self._parts, part]
            _write_pointer(self.folder, [p.name for p in self._parts])
            _locate(part, self._where)  # in place: a version's rows are the same in every part that holds them
            self._pointer_state = _state(self.folder / POINTER)

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
        latest: dict[str, tuple[Part, tuple[str, str, int, int, int, int]]] = {}
        for i in chosen:  # a live version's rows are the same in every part that holds them: keep one
            for entry in parts[i].articles:
                if current.get(entry[0]) == entry[1][:KEY]:
                    latest[entry[0]] = (parts[i], entry)
        kept = [_written(part, entry) for part, entry in latest.values()]
        merged = [Part(self.folder, _write_part(self.folder, kept))] if kept else []
        with self._lock:
            gone = {parts[i].name for i in chosen}
            now = [p for p in self._parts if p.name not in gone] + merged
            _write_pointer(self.folder, [p.name for p in now])
            self._install(now)
            self._pointer_state = _state(self.folder / POINTER)
        log.info("article parts merged parts=%d rows=%d kept_articles=%d", len(chosen),
                 sum(parts[i].rows for i in chosen), len(kept))
        self.clean()

    def clean(self) -> None:
        """Delete part files the pointer does not name: left by a merge, or by a writer killed midway.
        Only with the writer lock held (a writer in another process could be writing a new part)."""
        named = set(_read_pointer(self.folder))
        for path in self.folder.glob("newsdesk-part-*"):
            stem = path.name.split(".", 1)[0]
            if PART.fullmatch(stem) and stem not in named:
                path.unlink(missing_ok=True)  # a reader that mapped it keeps its pages until it lets go

    def names(self) -> list[str]:
        return [p.name for p in self._parts]

    def size_bytes(self) -> int:
        return sum((self.folder / f"{p.name}.{suffix}").stat().st_size for p in self._parts for suffix in FILES)


def copy_parts(sources: Sequence[tuple[Path, frozenset[str]]], target: Path) -> int:
    """Compaction's copy: the articles in several folders' part files (oldest first, each with the article ids it
    hides) as one part in `target`; an article two folders hold keeps the newest folder's rows. Folders without
    part files are skipped. Returns the article versions copied."""
    seen: set[str] = set()
    kept: list[Written] = []
    for path, hidden in reversed(sources):
        if not ArticleParts.present(path):
            continue
        held: set[str] = set()
        for part in ArticleParts(path)._parts:
            for entry in part.articles:
                held.add(entry[0])
                if entry[0] not in hidden and entry[0] not in seen:
                    kept.append(_written(part, entry))
        seen |= held
    merged = ArticleParts.create(target)
    merged.add(kept)
    return len(kept)


def _locate(part: Part, where: dict[Key, Located]) -> None:
    for article_id, version, first, count, t0, t1 in part.articles:
        where[(article_id, version[:KEY])] = Located(part, version, first, count, t0, t1)


def _written(part: Part, entry: tuple[str, str, int, int, int, int]) -> Written:
    article_id, version, first, count, t0, t1 = entry
    return Written(article_id, version, part.text_of(t0, t1), np.asarray(part.spans[first : first + count]),
                   part.block(first, count))


def _tier(rows: int) -> int:
    return int(math.log(max(rows, 1), TIER_BASE))


def quantize(vectors: Matrix, precision: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows and one scale per row: int8 rows times their scale give the vectors back within 1/254 of the largest
    component; float16 and float32 rows have scale 1."""
    vectors = np.asarray(vectors, np.float32)
    if precision == "int8":
        scales = np.abs(vectors).max(axis=1, initial=0.0) / 127.0
        scales[scales == 0] = 1.0
        return np.round(vectors / scales[:, None]).astype(np.int8), scales.astype(np.float32)
    dtype = {"float16": np.float16, "float32": np.float32}[precision]
    return vectors.astype(dtype), np.ones(len(vectors), np.float32)


def _write_part(folder: Path, written: Sequence[Written]) -> str:
    name = f"newsdesk-part-{uuid.uuid4().hex[:12]}"
    dimension = next((w.vectors.shape[1] for w in written if len(w.vectors)), 0)
    blocks, spans, texts, table = [], [], [], []
    rows = text_bytes = 0
    for w in written:
        packed = zlib.compress(w.text.encode("utf-8"), 6)
        table.append([w.article_id, w.version, rows, len(w.spans), text_bytes, text_bytes + len(packed)])
        blocks.append(np.asarray(w.vectors, np.float32).reshape(len(w.spans), dimension))
        spans.append(np.asarray(w.spans, np.int32).reshape(-1, 3))
        texts.append(packed)
        rows += len(w.spans)
        text_bytes += len(packed)
    vectors, scales = quantize(np.concatenate(blocks) if blocks else np.zeros((0, dimension), np.float32), PRECISION)
    arrays = {"vectors": vectors, "scales": scales, "spans": np.concatenate(spans),
              "text": np.frombuffer(b"".join(texts), np.uint8)}
    for kind, array in arrays.items():
        np.save(folder / f"{name}.{kind}.npy", np.ascontiguousarray(array), allow_pickle=False)
    (folder / f"{name}.json").write_text(json.dumps({"format": FORMAT, "dimension": dimension, "articles": table},
                                                    ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return name


def _array(folder: Path, name: str, kind: str) -> np.ndarray:
    # A plain array over the mapped pages: slicing np.memmap objects costs microseconds each.
    return np.asarray(np.load(folder / f"{name}.{kind}.npy", mmap_mode="r", allow_pickle=False))


def _read_pointer(folder: Path) -> list[str]:
    saved = json.loads((folder / POINTER).read_bytes())
    if not isinstance(saved, dict) or saved.get("format") != FORMAT or not isinstance(saved.get("parts"), list):
        raise ValueError(f"{folder / POINTER} is not a format {FORMAT} list of parts")
    names = [str(n) for n in saved["parts"]]
    bad = [n for n in names if not PART.fullmatch(n)]
    if bad:
        raise ValueError(f"{folder / POINTER} names unexpected parts {bad[:3]}")
    return names


def _write_pointer(folder: Path, names: list[str]) -> None:
    tmp = folder / f"{POINTER}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.write_text(json.dumps({"format": FORMAT, "parts": names}), encoding="utf-8")
    tmp.replace(folder / POINTER)  # atomic: readers see the old parts or the new ones


def _state(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, 0)
    return (st.st_ino, st.st_mtime_ns)
