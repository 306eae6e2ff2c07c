"""A read-only VectorStore over the latest S3 snapshot, swapped for a newer one after a manifest check."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from newsdesk.errors import SnapshotRefused, StoreUnavailable
from newsdesk.index.snapshots import MANIFEST_KEY, Blobs, Manifest, fetch, read_manifest
from newsdesk.models import Article, Filters, Hit, IndexedArticle, Matrix, StoredSentence, StoreStats
from newsdesk.ports import VectorStore

log = logging.getLogger(__name__)

# Opens an unpacked snapshot folder; returns the store and a function that releases it.
Opener = Callable[[Path], tuple[VectorStore, Callable[[], None]]]


class SnapshotStore:
    """Queries go to one complete snapshot at a time; a newer one is unpacked beside it, then swapped in."""

    def __init__(self, blobs: Blobs, root: Path, opener: Opener, check_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.blobs, self.root, self.opener, self.check_seconds, self.clock = blobs, root, opener, check_seconds, clock
        self._lock = threading.Lock()
        self._loaded: list[tuple[Manifest, Path, VectorStore, Callable[[], None]]] = []
        self._refused: str | None = None  # a version that failed its checks: not downloaded again
        manifest = read_manifest(blobs)
        if manifest is None:
            raise StoreUnavailable(
                f"no index in {blobs.where}/{MANIFEST_KEY}: seed it with `newsdesk publish` "
                "or upload articles under articles/"
            )
        self._swap_to(manifest)
        self._checked_at = clock()

    @property
    def manifest(self) -> Manifest:
        return self._loaded[-1][0]

    @property
    def _current(self) -> VectorStore:
        return self._loaded[-1][2]

    def refresh(self, force: bool = False) -> bool:
        """Look at the manifest (at most every `check_seconds`); True when a newer version was swapped in."""
        with self._lock:
            now = self.clock()
            if not force and now - self._checked_at < self.check_seconds:
                return False
            self._checked_at = now
            try:
                latest = read_manifest(self.blobs)
            except Exception as exc:  # a failed check keeps serving the version we have
                log.warning("manifest check failed error=%s", exc)
                return False
            if latest is None or latest.version in (self.manifest.version, self._refused):
                return False
            try:
                self._swap_to(latest)
            except SnapshotRefused as exc:  # tampered or unchecked: keep answering from the version we trust
                self._refused = latest.version
                log.error("snapshot version refused version=%s key=%s kept=%s error=%s",
                          latest.version, exc.key, self.manifest.version, exc)
                return False
            except StoreUnavailable as exc:  # e.g. a failed download: keep serving, try again at the next check
                log.warning("snapshot version not loaded version=%s kept=%s error=%s",
                            latest.version, self.manifest.version, exc)
                return False
            return True

    def _swap_to(self, manifest: Manifest) -> None:
        path = fetch(self.blobs, manifest, self.root / manifest.version)
        store, release = self.opener(path)
        self._loaded.append((manifest, path, store, release))
        log.info("snapshot in use version=%s", manifest.version)
        # Keep the previous version a little longer for queries already running on it; drop older ones.
        while len(self._loaded) > 2:
            _, old_path, _, old_release = self._loaded.pop(0)
            old_release()
            shutil.rmtree(old_path, ignore_errors=True)

    # -- VectorStore: reads delegate to the current snapshot -------------------------------------
    def revision(self) -> str:
        # The service asks for the revision before each query (every few seconds), so a swap lands
        # between queries, never inside one.
        self.refresh()
        # The unpacked index's own revision: the lexical index its writer saved beside it matches it.
        return self._current.revision()  # type: ignore[no-any-return]

    def version_of(self, article_id: str) -> str | None:
        return self._current.version_of(article_id)

    def query_chunks(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        return self._current.query_chunks(vector, k, filters)

    def query_sentences(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        return self._current.query_sentences(vector, k, filters)

    def articles(self, ids: Sequence[str]) -> dict[str, tuple[Article, str]]:
        return self._current.articles(ids)

    def sentences(self, versions: Mapping[str, str]) -> list[StoredSentence]:
        return self._current.sentences(versions)

    def iter_articles(self) -> Iterator[tuple[Article, str]]:
        return self._current.iter_articles()  # type: ignore[attr-defined, no-any-return]

    def stats(self) -> StoreStats:
        return self._current.stats()

    def cache_dir(self) -> Path | None:
        return self._current.cache_dir()

    def write(self, indexed: IndexedArticle) -> None:
        raise StoreUnavailable(self._read_only())

    def delete(self, article_id: str) -> bool:
        raise StoreUnavailable(self._read_only())

    def _read_only(self) -> str:
        return (f"the index from {self.blobs.where} is a read-only snapshot: add or remove articles "
                "under articles/ in the articles bucket, or ingest locally and `newsdesk publish`")
