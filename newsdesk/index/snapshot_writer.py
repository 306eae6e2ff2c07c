"""The single index writer on Lambda: latest snapshot to local disk, apply object changes, publish a new version."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from newsdesk.index.s3_events import Indexer, ObjectChange, ReadObject, SourceMap, apply_changes
from newsdesk.index.snapshots import Blobs, Manifest, fetch, publish, read_latest

log = logging.getLogger(__name__)

# Builds a service writing to an index folder; returns it and a function that closes the store (flushing it).
OpenService = Callable[[Path], tuple[Indexer, Callable[[], None]]]


class SnapshotWriter:
    """Keeps its working copy between warm invocations while it still matches the latest manifest."""

    def __init__(self, blobs: Blobs, root: Path, open_service: OpenService) -> None:
        self.blobs, self.root, self.open_service = blobs, root, open_service
        self._folder: Path | None = None
        self._version: str | None = None

    def handle(self, changes: Sequence[ObjectChange], read: ReadObject) -> dict[str, Any]:
        latest = read_latest(self.blobs)
        folder = self._working_copy(latest.manifest)
        service, close = self.open_service(folder)
        try:
            sources = SourceMap.load(folder)
            report = apply_changes(service, changes, read, sources)
            if report.changed:
                sources.save(folder)
        except Exception:
            close()
            self._forget()  # the folder may be ahead of S3; start from the published state next time
            raise
        close()  # the store is flushed and closed before its folder is archived
        result: dict[str, Any] = {**report.to_dict(), "version": self._version, "published": False}
        if report.changed:
            try:
                # Replaces the manifest only if it is still `latest`: if `newsdesk publish` won the race,
                # this raises, the working copy is dropped, and Lambda's retry starts from the new index.
                started = time.perf_counter()
                manifest = publish(self.blobs, folder, after=latest)
            except Exception:
                self._forget()
                raise
            self._version = manifest.version
            result.update(version=manifest.version, published=True,
                          publish_seconds=round(time.perf_counter() - started, 3))
        log.info("ingest done %s", " ".join(f"{k}={v}" for k, v in result.items() if k != "errors"))
        return result

    def _working_copy(self, latest: Manifest | None) -> Path:
        current = latest.version if latest else None
        if self._folder is not None and self._folder.is_dir() and self._version == current:
            return self._folder
        self._forget()
        folder = self.root / f"writer-{uuid.uuid4().hex[:8]}"
        if latest is None:
            folder.mkdir(parents=True)
        else:
            fetch(self.blobs, latest, folder)
        self._folder, self._version = folder, current
        return folder

    def _forget(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        self._folder, self._version = None, None
