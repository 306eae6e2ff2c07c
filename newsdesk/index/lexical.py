"""Lexical side of retrieval: BM25 over whole articles (bm25s) and IDF weights for sentence overlap."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np
import Stemmer

from newsdesk.index.lexical_build import Postings, lucene_idf
from newsdesk.models import Article, Filters, Hit

log = logging.getLogger(__name__)

WORD = re.compile(r"[^\W_]+(?:['’.][^\W_]+)*")
STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN) | {
    "lrb", "rrb", "cnn", "said", "says", "say", "s", "t", "did", "does", "do", "what", "who", "whom", "when",
    "where", "which", "why", "how", "many", "much",
}
# The saved index: a JSON pointer (replaced atomically) naming a folder that holds bm25s' own files (.npy and
# JSON), our per-article metadata (JSON) and IDF weights (.npy). Nothing is unpickled; an old pickle is never
# opened, only deleted.
CACHE_FILE, CACHE_FORMAT = "newsdesk-lexical.json", 2
CACHE_FOLDER = re.compile(r"newsdesk-lexical-[0-9a-f]{12}")
ARTICLES_FILE, IDF_FILE = "newsdesk-articles.json", "newsdesk-idf.npy"
LEGACY_FILE = "newsdesk-lexical.pkl"
_stemmer = Stemmer.Stemmer("english")
MAX_STEMS = 500_000
logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on itself


class _Stems(dict[str, str]):
    """word -> stem, filled as words come: a news vocabulary repeats, and a lookup is twice as fast as stemming."""

    def __missing__(self, word: str) -> str:
        if len(self) >= MAX_STEMS:
            self.clear()
        stem = self[word] = _stemmer.stemWord(word)
        return stem


_stems = _Stems()


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words."""
    # Case-folded once per text, one comprehension: a question's new sentences are tokenized on its request path.
    stems = _stems
    return [stems[word] for word in WORD.findall(text.casefold().replace("’", "'")) if word not in STOPWORDS]


@lru_cache(maxsize=100_000)
def sentence_terms(text: str) -> tuple[str, ...]:
    """`terms` of a stored sentence, cached: a warm process scores the same sentences again and again."""
    return tuple(terms(text))


@lru_cache(maxsize=100_000)
def sentence_term_set(text: str) -> frozenset[str]:
    """The set of a stored sentence's terms, cached like `sentence_terms`."""
    return frozenset(sentence_terms(text))


def clear_caches() -> None:
    sentence_terms.cache_clear()
    sentence_term_set.cache_clear()
    _stems.clear()


class Lexical(Protocol):
    """What retrieval, answers and the archive read of a lexical index: a `LexicalIndex` built or loaded over a
    store, or a snapshot version's `SegmentedLexical` over its segments' indexes."""

    hits: list[Hit]  # every current article, in the index's order
    meta: list[tuple[str | None, int | None]]  # (outlet, published day) of each
    size: int
    outlets: list[str]

    def search(self, question: str, k: int, filters: Filters) -> list[Hit]: ...

    def weight(self, term: str) -> float: ...


class LexicalIndex:
    """BM25 over every current article (title and text), plus IDF weights for sentence scoring."""

    def __init__(self, hits: list[Hit], meta: list[tuple[str | None, int | None]], idf: dict[str, float],
                 bm25: bm25s.BM25) -> None:
        self.hits, self.meta, self.idf, self.bm25 = hits, meta, idf, bm25
        self.size = len(hits)
        self.article_ids = [hit.article_id for hit in hits]  # for C-speed dict updates over a whole segment
        self.outlets = sorted({outlet for outlet, _ in meta if outlet})
        self.default_idf = float(lucene_idf(np.zeros(1), self.size)[0])  # a term no article has

    @cached_property
    def outlet_labels(self) -> list[str]:
        """Each article's outlet ("(unknown)" where none), in `article_ids` order: a segmented store counts them again
        on every version, and a 50,000-article base's list is made once."""
        return [outlet or "(unknown)" for outlet, _ in self.meta]

    @classmethod
    def build(cls, rows: Iterable[tuple[Article, str]]) -> LexicalIndex:
        """The index over `rows`, read once: each article is tokenized and kept as term counts, never as text."""
        hits: list[Hit] = []
        meta: list[tuple[str | None, int | None]] = []
        postings = Postings()
        for article, version in rows:
            postings.add(terms(f"{article.title or ''}\n{article.text}"))
            hits.append(Hit(article.id, version, 0, 0.0))
            meta.append((article.outlet, article.published_day))
        bm25, idf = postings.bm25()
        return cls(hits, meta, idf, bm25)

    def search(self, question: str, k: int, filters: Filters) -> list[Hit]:
        """Articles by BM25 score, best first; only articles the filters allow."""
        tokens = [t for t in terms(question) if t in self.idf]
        if not tokens or not self.size:
            return []
        # get_scores and a numpy top-k: bm25s' retrieve() adds a thread pool and a progress bar per call
        # (0.67 ms against 0.09 ms a question on NewsQA).
        return top_hits(np.asarray(self.bm25.get_scores(tokens), np.float32), self.hits, self.meta, k, filters)

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.default_idf)

    def save(self, folder: Path, revision: str) -> None:
        """Keep the index beside the store, so a new process (or a snapshot's reader) skips the build.

        A new folder of files first, then the pointer to it (atomic: readers see the old index or the
        new one), then older folders and any old pickle go.
        """
        name = f"newsdesk-lexical-{uuid.uuid4().hex[:12]}"
        (folder / name).mkdir()
        if self.size:
            self.bm25.save(folder / name, show_progress=False)  # .npy (allow_pickle=False) and JSON
            # IDF weights in the order of bm25s' vocabulary (same terms), so the file holds no second vocabulary.
            weights = np.zeros(len(self.bm25.vocab_dict), np.float64)
            for term, column in self.bm25.vocab_dict.items():
                weights[column] = self.idf[term] if term else 0.0  # "" is bm25s' own empty token
            np.save(folder / name / IDF_FILE, weights, allow_pickle=False)
        articles = [[h.article_id, h.version, outlet, day] for h, (outlet, day) in zip(self.hits, self.meta, strict=True)]
        _write_json(folder / name / ARTICLES_FILE, articles)
        _write_json(folder / CACHE_FILE, {"format": CACHE_FORMAT, "revision": revision, "folder": name})
        for old in folder.glob("newsdesk-lexical-*"):
            if old.name != name and CACHE_FOLDER.fullmatch(old.name):  # a reader that mapped them keeps its pages
                shutil.rmtree(old, ignore_errors=True)
        (folder / LEGACY_FILE).unlink(missing_ok=True)

    @staticmethod
    def saved_revision(folder: Path) -> str | None:
        """The revision of the index saved in `folder`, or None when there is none (or it is unreadable)."""
        try:
            saved = json.loads((folder / CACHE_FILE).read_bytes())
        except (OSError, ValueError):
            return None
        ok = isinstance(saved, dict) and saved.get("format") == CACHE_FORMAT and isinstance(saved.get("revision"), str)
        return saved["revision"] if ok else None

    @staticmethod
    def load(folder: Path, revision: str) -> LexicalIndex | None:
        """The saved index if it was built for this revision of the store; None when absent, stale or unreadable."""
        try:
            saved = json.loads((folder / CACHE_FILE).read_bytes())
            if not isinstance(saved, dict) or saved.get("format") != CACHE_FORMAT or saved.get("revision") != revision:
                return None
            return _read(folder, saved["folder"])
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file is rebuilt, never trusted
            log.warning("lexical index not loaded folder=%s error=%s", folder, exc)
            return None


