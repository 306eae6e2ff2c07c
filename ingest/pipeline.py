"""Turn loaded articles into indexed versions and write them; unchanged articles are skipped."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np
from newsdesk.ingest.chunk import make_chunks
from newsdesk.ingest.load import Loaded
from newsdesk.ingest.sentences import split_sentences

from newsdesk.errors import ArticleError, NewsdeskError
from newsdesk.models import Article, IndexedArticle, Matrix, Sentence
from newsdesk.ports import Embedder, VectorStore
from newsdesk.settings import DEFAULTS

BATCH_ARTICLES = 16


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"failed {self.failed}, chunks {self.chunks}, {self.seconds:.1f} s"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 2),
            "errors": self.errors,
        }


@dataclass(frozen=True)
class ChunkConfig:
    """Chunk size and overlap in sentences; the defaults are the settings object's."""

    sentences: int = DEFAULTS.chunk_sentences
    overlap: int = DEFAULTS.chunk_overlap


class Ingestor:
    """Splits, chunks, embeds and writes articles, one article version at a time."""

    def __init__(self, embedder: Embedder, store: VectorStore, config: ChunkConfig) -> None:
        self.embedder = embedder
        self.store = store
        self.config = config
        self.salt = f"{embedder.name}|{config.sentences}|{config.overlap}"

    def run(self, items: Iterable[Loaded], progress: Callable[[int], None] | None = None) -> IngestReport:
        report = IngestReport()
        started = time.perf_counter()
        pending: list[Article] = []
        seen: set[str] = set()
        for item in items:
            if isinstance(item, Article) and item.id in seen:
                # Two versions of one id in a run would overwrite each other and never settle as unchanged.
                item = ArticleError(f"duplicate article id {item.id!r} in this run: only the first was ingested")
            if isinstance(item, ArticleError):
                report.failed += 1
                report.errors.append(str(item))
            else:
                seen.add(item.id)
                pending.append(item)
            if len(pending) >= BATCH_ARTICLES:
                self._flush(pending, report, progress)
                pending = []
            elif isinstance(item, ArticleError) and progress:
                progress(1)
        self._flush(pending, report, progress)
        report.seconds = time.perf_counter() - started
        return report

    def _flush(self, articles: list[Article], report: IngestReport, progress: Callable[[int], None] | None) -> None:
        todo: list[tuple[Article, str, str | None]] = []
        for article in articles:
            version = article.fingerprint(self.salt)
            old = self.store.version_of(article.id)
            if old == version:
                report.unchanged += 1
                report.article_ids.append(article.id)
            else:
                todo.append((article, version, old))
        for (article, _version, old), indexed in zip(todo, self._index(todo), strict=True):
            if not indexed.sentences:
                report.failed += 1
                report.errors.append(f"{article.id}: no sentences found in the article text")
                continue
            try:
                self.store.write(indexed)
            except NewsdeskError as exc:
                report.failed += 1
                report.errors.append(f"{article.id}: {exc}")
                continue
            report.chunks += len(indexed.chunks)
            report.article_ids.append(article.id)
            if old is None:
                report.added += 1
            else:
                report.updated += 1
        if progress:
            progress(len(articles))

    def _index(self, todo: list[tuple[Article, str, str | None]]) -> list[IndexedArticle]:
        """Split and chunk every article, then embed all their texts in one batched call."""
        parts = []
        texts: list[str] = []
        for article, _, _ in todo:
            sentences = _without_title(split_sentences(article.id, article.text), article.title)
            chunks = make_chunks(article.text, sentences, self.config.sentences, self.config.overlap)
            parts.append((sentences, chunks))
            texts.extend(s.text for s in sentences)
            texts.extend(_chunk_input(article, c.text) for c in chunks)
        vectors = self.embedder.embed(texts) if texts else np.zeros((0, self.embedder.dimension), np.float32)
        out = []
        cursor = 0
        for (article, version, _), (sentences, chunks) in zip(todo, parts, strict=True):
            sentence_vectors = vectors[cursor : cursor + len(sentences)]
            cursor += len(sentences)
            chunk_vectors = vectors[cursor : cursor + len(chunks)]
            cursor += len(chunks)
            out.append(
                IndexedArticle(
                    article=article,
                    version=version,
                    sentences=sentences,
                    sentence_vectors=sentence_vectors,
                    chunks=chunks,
                    chunk_vectors=chunk_vectors,
                    article_vector=_mean_direction(chunk_vectors),
                )
            )
        return out


def _without_title(sentences: tuple[Sentence, ...], title: str | None) -> tuple[Sentence, ...]:
    """Drop headline lines that repeat the title (Markdown headings, HTML <h1>): they are no evidence."""
    if not title:
        return sentences
    key = " ".join(title.split()).casefold()
    kept = [s for s in sentences if " ".join(s.text.split()).casefold() != key]
    return tuple(replace(s, index=i) for i, s in enumerate(kept))


def _chunk_input(article: Article, text: str) -> str:
    """What the chunk embedding sees: the title gives a chunk its topic."""
    return f"{article.title}\n{text}" if article.title else text


def _mean_direction(vectors: Matrix) -> Matrix:
    if not len(vectors):
        return np.zeros(vectors.shape[1], np.float32)
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm else mean).astype(np.float32)
