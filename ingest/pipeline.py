"""Turn loaded articles into indexed versions and write them; unchanged articles are skipped."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np
from newsdesk.ingest.chunk import make_chunks
from newsdesk.ingest.load import Loaded
from newsdesk.ingest.sentences import split_sentences
from newsdesk.ingest.writer import Batch, IngestReport, Writer

from newsdesk.errors import ArticleError
from newsdesk.models import Article, Chunk, IndexedArticle, Matrix, Sentence
from newsdesk.ports import Embedder, VectorStore
from newsdesk.settings import DEFAULTS, Settings

# A batch also ends before its articles' text passes this, so long articles come in small batches: the work
# between two progress updates (and the memory an ingest holds) stays about the same whatever their length.
BATCH_CHARS = 250_000


@dataclass(frozen=True)
class ChunkConfig:
    """How articles are cut and embedded; the defaults are the settings object's."""

    sentences: int = DEFAULTS.chunk_sentences
    overlap: int = DEFAULTS.chunk_overlap
    # "sentence-mean": a chunk's vector is the mean direction of its sentences' (and the title's) vectors,
    # so the encoder sees each token once; "encoded": the encoder reads each chunk's text as well.
    chunk_vectors: str = DEFAULTS.chunk_vectors
    batch_articles: int = DEFAULTS.ingest_batch_articles
    batch_chars: int = BATCH_CHARS

    @classmethod
    def from_settings(cls, settings: Settings) -> ChunkConfig:
        return cls(settings.chunk_sentences, settings.chunk_overlap, settings.chunk_vectors,
                   settings.ingest_batch_articles)


@dataclass(frozen=True)
class _Cut:
    """An article split for indexing, before its vectors exist."""

    article: Article
    version: str
    old_version: str | None
    sentences: tuple[Sentence, ...]
    chunks: tuple[Chunk, ...]


class Ingestor:
    """Splits, chunks and embeds articles a batch at a time, while a writer thread stores the previous batch.

    Memory holds at most the batch being embedded and two waiting for the store, whatever the input's size.
    """

    def __init__(self, embedder: Embedder, store: VectorStore, config: ChunkConfig) -> None:
        self.embedder = embedder
        self.store = store
        self.config = config
        self.salt = index_salt(embedder.name, config)

    def run(self, items: Iterable[Loaded], progress: Callable[[int], None] | None = None) -> IngestReport:
        """Ingest everything; Ctrl-C stops after the batches already embedded are stored (report.interrupted)."""
        report = IngestReport()
        started = time.perf_counter()
        writer = Writer(self.store, report, progress)
        try:
            for items_in_batch in self._batches(items):
                writer.put(self._index(items_in_batch))
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            writer.close()
        report.seconds = time.perf_counter() - started
        return report

    def _batches(self, items: Iterable[Loaded]) -> Iterator[list[Loaded]]:
        """Batches of `batch_articles`, or fewer when their text would pass `batch_chars`; the first ones smaller
        (4, 8, 16...) so progress shows within seconds."""
        batch: list[Loaded] = []
        chars = 0
        size = min(4, self.config.batch_articles)
        seen: set[str] = set()
        for item in items:
            if isinstance(item, Article) and item.id in seen:
                # Two versions of one id in a run would overwrite each other and never settle as unchanged.
                item = ArticleError(f"duplicate article id {item.id!r} in this run: only the first was ingested")
            elif isinstance(item, Article):
                seen.add(item.id)
            length = len(item.text) if isinstance(item, Article) else 0
            if batch and chars + length > self.config.batch_chars:
                yield batch
                batch, chars = [], 0
            batch.append(item)
            chars += length
            if len(batch) >= size:
                yield batch
                batch, chars = [], 0
                size = min(size * 2, self.config.batch_articles)
        if batch:
            yield batch

    def _cut(self, items: list[Loaded], batch: Batch) -> list[_Cut]:
        """The changed articles of a batch, split and chunked; unchanged and bad ones go into `batch`."""
        out = []
        for item in items:
            if isinstance(item, ArticleError):
                batch.errors.append(str(item))
                continue
            version = item.fingerprint(self.salt)
            old = self.store.version_of(item.id)
            if old == version:
                batch.unchanged.append(item.id)
                continue
            sentences = _without_title(split_sentences(item.id, item.text), item.title)
            if not sentences:
                batch.errors.append(f"{item.id}: no sentences found in the article text")
                continue
            chunks = make_chunks(item.text, sentences, self.config.sentences, self.config.overlap)
            out.append(_Cut(item, version, old, sentences, chunks))
        return out

    def _index(self, items: list[Loaded]) -> Batch:
        """Cut the batch's changed articles, embed all their texts in one call, give each article its vectors."""
        batch = Batch([], size=len(items))
        cuts = self._cut(items, batch)
        encoded = self.config.chunk_vectors == "encoded"
        texts: list[str] = []
        for cut in cuts:
            texts.extend(s.text for s in cut.sentences)
            if encoded:
                texts.extend(_chunk_input(cut.article, c.text) for c in cut.chunks)
            elif cut.article.title:
                texts.append(cut.article.title)
        vectors = self.embedder.embed(texts) if texts else np.zeros((0, self.embedder.dimension), np.float32)
        cursor = 0
        for cut in cuts:
            sentence_vectors = vectors[cursor : cursor + len(cut.sentences)]
            cursor += len(cut.sentences)
            if encoded:
                chunk_vectors = vectors[cursor : cursor + len(cut.chunks)]
                cursor += len(cut.chunks)
            else:
                title = vectors[cursor : cursor + 1] if cut.article.title else vectors[:0]
                cursor += len(title)
                chunk_vectors = _chunk_means(cut.sentences, cut.chunks, sentence_vectors, title)
            indexed = IndexedArticle(
                article=cut.article, version=cut.version, sentences=cut.sentences, sentence_vectors=sentence_vectors,
                chunks=cut.chunks, chunk_vectors=chunk_vectors, article_vector=_mean_direction(chunk_vectors),
            )
            batch.indexed.append((indexed, cut.old_version))
        return batch


