"""BM25 built one article at a time, in memory that follows the index's size, not the archive's text.

bm25s' own `index()` wants every article's token list at once: Python lists of strings, several times the
archive's text in memory (the final step of a 100,000-article ingest went from 1.6 GB to 3.4 GB building it).
`Postings` keeps each article as its distinct term ids and their counts (8 bytes a distinct term), and
`Postings.bm25` computes the scores bm25s computes (Lucene IDF, Robertson term frequency, its default k1 and
b) straight into bm25s' sparse-matrix arrays; bm25s still scores, saves and loads them.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Sequence

import bm25s
import numpy as np

EMPTY_TOKEN = ""  # bm25s' own vocabulary entry for documents without tokens; never queried


class Postings:
    """Each added article's distinct terms and counts, in compact arrays."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self._terms = array("i")  # term id of each (article, distinct term), articles in order
        self._counts = array("i")  # how often the term occurs in that article
        self._distinct = array("i")  # distinct terms per article
        self._lengths = array("i")  # tokens per article (BM25's document length)

    @property
    def documents(self) -> int:
        return len(self._lengths)

    def add(self, tokens: Sequence[str]) -> None:
        counts = Counter(tokens)
        vocab = self.vocab
        self._terms.extend(vocab.setdefault(term, len(vocab)) for term in counts)
        self._counts.extend(counts.values())
        self._distinct.append(len(counts))
        self._lengths.append(len(tokens))

    def bm25(self) -> tuple[bm25s.BM25, dict[str, float]]:
        """bm25s' index of the added articles (as `BM25().index` builds it) and each term's IDF."""
        model = bm25s.BM25()
        size, vocab = self.documents, self.vocab
        if not size:
            return model, {}
        _check_defaults(model)
        terms = np.frombuffer(self._terms, np.int32)
        counts = np.frombuffer(self._counts, np.int32).astype(np.float64)
        lengths = np.frombuffer(self._lengths, np.int32)
        documents = np.repeat(np.arange(size, dtype=np.int32), np.frombuffer(self._distinct, np.int32))
        df = np.bincount(terms, minlength=len(vocab))
        idf = lucene_idf(df, size)  # bm25s keeps it as float32 in the scores
        normalised = model.k1 * ((1 - model.b) + model.b * lengths[documents] / lengths.mean())
        scores = idf.astype(np.float32)[terms] * (counts / (normalised + counts))
        del counts, normalised
        order = np.argsort(terms, kind="stable")  # by column; entries came in document order, so they stay so
        indptr = np.zeros(len(vocab) + 1, np.int64)
        np.cumsum(df, out=indptr[1:])
        model.scores = {"data": scores[order].astype(np.dtype(model.dtype)),
                        "indices": documents[order].astype(np.dtype(model.int_dtype)),
                        "indptr": indptr, "num_docs": size}
        model.nonoccurrence_array = None  # Lucene scoring has none (index() would set it so)
        model.vocab_dict = {**vocab, EMPTY_TOKEN: len(vocab)} if EMPTY_TOKEN not in vocab else dict(vocab)
        model.unique_token_ids_set = set(model.vocab_dict.values())
        return model, dict(zip(vocab, idf.tolist(), strict=True))  # vocab numbers its terms 0..n-1 in order


def lucene_idf(df: np.ndarray, documents: int) -> np.ndarray:
    """bm25s' Lucene IDF of terms found in `df` of `documents` articles."""
    return np.log1p((documents - df + 0.5) / (df + 0.5))


def _check_defaults(model: bm25s.BM25) -> None:
    """The scores above are bm25s' Lucene variant; a bm25s whose defaults changed must not get them silently."""
    if (model.method, model.idf_method) != ("lucene", "lucene"):
        raise RuntimeError(f"bm25s defaults changed (method={model.method!r}, idf_method={model.idf_method!r}): "
                           "newsdesk.index.lexical_build computes the Lucene variant")
