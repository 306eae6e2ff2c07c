"""S3 notifications through SQS (moto server): a batch of messages is one publish, a bad object fails only its own
message and the queue's redrive moves it to the dead-letter queue; the template wires the queue that way."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from cfnlint.decode import decode

import handler
from newsdesk.adapters.s3_snapshot import S3Blobs, s3_client
from newsdesk.app import build_service, build_snapshot_writer, s3_ingest_from_env
from newsdesk.models import Query
from newsdesk.settings import Settings
from newsdesk.snapshots.s3_events import ObjectChange, ReadObject, handle_delivery
from newsdesk.snapshots.snapshots import MANIFESTS_PREFIX, read_manifest
from tests.conftest import ROOT

QUESTION = "What did the councillors in district 7 approve?"


def article(n: int) -> str:
    return (f"Councillors in district {n} approved budget line {n * 7} on Tuesday. The vote on item {n} passed after "
            f"a debate about parking meters. Residents of ward {n} asked for a second hearing next month.")


# -- the template ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, problems = decode(str(ROOT / "template.yaml"))
    assert not problems, problems
    return dict(parsed)


def test_the_queue_batches_for_the_writer_and_redrives_to_the_dead_letter_queue(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    ingest = resources["IngestFunction"]["Properties"]
    [event] = ingest["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["BatchSize"] == {"Ref": "IngestBatchSize"}
    assert event["Properties"]["MaximumBatchingWindowInSeconds"] == {"Ref": "IngestBatchWindowSeconds"}
    queue = resources["IngestQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": {"Ref": "IngestMaxReceiveCount"}}
    assert queue["VisibilityTimeout"] >= 6 * ingest["Timeout"]  # a batch is never handed to two runs at once
    [statement] = resources["IngestQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert resources["ArticlesBucket"]["DependsOn"] == "IngestQueuePolicy"
    assert "DeadLetterQueue" not in ingest and "EventInvokeConfig" not in ingest  # asynchronous retries are gone
    parameters = template["Parameters"]
    assert parameters["IngestBatchSize"]["MaxValue"] == 10000 and parameters["IngestBatchWindowSeconds"]["MaxValue"] == 300


@pytest.mark.server
@pytest.mark.usefixtures("aws_env")
def test_a_bulk_upload_of_a_thousand_articles_makes_at_most_twenty_publishes(template: dict[str, Any], moto_url: str,
                                                                             tmp_path: Path) -> None:
    """With the template's defaults a 1,000-object upload reaches the writer as full batches of IngestBatchSize (S3
    delivers its notifications within the batching window). The real writer (settings' defaults, hash embedder,
    moto) takes each batch through handle_delivery, as the ingest function does; the manifests it commits are
    counted in the bucket: one per batch plus whatever its compaction merges."""
    batch = template["Parameters"]["IngestBatchSize"]["Default"]
    assert template["Parameters"]["IngestBatchWindowSeconds"]["Default"] >= 1
    assert math.ceil(1000 / batch) == 10
    index = f"bulk-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    s3.create_bucket(Bucket=index)
    settings = Settings.from_env({}, embedder="hash", s3_endpoint_url=moto_url, index_bucket=index,
                                 snapshot_dir=tmp_path / "writer")
    writer = build_snapshot_writer(settings)
    objects = {f"articles/council-{n:04d}.txt": article(n).encode() for n in range(1000)}
    keys = sorted(objects)
    runs = []
    for start in range(0, len(keys), batch):
        event = {"Records": [record(f"m{start + i}", s3_body(key)) for i, key in enumerate(keys[start:start + batch])]}
        runs.append(handle_delivery(event, writer, lambda bucket, key: objects.get(key)))
    assert all(run["batchItemFailures"] == [] for run in runs)
    published = s3.list_objects_v2(Bucket=index, Prefix=MANIFESTS_PREFIX)["KeyCount"]
    assert 10 <= published <= 20, published  # 10 batch publishes, and at most 10 merges
    manifest = read_manifest(S3Blobs(s3_client(moto_url, "us-east-1"), index))
    assert manifest is not None and sum(s.live for s in manifest.segments) == 1000


# -- the handler's batch ----------------------------------------------------------------------------------------
class FakeWriter:
    """Records each batch; objects whose key contains "bad" are bad objects, as the real writer reports them."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[ObjectChange]] = []
        self.fail = fail

    def handle(self, changes: Sequence[ObjectChange], read: ReadObject) -> dict[str, Any]:
        if self.fail:
            raise RuntimeError("S3 unreachable")
        self.batches.append(list(changes))
        return {"published": True, "bad_objects": [c.key for c in changes if "bad" in c.key]}


def s3_body(key: str, name: str = "ObjectCreated:Put", bucket: str = "articles") -> dict[str, Any]:
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": name,
                         "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 10}}}]}


