"""The writer's store for one batch: new versions go into a fresh delta segment, and the copies older segments
hold of a changed or deleted article are hidden (listed in the manifest) instead of rewritten."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsdesk.models import Article, Filters, Hit, IndexedArticle, Matrix, StoredSentence, StoreStats
from newsdesk.ports import VectorStore
from newsdesk.snapshots.catalog import Catalog
from newsdesk.snapshots.snapshots import Segment


@dataclass
class Live:
    """What the segments of a version hold together: each visible article's segment and version, and the
    source map (later segments win for a key)."""

    articles: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (segment name, version)
    sources: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, segments: Sequence[Segment], catalogs: Mapping[str, Catalog]) -> Live:
        live = cls()
        for segment in segments:  # oldest first
            catalog = catalogs[segment.name]
            for article_id, version in catalog.versions.items():
                if article_id not in segment.hidden:
                    live.articles[article_id] = (segment.name, version)
            for key, ids in catalog.sources.items():
                if ids:
                    live.sources[key] = list(ids)
                else:
                    live.sources.pop(key, None)
        return live


class DeltaStore:
    """A VectorStore whose writes land in `delta`; `hide` collects, per older segment, the ids it no longer shows.
    Reads other than `version_of` see the delta alone, so the derived data saved beside it covers its articles."""

    def __init__(self, delta: VectorStore, live: Live) -> None:
        self.delta, self.live = delta, live
        self.hide: dict[str, set[str]] = {}  # segment name -> article ids
        self._gone: set[str] = set()

    def _older(self, article_id: str) -> tuple[str, str] | None:
        return None if article_id in self._gone else self.live.articles.get(article_id)

    def _hide(self, article_id: str) -> bool:
        older = self._older(article_id)
        if older is None:
            return False
        self.hide.setdefault(older[0], set()).add(article_id)
        self._gone.add(article_id)
        return True

    def version_of(self, article_id: str) -> str | None:
        version = self.delta.version_of(article_id)
        if version is not None:
            return version
        older = self._older(article_id)
        return older[1] if older else None

    def write(self, indexed: IndexedArticle) -> None:
        self.delta.write(indexed)
        self._hide(indexed.article.id)

    def delete(self, article_id: str) -> bool:
        removed = self.delta.delete(article_id)
        return self._hide(article_id) or removed

    def query_chunks(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        return self.delta.query_chunks(vector, k, filters)

    def query_sentences(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        return self.delta.query_sentences(vector, k, filters)

    def query_dense(self, vector: Matrix, k: int, filters: Filters) -> tuple[list[Hit], list[Hit]]:
        return self.delta.query_dense(vector, k, filters)

    def articles(self, ids: Sequence[str]) -> dict[str, tuple[Article, str]]:
        return self.delta.articles(ids)

    def sentences(self, versions: Mapping[str, str]) -> list[StoredSentence]:
        return self.delta.sentences(versions)

    def iter_articles(self) -> Iterator[tuple[Article, str]]:
        return self.delta.iter_articles()

    def cache_dir(self) -> Path | None:
        return self.delta.cache_dir()

    def revision(self) -> str:
        return self.delta.revision()

    def stats(self) -> StoreStats:
        return self.delta.stats()
