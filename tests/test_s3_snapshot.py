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
from newsdesk.index.snapshots import MANIFEST_KEY, prune, publish, read_latest, read_manifest
from newsdesk.models import Article, Query
from newsdesk.settings import Settings
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


def test_publish_then_query_from_the_snapshot(tmp_path: Path, moto_url: str, bucket: str) -> None:
    local_index(tmp_path / "local", [str(EXAMPLES)])
    published = publish_cli(tmp_path / "local", moto_url, bucket)

    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    manifest = read_manifest(blobs)
    assert manifest is not None and manifest.version == published["version"]
    assert manifest.key == f"index/versions/{manifest.version}/" and "chroma.sqlite3" in manifest.names
    local_files = sorted(p.relative_to(tmp_path / "local").as_posix() for p in (tmp_path / "local").rglob("*")
                         if p.is_file())
    assert sorted(manifest.names) == local_files
    for file in manifest.files:  # every file of the index is an object of its own, byte for byte, checksummed
        data = (tmp_path / "local" / file.path).read_bytes()
        assert blobs.get_bytes(manifest.key + file.path) == data
        assert (file.sha256, file.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert manifest.size_bytes == sum(f.size for f in manifest.files)

    service = build_service(settings_for(tmp_path, moto_url, bucket))
    answer = service.ask(Query(QUESTION))
    assert any("homes" in c.sentence for c in answer.citations)
    local = build_service(Settings.from_env({}, embedder="hash", store=tmp_path / "local"))
    assert service.stats() == local.stats()
    assert (tmp_path / "snapshots" / manifest.version).is_dir()


def test_a_manifest_naming_paths_outside_the_index_is_refused(tmp_path: Path, moto_url: str, bucket: str) -> None:
    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    blobs.put_bytes("index/versions/v1/x", b"data", "application/octet-stream")
    bad = {"version": "v1", "key": "index/versions/v1/", "created_at": "2026-11-27T00:00:00+00:00",
           "files": ["chroma.sqlite3", "../../outside.txt"]}
    blobs.put_bytes(MANIFEST_KEY, json.dumps(bad).encode(), "application/json")
    with pytest.raises(StoreUnavailable, match="outside the index"):
        build_service(settings_for(tmp_path, moto_url, bucket))
    assert not (tmp_path / "outside.txt").exists()


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
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == sorted([first, second])


def test_publish_without_an_index_fails_with_a_hint(tmp_path: Path, moto_url: str, bucket: str) -> None:
    env = {"NEWSDESK_S3_ENDPOINT_URL": moto_url}
    result = CliRunner().invoke(cli, ["publish", "--store", str(tmp_path / "nothing"), "--bucket", bucket], env=env)
    assert result.exit_code != 0
    assert "newsdesk ingest" in result.output
    assert boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1").list_objects_v2(
        Bucket=bucket).get("KeyCount") == 0


def test_old_versions_are_pruned_but_never_recent_ones(tmp_path: Path, moto_url: str, bucket: str) -> None:
    local_index(tmp_path / "local", [str(EXAMPLES)])
    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    blobs.put_bytes("index/versions/README.txt", b"kept: not a version Newsdesk wrote", "text/plain")
    published = []
    for _ in range(5):
        published.append(publish(blobs, tmp_path / "local", after=read_latest(blobs)))

    def versions() -> set[str]:
        return {key.split("/")[2] for key in blobs.list_keys("index/versions/")}

    # Each publish prunes, but every version is younger than an hour: all are kept.
    assert versions() == {m.version for m in published} | {"README.txt"}

    later = datetime.now(UTC) + timedelta(hours=2)
    pruned = prune(blobs, published[-1], now=later)
    assert sorted(pruned) == sorted(m.version for m in published[:2])
    assert versions() == {m.version for m in published[2:]} | {"README.txt"}
    answer = build_service(settings_for(tmp_path, moto_url, bucket)).ask(Query(QUESTION))
    assert any("homes" in c.sentence for c in answer.citations)


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
    key = f"index/versions/{second}/newsdesk-sentences.json"
    tamper(blobs, key)

    caplog.set_level(logging.INFO, logger="newsdesk.index")
    assert not store.refresh(force=True)
    assert store.manifest.version == first and service.stats().articles == 1
    assert any(r.levelno == logging.ERROR and key in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "snapshots" / second).exists()  # nothing of it is kept on disk
    answer = service.ask(Query(QUESTION))
    assert any("homes" in c.sentence for c in answer.citations)

    caplog.clear()  # the refused version is not downloaded again at every check
    assert not store.refresh(force=True) and "snapshot object" not in caplog.text

    with pytest.raises(StoreUnavailable, match=f"{key} does not match the SHA-256.*newsdesk publish"):
        build_service(settings_for(tmp_path / "fresh", moto_url, bucket))  # a new container has nothing to keep
    assert not (tmp_path / "fresh" / "snapshots" / second).exists()

    third = publish_cli(tmp_path / "local", moto_url, bucket)["version"]  # publishing again repairs it
    assert store.refresh(force=True) and store.manifest.version == third and service.stats().articles == 6


def test_the_writer_refuses_a_version_changed_after_publish(tmp_path: Path, moto_url: str, bucket: str) -> None:
    from newsdesk.app import open_chroma
    from newsdesk.index.s3_events import ObjectChange
    from newsdesk.index.snapshot_writer import SnapshotWriter

    local_index(tmp_path / "local", [str(EXAMPLES)])
    published = publish_cli(tmp_path / "local", moto_url, bucket)["version"]
    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    tamper(blobs, f"index/versions/{published}/chroma.sqlite3")
    settings = settings_for(tmp_path, moto_url, bucket)

    def open_service(path: Path) -> Any:
        store, close = open_chroma(path)
        return build_service(settings, store=store), close

    writer = SnapshotWriter(blobs, tmp_path / "writer", open_service)
    article = b"Ferry crews returned on Monday. The harbor reopened."
    with pytest.raises(SnapshotRefused, match="chroma.sqlite3 does not match"):
        writer.handle([ObjectChange("articles", "articles/new.txt", "ObjectCreated:Put")], lambda b, k: article)
    latest = read_manifest(blobs)
    assert latest is not None and latest.version == published  # nothing was published over it


def test_a_manifest_without_checksums_is_refused_until_publish_writes_one(
        tmp_path: Path, moto_url: str, bucket: str) -> None:
    local_index(tmp_path / "local", [str(EXAMPLES)])
    blobs = S3Blobs(s3_client(moto_url, "us-east-1"), bucket)
    published = publish(blobs, tmp_path / "local", after=read_latest(blobs))
    old = {**json.loads(published.to_json()), "files": list(published.names)}  # as an older Newsdesk wrote it
    blobs.put_bytes(MANIFEST_KEY, json.dumps(old).encode(), "application/json")
    with pytest.raises(StoreUnavailable, match="no SHA-256 checksums.*older Newsdesk.*newsdesk publish"):
        build_service(settings_for(tmp_path, moto_url, bucket))

    publish_cli(tmp_path / "local", moto_url, bucket)  # the remedy the message names works over it
    answer = build_service(settings_for(tmp_path, moto_url, bucket)).ask(Query(QUESTION))
    assert any("homes" in c.sentence for c in answer.citations)
