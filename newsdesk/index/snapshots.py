"""Index snapshots in a blob store: immutable versions plus a small manifest, written last, listing each file's SHA-256."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from newsdesk.errors import SnapshotRefused, StoreUnavailable

log = logging.getLogger(__name__)

MANIFEST_KEY = "index/manifest.json"
VERSIONS_PREFIX = "index/versions/"
TRANSFER_THREADS = 8
KEEP_VERSIONS = 3  # newest versions never pruned
PRUNE_AFTER_SECONDS = 3600  # nor any version younger than this: a new container may be downloading it
SHA256 = re.compile(r"[0-9a-f]{64}")
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

    def delete_keys(self, keys: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class SnapshotFile:
    """One file of a version: its path inside the version folder, SHA-256 (hex) and size in bytes."""

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


@dataclass(frozen=True)
class Manifest:
    """The latest version: `key` is its folder of files, `files` what is inside it with their checksums."""

    version: str
    key: str
    created_at: str
    parent: str | None = None
    size_bytes: int = 0
    files: tuple[SnapshotFile, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)

    def to_json(self) -> bytes:
        return json.dumps({**asdict(self), "files": [asdict(f) for f in self.files]}, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        return cls(str(data["version"]), str(data["key"]), str(data["created_at"]), data.get("parent"),
                   int(data.get("size_bytes", 0)), tuple(SnapshotFile.from_json(f) for f in data.get("files", ())))


VERSION_TIME = "%Y%m%dT%H%M%S%fZ"


def new_version_id() -> str:
    """Sortable by time (to the microsecond), unique across writers: 20240305T101500123456Z-1a2b3c4d."""
    return datetime.now(UTC).strftime(VERSION_TIME) + "-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Latest:
    """The manifest a writer starts from, and its entity tag: its publish replaces exactly that one."""

    manifest: Manifest | None
    tag: str | None  # None: there was no manifest


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


def publish(blobs: Blobs, folder: Path, after: Latest | None = None) -> Manifest:
    """Upload `folder` as a new immutable version, then point the manifest at it (readers never see half).

    With `after` (what the writer started from), the manifest is replaced only if it is still that
    one: a conditional write, so two writers (the ingest function and `newsdesk publish`) never
    silently undo each other; the loser gets PublishConflict and nothing changes. Each file is its
    own object, uploaded and later downloaded in parallel, with nothing to unpack: most of an index
    is float vectors, which compression barely shrinks (about 10%) but slows to load.
    """
    parent = after.manifest.version if after is not None and after.manifest is not None else None
    if not folder.is_dir() or not any(folder.iterdir()):
        raise StoreUnavailable(f"no index at {folder}: run `newsdesk ingest ... --store {folder}` first")
    version = new_version_id()
    prefix = f"{VERSIONS_PREFIX}{version}/"
    started = time.perf_counter()
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    files = _each(names, lambda name: _upload(blobs, folder / name, prefix + name, name))
    size = sum(f.size for f in files)
    manifest = Manifest(version, prefix, datetime.now(UTC).isoformat(timespec="seconds"), parent, size, tuple(files))
    blobs.put_bytes(MANIFEST_KEY, manifest.to_json(), "application/json",  # last: the commit point
                    if_tag=after.tag if after is not None else None,
                    if_absent=after is not None and after.tag is None)
    log.info("snapshot published version=%s files=%d bytes=%d ms=%.0f", version, len(files), size,
             (time.perf_counter() - started) * 1000)
    try:
        prune(blobs, manifest)
    except StoreUnavailable as exc:  # the new version is live; old ones wait for the next publish
        log.warning("old snapshot versions not pruned error=%s", exc)
    return manifest


def prune(blobs: Blobs, current: Manifest, keep: int = KEEP_VERSIONS,
          older_than: float = PRUNE_AFTER_SECONDS, now: datetime | None = None) -> list[str]:
    """Delete old versions: never the newest `keep`, the current one or its parent, nor one published
    less than `older_than` seconds ago. Returns the versions deleted."""
    keys: dict[str, list[str]] = {}
    for key in blobs.list_keys(VERSIONS_PREFIX):
        version = key[len(VERSIONS_PREFIX):].split("/", 1)[0]
        keys.setdefault(version, []).append(key)
    ordered = sorted((v for v in keys if _published(v) < float("inf")), key=lambda v: (_published(v), v))
    protected = set(ordered[-keep:]) | {current.version, current.parent}
    cutoff = (now or datetime.now(UTC)).timestamp() - older_than
    doomed = [v for v in ordered if v not in protected and _published(v) < cutoff]
    blobs.delete_keys([key for version in doomed for key in keys[version]])
    if doomed:
        log.info("old snapshot versions pruned versions=%d", len(doomed))
    return doomed


def _published(version: str) -> float:
    """When a version id says it was published; +inf for names Newsdesk did not write (left alone)."""
    for layout in (VERSION_TIME, "%Y%m%dT%H%M%SZ"):  # the second: versions published before 2026-11-27
        try:
            return datetime.strptime(version.split("-", 1)[0], layout).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return float("inf")


def _upload(blobs: Blobs, path: Path, key: str, name: str) -> SnapshotFile:
    """Checksum a file and upload it; a file that changes meanwhile (a writer at work) fails the publish."""
    before = path.stat()
    described = SnapshotFile(name, sha256_of(path), before.st_size)
    blobs.upload(path, key)
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or after.st_size != described.size:
        raise StoreUnavailable(f"{path} changed while it was published: publish again once the index is idle")
    return described


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in chunks (snapshot files are tens of MB)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fetch(blobs: Blobs, manifest: Manifest, dest: Path) -> Path:
    """Download a version into `dest`, checking every file against the manifest; `dest` appears only when
    complete and checked (SnapshotRefused when a file differs or the manifest has no checksums)."""
    if dest.is_dir():
        return dest
    started = time.perf_counter()
    staging = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.partial")
    (staging / "index").mkdir(parents=True)
    try:
        _check_manifest(blobs, manifest)
        _each(manifest.files, lambda file: _download(blobs, manifest, file, staging / "index"))
        try:
            (staging / "index").rename(dest)
        except OSError:
            if not dest.is_dir():  # else another process downloaded the same version first
                raise
    except OSError as exc:
        raise StoreUnavailable(f"cannot load index version {manifest.version} from {blobs.where}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("snapshot loaded version=%s ms=%.0f", manifest.version, (time.perf_counter() - started) * 1000)
    return dest


def _check_manifest(blobs: Blobs, manifest: Manifest) -> None:
    unsafe = [f.path for f in manifest.files if f.path.startswith("/") or ".." in Path(f.path).parts]
    if unsafe:  # a manifest names files inside its version folder, nothing else
        raise SnapshotRefused(f"the manifest for version {manifest.version} names paths outside the index "
                              f"({unsafe[0]!r}): run `newsdesk publish` to write a new one", MANIFEST_KEY)
    if any(not f.sha256 for f in manifest.files) or not manifest.files:
        raise SnapshotRefused(f"the manifest {blobs.where}/{MANIFEST_KEY} (version {manifest.version}) lists no "
                              "SHA-256 checksums: it was written by an older Newsdesk. Run `newsdesk publish` to "
                              "publish the index again with checksums", MANIFEST_KEY)


def _download(blobs: Blobs, manifest: Manifest, file: SnapshotFile, root: Path) -> None:
    path, key = root / file.path, manifest.key + file.path
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = blobs.download(key, path)
    size = path.stat().st_size
    if size != file.size or digest != file.sha256:
        log.error("snapshot object does not match its manifest key=%s version=%s bytes=%d expected_bytes=%d",
                  key, manifest.version, size, file.size)
        raise SnapshotRefused(f"{blobs.where}/{key} does not match the SHA-256 its manifest lists (it changed after "
                              f"version {manifest.version} was published): the version is refused. Publish again "
                              "from a trusted index with `newsdesk publish`", key)


def _each(items: Sequence[T], action: Callable[[T], R]) -> list[R]:
    """Run `action` on every item, several at a time (S3 transfers wait on the network, not the CPU)."""
    with ThreadPoolExecutor(max_workers=TRANSFER_THREADS) as pool:
        return [done.result() for done in [pool.submit(action, item) for item in items]]  # the first failure raises
