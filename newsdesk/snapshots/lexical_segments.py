"""BM25 over several segments' saved indexes, scored at query time with the IDF of all of them: nothing is merged.

Each segment's bm25s index stores, per (term, article), idf_segment(term) x tf-part. A question rescales each of
its terms' stored scores by idf(term) / idf_segment(term), where idf counts the term's articles in every segment
(hidden ones left out: a newer segment replaced or deleted them). So a new version with one more delta costs a
pass over the articles' ids, not over the index's entries: merging 14 million entries at 50,000 articles was
~3 s of numpy beside the container's requests after every publish. What stays per segment is the length
normalisation (an article's length against its segment's average length); compaction rebuilds the index from
the texts, exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsdesk.index.lexical import LexicalIndex, terms, top_hits
from newsdesk.index.lexical_build import lucene_idf
from newsdesk.models import Filters, Hit

MAX_WEIGHTS = 100_000  # terms whose idf a version keeps, once computed


@dataclass(frozen=True)
class _Part:
    """One segment's saved index as a version reads it."""

    lexical: LexicalIndex
    keep: np.ndarray | None  # per article: not hidden (None: none is)

    def df(self, term: str) -> int:
        """Articles of this segment, hidden ones left out, that hold `term`."""
        column = self.lexical.bm25.vocab_dict.get(term) if self.lexical.size else None
        if column is None:
            return 0
        indptr = self.lexical.bm25.scores["indptr"]
        start, stop = int(indptr[column]), int(indptr[column + 1])
        if self.keep is None:
            return stop - start
        return int(np.count_nonzero(self.keep[self.lexical.bm25.scores["indices"][start:stop]]))

    def scores(self, weights: dict[str, float]) -> np.ndarray:
        """BM25 of each kept article for the (term -> global idf) `weights`, in segment order."""
        lexical = self.lexical
        out = np.zeros(lexical.size, np.float32)
        if not lexical.size:
            return out
        scores, vocab = lexical.bm25.scores, lexical.bm25.vocab_dict
        for term, weight in weights.items():
            column = vocab.get(term)
            if column is None:
                continue
            start, stop = int(scores["indptr"][column]), int(scores["indptr"][column + 1])
            # A column lists each article once: a fancy-indexed += adds every entry.
            out[scores["indices"][start:stop]] += scores["data"][start:stop] * np.float32(weight / lexical.idf[term])
        return out if self.keep is None else out[self.keep]


class SegmentedLexical:
    """The `Lexical` of a version made of segments (oldest first), each with the article ids it hides."""

    def __init__(self, parts: Sequence[tuple[LexicalIndex, frozenset[str]]]) -> None:
        self._parts: list[_Part] = []
        self.hits: list[Hit] = []
        self.meta: list[tuple[str | None, int | None]] = []
        for lexical, hidden in parts:
            if not hidden:
                self._parts.append(_Part(lexical, None))
                self.hits.extend(lexical.hits)
                self.meta.extend(lexical.meta)
                continue
            keep = np.fromiter((a not in hidden for a in lexical.article_ids), bool, lexical.size)
            self._parts.append(_Part(lexical, keep))
            rows = np.flatnonzero(keep).tolist()
            self.hits.extend(lexical.hits[i] for i in rows)
            self.meta.extend(lexical.meta[i] for i in rows)
        self.size = len(self.hits)
        self.outlets = sorted({outlet for outlet, _ in self.meta if outlet})
        self._weights: dict[str, float] = {}

    def weight(self, term: str) -> float:
        """The term's Lucene IDF over every kept article of every segment."""
        weight = self._weights.get(term)
        if weight is None:
            weight = float(lucene_idf(np.array([sum(part.df(term) for part in self._parts)], np.float64), self.size)[0])
            if len(self._weights) < MAX_WEIGHTS:
                self._weights[term] = weight
        return weight

    def search(self, question: str, k: int, filters: Filters) -> list[Hit]:
        """Articles by BM25 score, best first; only articles the filters allow."""
        tokens = [t for t in terms(question) if any(t in part.lexical.idf for part in self._parts)]
        if not tokens or not self.size:
            return []
        weights = {term: self.weight(term) * tokens.count(term) for term in dict.fromkeys(tokens)}
        scores = np.concatenate([part.scores(weights) for part in self._parts])
        return top_hits(scores, self.hits, self.meta, k, filters)