def top_hits(scores: np.ndarray, hits: list[Hit], meta: list[tuple[str | None, int | None]], k: int,
             filters: Filters) -> list[Hit]:
    """The `k` best-scoring articles (`scores` in the order of `hits`) the filters allow, best first."""
    if not filters.empty:
        scores = scores * np.array([1.0 if filters.allows(o, d) else 0.0 for o, d in meta], np.float32)
    k = min(k, len(hits))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(hits) else np.arange(len(hits))
    top = top[np.argsort(-scores[top], kind="stable")]
    return [Hit(hits[i].article_id, hits[i].version, 0, float(scores[i])) for i in top if scores[i] > 0]


def _read(folder: Path, name: object) -> LexicalIndex:
    if not isinstance(name, str) or not CACHE_FOLDER.fullmatch(name):
        raise ValueError(f"unexpected lexical index folder {name!r}")
    articles = json.loads((folder / name / ARTICLES_FILE).read_bytes())
    hits = [Hit(str(article_id), str(version), 0, 0.0) for article_id, version, _, _ in articles]
    meta = [(None if outlet is None else str(outlet), None if day is None else int(day)) for _, _, outlet, day in articles]
    if not hits:
        return LexicalIndex(hits, meta, {}, bm25s.BM25())
    # bm25s' own loader: its .npy files with allow_pickle=False, memory-mapped (paged in as used), and JSON.
    bm25 = bm25s.BM25.load(folder / name, mmap=True, allow_pickle=False, load_corpus=False, show_progress=False)
    weights = np.load(folder / name / IDF_FILE, allow_pickle=False)
    return LexicalIndex(hits, meta, _check(bm25, weights, len(hits)), bm25)


def _check(bm25: bm25s.BM25, weights: np.ndarray, documents: int) -> dict[str, float]:
    """Check the loaded arrays have the shapes our build gives (a foreign or truncated index fails here, not
    mid-question) and return the IDF weights by term."""
    expected = bm25s.BM25()
    for name in ("k1", "b", "delta", "method", "idf_method", "dtype", "int_dtype", "backend"):
        if getattr(bm25, name) != getattr(expected, name):
            raise ValueError(f"bm25s parameter {name}={getattr(bm25, name)!r} is not what Newsdesk builds")
    data, indices, indptr = (np.asarray(bm25.scores[k]) for k in ("data", "indices", "indptr"))
    vocab: dict[str, int] = bm25.vocab_dict
    columns = np.fromiter(vocab.values(), np.int64, len(vocab))
    terms_only = columns[columns != vocab[""]] if "" in vocab else columns  # "" is bm25s' own, never queried
    if (bm25.scores["num_docs"] != documents or weights.dtype != np.float64 or weights.shape != (len(vocab),)
            or any(a.ndim != 1 for a in (data, indices, indptr)) or len(data) != len(indices)
            or (len(terms_only) and (terms_only.min() < 0 or terms_only.max() + 2 > len(indptr)))
            or int(indptr[-1]) != len(data) or (len(indices) and int(indices.max()) >= documents)):
        raise ValueError("bm25s files do not match the articles")
    # Plain arrays over the mapped pages: slicing np.memmap objects costs microseconds each.
    bm25.scores = {**bm25.scores, "data": data, "indices": indices, "indptr": indptr}
    idf = dict(zip(vocab, weights[columns].tolist(), strict=True))
    idf.pop("", None)
    return idf


def _write_json(path: Path, value: object) -> None:
    """Write to a temporary file, then rename over `path`: readers see the old file or the new one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)
