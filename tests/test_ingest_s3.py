"""S3-triggered ingest (moto server): events in, snapshots out, and a separate query process that follows them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from newsdesk.ingest.load import load_paths

import handler
from newsdesk.adapters.s3_snapshot import S3Blobs, s3_client
from newsdesk.app import build_service, s3_ingest_from_env
from newsdesk.errors import PublishConflict
from newsdesk.settings import Settings
from newsdesk.snapshots import snapshot_writer
from newsdesk.snapshots import snapshots as snapshot
from newsdesk.snapshots.s3_events import article_id_for_key, handle_delivery, parse_s3_event
from tests.conftest import EXAMPLES, ROOT
from tests.moto_fixtures import FAKE_AWS

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("aws_env")]
STORM = (EXAMPLES / "harbor-gazette-storm-outage.txt").read_text()
QUESTION = "How many homes lost power in the storm?"


def s3_event(bucket: str, key: str, name: str = "ObjectCreated:Put") -> dict[str, Any]:
    """The shape S3 sends to Lambda (keys URL-encoded with '+' for spaces)."""
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2024-03-06T10:00:00.000Z", "eventName": name,
        "userIdentity": {"principalId": "AWS:EXAMPLE"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQp"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "ArticlesChanged",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"}, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(key, safe="/"), "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                          "sequencer": "0055AED6DCD90281E5"}},
    }]}


@pytest.fixture
def buckets(moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    suffix = uuid.uuid4().hex[:12]
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    articles, index = f"articles-{suffix}", f"index-{suffix}"
    s3.create_bucket(Bucket=articles)
    s3.create_bucket(Bucket=index)
    env = {"NEWSDESK_INDEX_BUCKET": index, "NEWSDESK_S3_ENDPOINT_URL": moto_url, "NEWSDESK_EMBEDDER": "hash",
           "NEWSDESK_SNAPSHOT_DIR": str(tmp_path / "writer-tmp"), "NEWSDESK_ABSTAIN_THRESHOLD": "0.2"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s3_ingest_from_env.cache_clear()  # one writer per container; each test is a new container
    yield s3, articles, index, env
    s3_ingest_from_env.cache_clear()


def ingest(event: dict[str, Any]) -> dict[str, Any]:
    """What handler.ingest_s3 does with an event, with the writer's whole report (the handler returns only
    the messages to retry: tests/test_sqs_ingest.py)."""
    writer, read = s3_ingest_from_env()
    return handle_delivery(event, writer, read)


def put_and_ingest(s3: Any, bucket: str, key: str, body: str | bytes) -> dict[str, Any]:
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode() if isinstance(body, str) else body)
    return ingest(s3_event(bucket, key))


def manifest(s3: Any, index: str) -> dict[str, Any]:
    return dict(json.loads(s3.get_object(Bucket=index, Key="index/manifest.json")["Body"].read()))


class QueryProcess:
    """A separate Python process answering through handler.chat, with an empty temp dir of its own."""

    SCRIPT = (
        "import json, sys, handler\n"
        "for line in sys.stdin:\n"
        "    event = {'rawPath': '/chat', 'requestContext': {'http': {'method': 'POST'}, 'requestId': 't'}, 'body': line}\n"
        "    print(json.dumps(handler.chat(event, None)), flush=True)\n"
    )

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        tmp.mkdir()
        full = {**os.environ, **FAKE_AWS, **env, "TMPDIR": str(tmp), "NEWSDESK_MANIFEST_CHECK_SECONDS": "0.5"}
        full.pop("NEWSDESK_SNAPSHOT_DIR")  # the default: a folder in this process's (empty) temp dir
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT], cwd=ROOT, env=full, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def ask(self, question: str) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"question": question}) + "\n")
        self.process.stdin.flush()
        # The handler's JSON log and metric lines share stdout with the response (as on Lambda): skip them.
        response = next(r for r in map(json.loads, iter(self.process.stdout.readline, "")) if "statusCode" in r)
        assert response["statusCode"] == 200, response
        return dict(json.loads(response["body"]))

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def test_parse_event_decodes_keys() -> None:
    changes = parse_s3_event(s3_event("b", "articles/café storm+wind.md", "ObjectRemoved:Delete"))
    assert [(c.bucket, c.key, c.event) for c in changes] == [("b", "articles/café storm+wind.md", "ObjectRemoved:Delete")]
    assert parse_s3_event({"Records": [{"eventSource": "aws:sqs"}]}) == []


def test_end_to_end_new_process_follows_updates(buckets: Any, tmp_path: Path) -> None:
    s3, articles, index, env = buckets
    key = "articles/harbor storm.txt"
    first = put_and_ingest(s3, articles, key, STORM)
    assert first["published"] and first["ingested"] == 1
    assert manifest(s3, index)["version"] == first["version"]
    [segment] = manifest(s3, index)["segments"]
    assert segment["articles"] == 1 and any(f["path"] == "chroma.sqlite3" for f in segment["files"])
    for file in segment["files"]:
        assert s3.head_object(Bucket=index, Key=f"index/objects/{file['sha256']}")["ContentLength"] == file["size"]

    query = QueryProcess(env, tmp_path / "empty-tmp")
    try:
        answer = query.ask(QUESTION)
        assert not answer["abstained"]
        assert any("9,500 homes" in c["sentence"] for c in answer["citations"])
        assert {c["url"] for c in answer["citations"]} == {"https://harbor-gazette.example/2024/03/06/storm-power-cuts"}
        assert list((tmp_path / "empty-tmp" / "newsdesk").iterdir())  # the snapshot went into its temp dir

        second = put_and_ingest(s3, articles, key, STORM.replace("9,500 homes", "11,200 homes"))
        assert second["published"] and second["ingested"] == 1
        deadline = time.monotonic() + 20
        while True:  # the query process notices within its check interval, without a restart
            answer = query.ask(QUESTION)
            if any("11,200 homes" in c["sentence"] for c in answer["citations"]) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert any("11,200 homes" in c["sentence"] for c in answer["citations"])
        assert not any("9,500 homes" in c["sentence"] for c in answer["citations"])
    finally:
        query.close()


def test_redelivered_event_changes_nothing(buckets: Any) -> None:
    s3, articles, index, _ = buckets
    first = put_and_ingest(s3, articles, "articles/storm.txt", STORM)
    objects = s3.list_objects_v2(Bucket=index, Prefix="index/")["KeyCount"]
    again = ingest(s3_event(articles, "articles/storm.txt"))
    assert again["published"] is False and again["unchanged"] == 1 and again["ingested"] == 0
    assert manifest(s3, index)["version"] == first["version"]
    assert s3.list_objects_v2(Bucket=index, Prefix="index/")["KeyCount"] == objects  # nothing uploaded


def test_removed_object_deletes_its_article(buckets: Any) -> None:
    s3, articles, index, _ = buckets
    put_and_ingest(s3, articles, "articles/storm.txt", STORM)
    put_and_ingest(s3, articles, "articles/bridge.md", (EXAMPLES / "harbor-gazette-bridge-closure.md").read_text())
    s3.delete_object(Bucket=articles, Key="articles/storm.txt")
    result = ingest(s3_event(articles, "articles/storm.txt", "ObjectRemoved:Delete"))
    assert result["published"] and result["deleted"] == 1
    writer, _ = s3_ingest_from_env()
    assert _published_stats(writer).articles == 1
    # Redelivery of the removal: nothing left to delete, no new version.
    assert ingest(s3_event(articles, "articles/storm.txt", "ObjectRemoved:Delete"))["published"] is False


def test_jsonl_object_that_shrinks_drops_the_missing_articles(buckets: Any) -> None:
    s3, articles, _, _ = buckets
    lines = (EXAMPLES / "regional-wire.jsonl").read_text().splitlines()
    assert len(lines) >= 2
    result = put_and_ingest(s3, articles, "articles/wire.jsonl", "\n".join(lines))
    assert result["ingested"] == len(lines)
    result = put_and_ingest(s3, articles, "articles/wire.jsonl", lines[0])
    assert result["published"] and result["deleted"] == len(lines) - 1 and result["unchanged"] == 1


@pytest.mark.parametrize("key, body", [
    ("articles/broken.md", "---\ntitle: [unclosed\n---\nSome text."),
    ("articles/binary.txt", b"\xff\xfe\x00garbage"),
    ("articles/report.pdf", "%PDF-1.4"),
    ("articles/empty.jsonl", '{"title": "no text"}\n'),
])
def test_bad_object_is_logged_and_skipped(buckets: Any, caplog: pytest.LogCaptureFixture, key: str, body: str | bytes) -> None:
    s3, articles, index, _ = buckets
    good = put_and_ingest(s3, articles, "articles/storm.txt", STORM)
    with caplog.at_level("ERROR"):
        result = put_and_ingest(s3, articles, key, body)
    assert result["bad_objects"] == [key] and result["published"] is False
    assert any(key in r.getMessage() for r in caplog.records)
    assert manifest(s3, index)["version"] == good["version"]


def test_single_article_ids_come_from_the_key() -> None:
    from newsdesk.snapshots.s3_events import load_object

    [plain] = load_object("articles/a.txt", b"Plain text without front matter. Second sentence.")
    assert plain.id == article_id_for_key("articles/a.txt")  # type: ignore[union-attr]
    [with_url] = load_object("articles/b.md", STORM.encode())
    assert with_url.id.startswith("url-")  # type: ignore[union-attr]


def _published_stats(writer: Any) -> Any:
    """What a query function would serve now (read back from S3, not the writer's working copy)."""
    from newsdesk.app import build_service
    from newsdesk.settings import Settings

    return build_service(Settings.from_env(snapshot_dir=writer.root.parent / "reader")).stats()


def test_a_publish_that_loses_a_race_starts_again_from_the_winner(
        buckets: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s3, articles, index, env = buckets
    put_and_ingest(s3, articles, "articles/storm.txt", STORM)

    # Someone seeds the index from the CLI (the bridge story only) while the function works on the next batch.
    seed = tmp_path / "seed"
    service = build_service(Settings.from_env({}, embedder="hash", store=seed))
    service.ingest(load_paths([str(EXAMPLES / "harbor-gazette-bridge-closure.md")]))
    service.store.client.close()  # type: ignore[attr-defined]
    blobs = S3Blobs(s3_client(env["NEWSDESK_S3_ENDPOINT_URL"], "us-east-1"), index)
    won: list[str] = []
    real_commit = snapshot_writer.commit

    def commit_after_a_rival(target: Any, segments: Any, after: Any) -> Any:
        if not won:
            won.append(snapshot.publish(blobs, seed, after=snapshot.read_latest(blobs)).version)
        return real_commit(target, segments, after)

    monkeypatch.setattr(snapshot_writer, "commit", commit_after_a_rival)
    library = (EXAMPLES / "port-alder-radio-library.html").read_text()
    s3.put_object(Bucket=articles, Key="articles/library.html", Body=library.encode())
    result = ingest(s3_event(articles, "articles/library.html"))
    published = json.loads(s3.get_object(Bucket=index, Key=f"index/manifests/{result['version']}.json")["Body"].read())
    assert result["published"] and published["parent"] == won[0]  # built on the winner, which stands
    reader = build_service(Settings.from_env({}, embedder="hash", index_bucket=index, snapshot_dir=tmp_path / "reader",
                                             s3_endpoint_url=env["NEWSDESK_S3_ENDPOINT_URL"]))
    titles = {article.title for article, _ in reader.store.iter_articles()}  # type: ignore[attr-defined]
    assert titles == {"Old Mill Bridge closed after inspectors find cracks",
                      "Port Alder library reopens with a new children's wing"}


def test_a_publish_that_keeps_losing_fails_and_changes_nothing(buckets: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    s3, articles, index, _ = buckets
    first = put_and_ingest(s3, articles, "articles/storm.txt", STORM)

    def always_lose(target: Any, segments: Any, after: Any) -> Any:
        raise PublishConflict("another publish won")

    monkeypatch.setattr(snapshot_writer, "commit", always_lose)
    s3.put_object(Bucket=articles, Key="articles/library.txt", Body=b"The library reopens. Children cheer.")
    with pytest.raises(PublishConflict):  # the handler raises: the whole batch goes back to the queue
        handler.ingest_s3({"Records": [sqs_record("m1", s3_event(articles, "articles/library.txt"))]}, None)
    assert manifest(s3, index)["version"] == first["version"]
    writer, _ = s3_ingest_from_env()
    assert not list(writer.work.iterdir())  # no half-made segment left behind


def sqs_record(message_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"messageId": message_id, "receiptHandle": "r-" + message_id, "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest", "awsRegion": "us-east-1"}