def index_salt(embedder_name: str, config: ChunkConfig) -> str:
    """How articles are indexed (model and chunking), folded into each stored version: a change re-indexes them."""
    salt = f"{embedder_name}|{config.sentences}|{config.overlap}"
    if config.chunk_vectors != "encoded":  # the vectors differ: an index made the other way is re-indexed
        salt += f"|{config.chunk_vectors}"
    return salt


def _without_title(sentences: tuple[Sentence, ...], title: str | None) -> tuple[Sentence, ...]:
    """Drop headline lines that repeat the title (Markdown headings, HTML <h1>): they are no evidence."""
    if not title:
        return sentences
    key = " ".join(title.split()).casefold()
    kept = [s for s in sentences if " ".join(s.text.split()).casefold() != key]
    return tuple(replace(s, index=i) for i, s in enumerate(kept))


def _chunk_input(article: Article, text: str) -> str:
    """What an encoded chunk embedding sees: the title gives a chunk its topic."""
    return f"{article.title}\n{text}" if article.title else text


def _chunk_means(sentences: tuple[Sentence, ...], chunks: tuple[Chunk, ...], sentence_vectors: Matrix,
                 title: Matrix) -> Matrix:
    """Each chunk's vector: the mean direction of its sentences' vectors and the title's (its topic)."""
    first = {s.start: s.index for s in sentences}
    out = np.zeros((len(chunks), sentence_vectors.shape[1]), np.float32)
    for row, chunk in enumerate(chunks):
        begin = first[chunk.start]
        members = sentence_vectors[begin : begin + len(chunk.sentence_spans)]
        out[row] = _mean_direction(np.concatenate([members, title]))
    return out


def _mean_direction(vectors: Matrix) -> Matrix:
    if not len(vectors):
        return np.zeros(vectors.shape[1], np.float32)
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm else mean).astype(np.float32)