def record(message_id: str, body: Any) -> dict[str, Any]:
    return {"messageId": message_id, "receiptHandle": f"r-{message_id}", "eventSource": "aws:sqs",
            "body": body if isinstance(body, str) else json.dumps(body), "attributes": {}, "messageAttributes": {},
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest", "awsRegion": "us-east-1"}


def test_one_batch_is_one_publish_and_only_bad_messages_fail() -> None:
    writer = FakeWriter()
    event = {"Records": [
        record("m1", s3_body("articles/a.txt")),
        record("m2", s3_body("articles/bad.pdf")),
        record("m3", s3_body("articles/b+c.md", "ObjectRemoved:Delete")),
        record("m4", "{not json"),
        record("m5", {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "articles"}),
        record("m6", {"Records": [{"eventSource": "aws:sqs"}]}),
    ]}
    result = handle_delivery(event, writer, lambda b, k: None)
    [batch] = writer.batches  # the whole batch, in one call: one publish
    assert [c.key for c in batch] == ["articles/a.txt", "articles/bad.pdf", "articles/b c.md"]
    assert result["batchItemFailures"] == [{"itemIdentifier": "m4"}, {"itemIdentifier": "m6"},
                                           {"itemIdentifier": "m2"}]
    with pytest.raises(RuntimeError):  # a failed run raises: Lambda returns the whole batch to the queue
        handle_delivery(event, FakeWriter(fail=True), lambda b, k: None)


# -- end to end: bucket -> queue -> batches -> index --------------------------------------------------------------
class Queue:
    """What Lambda's SQS event source mapping does, at test scale: fill a batch (BatchSize messages, or the queue
    runs dry, which stands for the window closing), invoke the handler, delete the messages that succeeded; a
    failed message shows again once its visibility timeout ends (made immediate here)."""

    def __init__(self, sqs: Any, url: str, batch_size: int) -> None:
        self.sqs, self.url, self.batch_size = sqs, url, batch_size

    def run_once(self) -> int:
        records: list[dict[str, Any]] = []
        while len(records) < self.batch_size:
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=min(10, self.batch_size - len(records)),
                                           AttributeNames=["All"]).get("Messages", [])
            if not got:
                break
            records.extend(record(m["MessageId"], m["Body"]) | {"receiptHandle": m["ReceiptHandle"]} for m in got)
        if records:
            failed = {f["itemIdentifier"] for f in handler.ingest_s3({"Records": records}, None)["batchItemFailures"]}
            for r in records:
                if r["messageId"] in failed:
                    self.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=r["receiptHandle"],
                                                       VisibilityTimeout=0)
                else:
                    self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=r["receiptHandle"])
        return len(records)


@pytest.fixture
def wired(moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    suffix = uuid.uuid4().hex[:10]
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    articles, index = f"articles-{suffix}", f"index-{suffix}"
    s3.create_bucket(Bucket=articles)
    s3.create_bucket(Bucket=index)
    dlq = sqs.create_queue(QueueName=f"dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    queue = sqs.create_queue(QueueName=f"ingest-{suffix}",
                             Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "60"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=articles, NotificationConfiguration={"QueueConfigurations": [{
        "QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "articles/"}]}}}]})
    env = {"NEWSDESK_INDEX_BUCKET": index, "NEWSDESK_S3_ENDPOINT_URL": moto_url, "NEWSDESK_EMBEDDER": "hash",
           "NEWSDESK_SNAPSHOT_DIR": str(tmp_path / "writer")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s3_ingest_from_env.cache_clear()
    yield {"s3": s3, "sqs": sqs, "articles": articles, "index": index, "queue": queue, "dlq": dlq, "url": moto_url}
    s3_ingest_from_env.cache_clear()


@pytest.mark.server
@pytest.mark.usefixtures("aws_env")
def test_a_bulk_upload_through_the_queue_is_a_few_publishes_and_bad_objects_go_to_the_dead_letter_queue(
        wired: dict[str, Any], tmp_path: Path) -> None:
    s3, sqs = wired["s3"], wired["sqs"]
    for n in range(40):
        s3.put_object(Bucket=wired["articles"], Key=f"articles/council-{n}.txt", Body=article(n).encode())
    s3.put_object(Bucket=wired["articles"], Key="articles/scan.pdf", Body=b"%PDF-1.4")
    s3.put_object(Bucket=wired["articles"], Key="articles/broken.txt", Body=b"\xff\xfe\x00garbage")
    s3.put_object(Bucket=wired["articles"], Key="notes/ignored.txt", Body=b"Not under articles/.")

    queue = Queue(sqs, wired["queue"], batch_size=20)
    batches = 0
    while queue.run_once():
        batches += 1
    # 43 messages (S3's test event, 40 articles, 2 bad objects) in batches of 20: 3 batches, then the two bad
    # messages alone, twice (each delivery counts: the queue's maxReceiveCount is 2), then the dead-letter queue.
    assert batches == 4
    manifests = s3.list_objects_v2(Bucket=wired["index"], Prefix="index/manifests/")["KeyCount"]
    assert 3 <= manifests <= 6  # one publish per batch with new articles, plus the compaction merges

    dead = sqs.receive_message(QueueUrl=wired["dlq"], MaxNumberOfMessages=10).get("Messages", [])
    keys = {unquote_plus(json.loads(m["Body"])["Records"][0]["s3"]["object"]["key"]) for m in dead}
    assert keys == {"articles/scan.pdf", "articles/broken.txt"}

    reader = build_service(Settings.from_env({}, embedder="hash", abstain_threshold=0.0, index_bucket=wired["index"],
                                             s3_endpoint_url=wired["url"], snapshot_dir=tmp_path / "reader"))
    assert reader.stats().articles == 40
    s3.delete_object(Bucket=wired["articles"], Key="articles/council-7.txt")  # a removal travels the same way
    assert queue.run_once() == 1
    assert reader.store.refresh(force=True)  # type: ignore[attr-defined]
    assert reader.stats().articles == 39
    assert not any("district 7 " in c.sentence for c in reader.ask(Query(QUESTION, k=5)).citations)
