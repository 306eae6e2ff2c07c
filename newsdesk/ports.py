"""The ports the core talks to; adapters in newsdesk.adapters implement them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from newsdesk.models import Article, Citation, Filters, Hit, IndexedArticle, Matrix, StoredSentence, StoreStats


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One normalised vector per text, in order."""


class VectorStore(Protocol):
    """Keeps articles, their chunks and sentences with vectors; a new version replaces the old."""

    def version_of(self, article_id: str) -> str | None:
        """The current version of an article, or None when it is not stored."""

    def write(self, indexed: IndexedArticle) -> None:
        """Store a version so queries see either the old one or the new one, never a mix."""

    def delete(self, article_id: str) -> bool:
        """Remove an article and its rows; False when it was not stored."""

    def query_chunks(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        """The chunks nearest a vector, best first, within the filters."""

    def query_sentences(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        """The sentences nearest a vector, best first, within the filters."""

    def query_dense(self, vector: Matrix, k: int, filters: Filters) -> tuple[list[Hit], list[Hit]]:
        """`query_chunks` and `query_sentences` together, in one search where the store can (an index with part
        files scores the sentences of its best chunks: one Chroma query serves both)."""

    def articles(self, ids: Sequence[str]) -> dict[str, tuple[Article, str]]:
        """Article and current version for each id that exists."""

    def sentences(self, versions: Mapping[str, str]) -> list[StoredSentence]:
        """The sentences of the given article versions, with their vectors."""

    def iter_articles(self) -> Iterator[tuple[Article, str]]:
        """Every current article with its version, for the lexical index."""

    def cache_dir(self) -> Path | None:
        """A folder that travels with the index (and its snapshots) for derived data, or None."""

    def revision(self) -> str:
        """Changes whenever the visible content changes."""

    def stats(self) -> StoreStats:
        """Counts of what the store holds."""


@dataclass(frozen=True)
class Draft:
    """A generator's reply before verification, with the token counts it cost."""

    text: str
    input_tokens: int = 0
    output_tokens: int = 0


class Generator(Protocol):
    """Writes an answer from evidence sentences numbered S1..Sn by their `n` (for example an LLM).

    Raises newsdesk.errors.GeneratorError when it cannot answer; the service then falls back.
    """

    name: str

    def generate(self, question: str, sources: Sequence[Citation]) -> Draft:
        """A draft answer over numbered sources, or GeneratorError."""


class SeenEvents(Protocol):
    """A set of keys with an expiry, where adding is atomic."""

    def first_time(self, key: str) -> bool:
        """Record `key`; True for exactly one caller, False for every repeat until the key expires.

        Raises StoreUnavailable when the store cannot be reached.
        """
