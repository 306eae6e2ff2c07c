"""A read-only VectorStore over the latest S3 snapshot; newer versions are fetched in the background and
swapped in between requests, so no request waits on a download."""

from __future__ import annotations

import gc
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from newsdesk.errors import SnapshotRefused, StoreUnavailable
from newsdesk.index.lexical import Lexical, LexicalIndex
from newsdesk.models import Article, Filters, Hit, IndexedArticle, Matrix, StoredSentence, StoreStats
from newsdesk.ports import VectorStore
from newsdesk.snapshots.segment_files import SegmentFolders
from newsdesk.snapshots.segments import Part, SegmentedStore
from newsdesk.snapshots.snapshots import MANIFEST_KEY, Blobs, Manifest, read_manifest, timed

log = logging.getLogger(__name__)

# Seconds between two objects of a background download: the 48 objects of a 100-article delta then take ~0.6 s
# instead of ~0.1 s, and the requests answered meanwhile stay within ~1.3x of the calm ones (1.8x at full speed).
BACKGROUND_PAUSE = 0.003
# Opens a segment folder; returns the store and a function that releases it.
Opener = Callable[[Path], tuple[VectorStore, Callable[[], None]]]


class SnapshotStore:
    """Queries go to one complete version at a time. Every `check_seconds` a request starts a background check;
    a newer version's missing segments are downloaded, opened and prepared on that thread, and the next request
    swaps it in. A failed check or download keeps the version in use (and says so in the log)."""

    def __init__(self, blobs: Blobs, root: Path, opener: Opener, check_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.blobs, self.root, self.opener, self.check_seconds, self.clock = blobs, root, opener, check_seconds, clock
        self.folders = SegmentFolders(blobs, root / "segments")
        self._lock = threading.Lock()  # guards the fields below; never held during a download
        self._checking = threading.Lock()  # one check (and download) at a time
        self._opened: dict[str, tuple[VectorStore, Callable[[], None]]] = {}  # segment name -> store, release
        self._lexicals: dict[str, tuple[str, LexicalIndex]] = {}  # segment name -> revision, its loaded index
        self._views: list[tuple[Manifest, SegmentedStore]] = []  # in use last; the one before finishes its queries
        self._ready: tuple[Manifest, SegmentedStore] | None = None
        self._loading: Manifest | None = None
        self._refused: str | None = None  # a version that failed its checks: not downloaded again
        manifest = read_manifest(blobs)
        if manifest is None:
            raise StoreUnavailable(
                f"no index in {blobs.where}/{MANIFEST_KEY}: seed it with `newsdesk publish` "
                "or upload articles under articles/"
            )
        self._ready = (manifest, self._load(manifest, pause=0.0))  # a cold start has nothing to serve until then
        self._swap()
        self._checked_at = clock()

    @property
    def manifest(self) -> Manifest:
        return self._views[-1][0]

    @property
    def _current(self) -> SegmentedStore:
        return self._views[-1][1]

    def refresh(self, force: bool = False) -> bool:
        """Check now (or when due) and wait for the download: True when a newer version was swapped in. Requests
        never call this; they call `revision`, which starts the same work on a background thread."""
        now = self.clock()
        if force or now - self._checked_at >= self.check_seconds:
            self._checked_at = now
            self._check()
        return self._swap()

    def wait(self, timeout: float = 600.0) -> None:
        """Until the background check (and download) in progress, if any, is over: for tests and benchmarks."""
        if self._checking.acquire(timeout=timeout):
            self._checking.release()

    def _start_check(self) -> None:
        now = self.clock()
        if now - self._checked_at < self.check_seconds or self._checking.locked():
            return
        self._checked_at = now
        threading.Thread(target=self._check, name="newsdesk-snapshot-fetch", daemon=True).start()

    def _check(self) -> None:
        with self._checking:
            try:
                latest = read_manifest(self.blobs)
            except Exception as exc:  # a failed check keeps serving the version we have
                log.warning("manifest check failed error=%s", exc)
                return
            ready = self._ready[0].version if self._ready else None
            if latest is None or latest.version in (self.manifest.version, self._refused, ready):
                return
            elapsed = timed()
            with self._lock:  # segments no version in use needs go before new ones arrive (disk space)
                kept = [m for m, _ in self._views] + ([self._ready[0]] if self._ready else [])
                needed = {s.name for m in kept for s in m.segments}
                stale = [self._opened.pop(name)[1] for name in list(self._opened) if name not in needed]
                self._forget_lexicals(needed)
            for release in stale:  # opened by a load that failed later
                release()
            self.folders.keep_only(needed)
            try:
                view = self._load(latest, pause=BACKGROUND_PAUSE)
            except SnapshotRefused as exc:  # tampered or unchecked: keep answering from the version we trust
                self._refused = latest.version
                log.error("snapshot version refused version=%s key=%s kept=%s error=%s",
                          latest.version, exc.key, self.manifest.version, exc)
                return
            except Exception as exc:  # e.g. a failed download or a full disk: keep serving, retry at the next check
                log.warning("snapshot version not loaded version=%s kept=%s error=%s",
                            latest.version, self.manifest.version, exc)
                return
            with self._lock:
                self._ready = (latest, view)
            log.info("snapshot version ready version=%s seconds=%.3f", latest.version, elapsed())

    def _load(self, manifest: Manifest, pause: float) -> SegmentedStore:
        """Download the segments this container lacks (`pause` apart: see SegmentFolders.ensure), open them and
        prepare the version's view (off the request path)."""
        with self._lock:
            self._loading = manifest
        try:
            paths = self.folders.ensure(manifest, pause=pause)
            parts, fresh = [], set()
            for segment in manifest.segments:
                if not segment.files:
                    continue
                with self._lock:
                    opened = self._opened.get(segment.name)
                if opened is None:
                    opened = self.opener(paths[segment.name])
                    fresh.add(segment.name)
                    with self._lock:
                        self._opened[segment.name] = opened
                parts.append(Part(segment.name, opened[0], paths[segment.name], segment.hidden))
            view = SegmentedStore(parts, self.root / "views" / manifest.version, self._lexicals)
            view.warm(fresh)
            # What a version holds lives as long as the version: out of the cyclic collector's reach, so a full
            # collection in a request does not walk the index's objects (it was a pause of ~0.1 s at 50,000).
            gc.freeze()
            return view
        finally:
            with self._lock:
                self._loading = None

    def _forget_lexicals(self, needed: set[str]) -> None:
        """With the lock held: drop the loaded indexes of segments no version needs."""
        for name in [n for n in list(self._lexicals) if n not in needed]:  # list(): one step under the GIL
            self._lexicals.pop(name, None)

    def _swap(self) -> bool:
        """Put a prepared version in use; release what neither it nor the previous one needs."""
        with self._lock:
            if self._ready is None:
                return False
            self._views.append(self._ready)
            self._ready = None
            dropped, self._views = self._views[:-2], self._views[-2:]
            needed = {s.name for m in [m for m, _ in self._views] + ([self._loading] if self._loading else [])
                      for s in m.segments}
            released = [(name, self._opened.pop(name)[1]) for name in list(self._opened) if name not in needed]
            self._forget_lexicals(needed)
        for _, release in released:
            release()
        for _, view in dropped:
            if view.cache_dir() == view.view:  # else it used its one segment's own folder
                shutil.rmtree(view.view, ignore_errors=True)
        log.info("snapshot in use version=%s segments=%d", self.manifest.version, len(self.manifest.segments))
        return True

    # -- VectorStore: reads delegate to the version in use ---------------------------------------
    def revision(self) -> str:
        # The service asks for the revision before a question (every few seconds): a swap lands between
        # questions, never inside one, and a check or download never holds the question up.
        self._swap()
        self._start_check()
        return self._current.revision()

    def prepared_lexical(self, revision: str) -> Lexical | None:
        return self._current.prepared_lexical(revision)

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
        return (f"the index from {self.blobs.where} is a read-only snapshot: add or remove articles "
                "under articles/ in the articles bucket, or ingest locally and `newsdesk publish`")
