"""One part of an embedded index's article files: written once, read back memory-mapped, never changed.

A part holds article versions: each one's text (zlib), its sentences' offsets and their vectors (int8 rows with
one scale per row, by default). Files: `<name>.json` (the table of article versions) and `<name>.<kind>.npy`
for vectors, scales, spans and text bytes. A JSON pointer, replaced atomically, names the folder's current
parts. Data formats only: `.npy` read with allow_pickle=False, and JSON.
"""

from __future__ import annotations

import json
import os
import re
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsdesk.models import Matrix

POINTER, FORMAT = "newsdesk-parts.json", 1
PART = re.compile(r"newsdesk-part-[0-9a-f]{12}")
PRECISION = "int8"  # or "float16", "float32": how new parts store sentence vectors (each part says its own)

Entry = tuple[str, str, int, int, int, int]  # article id, version, first row, rows, text start, text end


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
        self.articles: list[Entry] = []
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


def write_part(folder: Path, written: Sequence[Written]) -> str:
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
    _write_table(folder, name, dimension, table)
    return name


def copy_part(folder: Path, picks: Sequence[tuple[Part, Entry]]) -> str:
    """A new part holding these article versions as other parts store them: the same vector rows and scales
    (nothing is quantized twice) and the same compressed texts, written one article at a time, so a merge of
    the largest tier holds one article's rows in memory, not the tier's."""
    name = f"newsdesk-part-{uuid.uuid4().hex[:12]}"
    dimension = next((p.vectors.shape[1] for p, _ in picks), 0)
    if any(p.vectors.shape[1] != dimension for p, _ in picks):
        raise ValueError("parts of different vector sizes cannot be merged")
    kinds = {p.vectors.dtype for p, _ in picks}
    dtype = kinds.pop() if len(kinds) == 1 else np.dtype(PRECISION)  # mixed precisions: the current one
    rows = sum(entry[3] for _, entry in picks)
    text_bytes = sum(entry[5] - entry[4] for _, entry in picks)
    shapes = {"vectors": ((rows, dimension), dtype), "scales": ((rows,), np.dtype(np.float32)),
              "spans": ((rows, 3), np.dtype(np.int32)), "text": ((text_bytes,), np.dtype(np.uint8))}
    files = {kind: (folder / f"{name}.{kind}.npy").open("wb") for kind in shapes}
    try:
        for kind, (shape, kind_dtype) in shapes.items():
            header = {"descr": np.lib.format.dtype_to_descr(kind_dtype), "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(files[kind], header)
        table, row, text_at = [], 0, 0
        for part, (article_id, version, first, count, t0, t1) in picks:
            vectors, scales = part.vectors[first : first + count], part.scales[first : first + count]
            if vectors.dtype != dtype:
                vectors, scales = quantize(part.block(first, count), np.dtype(dtype).name)
            for kind, block in (("vectors", vectors), ("scales", scales), ("spans", part.spans[first : first + count]),
                                ("text", part.text[t0:t1])):
                files[kind].write(np.ascontiguousarray(block, shapes[kind][1]).tobytes())
            table.append([article_id, version, row, count, text_at, text_at + t1 - t0])
            row, text_at = row + count, text_at + t1 - t0
    finally:
        for file in files.values():
            file.close()
    _write_table(folder, name, dimension, table)
    return name


def _write_table(folder: Path, name: str, dimension: int, table: list[list[object]]) -> None:
    (folder / f"{name}.json").write_text(json.dumps({"format": FORMAT, "dimension": dimension, "articles": table},
                                                    ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _array(folder: Path, name: str, kind: str) -> np.ndarray:
    # A plain array over the mapped pages: slicing np.memmap objects costs microseconds each.
    return np.asarray(np.load(folder / f"{name}.{kind}.npy", mmap_mode="r", allow_pickle=False))


def read_pointer(folder: Path) -> list[str]:
    saved = json.loads((folder / POINTER).read_bytes())
    if not isinstance(saved, dict) or saved.get("format") != FORMAT or not isinstance(saved.get("parts"), list):
        raise ValueError(f"{folder / POINTER} is not a format {FORMAT} list of parts")
    names = [str(n) for n in saved["parts"]]
    bad = [n for n in names if not PART.fullmatch(n)]
    if bad:
        raise ValueError(f"{folder / POINTER} names unexpected parts {bad[:3]}")
    return names


def write_pointer(folder: Path, names: list[str]) -> None:
    tmp = folder / f"{POINTER}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.write_text(json.dumps({"format": FORMAT, "parts": names}), encoding="utf-8")
    tmp.replace(folder / POINTER)  # atomic: readers see the old parts or the new ones
