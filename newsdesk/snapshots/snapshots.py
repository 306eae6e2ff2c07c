"""Index snapshots in a blob store: content-addressed objects, grouped into segments that a manifest lists.

The layout in the bucket:
  index/objects/<sha256>          every file of every segment, named by its SHA-256: written once, never changed
  index/manifests/<version>.json  each published manifest, kept while readers may still follow it
  index/manifest.json             the current manifest, written last with a conditional write (the commit point)
A segment is one complete embedded index folder (Chroma plus its derived files). The manifest lists the
segments, oldest (the base) first, and for each the article ids that later segments replaced or deleted
(`hidden`). A publish uploads only objects the bucket does not already hold, so adding one article costs
one small delta segment and a manifest, not the whole index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from newsdesk.errors import SnapshotRefused, StoreUnavailable

log = logging.getLogger(__name__)

MANIFEST_KEY = "index/manifest.json"
OBJECTS_PREFIX = "index/objects/"
MANIFESTS_PREFIX = "index/manifests/"
VERSIONS_PREFIX = "index/versions/"  # the layout before segments: one folder of files per version
FORMAT = 2
TRANSFER_THREADS = 8
KEEP_VERSIONS = 3  # newest manifests whose objects are never pruned
PRUNE_AFTER_SECONDS = 3600  # nor any object or manifest younger than this: a reader may be fetching it
SHA256 = re.compile(r"[0-9a-f]{64}")
SEGMENT_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]{0,127}")
T = TypeVar("T")
R = TypeVar("R")


class Blobs(Protocol):
    """The few object-store calls snapshots need (S3 in production)."""

    where: str  # for messages, e.g. s3://bucket

    def get_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""

    def get_tagged(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and its entity tag (changes on every write), or None when there is none."""

    def put_bytes(self, key: str, data: bytes, content_type: str, if_tag: str | None = None,
                  if_absent: bool = False) -> None:
        """Write; with `if_tag` only over that version of the object, with `if_absent` only where there is
        none (PublishConflict otherwise)."""

    def download(self, key: str, path: Path) -> str:
        """Write the object to `path`; returns the SHA-256 (hex) of the bytes written."""

    def upload(self, path: Path, key: str) -> None: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def list_sizes(self, prefix: str) -> dict[str, tuple[int, float]]:
        """Each object under `prefix`: its size in bytes and when it was written (Unix time)."""

    def delete_keys(self, keys: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class SnapshotFile:
    """One file of a segment: its path inside the segment folder, SHA-256 (hex) and size in bytes."""

    path: str
    sha256: str  # "" when read from a manifest written before checksums: such a version is refused
    size: int

    @classmethod
    def from_json(cls, entry: str | Mapping[str, Any]) -> SnapshotFile:
        if isinstance(entry, str):  # a path alone: written by an older Newsdesk
            return cls(entry, "", -1)
        digest, size = str(entry["sha256"]), int(entry["size"])
        if not SHA256.fullmatch(digest) or size < 0:
            raise ValueError(f"bad checksum or size for {entry.get('path')!r}")
        return cls(str(entry["path"]), digest, size)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class Segment:
    """An immutable index folder: its files, how many articles it holds and which of them later segments hide."""

    name: str
    files: tuple[SnapshotFile, ...]
    articles: int = 0
    hidden: frozenset[str] = frozenset()  # article ids replaced or deleted by a later segment
    catalog: SnapshotFile | None = None  # the article ids, versions and source keys it holds (for the writer)
    prefix: str | None = None  # set only for the older layout: files at prefix + path, not by checksum

    def key_of(self, file: SnapshotFile) -> str:
        return self.prefix + file.path if self.prefix is not None else OBJECTS_PREFIX + file.sha256

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def live(self) -> int:
        return max(self.articles - len(self.hidden), 0)

    def to_json(self) -> dict[str, Any]:
        out = {"name": self.name, "articles": self.articles, "hidden": sorted(self.hidden),
               "catalog": self.catalog.to_json() if self.catalog else None, "files": [f.to_json() for f in self.files]}
        return out if self.prefix is None else {**out, "prefix": self.prefix}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Segment:
        catalog = data.get("catalog")
        return cls(str(data["name"]), tuple(SnapshotFile.from_json(f) for f in data.get("files", ())),
                   int(data.get("articles", 0)), frozenset(str(i) for i in data.get("hidden", ())),
                   SnapshotFile.from_json(catalog) if catalog else None,
                   str(data["prefix"]) if data.get("prefix") is not None else None)


@dataclass(frozen=True)
class Manifest:
    """The latest version: its segments, oldest first. `key` says where their objects live."""

    version: str
    key: str
    created_at: str
    parent: str | None = None
    size_bytes: int = 0
    segments: tuple[Segment, ...] = ()

    @property
    def files(self) -> tuple[SnapshotFile, ...]:
        return tuple(f for s in self.segments for f in s.files)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)

    @property
    def objects(self) -> set[str]:
        """Every object key this version needs."""
        keys = {s.key_of(f) for s in self.segments for f in s.files}
        return keys | {OBJECTS_PREFIX + s.catalog.sha256 for s in self.segments if s.catalog}

    def to_json(self) -> bytes:
        return json.dumps({"format": FORMAT, "version": self.version, "key": self.key, "created_at": self.created_at,
                           "parent": self.parent, "size_bytes": self.size_bytes,
                           "segments": [s.to_json() for s in self.segments]}, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        version, key = str(data["version"]), str(data["key"])
        if "segments" in data:
            segments = tuple(Segment.from_json(s) for s in data["segments"])
        else:  # the older layout: one folder of files under index/versions/<version>/
            segments = (Segment(version, tuple(SnapshotFile.from_json(f) for f in data.get("files", ())), -1,
                                prefix=key),)
        return cls(version, key, str(data["created_at"]), data.get("parent"), int(data.get("size_bytes", 0)), segments)


VERSION_TIME = "%Y%m%dT%H%M%S%fZ"


def new_version_id() -> str:
    """Sortable by time (to the microsecond), unique across writers: 20240305T101500123456Z-1a2b3c4d."""
    return datetime.now(UTC).strftime(VERSION_TIME) + "-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Latest:
    """The manifest a writer starts from, and its entity tag: its publish replaces exactly that one."""

    manifest: Manifest | None
    tag: str | None  # None: there was no manifest

    @property
    def segments(self) -> tuple[Segment, ...]:
        return self.manifest.segments if self.manifest else ()


def read_manifest(blobs: Blobs) -> Manifest | None:
    return read_latest(blobs).manifest


def read_latest(blobs: Blobs) -> Latest:
    got = blobs.get_tagged(MANIFEST_KEY)
    if got is None:
        return Latest(None, None)
    try:
        return Latest(Manifest.from_json(got[0]), got[1])
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreUnavailable(f"the manifest {blobs.where}/{MANIFEST_KEY} is unreadable ({exc}): "
                               "run `newsdesk publish` to write a new one") from exc


@dataclass
class Uploaded:
    """What a publish sent: objects and bytes uploaded, and those the bucket already held."""

    objects: int = 0
    bytes: int = 0
    skipped: int = 0
    existing: dict[str, int] = field(default_factory=dict)  # object key -> size, listed once per publish

    @classmethod
    def listing(cls, blobs: Blobs) -> Uploaded:
        return cls(existing={k: size for k, (size, _) in blobs.list_sizes(OBJECTS_PREFIX).items()})


def publish(blobs: Blobs, folder: Path, after: Latest | None = None, uploaded: Uploaded | None = None) -> Manifest:
    """Publish `folder` (a whole index) as the only segment of a new version: `newsdesk publish`, or a seed.

    Files the bucket already holds (same SHA-256) are not uploaded again. With `after` (what the caller
    started from), the manifest is replaced only if it is still that one: a conditional write, so two
    writers never silently undo each other; the loser gets PublishConflict and nothing changes.
    """
    if not folder.is_dir() or not any(folder.iterdir()):
        raise StoreUnavailable(f"no index at {folder}: run `newsdesk ingest ... --store {folder}` first")
    from newsdesk.snapshots.catalog import catalog_of  # the writer's bookkeeping, when the folder's derived data has it

    sent = uploaded if uploaded is not None else Uploaded.listing(blobs)
    catalog = catalog_of(folder)
    articles = len(catalog.versions) if catalog else -1
    segment = upload_segment(blobs, folder, "base-" + new_version_id(), articles, sent,
                             catalog.to_json() if catalog else None)
    return commit(blobs, [segment], after)


def upload_segment(blobs: Blobs, folder: Path | None, name: str, articles: int, sent: Uploaded,
                   catalog: bytes | None = None) -> Segment:
    """Upload a segment folder's files (each distinct content once, and only if the bucket lacks it) and its
    catalog; `folder` None: a segment of no files. A file that changes meanwhile fails the publish."""
    root = folder or Path()
    paths = sorted(p for p in root.rglob("*") if p.is_file()) if folder else []
    stats = [p.stat() for p in paths]
    files = _each(paths, lambda p: SnapshotFile(p.relative_to(root).as_posix(), sha256_of(p), p.stat().st_size))
    first = {f.sha256: path for f, path in zip(files, paths, strict=True)}
    missing = [(digest, path) for digest, path in first.items()
               if sent.existing.get(OBJECTS_PREFIX + digest) != path.stat().st_size]
    _each(missing, lambda item: blobs.upload(item[1], OBJECTS_PREFIX + item[0]))
    for path, before, file in zip(paths, stats, files, strict=True):
        after = path.stat()
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or after.st_size != file.size:
            raise StoreUnavailable(f"{path} changed while it was published: publish again once the index is idle")
    for digest, path in missing:
        sent.existing[OBJECTS_PREFIX + digest] = path.stat().st_size
    sent.objects += len(missing)
    sent.bytes += sum(path.stat().st_size for _, path in missing)
    sent.skipped += len(first) - len(missing)
    return Segment(name, tuple(files), articles, frozenset(), put_object(blobs, catalog, sent) if catalog else None)


def put_object(blobs: Blobs, data: bytes, sent: Uploaded, path: str = "catalog.json") -> SnapshotFile:
    """A small content-addressed object from memory (a segment's catalog), unless the bucket holds it already."""
    described = SnapshotFile(path, hashlib.sha256(data).hexdigest(), len(data))
    key = OBJECTS_PREFIX + described.sha256
    if sent.existing.get(key) != described.size:
        blobs.put_bytes(key, data, "application/json")
        sent.objects, sent.bytes = sent.objects + 1, sent.bytes + described.size
        sent.existing[key] = described.size
    return described


def commit(blobs: Blobs, segments: Sequence[Segment], after: Latest | None) -> Manifest:
    """Write a manifest listing `segments` (the commit point), then prune what no reader needs any more."""
    parent = after.manifest.version if after is not None and after.manifest is not None else None
    version = new_version_id()
    size = sum(s.size_bytes for s in segments)
    manifest = Manifest(version, OBJECTS_PREFIX, datetime.now(UTC).isoformat(timespec="seconds"), parent, size,
                        tuple(segments))
    body = manifest.to_json()
    blobs.put_bytes(MANIFESTS_PREFIX + version + ".json", body, "application/json")  # history, for pruning
    blobs.put_bytes(MANIFEST_KEY, body, "application/json",  # last: the commit point
                    if_tag=after.tag if after is not None else None,
                    if_absent=after is not None and after.tag is None)
    log.info("snapshot published version=%s segments=%d bytes=%d", version, len(segments), size)
    try:
        prune(blobs, manifest)
    except StoreUnavailable as exc:  # the new version is live; old objects wait for the next publish
        log.warning("old snapshot objects not pruned error=%s", exc)
    return manifest


def prune(blobs: Blobs, current: Manifest, keep: int = KEEP_VERSIONS,
          older_than: float = PRUNE_AFTER_SECONDS, now: datetime | None = None) -> list[str]:
    """Delete objects and manifests no reader can need: never those of the newest `keep` manifests, the current
    one or its parent, nor anything younger than `older_than` seconds (a publish in progress uploads objects
    before any manifest names them). Returns the manifest versions forgotten."""
    cutoff = (now or datetime.now(UTC)).timestamp() - older_than
    history = blobs.list_sizes(MANIFESTS_PREFIX)
    versions = sorted((k[len(MANIFESTS_PREFIX):-len(".json")], when) for k, (_, when) in history.items()
                      if k.endswith(".json"))
    newest = {v for v, _ in versions[-keep:]} | {current.version, current.parent}
    kept = [v for v, when in versions if v in newest or when >= cutoff]
    doomed = [v for v, when in versions if v not in kept]
    needed = set(current.objects)
    for version in kept:
        needed |= _objects_of(blobs, version)
    stale = [k for k, (_, when) in blobs.list_sizes(OBJECTS_PREFIX).items() if k not in needed and when < cutoff]
    legacy = [k for k, (_, when) in blobs.list_sizes(VERSIONS_PREFIX).items()
              if k not in needed and when < cutoff and _published(k[len(VERSIONS_PREFIX):].split("/", 1)[0]) < cutoff]
    blobs.delete_keys(stale + legacy + [MANIFESTS_PREFIX + v + ".json" for v in doomed])
    if stale or legacy or doomed:
        log.info("old snapshot objects pruned objects=%d manifests=%d", len(stale) + len(legacy), len(doomed))
    return doomed


_REFERENCED: dict[str, frozenset[str]] = {}  # a manifest never changes: read each one once per process


def _objects_of(blobs: Blobs, version: str) -> frozenset[str]:
    key = f"{blobs.where}/{version}"
    if key not in _REFERENCED:
        raw = blobs.get_bytes(MANIFESTS_PREFIX + version + ".json")
        try:
            _REFERENCED[key] = frozenset(Manifest.from_json(raw).objects) if raw else frozenset()
        except (ValueError, KeyError, TypeError):
            return frozenset()
    return _REFERENCED[key]


def _published(version: str) -> float:
    """When a version id says it was published; +inf for names Newsdesk did not write (left alone)."""
    for layout in (VERSION_TIME, "%Y%m%dT%H%M%SZ"):  # the second: versions published before 2026-11-27
        try:
            return datetime.strptime(version.split("-", 1)[0], layout).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return float("inf")


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in chunks (snapshot files are tens of MB)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_manifest(blobs: Blobs, manifest: Manifest) -> None:
    """SnapshotRefused unless every segment is named safely, lists files inside itself and has checksums."""
    for segment in manifest.segments:
        if not SEGMENT_NAME.fullmatch(segment.name) or segment.name in {".", ".."}:
            raise SnapshotRefused(f"the manifest for version {manifest.version} names a segment {segment.name!r} "
                                  "that is not a plain name: run `newsdesk publish` to write a new one", MANIFEST_KEY)
        unsafe = [f.path for f in segment.files if f.path.startswith("/") or ".." in Path(f.path).parts]
        if unsafe:  # a manifest names files inside its segment folder, nothing else
            raise SnapshotRefused(f"the manifest for version {manifest.version} names paths outside the index "
                                  f"({unsafe[0]!r}): run `newsdesk publish` to write a new one", MANIFEST_KEY)
        if any(not f.sha256 for f in segment.files):
            raise SnapshotRefused(f"the manifest {blobs.where}/{MANIFEST_KEY} (version {manifest.version}) lists no "
                                  "SHA-256 checksums: it was written by an older Newsdesk. Run `newsdesk publish` to "
                                  "publish the index again with checksums", MANIFEST_KEY)
    if not any(s.files for s in manifest.segments):
        raise SnapshotRefused(f"the manifest {blobs.where}/{MANIFEST_KEY} (version {manifest.version}) lists no "
                              "files: run `newsdesk publish` to publish an index", MANIFEST_KEY)


def download_checked(blobs: Blobs, key: str, file: SnapshotFile, path: Path, version: str) -> None:
    """Download one object to `path`; SnapshotRefused (naming the key) when it differs from its manifest entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        digest = blobs.download(key, path)
    except StoreUnavailable as exc:
        raise StoreUnavailable(f"{blobs.where}/{key} (in version {version}) cannot be downloaded: {exc}") from exc
    size = path.stat().st_size
    if size != file.size or digest != file.sha256:
        log.error("snapshot object does not match its manifest key=%s version=%s bytes=%d expected_bytes=%d",
                  key, version, size, file.size)
        raise SnapshotRefused(f"{blobs.where}/{key} does not match the SHA-256 its manifest lists (it changed after "
                              f"version {version} was published): the version is refused. Publish again "
                              "from a trusted index with `newsdesk publish`", key)


def each(items: Iterable[T], action: Callable[[T], R]) -> list[R]:
    return _each(list(items), action)


def _each(items: Sequence[T], action: Callable[[T], R]) -> list[R]:
    """Run `action` on every item, several at a time (S3 transfers wait on the network, not the CPU)."""
    if len(items) <= 1:
        return [action(item) for item in items]
    with ThreadPoolExecutor(max_workers=TRANSFER_THREADS) as pool:
        return [done.result() for done in [pool.submit(action, item) for item in items]]  # the first failure raises


def with_hidden(segment: Segment, ids: Iterable[str]) -> Segment:
    return replace(segment, hidden=segment.hidden | frozenset(ids))


def timed() -> Callable[[], float]:
    started = time.perf_counter()
    return lambda: round(time.perf_counter() - started, 3)
