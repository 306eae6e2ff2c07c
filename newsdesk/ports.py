"""The ports the core talks to; adapters in newsdesk.adapters implement them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from newsdesk.models import Article, Filters, Hit, IndexedArticle, Matrix, StoredSentence, StoreStats


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> Matrix: ...


class VectorStore(Protocol):
    """Keeps articles, their chunks and sentences with vectors; a new version replaces the old."""

    def version_of(self, article_id: str) -> str | None: ...

    def write(self, indexed: IndexedArticle) -> None:
        """Store a version so queries see either the old one or the new one, never a mix."""

    def delete(self, article_id: str) -> bool: ...

    def query_chunks(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]: ...

    def query_sentences(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]: ...

    def articles(self, ids: Sequence[str]) -> dict[str, tuple[Article, str]]:
        """Article and current version for each id that exists."""

    def sentences(self, versions: Mapping[str, str]) -> list[StoredSentence]:
        """The sentences of the given article versions, with their vectors."""

    def iter_chunks(self) -> Iterator[tuple[Hit, str, str | None, int | None]]:
        """Every current chunk as (hit, text, outlet, published_day), for the lexical index."""

    def revision(self) -> str:
        """Changes whenever the visible content changes."""

    def stats(self) -> StoreStats: ...


class Generator(Protocol):
    """Writes an answer from numbered evidence sentences (for example an LLM)."""

    name: str

    def generate(self, question: str, evidence: Sequence[str], labels: Sequence[str]) -> str: ...
