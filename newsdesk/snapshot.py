"""Index snapshots in a blob store: immutable versions plus a small manifest that is written last."""

from __future__ import annotations

import json
import logging
import shutil
import tarfile
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from newsdesk.errors import StoreUnavailable

log = logging.getLogger(__name__)

MANIFEST_KEY = "index/manifest.json"
VERSIONS_PREFIX = "index/versions/"


class Blobs(Protocol):
    """The few object-store calls snapshots need (S3 in production)."""

    where: str  # for messages, e.g. s3://bucket

    def get_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    def download(self, key: str, path: Path) -> None: ...

    def upload(self, path: Path, key: str) -> None: ...


@dataclass(frozen=True)
class Manifest:
    version: str
    key: str
    created_at: str
    parent: str | None = None
    size_bytes: int = 0

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        return cls(str(data["version"]), str(data["key"]), str(data["created_at"]), data.get("parent"),
                   int(data.get("size_bytes", 0)))


def new_version_id() -> str:
    """Sortable by time, unique across writers: 20240305T101500Z-1a2b3c4d."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def read_manifest(blobs: Blobs) -> Manifest | None:
    raw = blobs.get_bytes(MANIFEST_KEY)
    if raw is None:
        return None
    try:
        return Manifest.from_json(raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreUnavailable(f"the manifest {blobs.where}/{MANIFEST_KEY} is unreadable ({exc}): "
                               "run `newsdesk publish` to write a new one") from exc


def publish(blobs: Blobs, folder: Path, parent: str | None = None) -> Manifest:
    """Upload `folder` as a new immutable version, then point the manifest at it (readers never see half)."""
    if not folder.is_dir() or not any(folder.iterdir()):
        raise StoreUnavailable(f"no index at {folder}: run `newsdesk ingest ... --store {folder}` first")
    version = new_version_id()
    key = f"{VERSIONS_PREFIX}{version}.tar.gz"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="newsdesk-publish-") as tmp:
        archive = Path(tmp) / "index.tar.gz"
        with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
            for item in sorted(folder.iterdir()):
                tar.add(item, arcname=item.name)
        size = archive.stat().st_size
        blobs.upload(archive, key)
    manifest = Manifest(version, key, datetime.now(UTC).isoformat(timespec="seconds"), parent, size)
    blobs.put_bytes(MANIFEST_KEY, manifest.to_json(), "application/json")  # last: the commit point
    log.info("snapshot published version=%s bytes=%d ms=%.0f", version, size, (time.perf_counter() - started) * 1000)
    return manifest


def fetch(blobs: Blobs, manifest: Manifest, dest: Path) -> Path:
    """Download and unpack a version into `dest`; `dest` appears only when complete."""
    if dest.is_dir():
        return dest
    started = time.perf_counter()
    staging = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.partial")
    staging.mkdir(parents=True)
    try:
        archive = staging / "index.tar.gz"
        blobs.download(manifest.key, archive)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging / "index", filter="data")
        try:
            (staging / "index").rename(dest)
        except OSError:
            if not dest.is_dir():  # else another process unpacked the same version first
                raise
    except (OSError, tarfile.TarError) as exc:
        raise StoreUnavailable(f"cannot load index version {manifest.version} from {blobs.where}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("snapshot loaded version=%s ms=%.0f", manifest.version, (time.perf_counter() - started) * 1000)
    return dest
