"""What the question pipeline reads from the index: a narrow port and its implementation over the store."""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from newsdesk.answer.retrieve import RankedArticle, RetrievalConfig, retrieve
from newsdesk.index.derived import DerivedData
from newsdesk.index.lexical import Lexical
from newsdesk.models import Article, Filters, Matrix, StoredSentence, is_version
from newsdesk.ports import VectorStore

Found = dict[str, tuple[Article, str]]  # article id -> (article, current version)


class Library(Protocol):
    """The index as a question sees it: ranked articles, the current version of each, their sentences."""

    def lexical(self) -> Lexical: ...

    def ranked(self, text: str, vector: Matrix, filters: Filters, lexical: Lexical | None = None) -> list[RankedArticle]: ...

    def articles(self, ids: list[str]) -> Found: ...

    def current(self, text: str, vector: Matrix, filters: Filters, n: int,
                lexical: Lexical | None = None) -> list[tuple[Article, str]]: ...

    def sentences_of(self, found: Found) -> list[StoredSentence]: ...


class IndexLibrary:
    """The `Library` over a vector store and its derived data, with stored sentences cached per article version."""

    def __init__(self, store: VectorStore, derived: DerivedData, retrieval: RetrievalConfig, cached_articles: int) -> None:
        self.store = store
        self.derived = derived
        self.retrieval = retrieval
        self.cached_articles = cached_articles
        self._sentence_cache: OrderedDict[tuple[str, str], list[StoredSentence]] = OrderedDict()

    def lexical(self) -> Lexical:
        """The lexical index of the store's current revision (the first question of a process builds or loads it)."""
        return self.derived.lexical()

    def ranked(self, text: str, vector: Matrix, filters: Filters, lexical: Lexical | None = None) -> list[RankedArticle]:
        """Articles ranked for a search (`lexical`: the index the question started with)."""
        return retrieve(self.store, lexical or self.lexical(), text, vector, filters, self.retrieval)

    def articles(self, ids: list[str]) -> Found:
        return self.store.articles(ids)

    def current(self, text: str, vector: Matrix, filters: Filters, n: int,
                lexical: Lexical | None = None) -> list[tuple[Article, str]]:
        """The best `n` current articles for a search among its best n + 2 hits (a hit of an older version is not
        one); `lexical`: the index the question started with."""
        ranked = self.ranked(text, vector, filters, lexical)[: n + 2]
        found = self.store.articles([r.article_id for r in ranked])
        return [found[r.article_id] for r in ranked
                if r.article_id in found and is_version(found[r.article_id][1], r.version)][:n]

    def sentences_of(self, found: Found) -> list[StoredSentence]:
        """Stored sentences with vectors in the order of `found`, cached per article version (a version never changes)."""
        versions = {a: v for a, (_, v) in found.items()}
        missing = {a: v for a, v in versions.items() if (a, v) not in self._sentence_cache}
        if missing:
            fetched: dict[tuple[str, str], list[StoredSentence]] = {}
            for article_id, version in list(missing.items()):
                kept = self.derived.vectors.get(found[article_id][0], version) if self.derived.vectors else None
                if kept is not None:
                    fetched[(article_id, version)] = kept
                    del missing[article_id]
            fetched.update({key: [] for key in missing.items()})
            for stored in self.store.sentences(missing) if missing else []:
                fetched[(stored.sentence.article_id, stored.version)].append(stored)
            for key, rows in fetched.items():
                self._sentence_cache[key] = rows
                self._sentence_cache.move_to_end(key)
            while len(self._sentence_cache) > self.cached_articles:
                self._sentence_cache.popitem(last=False)
        out: list[StoredSentence] = []
        for key in versions.items():
            self._sentence_cache.move_to_end(key)
            out.extend(self._sentence_cache[key])
        return out
