"""Dependencies that go away and come back: a clear error or the documented fallback, logged once, no restart needed."""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from newsdesk.ingest.load import load_paths

from newsdesk.adapters.bedrock import BedrockGenerator
from newsdesk.api.http import handle_chat
from newsdesk.app import build_service
from newsdesk.models import Query
from newsdesk.service import Service
from newsdesk.settings import Settings
from tests.bedrock_fake import MODEL_ID, FakeBedrock, Reply, aws_test_env
from tests.conftest import EXAMPLES
from tests.moto_fixtures import BIN, free_port, start, stop

pytestmark = pytest.mark.server

QUESTION = "How many homes lost power in the storm?"


def chat(service: Service, question: str = QUESTION) -> tuple[int, dict[str, Any]]:
    event = {"rawPath": "/chat", "requestContext": {"http": {"method": "POST"}, "requestId": "r1"},
             "body": json.dumps({"question": question})}
    response = handle_chat(event, lambda: service)
    return response["statusCode"], json.loads(response["body"])


def warnings(caplog: pytest.LogCaptureFixture, words: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if words in r.getMessage() and r.levelno >= logging.WARNING]


# -- Chroma server ---------------------------------------------------------------------------------
def chroma_server(data: Path, port: int) -> subprocess.Popen[bytes]:
    return start([str(BIN / "chroma"), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                 f"http://127.0.0.1:{port}/api/v2/heartbeat", data.parent / f"chroma-{port}.log")


def test_a_chroma_server_that_stops_and_restarts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data, port = tmp_path / "chroma", free_port()
    server = chroma_server(data, port)
    url = f"http://127.0.0.1:{port}"
    try:
        service = build_service(Settings(chroma_url=url, embedder="hash", abstain_threshold=0.0))
        assert service.ingest(load_paths([str(EXAMPLES)])).failed == 0
        assert chat(service)[0] == 200
    finally:
        stop(server)

    caplog.set_level(logging.INFO)
    for _ in range(3):  # down: a clear 503 each time, not a 500 with a traceback in the log
        status, body = chat(service)
        assert status == 503 and body["error"]["code"] == "store_unavailable"
        assert f"the Chroma server at {url} cannot be reached" in body["error"]["message"]
        assert "check that it is running" in body["error"]["message"]
    assert len(warnings(caplog, "chroma server unreachable")) == 1
    assert not [r for r in caplog.records if r.exc_info]

    server = chroma_server(data, port)  # the same data: a restart
    try:
        status, body = chat(service)  # the same service object: no restart on our side
        assert status == 200 and body["citations"] and "homes" in body["citations"][0]["sentence"]
        assert len(warnings(caplog, "chroma server reachable again")) == 1
    finally:
        stop(server)


# -- S3 (index snapshots) ----------------------------------------------------------------------------
@pytest.fixture
def moto_port(monkeypatch: pytest.MonkeyPatch) -> int:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    return free_port()


def moto(port: int, log: Path) -> subprocess.Popen[bytes]:
    return start([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], f"http://127.0.0.1:{port}/moto-api/",
                 log)


def seed_bucket(url: str, local: Path, bucket: str) -> None:
    import boto3

    from newsdesk.adapters.s3_snapshot import S3Blobs
    from newsdesk.snapshots.snapshots import publish, read_latest

    boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket=bucket)
    blobs = S3Blobs(boto3.client("s3", endpoint_url=url, region_name="us-east-1"), bucket)
    publish(blobs, local, after=read_latest(blobs))


