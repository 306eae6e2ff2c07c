"""An in-memory VectorStore: the fake for tests, with the same contract as Chroma."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from newsdesk.models import Article, Filters, Hit, IndexedArticle, Matrix, StoredSentence, StoreStats


class MemoryStore:
    def __init__(self) -> None:
        self._items: dict[str, IndexedArticle] = {}
        self._revision = uuid.uuid4().hex

    def version_of(self, article_id: str) -> str | None:
        item = self._items.get(article_id)
        return item.version if item else None

    def write(self, indexed: IndexedArticle) -> None:
        self._items[indexed.article.id] = indexed
        self._revision = uuid.uuid4().hex

    def delete(self, article_id: str) -> bool:
        found = self._items.pop(article_id, None) is not None
        if found:
            self._revision = uuid.uuid4().hex
        return found

    def query_chunks(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        return self._nearest(vector, k, filters, chunks=True)

    def query_sentences(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        return self._nearest(vector, k, filters, chunks=False)

    def query_dense(self, vector: Matrix, k: int, filters: Filters) -> tuple[list[Hit], list[Hit]]:
        return self.query_chunks(vector, k, filters), self.query_sentences(vector, k, filters)

    def _nearest(self, vector: Matrix, k: int, filters: Filters, chunks: bool) -> list[Hit]:
        hits = []
        for item in self._items.values():
            if not filters.allows(item.article.outlet, item.article.published_day):
                continue
            matrix = item.chunk_vectors if chunks else item.sentence_vectors
            for index, score in enumerate(matrix @ vector):
                hits.append(Hit(item.article.id, item.version, index, float(score)))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]

    def articles(self, ids: Sequence[str]) -> dict[str, tuple[Article, str]]:
        return {i: (self._items[i].article, self._items[i].version) for i in ids if i in self._items}

    def sentences(self, versions: Mapping[str, str]) -> list[StoredSentence]:
        out: list[StoredSentence] = []
        for article_id, version in versions.items():
            item = self._items.get(article_id)
            if item and item.version == version:
                out.extend(
                    StoredSentence(s, item.version, np.asarray(v, np.float32))
                    for s, v in zip(item.sentences, item.sentence_vectors, strict=True)
                )
        return out

    def iter_articles(self) -> Iterator[tuple[Article, str]]:
        for item in self._items.values():
            yield item.article, item.version

    def cache_dir(self) -> Path | None:
        return None

    def revision(self) -> str:
        return self._revision

    def stats(self) -> StoreStats:
        outlets = Counter(item.article.outlet or "(unknown)" for item in self._items.values())
        return StoreStats(
            articles=len(self._items),
            chunks=sum(len(i.chunks) for i in self._items.values()),
            sentences=sum(len(i.sentences) for i in self._items.values()),
            outlets=dict(outlets),
        )
