"""The service every front door calls: ask, ingest, delete, stats."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from newsdesk.answer.library import IndexLibrary
from newsdesk.answer.pipeline import AnswerConfig, QuestionPipeline
from newsdesk.errors import NotFound
from newsdesk.index.archive import ArticlePage, ArticleSearch, DuplicateTexts, outlet_counts, search_articles
from newsdesk.index.derived import DerivedData
from newsdesk.index.lexical import Lexical
from newsdesk.index.lock import FolderWriter
from newsdesk.ingest.load import Loaded
from newsdesk.ingest.pipeline import ChunkConfig, Ingestor, IngestReport
from newsdesk.models import Answer, Article, Query, StoreStats
from newsdesk.ports import Embedder, Generator, VectorStore

__all__ = ["AnswerConfig", "Service"]  # AnswerConfig lives with the pipeline; callers building a Service take it here


class Service:
    """The service every front door calls: ask, ingest, delete, stats."""
    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore,
        config: AnswerConfig | None = None,
        chunking: ChunkConfig | None = None,
        generators: dict[str, Generator] | None = None,
        default_answerer: str = "extractive",
        allow_answerer_override: bool = False,
        writer: FolderWriter | None = None,
    ) -> None:
        """`writer`: the folder lock every write holds, where other processes may share the index."""
        self.embedder = embedder
        self.store = store
        self.config = config or AnswerConfig()
        self.chunking = chunking or ChunkConfig()
        self.writer = writer
        self.derived = DerivedData(store, self.config.revision_check_seconds)
        library = IndexLibrary(store, self.derived, self.config.retrieval, self.config.cached_articles)
        self.pipeline = QuestionPipeline(embedder, library, self.config, generators, default_answerer,
                                         allow_answerer_override)

    # -- ingest -----------------------------------------------------------------
    def ingest(self, items: Iterable[Loaded], progress: Callable[[int], None] | None = None) -> IngestReport:
        """Ingest loaded articles (unchanged ones are skipped) and refresh the derived data."""
        with self._writing() as behind:
            duplicates: list[str] = []  # the same text under another id is reported, not stored twice
            fresh = DuplicateTexts(self.store, self.lexical_index()).skip(items, duplicates)
            report = Ingestor(self.embedder, self.store, self.chunking).run(fresh, progress)
            report.duplicates.extend(duplicates)
            if report.added or report.updated or behind:
                self._after_write()
        return report

    def delete(self, article_id: str) -> bool:
        """Delete an article by id; False when it was not stored."""
        with self._writing() as behind:
            removed = self.store.delete(article_id)
            if removed or behind:
                self._after_write()
        return removed

    @contextmanager
    def _writing(self) -> Iterator[bool]:
        """One write from start to derived data, alone on the index; yields whether derived data lags the store
        (a writer died before finishing it)."""
        if self.writer is None:
            yield False
            return
        with self.writer.session() as behind:
            yield behind

    def stats(self) -> StoreStats:
        """Counts of what the index holds."""
        return self.store.stats()

    # -- the archive --------------------------------------------------------------
    def article(self, article_id: str) -> Article:
        found = self.store.articles([article_id]).get(article_id)
        if found is None:
            raise NotFound(f"no article with id {article_id[:200]!r}: GET /articles lists the archive")
        return found[0]

    def list_articles(self, search: ArticleSearch) -> ArticlePage:
        return search_articles(self.lexical_index(), self.store, search)

    def outlets(self) -> dict[str, int]:
        return outlet_counts(self.lexical_index())

    def ids_for_url(self, url: str) -> list[str]:
        """The ids of the articles whose link is `url` (a trailing slash aside)."""
        wanted = url.strip().rstrip("/")
        return sorted(article.id for article, _ in self.store.iter_articles()
                      if article.url and article.url.rstrip("/") == wanted)

    # -- answer -----------------------------------------------------------------
    def ask(self, query: Query) -> Answer:
        """Answer a question with cited sentences, or abstain (the question pipeline, answer/pipeline.py)."""
        return self.pipeline.answer(query)

    def lexical_index(self) -> Lexical:
        """The lexical index of the store's current revision (the first question of a process builds or loads it)."""
        return self.derived.lexical()

    def _after_write(self) -> None:
        self.derived.refresh()

