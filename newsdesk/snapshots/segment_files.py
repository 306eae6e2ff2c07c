"""Local copies of snapshot segments: each downloaded once, checked against its manifest, kept while needed."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from newsdesk.errors import StoreUnavailable
from newsdesk.snapshots.catalog import Catalog
from newsdesk.snapshots.snapshots import (
    Blobs,
    Manifest,
    Segment,
    SnapshotFile,
    check_manifest,
    download_checked,
    each,
    timed,
)

log = logging.getLogger(__name__)
HEADROOM = 64 << 20  # left free beyond a version's files: Chroma's journal and derived files of a merged view


class SegmentFolders:
    def __init__(self, blobs: Blobs, root: Path) -> None:
        self.blobs, self.root = blobs, root
        root.mkdir(parents=True, exist_ok=True)
        for leftover in root.glob(".*.partial"):  # a download killed midway; never a segment
            shutil.rmtree(leftover, ignore_errors=True)

    def path(self, segment: Segment) -> Path:
        return self.root / segment.name

    def have(self, segment: Segment) -> bool:
        return self.path(segment).is_dir()

    def ensure(self, manifest: Manifest, segments: Iterable[Segment] | None = None, pause: float = 0.0
               ) -> dict[str, Path]:
        """Local folders of `segments` (default: every segment with files), downloading the missing ones.

        `pause`: download one object at a time, this many seconds apart (a query container fetching beside its
        requests: each S3 call is milliseconds of Python holding the GIL, and several at once slowed the requests
        running meanwhile by up to 2x); 0: several at a time, as fast as possible.
        StoreUnavailable naming both sizes when the disk cannot hold them: nothing is downloaded then.
        """
        check_manifest(self.blobs, manifest)
        wanted = [s for s in (manifest.segments if segments is None else segments) if s.files]
        missing = [s for s in wanted if not self.have(s)]
        needed = sum(s.size_bytes for s in missing)
        if missing:
            free = shutil.disk_usage(self.root).free
            if needed + HEADROOM > free:
                raise StoreUnavailable(
                    f"index version {manifest.version} needs {needed:,} bytes ({needed / 1e6:.1f} MB) more in "
                    f"{self.root}, but only {free:,} bytes ({free / 1e6:.1f} MB) are free (with {HEADROOM:,} kept "
                    "spare): give the function more ephemeral storage (EphemeralStorage in template.yaml, up to "
                    "10240 MB), point NEWSDESK_SNAPSHOT_DIR at a larger disk, or compact the index (`newsdesk compact`)")
        elapsed = timed()
        for segment in missing:
            self._fetch(segment, manifest.version, pause)
        if missing:
            log.info("snapshot segments downloaded version=%s segments=%d bytes=%d seconds=%.3f",
                     manifest.version, len(missing), needed, elapsed())
        return {s.name: self.path(s) for s in wanted}

    def _fetch(self, segment: Segment, version: str, pause: float) -> None:
        staging = self.root / f".{segment.name}.{uuid.uuid4().hex[:8]}.partial"
        staging.mkdir()

        def fetch(f: SnapshotFile) -> None:
            download_checked(self.blobs, segment.key_of(f), f, staging / f.path, version)
            if pause:
                time.sleep(pause)

        try:
            if pause:
                for f in segment.files:
                    fetch(f)
            else:
                each(segment.files, fetch)
            try:
                staging.rename(self.path(segment))
            except OSError:
                if not self.have(segment):  # else another thread fetched the same segment first
                    raise
        except OSError as exc:
            raise StoreUnavailable(f"cannot load segment {segment.name} of version {version} from "
                                   f"{self.blobs.where}: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def catalog(self, segment: Segment, version: str) -> Catalog | None:
        """The segment's catalog, downloaded and checked (kept beside the folders); None when it has none."""
        if segment.catalog is None:
            return None
        path = self.root / f"{segment.name}.catalog.json"
        if not path.is_file():
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
            try:
                download_checked(self.blobs, segment.key_of(segment.catalog), segment.catalog, tmp, version)
                tmp.replace(path)
            finally:
                tmp.unlink(missing_ok=True)
        return Catalog.from_json(path.read_bytes())

    def keep_only(self, names: Iterable[str]) -> None:
        """Delete local segments no version in use needs."""
        kept = set(names)
        for path in self.root.iterdir():
            name = path.name.removesuffix(".catalog.json")
            if name not in kept and not path.name.startswith("."):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
