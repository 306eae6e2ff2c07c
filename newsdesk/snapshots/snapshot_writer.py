"""The single index writer on Lambda: each batch of object changes becomes one small delta segment and one
manifest; compaction folds deltas together when they grow. Publishing never rewrites what S3 already holds."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from newsdesk.errors import PublishConflict
from newsdesk.ports import VectorStore
from newsdesk.snapshots.catalog import Catalog
from newsdesk.snapshots.compaction import CompactionPolicy, MergeFolders, OpenStore, merge_segments
from newsdesk.snapshots.delta import DeltaStore, Live
from newsdesk.snapshots.s3_events import SOURCES_FILE, Indexer, ObjectChange, ReadObject, SourceMap, apply_changes
from newsdesk.snapshots.segment_files import SegmentFolders
from newsdesk.snapshots.snapshots import (
    Blobs,
    Latest,
    Manifest,
    Segment,
    Uploaded,
    commit,
    new_version_id,
    put_object,
    read_latest,
    timed,
    upload_segment,
    with_hidden,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_MERGES = 8  # merges one run may make after its publish


@dataclass(frozen=True)
class WriterParts:
    """What the writer builds on, from the composition root."""

    open_store: OpenStore  # an embedded index folder (created when missing)
    make_service: Callable[[VectorStore], Indexer]  # the service that ingests into a given store
    merge_folders: MergeFolders  # compaction's copy of rows between folders


class SnapshotWriter:
    """Keeps each segment's catalog (and the deltas it wrote) between warm invocations; segments never change."""

    def __init__(self, blobs: Blobs, root: Path, parts: WriterParts, policy: CompactionPolicy | None = None,
                 attempts: int = 3) -> None:
        self.blobs, self.root, self.parts, self.attempts = blobs, root, parts, attempts
        self.policy = policy or CompactionPolicy()
        self.folders = SegmentFolders(blobs, root / "segments")
        self.work = root / "work"
        shutil.rmtree(self.work, ignore_errors=True)  # half-built segments of a run that was killed
        self.work.mkdir(parents=True)
        self._catalogs: dict[str, Catalog] = {}

    def handle(self, changes: Sequence[ObjectChange], read: ReadObject) -> dict[str, Any]:
        """Apply a batch of object changes and publish them as one delta; a lost race is retried from the winner."""
        result = self._retrying(lambda latest: self._apply(latest, changes, read))
        if result["published"]:
            result["compaction"] = []
            try:
                for _ in range(MAX_MERGES):  # a merge can fill the next tier: cascade
                    merged = self.compact()
                    if merged is None:
                        break
                    result["compaction"].append(merged)
            except Exception as exc:  # the batch is published; the deltas wait for the next compaction
                log.warning("compaction failed error=%s", exc)
        log.info("ingest done %s", " ".join(f"{k}={v}" for k, v in result.items() if k != "errors"))
        return result

    def compact(self, force: bool = False) -> dict[str, Any] | None:
        """Merge segments when the policy says so (or, with `force`, everything into one base)."""
        return self._retrying(lambda latest: self._compact(latest, force))

    def _retrying(self, action: Callable[[Latest], T]) -> T:
        for attempt in range(1, self.attempts + 1):
            latest = read_latest(self.blobs)
            try:
                return action(latest)
            except PublishConflict as exc:
                if attempt == self.attempts:
                    raise
                log.warning("publish lost a race attempt=%d error=%s: starting again from the new index", attempt, exc)
        raise AssertionError("unreachable")

    def _apply(self, latest: Latest, changes: Sequence[ObjectChange], read: ReadObject) -> dict[str, Any]:
        segments = self._segments(latest)
        live = Live.of(segments, self._catalogs)
        name = "delta-" + new_version_id()
        folder = self.work / name
        try:
            store, release = self.parts.open_store(folder)
            delta = DeltaStore(store, live)
            sources = SourceMap({key: list(ids) for key, ids in live.sources.items()})
            before = {key: tuple(ids) for key, ids in sources.ids_by_key.items()}
            try:
                report = apply_changes(self.parts.make_service(delta), changes, read, sources)
                versions = {article.id: version for article, version in store.iter_articles()}
            finally:
                release()  # flushed and closed before its files are uploaded
            result: dict[str, Any] = {**report.to_dict(), "published": False,
                                      "version": latest.manifest.version if latest.manifest else None}
            if not report.changed:
                shutil.rmtree(folder, ignore_errors=True)
                return result
            after = {key: tuple(ids) for key, ids in sources.ids_by_key.items()}
            changed = {k: v for k, v in after.items() if before.get(k) != v} | {k: () for k in before if k not in after}
            catalog = Catalog(versions, changed)
            elapsed, sent = timed(), Uploaded.listing(self.blobs)
            kept = [self._attach(with_hidden(s, delta.hide.get(s.name, ())), sent) for s in segments]
            new = upload_segment(self.blobs, folder if versions else None, name, len(versions), sent, catalog.to_json())
            manifest = commit(self.blobs, [*kept, new], after=latest)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._catalogs[name] = catalog
        self._settle(folder, new, manifest)
        result.update(version=manifest.version, published=True, publish_seconds=elapsed(), uploaded_bytes=sent.bytes,
                      uploaded_objects=sent.objects, index_bytes=manifest.size_bytes, segments=len(manifest.segments))
        return result

    def _compact(self, latest: Latest, force: bool) -> dict[str, Any] | None:
        if latest.manifest is None:
            return None
        segments = self._segments(latest)
        span = self.policy.plan(segments, force)
        if span is None:
            return None
        start, end = span
        chosen, elapsed = segments[start:end], timed()
        paths = self.folders.ensure(latest.manifest, chosen)
        name = ("base-" if start == 0 else "delta-") + new_version_id()
        target = self.work / name
        try:
            catalog = merge_segments(chosen, paths, self._catalogs, target, self.parts.merge_folders,
                                     self.parts.open_store, base=start == 0)
            sent = Uploaded.listing(self.blobs)
            new = upload_segment(self.blobs, target if catalog.versions else None, name, len(catalog.versions), sent,
                                 catalog.to_json())
            kept = [self._attach(s, sent) for s in segments]
            manifest = commit(self.blobs, [*kept[:start], new, *kept[end:]], after=latest)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        self._catalogs[name] = catalog
        self._settle(target, new, manifest)
        summary = {"version": manifest.version, "merged": len(chosen), "into": name, "articles": len(catalog.versions),
                   "uploaded_bytes": sent.bytes, "index_bytes": manifest.size_bytes, "seconds": elapsed()}
        log.info("index compacted %s", " ".join(f"{k}={v}" for k, v in summary.items()))
        return summary

    def _segments(self, latest: Latest) -> list[Segment]:
        """The latest segments, each with its catalog known (segments published without one get it derived)."""
        out = []
        for segment in latest.segments:
            catalog = self._catalogs.get(segment.name)
            if catalog is None:
                catalog = self.folders.catalog(segment, latest.manifest.version) if latest.manifest else None
                if catalog is None:
                    catalog = self._derive(latest.manifest, segment)  # type: ignore[arg-type]
                self._catalogs[segment.name] = catalog
            out.append(segment if segment.articles >= 0 else replace(segment, articles=len(catalog.versions)))
        return out

    def _derive(self, manifest: Manifest, segment: Segment) -> Catalog:
        """A segment `newsdesk publish` (or an older Newsdesk) wrote has no catalog: read it from the segment."""
        path = self.folders.ensure(manifest, [segment])[segment.name] if segment.files else None
        if path is None:
            return Catalog()
        store, release = self.parts.open_store(path)
        try:
            versions = {article.id: version for article, version in store.iter_articles()}
        finally:
            release()
        mapped = json.loads((path / SOURCES_FILE).read_text()) if (path / SOURCES_FILE).is_file() else {}
        log.info("segment catalog derived segment=%s articles=%d", segment.name, len(versions))
        return Catalog(versions, {str(k): tuple(str(i) for i in v) for k, v in mapped.items()})

    def _attach(self, segment: Segment, sent: Uploaded) -> Segment:
        """The segment with its catalog uploaded (once), so no writer derives it again."""
        if segment.catalog is not None:
            return segment
        return replace(segment, catalog=put_object(self.blobs, self._catalogs[segment.name].to_json(), sent))

    def _settle(self, folder: Path, segment: Segment, manifest: Manifest) -> None:
        """Keep the new segment's folder as a local copy (compaction reads it); drop what the manifest no longer has."""
        if segment.files:
            folder.rename(self.folders.path(segment))
        else:
            shutil.rmtree(folder, ignore_errors=True)
        names = {s.name for s in manifest.segments}
        self.folders.keep_only(names)
        self._catalogs = {k: v for k, v in self._catalogs.items() if k in names}