def test_s3_unreachable_keeps_answering_from_the_snapshot_and_picks_up_a_new_one_when_back(
    tmp_path: Path, moto_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url, bucket = f"http://127.0.0.1:{moto_port}", "index"
    local = tmp_path / "local"
    writer = build_service(Settings(store=local, embedder="hash"))
    assert writer.ingest(load_paths([str(EXAMPLES / "harbor-gazette-storm-outage.txt")])).failed == 0
    server = moto(moto_port, tmp_path / "moto1.log")
    try:
        seed_bucket(url, local, bucket)
        reader = build_service(Settings(index_bucket=bucket, s3_endpoint_url=url, embedder="hash",
                                        abstain_threshold=0.0, manifest_check_seconds=0.0, revision_check_seconds=0.0,
                                        snapshot_dir=tmp_path / "snapshots"))
        assert chat(reader)[0] == 200
        reader.store.wait()  # type: ignore[attr-defined]  # its background check ends before the outage starts
    finally:
        stop(server)

    caplog.set_level(logging.INFO)
    for _ in range(50):  # the documented fallback: keep answering from the snapshot already here
        status, body = chat(reader)
        assert status == 200 and body["citations"]
        reader.store.wait()  # type: ignore[attr-defined]  # the check runs beside the request, never inside it
        if warnings(caplog, "manifest check failed"):
            break
        time.sleep(0.1)  # the background check may not have started yet
    failed = warnings(caplog, "manifest check failed")
    assert failed and all(not r.exc_info and url in r.getMessage() for r in failed)  # one line per check

    assert writer.ingest(load_paths([str(EXAMPLES / "regional-wire.jsonl")])).added == 2
    server = moto(moto_port, tmp_path / "moto2.log")  # back (empty: moto keeps nothing), and a new version published
    try:
        seed_bucket(url, local, bucket)
        chat(reader)  # notices the new version, answered from the old one while it downloads in the background
        reader.store.wait()  # type: ignore[attr-defined]
        status, body = chat(reader, "When do the early ferry sailings leave?")
        assert status == 200 and body["citations"][0]["outlet"] == "Regional Wire"
    finally:
        stop(server)


# -- Bedrock -------------------------------------------------------------------------------------------
@pytest.fixture
def bedrock_port(monkeypatch: pytest.MonkeyPatch) -> int:
    aws_test_env(monkeypatch)
    return free_port()


@pytest.fixture
def generative(loaded_fake_service: Service, bedrock_port: int) -> Service:
    generator = BedrockGenerator(MODEL_ID, "us-east-1", f"http://127.0.0.1:{bedrock_port}", timeout_seconds=0.5,
                                 max_attempts=1)
    loaded_fake_service.pipeline.generators = {"bedrock": generator}
    loaded_fake_service.pipeline.default_answerer = "bedrock"
    return loaded_fake_service


@pytest.fixture
def bedrock_later(bedrock_port: int) -> Iterator[Any]:
    """Starts a fake Bedrock on the port the generator was given, when the test says so."""
    started: list[FakeBedrock] = []

    def start_now() -> FakeBedrock:
        fake = FakeBedrock()
        fake._server.server_close()
        fake._server = ThreadingHTTPServer(("127.0.0.1", bedrock_port), fake._handler())
        fake._server.daemon_threads = True
        fake._thread = threading.Thread(target=fake._server.serve_forever, daemon=True)
        started.append(fake.start())
        return fake

    yield start_now
    for fake in started:
        fake.stop()


def good_reply(call: Any) -> Reply:
    label = call.label_of("9,500 homes")
    return Reply(text=f"The storm cut power to 9,500 homes [{label}].")


def test_bedrock_down_slow_or_failing_falls_back_each_time_and_is_used_again_when_back(
    generative: Service, bedrock_later: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    down = generative.ask(Query(QUESTION))  # nothing listening on its port
    assert down.answerer == "extractive" and down.fallback and down.citations

    fake = bedrock_later()
    outcomes = []
    for reply in (Reply(status=503, raw=b"upstream down"), Reply(text="late", delay=1.5),
                  Reply(status=500, error_type="InternalServerException"), good_reply):
        fake.reply(reply)
        answer = generative.ask(Query(QUESTION))
        outcomes.append((answer.answerer, answer.fallback))
        assert answer.citations and not answer.abstained
    assert outcomes == [("extractive", "unavailable"), ("extractive", "timeout"), ("extractive", "unavailable"),
                        ("bedrock", None)]
    failures = warnings(caplog, "generator failed")
    assert len(failures) == 4 and not [r for r in failures if r.exc_info]  # one line per failed request


# -- Slack ---------------------------------------------------------------------------------------------
def test_slack_api_5xx_is_retried_then_logged_once_and_the_next_question_is_answered(
    loaded_fake_service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    from newsdesk.adapters.dedup import MemorySeenEvents
    from newsdesk.adapters.slack_app import SlackEntry, build_slack_app
    from newsdesk.settings import SlackSettings
    from tests.slack_fake import BOT_TOKEN, SIGNING_SECRET, FakeSlack, api_gateway_event, events_body

    class FlakySlack(FakeSlack):
        """Slack's API answering 503 to the next `failures` chat.postMessage calls."""

        failures = 0
        current = threading.local()

        def api(self, method: str, params: dict[str, Any], authorization: str) -> dict[str, Any]:
            self.current.method = method
            return super().api(method, params, authorization)

        def _handler_class(self) -> Any:
            base, fake = super()._handler_class(), self

            class Handler(base):  # type: ignore[misc, valid-type]
                def _send(self, status: int, body: bytes, kind: str = "text/plain") -> None:
                    if fake.failures > 0 and getattr(fake.current, "method", "") == "chat.postMessage":
                        fake.failures -= 1
                        status, body, kind = 503, b"upstream connect error", "text/plain"
                    super()._send(status, body, kind)

            return Handler

    caplog.set_level(logging.INFO)
    with FlakySlack() as slack:
        settings = SlackSettings(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN)
        entry = SlackEntry(build_slack_app(lambda: loaded_fake_service, settings, MemorySeenEvents(),
                                           base_url=slack.base_url))

        def mention(n: int) -> None:
            body = events_body("app_mention", ts=f"17101500{n:02d}.000100")
            envelope = json.loads(body)
            envelope["event_id"] = f"Ev{n:08d}"
            assert entry.handle(api_gateway_event(json.dumps(envelope)), None)["statusCode"] == 200
            assert entry.local is not None
            entry.local.wait()

        slack.failures = 1  # a blip: retried, the user gets the answer
        mention(1)
        assert len(slack.called("chat.postMessage")) == 2 and "9,500 homes" in slack.messages["C0NEWSROOM"][-1]["text"]
        assert not warnings(caplog, "slack post failed")

        slack.failures = 100  # down: one clear log line, no traceback
        mention(2)
        slack.failures = 0
        failed = warnings(caplog, "slack post failed")
        assert len(failed) == 1 and not failed[0].exc_info and "upstream connect error" in failed[0].getMessage()

        mention(3)  # back: answered, nothing to restart
        assert "9,500 homes" in slack.messages["C0NEWSROOM"][-1]["text"]
