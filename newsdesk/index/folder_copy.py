"""A long-running reader's view of a local index folder: a private copy, replaced when a writer publishes.

Embedded Chroma is not safe across processes: a reader that shares the folder with a writer keeps
stale vector indexes in memory while the rows they point at change under it, so answers lose the
edited article and filtered queries fail. A copy made under the shared lock is one finished
revision, read-only for as long as the reader uses it; writers never wait longer than one copy.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import count
from pathlib import Path

from newsdesk.errors import StoreUnavailable
from newsdesk.index.lock import LOCK_FILE, StoreLock, read_revision
from newsdesk.models import Article, Filters, Hit, IndexedArticle, Matrix, StoredSentence, StoreStats
from newsdesk.ports import VectorStore

log = logging.getLogger(__name__)

# Opens a folder; returns the store and a function that releases it.
Opener = Callable[[Path], tuple[VectorStore, Callable[[], None]]]
_copies = count(1)


class FolderCopyStore:
    """Queries go to one copy at a time; when the folder's published revision changes, a new copy is made
    (only while no writer holds the lock: until then the old copy keeps answering), opened, then swapped in."""

    def __init__(self, folder: Path, root: Path, opener: Opener, on_wait: Callable[[], None] | None = None) -> None:
        self.folder, self.root, self.opener = folder, root, opener
        self.lock = StoreLock(folder)
        self._refreshing = threading.Lock()
        self._loaded: list[tuple[str | None, Path, VectorStore, Callable[[], None]]] = []
        _remove_dead_copies(root)
        with self.lock.shared(wait=True, on_wait=on_wait):
            self._swap_in()

    @property
    def _current(self) -> VectorStore:
        return self._loaded[-1][2]

    @property
    def published(self) -> str | None:
        """The revision of the copy in use (None: the folder had no published revision)."""
        return self._loaded[-1][0]

    def refresh(self) -> bool:
        """Swap in a copy of a newly published revision; False when there is none, or a writer is at work."""
        if read_revision(self.folder) == self.published:
            return False
        if not self._refreshing.acquire(blocking=False):  # another thread is making the copy
            return False
        try:
            with self.lock.shared(wait=False) as got:
                if not got:  # a writer holds the folder: keep answering from the finished copy we have
                    return False
                self._swap_in()
            return True
        except (OSError, StoreUnavailable) as exc:  # keep serving the copy we have; try again next check
            log.warning("index copy not refreshed folder=%s error=%s", self.folder, exc)
            return False
        finally:
            self._refreshing.release()

    def _swap_in(self) -> None:
        started = time.perf_counter()
        path = self.root / f"copy-{os.getpid()}-{next(_copies)}"
        staging = path.with_name(path.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            shutil.copytree(self.folder, staging, ignore=shutil.ignore_patterns(LOCK_FILE, "*.tmp"))
            staging.rename(path)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        store, release = self.opener(path)
        self._loaded.append((read_revision(path), path, store, release))
        log.info("index copy in use folder=%s revision=%s ms=%.0f", self.folder, self.published,
                 (time.perf_counter() - started) * 1000)
        # Keep the previous copy a little longer for queries already running on it; drop older ones.
        while len(self._loaded) > 2:
            _, old_path, _, old_release = self._loaded.pop(0)
            old_release()
            shutil.rmtree(old_path, ignore_errors=True)

    def close(self) -> None:
        while self._loaded:
            _, path, _, release = self._loaded.pop()
            release()
            shutil.rmtree(path, ignore_errors=True)

    # -- VectorStore: reads go to the current copy ------------------------------------------------
    def revision(self) -> str:
        # The service asks for the revision before a question (every few seconds), so a swap lands between
        # questions; the copy's own revision matches the derived data its writer saved beside it.
        self.refresh()
        return self._current.revision()

    def version_of(self, article_id: str) -> str | None:
        return self._current.version_of(article_id)

    def query_chunks(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        return self._current.query_chunks(vector, k, filters)

    def query_sentences(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        return self._current.query_sentences(vector, k, filters)

    def query_dense(self, vector: Matrix, k: int, filters: Filters) -> tuple[list[Hit], list[Hit]]:
        return self._current.query_dense(vector, k, filters)

    def articles(self, ids: Sequence[str]) -> dict[str, tuple[Article, str]]:
        return self._current.articles(ids)

    def sentences(self, versions: Mapping[str, str]) -> list[StoredSentence]:
        return self._current.sentences(versions)

    def iter_articles(self) -> Iterator[tuple[Article, str]]:
        return self._current.iter_articles()

    def stats(self) -> StoreStats:
        return self._current.stats()

    def cache_dir(self) -> Path | None:
        return self._current.cache_dir()

    def write(self, indexed: IndexedArticle) -> None:
        raise StoreUnavailable(self._read_only())

    def delete(self, article_id: str) -> bool:
        raise StoreUnavailable(self._read_only())

    def _read_only(self) -> str:
        return f"this process reads a copy of the index at {self.folder}: change it with `newsdesk ingest` or `delete`"


def _remove_dead_copies(root: Path) -> None:
    """Copies left by readers that died without cleaning up (their process id is gone)."""
    for path in root.glob("copy-*") if root.is_dir() else ():
        try:
            pid = int(path.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
