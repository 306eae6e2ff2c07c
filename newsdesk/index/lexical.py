"""Lexical side of retrieval: BM25 over whole articles (bm25s) and IDF weights for sentence overlap."""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from newsdesk.models import Article, Filters, Hit

WORD = re.compile(r"[^\W_]+(?:['’.][^\W_]+)*")
STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN) | {
    "lrb", "rrb", "cnn", "said", "says", "say", "s", "t", "did", "does", "do", "what", "who", "whom", "when",
    "where", "which", "why", "how", "many", "much",
}
CACHE_FILE, CACHE_FORMAT = "newsdesk-lexical.pkl", 1
_stemmer = Stemmer.Stemmer("english")
_stems: dict[str, str] = {}  # word -> stem: a news vocabulary repeats, and a lookup is twice as fast as stemming
MAX_STEMS = 500_000
logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on itself


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words."""
    out = []
    for word in WORD.findall(text):
        word = word.casefold().replace("’", "'")
        if word in STOPWORDS:
            continue
        stem = _stems.get(word)
        if stem is None:
            if len(_stems) >= MAX_STEMS:
                _stems.clear()
            stem = _stems[word] = _stemmer.stemWord(word)
        out.append(stem)
    return out


@lru_cache(maxsize=100_000)
def sentence_terms(text: str) -> tuple[str, ...]:
    """`terms` of a stored sentence, cached: a warm process scores the same sentences again and again."""
    return tuple(terms(text))


@lru_cache(maxsize=100_000)
def sentence_profile(text: str) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """A stored sentence's set of terms and of adjacent term pairs, cached like `sentence_terms`."""
    ordered = sentence_terms(text)
    return frozenset(ordered), frozenset(zip(ordered, ordered[1:], strict=False))


def clear_caches() -> None:
    sentence_terms.cache_clear()
    sentence_profile.cache_clear()
    _stems.clear()


class LexicalIndex:
    """BM25 over every current article (title and text), plus IDF weights for sentence scoring."""

    def __init__(self, rows: Iterable[tuple[Article, str]]) -> None:
        self.hits: list[Hit] = []
        self.meta: list[tuple[str | None, int | None]] = []
        corpus: list[list[str]] = []
        df: Counter[str] = Counter()
        for article, version in rows:
            tokens = terms(f"{article.title or ''}\n{article.text}")
            self.hits.append(Hit(article.id, version, 0, 0.0))
            self.meta.append((article.outlet, article.published_day))
            corpus.append(tokens)
            df.update(set(tokens))
        self.size = len(corpus)
        self.outlets = sorted({outlet for outlet, _ in self.meta if outlet})
        self.idf = {t: math.log(1 + (self.size - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        self.default_idf = math.log(1 + (self.size + 0.5) / 0.5)
        self.bm25 = bm25s.BM25()
        if corpus:
            self.bm25.index(corpus, show_progress=False)

    def search(self, question: str, k: int, filters: Filters) -> list[Hit]:
        """Articles by BM25 score, best first; only articles the filters allow."""
        tokens = [t for t in terms(question) if t in self.idf]
        if not tokens or not self.size:
            return []
        # get_scores and a numpy top-k: bm25s' retrieve() adds a thread pool and a progress bar per call
        # (0.67 ms against 0.09 ms a question on NewsQA).
        scores = np.asarray(self.bm25.get_scores(tokens), np.float32)
        if not filters.empty:
            scores = scores * np.array([1.0 if filters.allows(o, d) else 0.0 for o, d in self.meta], np.float32)
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [Hit(self.hits[i].article_id, self.hits[i].version, 0, float(scores[i])) for i in top if scores[i] > 0]

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.default_idf)

    def save(self, folder: Path, revision: str) -> None:
        """Keep the index beside the store, so a new process (or a snapshot's reader) skips the build."""
        tmp = folder / f"{CACHE_FILE}.{os.getpid()}.tmp"
        with tmp.open("wb") as f:
            pickle.dump({"format": CACHE_FORMAT, "revision": revision, "index": self}, f)
        tmp.replace(folder / CACHE_FILE)  # atomic: readers see the old file or the new one

    @staticmethod
    def load(folder: Path, revision: str) -> LexicalIndex | None:
        """The saved index if it was built for this revision of the store (our own file, never user input)."""
        try:
            with (folder / CACHE_FILE).open("rb") as f:
                saved = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        if saved.get("format") != CACHE_FORMAT or saved.get("revision") != revision:
            return None
        index = saved.get("index")
        return index if isinstance(index, LexicalIndex) else None
