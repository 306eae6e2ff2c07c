"""Derived data beside the index: the lexical index and the sentence-vectors file, kept in step with the store."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from newsdesk.index.article_parts import ArticleParts
from newsdesk.index.lexical import Lexical, LexicalIndex
from newsdesk.index.sentence_vectors import SentenceVectors
from newsdesk.ports import VectorStore

log = logging.getLogger(__name__)


class DerivedData:
    """Loads, builds and saves what is derived from the store, rebuilding when its revision changes.

    A store whose `follows_writer` is true (a Chroma server: every process sees each write as it lands) shares
    one lexical index through its `cache_dir`: the writer builds and saves it after each write, and every
    other process loads the latest saved one, memory-mapped, instead of reading every article to build its own.
    """

    def __init__(self, store: VectorStore, check_seconds: float) -> None:
        self.store = store
        self.check_seconds = check_seconds
        self.follows_writer = bool(getattr(store, "follows_writer", False))
        self._lexical: Lexical | None = None
        self._vectors: SentenceVectors | None = None
        self._revision: str | None = None
        self._checked_at = 0.0

    @property
    def vectors(self) -> SentenceVectors | None:
        """The sentence-vectors file of the current revision, if the store has a folder to keep it in."""
        return self._vectors

    def lexical(self) -> Lexical:
        """The lexical index of the store's current revision (checked at most every `check_seconds`)."""
        now = time.monotonic()
        if self._lexical is not None and now - self._checked_at < self.check_seconds:
            return self._lexical
        self._checked_at = now
        if self.follows_writer:
            return self._follow()
        revision = self.store.revision()
        if self._lexical is None or revision != self._revision:
            self._lexical, self._vectors = self._load_or_build(revision)
            self._revision = revision
        return self._lexical

    def refresh(self) -> None:
        """Bring the derived data up to date now (after a write), so the folder and its snapshots carry it."""
        self._checked_at = 0.0
        if self.follows_writer:
            self._share()
        else:
            self.lexical()

    # -- a server's processes: one writer shares, the others follow ---------------------------------------
    def _follow(self) -> Lexical:
        """The latest lexical index the writer saved; one built here (and shared) only when none was saved."""
        folder = self.store.cache_dir()
        saved = LexicalIndex.saved_revision(folder) if folder else None
        if saved is not None and (self._lexical is None or saved != self._revision):
            started = time.perf_counter()
            loaded = LexicalIndex.load(folder, saved) if folder else None
            if loaded is not None:
                log.info("shared lexical index loaded articles=%d ms=%.0f", loaded.size, _ms(started))
                self._lexical, self._revision = loaded, saved
        if self._lexical is None:
            log.warning("no shared lexical index in %s: building one from every article (a writer shares one "
                        "after each ingest)", folder)
            self._share()
        assert self._lexical is not None
        return self._lexical

    def _share(self) -> None:
        started = time.perf_counter()
        revision = self.store.revision()
        lexical = LexicalIndex.build(self.store.iter_articles())
        log.info("lexical index built articles=%d ms=%.0f", lexical.size, _ms(started))
        folder = self.store.cache_dir()
        if folder:
            def save() -> None:
                folder.mkdir(parents=True, exist_ok=True)
                lexical.save(folder, revision)

            _save(save, folder)
        self._lexical, self._revision = lexical, revision

    # -- an embedded folder: derived files exact for its revision ---------------------------------------
    def _load_or_build(self, revision: str) -> tuple[Lexical, SentenceVectors | None]:
        started = time.perf_counter()
        folder = self.store.cache_dir()
        # A folder with part files keeps every sentence vector there already, memory-mapped: no second copy.
        copy_vectors = folder is not None and not ArticleParts.present(folder)
        lexical = _prepared(self.store, revision) or (LexicalIndex.load(folder, revision) if folder else None)
        vectors = SentenceVectors.load(folder) if copy_vectors and folder else None
        if lexical is not None and (not copy_vectors or (vectors is not None and vectors.revision == revision)):
            log.info("lexical index loaded articles=%d ms=%.0f", lexical.size, _ms(started))
            return lexical, vectors
        # Every article is read once; kept in memory only for an older folder's vector copy, which needs them twice.
        rows = list(self.store.iter_articles()) if copy_vectors else self.store.iter_articles()
        if lexical is None:
            lexical = LexicalIndex.build(rows)
            log.info("lexical index built articles=%d ms=%.0f", lexical.size, _ms(started))
            if folder:
                _save(lambda: lexical.save(folder, revision), folder)
                if not copy_vectors:
                    _save(lambda: SentenceVectors.remove(folder), folder)  # copies an older Newsdesk left
        if folder and copy_vectors:
            started = time.perf_counter()
            vectors = SentenceVectors.build(self.store, rows, revision, previous=vectors)
            log.info("sentence vectors built rows=%d ms=%.0f", len(vectors.vectors), _ms(started))
            _save(lambda: vectors.save(folder), folder)
        return lexical, vectors


def _prepared(store: VectorStore, revision: str) -> Lexical | None:
    """The index a store loaded or put together off the request path for this revision (an S3 snapshot store's
    background fetch does), so the first question after a swap does not load it."""
    ready = getattr(store, "prepared_lexical", None)
    return ready(revision) if ready is not None else None  # type: ignore[no-any-return]


def _save(action: Callable[[], None], folder: Path) -> None:
    try:
        action()
    except OSError as exc:  # a read-only index still answers; it just rebuilds next time
        log.warning("derived data not saved folder=%s error=%s", folder, exc)


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0
