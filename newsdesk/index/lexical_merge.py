"""One BM25 index over several segments' saved ones, without tokenizing a single article again.

Each segment's bm25s index stores, per (term, article), idf(term) x tf-part, with the idf of that segment
alone. The merge counts each term's articles across segments (the columns' sizes, hidden articles left
out), recomputes the idf over all of them and rescales every stored score by global idf / segment idf.
What stays per segment is the length normalisation (an article's length against its segment's average
length): compaction rebuilds the index from the texts, exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import numpy as np

from newsdesk.index.lexical import LexicalIndex
from newsdesk.index.lexical_build import install
from newsdesk.models import Hit


def merge_lexical(parts: Sequence[tuple[LexicalIndex, frozenset[str]]]) -> LexicalIndex:
    """The index over every part's articles except each part's hidden ones (parts oldest first)."""
    if len(parts) == 1 and not parts[0][1]:
        return parts[0][0]
    hits: list[Hit] = []
    meta: list[tuple[str | None, int | None]] = []
    vocab: dict[str, int] = {}
    pieces = []
    for lexical, hidden in parts:
        keep = np.array([h.article_id not in hidden for h in lexical.hits], bool)
        hits.extend(h for h, k in zip(lexical.hits, keep, strict=True) if k)
        meta.extend(m for m, k in zip(lexical.meta, keep, strict=True) if k)
        if not lexical.size:
            continue
        scores, terms = lexical.bm25.scores, lexical.bm25.vocab_dict
        indptr = np.asarray(scores["indptr"], np.int64)
        columns = np.full(len(indptr) - 1, -1, np.int64)  # local column -> global column (-1: bm25s' "" token)
        for term, column in terms.items():
            if term:
                columns[column] = vocab.setdefault(term, len(vocab))
        local_df = np.diff(indptr)
        local_idf = np.log1p((lexical.size - local_df + 0.5) / (local_df + 0.5))
        column_of = np.repeat(np.arange(len(local_df)), local_df)
        documents = np.asarray(scores["indices"], np.int64)
        wanted = keep[documents] & (columns[column_of] >= 0)
        renumber = np.cumsum(keep) - 1 + (len(hits) - int(keep.sum()))
        pieces.append((columns[column_of[wanted]], renumber[documents[wanted]],
                       np.asarray(scores["data"], np.float64)[wanted] / local_idf[column_of[wanted]]))
    size = len(hits)
    bm25 = bm25s.BM25()
    if not size or not pieces:
        return LexicalIndex(hits, meta, {}, bm25)
    columns = np.concatenate([p[0] for p in pieces])
    documents = np.concatenate([p[1] for p in pieces])
    tf_part = np.concatenate([p[2] for p in pieces])
    df = np.bincount(columns, minlength=len(vocab))
    idf = np.log1p((size - df + 0.5) / (df + 0.5))
    install(bm25, columns, documents, tf_part * idf[columns], len(vocab), size)
    bm25.vocab_dict = dict(vocab)
    bm25.unique_token_ids_set = set(vocab.values())
    return LexicalIndex(hits, meta, dict(zip(vocab, idf.tolist(), strict=True)), bm25)
