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
        idf = np.log1p((size - df + 0.5) / (df + 0.5))  # Lucene's IDF, bm25s keeps it as float32
        normalised = model.k1 * ((1 - model.b) + model.b * lengths[documents] / lengths.mean())
        scores = idf.astype(np.float32)[terms] * (counts / (normalised + counts))
        del counts, normalised
        install(model, terms, documents, scores, len(vocab), size)
        model.vocab_dict = {**vocab, EMPTY_TOKEN: len(vocab)} if EMPTY_TOKEN not in vocab else dict(vocab)
        model.unique_token_ids_set = set(model.vocab_dict.values())
        return model, dict(zip(vocab, idf.tolist(), strict=True))


def install(model: bm25s.BM25, columns: np.ndarray, documents: np.ndarray, scores: np.ndarray, terms: int,
            size: int) -> None:
    """Put (term column, document, score) triples into `model` as bm25s' column-sorted sparse matrix."""
    order = np.lexsort((documents, columns))
    indptr = np.zeros(terms + 1, np.int64)
    np.cumsum(np.bincount(columns, minlength=terms), out=indptr[1:])
    model.scores = {"data": scores[order].astype(np.dtype(model.dtype)),
                    "indices": documents[order].astype(np.dtype(model.int_dtype)),
                    "indptr": indptr, "num_docs": size}
    model.nonoccurrence_array = None  # Lucene scoring has none (index() would set it so)


def _check_defaults(model: bm25s.BM25) -> None:
    """The scores above are bm25s' Lucene variant; a bm25s whose defaults changed must not get them silently."""
    if (model.method, model.idf_method) != ("lucene", "lucene"):
        raise RuntimeError(f"bm25s defaults changed (method={model.method!r}, idf_method={model.idf_method!r}): "
                           "newsdesk.index.lexical_build computes the Lucene variant")
