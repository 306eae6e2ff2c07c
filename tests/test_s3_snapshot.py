"""Index snapshots in S3 (moto server): publish, load into a fresh folder, swap to newer versions."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from newsdesk.ingest.load import load_paths

from newsdesk.adapters.s3_snapshot import S3Blobs, s3_client
from newsdesk.app import build_service
from newsdesk.cli import cli
from newsdesk.errors import PublishConflict, SnapshotRefused, StoreUnavailable
from newsdesk.models import Article, Query
from newsdesk.settings import Settings
from newsdesk.snapshots.snapshots import (
    MANIFEST_KEY,
    OBJECTS_PREFIX,
    Manifest,
    Uploaded,
    prune,
    publish,
    read_latest,
    read_manifest,
)
from tests.conftest import EXAMPLES

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("aws_env")]
QUESTION = "How many homes lost power in the storm?"


@pytest.fixture
def bucket(moto_url: str, request: pytest.FixtureRequest) -> str:
    name = "index-" + request.node.name.lower().replace("_", "-")[:40]
    boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1").create_bucket(Bucket=name)
    return name


def settings_for(tmp: Path, moto: str, bucket: str, **extra: Any) -> Settings:
    return Settings.from_env({}, embedder="hash", abstain_threshold=0.0, s3_endpoint_url=moto, index_bucket=bucket,
                             snapshot_dir=tmp / "snapshots", **extra)


def local_index(folder: Path, paths: list[str]) -> None:
    service = build_service(Settings.from_env({}, embedder="hash", store=folder))
    assert service.ingest(load_paths(paths)).failed == 0
    service.store.client.close()  # type: ignore[attr-defined]


def publish_cli(folder: Path, moto: str, bucket: str) -> dict[str, Any]:
    env = {"NEWSDESK_S3_ENDPOINT_URL": moto, "NEWSDESK_EMBEDDER": "hash"}
    result = CliRunner().invoke(cli, ["publish", "--store", str(folder), "--bucket", bucket, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def test_no_manifest_is_a_clear_error(tmp_path: Path, moto_url: str, bucket: str) -> None:
    with pytest.raises(StoreUnavailable, match="newsdesk publish"):
        build_service(settings_for(tmp_path, moto_url, bucket))


def object_key(manifest: Manifest, path: str) -> str:
    [file] = [f for f in manifest.files if f.path == path]
    return OBJECTS_PREFIX + file.sha256


def test_publish_then_query_from_the_snapshot(tmp_path: Path, moto_url: str, bucket: str) -> None:
    local_index(tmp_path / "local", [str(EXAMPLES)])
    published = publish_cli(tmp_path / "local", moto_url, bucket)

    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    manifest = read_manifest(blobs)
    assert manifest is not None and manifest.version == published["version"]
    assert manifest.key == OBJECTS_PREFIX and len(manifest.segments) == 1 and "chroma.sqlite3" in manifest.names
    local_files = sorted(p.relative_to(tmp_path / "local").as_posix() for p in (tmp_path / "local").rglob("*")
                         if p.is_file())
    assert sorted(manifest.names) == local_files
    for file in manifest.files:  # every file of the index is an object named by its SHA-256, byte for byte
        data = (tmp_path / "local" / file.path).read_bytes()
        assert blobs.get_bytes(OBJECTS_PREFIX + file.sha256) == data
        assert (file.sha256, file.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert manifest.size_bytes == sum(f.size for f in manifest.files)
    assert blobs.get_bytes(f"index/manifests/{manifest.version}.json") == blobs.get_bytes(MANIFEST_KEY)

    service = build_service(settings_for(tmp_path, moto_url, bucket))
    answer = service.ask(Query(QUESTION))
    assert any("homes" in c.sentence for c in answer.citations)
    local = build_service(Settings.from_env({}, embedder="hash", store=tmp_path / "local"))
    assert service.stats() == local.stats()
    assert (tmp_path / "snapshots" / "segments" / manifest.segments[0].name).is_dir()


def test_publishing_again_uploads_only_the_files_that_changed(tmp_path: Path, moto_url: str, bucket: str) -> None:
    local_index(tmp_path / "local", [str(EXAMPLES / "harbor-gazette-storm-outage.txt")])
    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    first_sent = Uploaded.listing(blobs)
    first = publish(blobs, tmp_path / "local", after=read_latest(blobs), uploaded=first_sent)
    unique = {f.sha256: f.size for f in first.files}  # identical files (empty HNSW parts) are one object
    catalog = first.segments[0].catalog  # and the writer's catalog of the segment, read from its lexical index
    assert catalog is not None and len(json.loads(blobs.get_bytes(OBJECTS_PREFIX + catalog.sha256) or b"")["versions"]) == 1
    assert (first_sent.objects, first_sent.bytes) == (len(unique) + 1, sum(unique.values()) + catalog.size)

    again = Uploaded.listing(blobs)
    second = publish(blobs, tmp_path / "local", after=read_latest(blobs), uploaded=again)
    assert (again.objects, again.bytes, again.skipped) == (0, 0, len({f.sha256 for f in second.files}))  # only a manifest

    local_index(tmp_path / "local", [str(EXAMPLES / "harbor-gazette-bridge-closure.md")])
    changed = Uploaded.listing(blobs)
    third = publish(blobs, tmp_path / "local", after=read_latest(blobs), uploaded=changed)
    new_objects = {f.sha256: f.size for f in third.files}.keys() - {f.sha256 for f in second.files}
    catalog = third.segments[0].catalog
    assert catalog is not None and 0 < changed.objects == len(new_objects) + 1 < len(third.files)
    assert changed.bytes == sum({f.sha256: f.size for f in third.files if f.sha256 in new_objects}.values()) + \
        catalog.size


@pytest.mark.parametrize("segment, path", [("base-1", "../../outside.txt"), ("../outside", "chroma.sqlite3")])
def test_a_manifest_naming_paths_outside_the_index_is_refused(tmp_path: Path, moto_url: str, bucket: str,
                                                              segment: str, path: str) -> None:
    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    blobs.put_bytes(OBJECTS_PREFIX + hashlib.sha256(b"data").hexdigest(), b"data", "application/octet-stream")
    file = {"path": path, "sha256": hashlib.sha256(b"data").hexdigest(), "size": 4}
    bad = {"format": 2, "version": "v1", "key": OBJECTS_PREFIX, "created_at": "2026-11-27T00:00:00+00:00",
           "segments": [{"name": segment, "articles": 1, "hidden": [], "files": [file]}]}
    blobs.put_bytes(MANIFEST_KEY, json.dumps(bad).encode(), "application/json")
    with pytest.raises(StoreUnavailable, match="outside the index|not a plain name"):
        build_service(settings_for(tmp_path, moto_url, bucket))
    assert not list(tmp_path.rglob("outside*"))


def test_snapshot_store_is_read_only(tmp_path: Path, moto_url: str, bucket: str) -> None:
    local_index(tmp_path / "local", [str(EXAMPLES)])
    publish_cli(tmp_path / "local", moto_url, bucket)
    service = build_service(settings_for(tmp_path, moto_url, bucket))
    report = service.ingest([Article("new-one", "A brand new article. It has two sentences.")])
    assert report.failed == 1 and "read-only" in report.errors[0]
    with pytest.raises(StoreUnavailable, match="read-only"):
        service.delete(next(iter(service.store.iter_articles()))[0].id)


def test_newer_version_is_swapped_in_after_the_check_interval(tmp_path: Path, moto_url: str, bucket: str) -> None:
    storm = EXAMPLES / "harbor-gazette-storm-outage.txt"
    bridge = EXAMPLES / "harbor-gazette-bridge-closure.md"
    local_index(tmp_path / "local", [str(storm)])
    first = publish_cli(tmp_path / "local", moto_url, bucket)["version"]

    now = [0.0]
    settings = settings_for(tmp_path, moto_url, bucket, manifest_check_seconds=60.0)
    service = build_service(settings)
    store: Any = service.store
    store.clock = lambda: now[0]
    assert not store.refresh(force=True)  # same version; starts the interval at t=0
    assert service.stats().articles == 1

    local_index(tmp_path / "local", [str(bridge)])
    second = publish_cli(tmp_path / "local", moto_url, bucket)["version"]
    assert second != first

    now[0] = 30.0  # inside the interval: no S3 call, still the old version
    assert not store.refresh() and store.manifest.version == first
    now[0] = 61.0
    assert store.refresh() and store.manifest.version == second
    assert service.stats().articles == 2
    manifests = [m for m, _ in store._views]
    assert [m.version for m in manifests] == [first, second]  # the previous one finishes its queries
    on_disk = {p.name for p in (tmp_path / "snapshots" / "segments").iterdir()}
    assert on_disk == {s.name for m in manifests for s in m.segments}


def test_publish_without_an_index_fails_with_a_hint(tmp_path: Path, moto_url: str, bucket: str) -> None:
    env = {"NEWSDESK_S3_ENDPOINT_URL": moto_url}
    result = CliRunner().invoke(cli, ["publish", "--store", str(tmp_path / "nothing"), "--bucket", bucket], env=env)
    assert result.exit_code != 0
    assert "newsdesk ingest" in result.output
    assert boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1").list_objects_v2(
        Bucket=bucket).get("KeyCount") == 0


def test_old_objects_and_manifests_are_pruned_but_never_recent_ones(tmp_path: Path, moto_url: str, bucket: str) -> None:
    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    blobs.put_bytes("index/versions/README.txt", b"kept: not a version Newsdesk wrote", "text/plain")
    published = []
    for path in sorted(EXAMPLES.iterdir())[:5]:  # five versions, each with files of its own
        local_index(tmp_path / "local", [str(path)])
        published.append(publish(blobs, tmp_path / "local", after=read_latest(blobs)))

    def manifests() -> set[str]:
        return {key.removeprefix("index/manifests/").removesuffix(".json") for key in blobs.list_keys("index/manifests/")}

    objects = set(blobs.list_keys(OBJECTS_PREFIX))
    # Each publish prunes, but everything is younger than an hour: all is kept.
    assert manifests() == {m.version for m in published}
    assert objects == set().union(*(m.objects for m in published))

    later = datetime.now(UTC) + timedelta(hours=2)
    pruned = prune(blobs, published[-1], now=later)
    assert sorted(pruned) == sorted(m.version for m in published[:2])
    assert manifests() == {m.version for m in published[2:]}
    kept = set().union(*(m.objects for m in published[2:]))
    assert set(blobs.list_keys(OBJECTS_PREFIX)) == kept and kept < objects
    assert blobs.list_keys("index/versions/") == ["index/versions/README.txt"]
    answer = build_service(settings_for(tmp_path, moto_url, bucket)).ask(Query("What reopened?"))
    assert answer.citations


def test_two_first_publishes_cannot_both_win(tmp_path: Path, moto_url: str, bucket: str) -> None:
    local_index(tmp_path / "local", [str(EXAMPLES)])
    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    empty = read_latest(blobs)  # both writers found no index
    assert empty.manifest is None and empty.tag is None
    first = publish(blobs, tmp_path / "local", after=empty)
    with pytest.raises(PublishConflict):
        publish(blobs, tmp_path / "local", after=empty)
    assert read_manifest(blobs) == first
    second = publish(blobs, tmp_path / "local", after=read_latest(blobs))  # starting from the winner works
    assert second.parent == first.version and read_manifest(blobs) == second


def test_an_unreachable_s3_is_a_clear_error_for_every_call(tmp_path: Path) -> None:
    from tests.moto_fixtures import free_port

    blobs = S3Blobs(s3_client(f"http://127.0.0.1:{free_port()}", "us-east-1"), "nowhere")
    for call in (lambda: blobs.get_bytes(MANIFEST_KEY), lambda: blobs.put_bytes(MANIFEST_KEY, b"{}", "application/json"),
                 lambda: blobs.list_keys("index/")):
        with pytest.raises(StoreUnavailable, match="cannot reach s3://nowhere .*NEWSDESK_S3_ENDPOINT_URL"):
            call()


def tamper(blobs: S3Blobs, key: str) -> None:
    """Someone with write access to the bucket changes one object of a published version."""
    blobs.put_bytes(key, b'{"format": 2, "changed": "after publish"}', "application/octet-stream")


def test_a_version_changed_after_publish_is_refused_and_the_reader_keeps_its_own(
        tmp_path: Path, moto_url: str, bucket: str, caplog: pytest.LogCaptureFixture) -> None:
    storm = EXAMPLES / "harbor-gazette-storm-outage.txt"
    local_index(tmp_path / "local", [str(storm)])
    first = publish_cli(tmp_path / "local", moto_url, bucket)["version"]
    service = build_service(settings_for(tmp_path, moto_url, bucket))
    store: Any = service.store

    local_index(tmp_path / "local", [str(EXAMPLES)])
    second = publish_cli(tmp_path / "local", moto_url, bucket)["version"]
    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    latest = read_manifest(blobs)
    assert latest is not None and latest.version == second
    shared = {f.sha256 for f in store.manifest.files}
    key = next(OBJECTS_PREFIX + f.sha256 for f in latest.files if f.sha256 not in shared)  # only the second has it
    tamper(blobs, key)

    caplog.set_level(logging.INFO, logger="newsdesk.snapshots")
    assert not store.refresh(force=True)
    assert store.manifest.version == first and service.stats().articles == 1
    assert any(r.levelno == logging.ERROR and key in r.getMessage() for r in caplog.records)
    assert [p.name for p in (tmp_path / "snapshots" / "segments").iterdir()] == [store.manifest.segments[0].name]
    answer = service.ask(Query(QUESTION))
    assert any("homes" in c.sentence for c in answer.citations)

    caplog.clear()  # the refused version is not downloaded again at every check
    assert not store.refresh(force=True) and "snapshot object" not in caplog.text

    with pytest.raises(StoreUnavailable, match=f"{key} does not match the SHA-256.*newsdesk publish"):
        build_service(settings_for(tmp_path / "fresh", moto_url, bucket))  # a new container has nothing to keep
    assert not list((tmp_path / "fresh" / "snapshots" / "segments").iterdir())  # nothing of it is kept on disk

    # Publishing again repairs it: an object whose size differs from the file's is uploaded again.
    third = publish_cli(tmp_path / "local", moto_url, bucket)["version"]
    assert store.refresh(force=True) and store.manifest.version == third and service.stats().articles == 6


def test_the_writer_refuses_a_version_changed_after_publish(tmp_path: Path, moto_url: str, bucket: str) -> None:
    from newsdesk.app import build_snapshot_writer
    from newsdesk.snapshots.s3_events import ObjectChange

    local_index(tmp_path / "local", [str(EXAMPLES)])
    published = publish_cli(tmp_path / "local", moto_url, bucket)["version"]
    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    manifest = read_manifest(blobs)
    assert manifest is not None and manifest.segments[0].catalog is not None
    assert manifest.segments[0].articles == 6  # `publish` wrote the base's catalog from its lexical index
    key = OBJECTS_PREFIX + manifest.segments[0].catalog.sha256
    tamper(blobs, key)

    writer = build_snapshot_writer(settings_for(tmp_path, moto_url, bucket))
    article = b"Ferry crews returned on Monday. The harbor reopened."
    with pytest.raises(SnapshotRefused, match=f"{key} does not match"):  # it reads the catalog to know the articles
        writer.handle([ObjectChange("articles", "articles/new.txt", "ObjectCreated:Put")], lambda b, k: article)
    latest = read_manifest(blobs)
    assert latest is not None and latest.version == published  # nothing was published over it


def test_a_manifest_without_checksums_is_refused_until_publish_writes_one(
        tmp_path: Path, moto_url: str, bucket: str) -> None:
    local_index(tmp_path / "local", [str(EXAMPLES)])
    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    names = sorted(p.relative_to(tmp_path / "local").as_posix() for p in (tmp_path / "local").rglob("*") if p.is_file())
    for name in names:  # the layout an older Newsdesk wrote: one folder per version, a manifest of paths
        blobs.upload(tmp_path / "local" / name, f"index/versions/v0/{name}")
    old = {"version": "v0", "key": "index/versions/v0/", "created_at": "2026-11-27T00:00:00+00:00", "files": names}
    blobs.put_bytes(MANIFEST_KEY, json.dumps(old).encode(), "application/json")
    with pytest.raises(StoreUnavailable, match="no SHA-256 checksums.*older Newsdesk.*newsdesk publish"):
        build_service(settings_for(tmp_path, moto_url, bucket))

    publish_cli(tmp_path / "local", moto_url, bucket)  # the remedy the message names works over it
    answer = build_service(settings_for(tmp_path, moto_url, bucket)).ask(Query(QUESTION))
    assert any("homes" in c.sentence for c in answer.citations)


def test_a_version_in_the_older_layout_with_checksums_is_still_served(tmp_path: Path, moto_url: str, bucket: str) -> None:
    local_index(tmp_path / "local", [str(EXAMPLES)])
    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    files = []
    for path in sorted(p for p in (tmp_path / "local").rglob("*") if p.is_file()):
        name = path.relative_to(tmp_path / "local").as_posix()
        blobs.upload(path, f"index/versions/v0/{name}")
        files.append({"path": name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size": path.stat().st_size})
    old = {"version": "v0", "key": "index/versions/v0/", "created_at": "2026-11-27T00:00:00+00:00", "files": files}
    blobs.put_bytes(MANIFEST_KEY, json.dumps(old).encode(), "application/json")
    answer = build_service(settings_for(tmp_path, moto_url, bucket)).ask(Query(QUESTION))
    assert any("homes" in c.sentence for c in answer.citations)
