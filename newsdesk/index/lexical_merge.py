"""One BM25 index over several segments' saved ones, without tokenizing a single article again.

Each segment's bm25s index stores, per (term, article), idf(term) x tf-part, with the idf of that segment
alone. The merge counts each term's articles across segments (the columns' sizes, hidden articles left
out), recomputes the idf over all of them and rescales every stored score by global idf / segment idf.
What stays per segment is the length normalisation (an article's length against its segment's average
length): compaction rebuilds the index from the texts, exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import bm25s
import numpy as np

from newsdesk.index.lexical import LexicalIndex
from newsdesk.index.lexical_build import lucene_idf, term_weights
from newsdesk.models import Hit

BLOCK = 1 << 18  # entries per numpy step: a query container merges beside its requests, and each step holds the GIL


@dataclass
class _Segment:
    """One part's saved index as the merge reads it."""

    lexical: LexicalIndex
    keep: np.ndarray  # per article: not hidden
    renumber: np.ndarray  # article -> row in the merged index
    columns: np.ndarray  # local column -> global column (-1: bm25s' "" token)
    local_idf: np.ndarray
    kept: np.ndarray  # per local column: entries of kept articles

    def blocks(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(local column, article, score) of the kept entries, BLOCK entries at a time, in column order."""
        scores = self.lexical.bm25.scores
        indptr = np.asarray(scores["indptr"], np.int64)
        for start in range(0, int(indptr[-1]), BLOCK):
            stop = min(start + BLOCK, int(indptr[-1]))
            column = np.searchsorted(indptr, np.arange(start, stop), side="right") - 1
            documents = np.asarray(scores["indices"][start:stop], np.int64)
            wanted = self.keep[documents] & (self.columns[column] >= 0)
            yield column[wanted], documents[wanted], np.asarray(scores["data"][start:stop], np.float64)[wanted]


def merge_lexical(parts: Sequence[tuple[LexicalIndex, frozenset[str]]]) -> LexicalIndex:
    """The index over every part's articles except each part's hidden ones (parts oldest first).

    Two passes over each part's entries, a block at a time and without a sort: count the kept entries of each
    column, then write each entry straight to its place in bm25s' column-sorted arrays (a column holds each
    part's run of it in part order, so its articles stay ascending).
    """
    if len(parts) == 1 and not parts[0][1]:
        return parts[0][0]
    hits: list[Hit] = []
    meta: list[tuple[str | None, int | None]] = []
    vocab: dict[str, int] = {}
    segments: list[_Segment] = []
    for lexical, hidden in parts:
        keep = np.array([h.article_id not in hidden for h in lexical.hits], bool)
        hits.extend(h for h, k in zip(lexical.hits, keep, strict=True) if k)
        meta.extend(m for m, k in zip(lexical.meta, keep, strict=True) if k)
        if not lexical.size:
            continue
        local_df = np.diff(np.asarray(lexical.bm25.scores["indptr"], np.int64)).astype(np.float64)
        columns = np.full(len(local_df), -1, np.int64)
        for term, column in lexical.bm25.vocab_dict.items():
            if term:
                columns[column] = vocab.setdefault(term, len(vocab))
        local_idf = lucene_idf(local_df, lexical.size)
        renumber = np.cumsum(keep) - 1 + (len(hits) - int(keep.sum()))
        segment = _Segment(lexical, keep, renumber, columns, local_idf, np.zeros(len(local_df), np.int64))
        for column, _, _ in segment.blocks():
            segment.kept += np.bincount(column, minlength=len(local_df))
        segments.append(segment)
    size = len(hits)
    bm25 = bm25s.BM25()
    if not size or not segments:
        return LexicalIndex(hits, meta, {}, bm25)
    df = np.zeros(len(vocab), np.int64)
    for segment in segments:
        mapped = segment.columns >= 0
        df[segment.columns[mapped]] += segment.kept[mapped]  # a part's columns are distinct terms
    idf = lucene_idf(df, size)
    indptr = np.zeros(len(vocab) + 1, np.int64)
    np.cumsum(df, out=indptr[1:])
    data = np.empty(int(indptr[-1]), np.dtype(bm25.dtype))
    indices = np.empty(int(indptr[-1]), np.dtype(bm25.int_dtype))
    offset = indptr[:-1].copy()  # where each column's next part's run starts
    for segment in segments:
        first = np.cumsum(segment.kept) - segment.kept  # a local column's first kept entry, in this part's order
        done = 0
        for column, documents, scores in segment.blocks():
            target = segment.columns[column]
            at = offset[target] + (done + np.arange(len(column)) - first[column])
            data[at] = scores / segment.local_idf[column] * idf[target]
            indices[at] = segment.renumber[documents]
            done += len(column)
        mapped = segment.columns >= 0
        offset[segment.columns[mapped]] += segment.kept[mapped]
    bm25.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": size}
    bm25.nonoccurrence_array = None  # Lucene scoring has none
    bm25.vocab_dict = vocab
    bm25.unique_token_ids_set = set(range(len(vocab)))  # the ids are 0..n-1
    return LexicalIndex(hits, meta, term_weights(vocab, idf), bm25)
