"""What the Lambda functions log and count: JSON lines with the request's fields, EMF metrics, no secrets."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest

from newsdesk import observability
from newsdesk.api.http import handle_chat
from newsdesk.service import Service
from newsdesk.settings import Settings
from newsdesk.snapshots.snapshots import MANIFEST_KEY, Manifest
from tests.conftest import EVENTS, EXAMPLES, ROOT

QUESTION = "How many homes lost power in the storm?"
UNITS = ["Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
         "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
         "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
         "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"]
# The embedded metric format's root node, from the CloudWatch specification: an _aws metadata object with
# a millisecond timestamp and metric directives (namespace, dimension sets, metric definitions).
EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {"type": "array", "maxItems": 30,
                                          "items": {"type": "string", "minLength": 1, "maxLength": 250}},
                            },
                            "Metrics": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                        "Unit": {"enum": UNITS},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def emf_problems(line: dict[str, Any]) -> list[str]:
    """Schema errors, plus the spec's rules a schema cannot state: every dimension and metric named in a
    directive is a member of the root node, dimensions as strings and metric values as numbers (or arrays
    of at most 100 numbers)."""
    problems = [e.message for e in jsonschema.Draft7Validator(EMF_SCHEMA).iter_errors(line)]
    if problems:
        return problems
    for directive in line["_aws"]["CloudWatchMetrics"]:
        for dimension in (d for dimension_set in directive["Dimensions"] for d in dimension_set):
            if not isinstance(line.get(dimension), str):
                problems.append(f"dimension {dimension} is not a string member of the root node")
        for metric in directive["Metrics"]:
            value = line.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            if not values or len(values) > 100 or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                                          for v in values):
                problems.append(f"metric {metric['Name']} has no numeric value in the root node: {value!r}")
    return problems


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def metrics(out: str) -> list[dict[str, Any]]:
    return [line for line in lines(out) if "_aws" in line]


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Newsdesk's log lines, as the Lambda functions write them, into a buffer; restored to defaults after."""
    buffer = io.StringIO()
    observability.configure(Settings(deployment="test"), stream=buffer)
    yield buffer
    observability.configure(Settings(), stream=sys.__stdout__)  # a stream that outlives this test


def chat_event(question: str = QUESTION, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "chat_post.json").read_text())
    event["body"] = json.dumps({"question": question})
    event.update(extra)
    return event


def snapshot(version: str = "20240305T101500000000Z-1a2b3c4d", age: timedelta = timedelta(minutes=5)) -> Manifest:
    created = (datetime.now(UTC) - age).isoformat(timespec="seconds")
    return Manifest(version, f"index/versions/{version}/", created)


def observed_chat(service: Service, store: object | None = None) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """handler.chat's shape over a given service; `store` stands in for the S3 snapshot store's manifest."""
    shown = SimpleNamespace(store=store) if store is not None else service
    return observability.observed("chat", lambda: shown)(lambda event, context: handle_chat(event, lambda: service))


def test_a_chat_request_is_one_json_line_with_its_fields(loaded_fake_service: Service, logs: io.StringIO,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    chat = observed_chat(loaded_fake_service, SimpleNamespace(manifest=snapshot()))
    context = SimpleNamespace(aws_request_id="lambda-req-1")
    response = chat(chat_event(), context)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    [line] = lines(logs.getvalue())  # one line in all: a second one about the same request fails here
    assert line["message"] == "request" and line["level"] == "INFO" and line["service"] == "newsdesk"
    assert line["request_id"] == chat_event()["requestContext"]["requestId"]
    assert line["function_request_id"] == "lambda-req-1" and line["route"] == "chat"
    assert line["status"] == 200 and line["question_length"] == len(QUESTION)
    assert line["answerer"] == "extractive" and line["abstained"] is False
    assert line["citations"] == len(body["citations"]) and line["dropped_citations"] == 0 and line.get("fallback") is None
    assert set(line["timing_ms"]) >= {"embed", "retrieve", "evidence", "total"} and line["ms"] > 0
    assert line["index_version"] == "20240305T101500000000Z-1a2b3c4d"
    assert "question" not in line and QUESTION not in logs.getvalue()  # the text stays out by default

    [emf] = metrics(capsys.readouterr().out)
    assert emf_problems(emf) == []
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Newsdesk" and directive["Dimensions"] == [["deployment", "service"]]
    assert (emf["deployment"], emf["service"]) == ("test", "chat")
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        "Questions": "Count", "Abstentions": "Count", "DroppedCitations": "Count", "BedrockFallbacks": "Count",
        "Latency": "Milliseconds", "SnapshotAgeSeconds": "Seconds"}
    assert (emf["Questions"], emf["Abstentions"], emf["BedrockFallbacks"]) == ([1.0], [0.0], [0.0])
    assert 290 <= emf["SnapshotAgeSeconds"][0] < 400


def test_handler_chat_logs_one_json_line_per_request(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     logs: io.StringIO) -> None:
    """POST /chat through handler.chat as Lambda calls it, over a local index: each request, answered or refused,
    writes exactly one log line, the JSON request line; no plain-text line repeats it."""
    from newsdesk.ingest.load import load_paths

    import handler
    from newsdesk.app import build_service, service_from_env

    for name, value in {"NEWSDESK_EMBEDDER": "hash", "NEWSDESK_STORE": str(tmp_path / "index"),
                        "NEWSDESK_ABSTAIN_THRESHOLD": "0", "NEWSDESK_LOG_LEVEL": "INFO"}.items():
        monkeypatch.setenv(name, value)
    for name in ("NEWSDESK_INDEX_BUCKET", "NEWSDESK_CHROMA_URL", "NEWSDESK_LOG_QUESTIONS", "NEWSDESK_ANSWERER"):
        monkeypatch.delenv(name, raising=False)
    assert build_service(Settings.from_env()).ingest(load_paths([str(EXAMPLES)])).failed == 0
    observability.configure(stream=logs)
    service_from_env.cache_clear()
    try:
        assert handler.chat(chat_event(), None)["statusCode"] == 200  # a cold container opens its index first
        # The S3 snapshot store's manifest, on the local store: the line names the version it answered from.
        monkeypatch.setattr(service_from_env().store, "manifest", snapshot(), raising=False)
        logs.seek(0)
        logs.truncate()
        response = handler.chat(chat_event(), SimpleNamespace(aws_request_id="lambda-req-2"))
        answered = logs.getvalue()
        logs.seek(0)
        logs.truncate()
        refused = handler.chat(chat_event(question=""), None)
        refused_lines = logs.getvalue()
        logs.seek(0)
        logs.truncate()
        misrouted = handler.slack(chat_event(), None)  # refused before any Slack code runs
    finally:
        service_from_env.cache_clear()
    assert response["statusCode"] == 200 and refused["statusCode"] == 400 and misrouted["statusCode"] == 404
    body = json.loads(response["body"])
    [line] = lines(answered)
    assert line["message"] == "request" and line["route"] == "chat" and line["status"] == 200
    assert line["request_id"] == chat_event()["requestContext"]["requestId"]
    assert line["function_request_id"] == "lambda-req-2" and line["question_length"] == len(QUESTION)
    assert line["answerer"] == "extractive" and line["abstained"] is body["abstained"] is False
    assert line["citations"] == len(body["citations"]) > 0
    assert set(line["timing_ms"]) >= {"retrieve", "evidence", "total"}
    assert line["index_version"] == "20240305T101500000000Z-1a2b3c4d"
    [line] = lines(refused_lines)
    assert (line["message"], line["status"], line["error"]) == ("request", 400, "bad_request")
    [line] = lines(logs.getvalue())
    assert (line["message"], line["route"], line["status"], line["error"]) == ("request", "slack", 404, "not_found")


def test_log_lines_of_a_request_all_carry_its_request_id(loaded_fake_service: Service, logs: io.StringIO) -> None:
    def noisy(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logging.getLogger("newsdesk.service").info("inside the request")
        return handle_chat(event, lambda: loaded_fake_service)

    observability.observed("chat")(noisy)(chat_event(), None)
    logging.getLogger("newsdesk.service").info("after the request")
    by_message = {entry["message"]: entry for entry in lines(logs.getvalue())}
    request_id = chat_event()["requestContext"]["requestId"]
    assert by_message["inside the request"]["request_id"] == request_id
    assert by_message["request"]["request_id"] == request_id
    assert "request_id" not in by_message["after the request"]  # keys end with the invocation


def test_the_question_is_logged_only_when_asked_for(loaded_fake_service: Service, monkeypatch: pytest.MonkeyPatch,
                                                   logs: io.StringIO) -> None:
    monkeypatch.setenv("NEWSDESK_LOG_QUESTIONS", "1")
    observability.configure(stream=logs)
    observed_chat(loaded_fake_service)(chat_event(), None)
    [line] = [entry for entry in lines(logs.getvalue()) if entry["message"] == "request"]
    assert line["question"] == QUESTION and "index_version" not in line  # an in-memory store has no version


def test_errors_are_logged_with_their_code_and_counted_when_they_are_ours(
        loaded_fake_service: Service, logs: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    chat = observed_chat(loaded_fake_service)
    assert chat(chat_event(question=""), None)["statusCode"] == 400
    assert metrics(capsys.readouterr().out) == []  # nothing was answered, nothing to count

    def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
        from newsdesk.errors import StoreUnavailable

        def no_store() -> Service:
            raise StoreUnavailable("no index in s3://bucket/index/manifest.json")

        return handle_chat(event, no_store)

    assert observability.observed("chat")(broken)(chat_event(), None)["statusCode"] == 503
    requests = [entry for entry in lines(logs.getvalue()) if entry["message"] == "request"]
    assert [(r["status"], r["error"]) for r in requests] == [(400, "bad_request"), (503, "store_unavailable")]
    [emf] = metrics(capsys.readouterr().out)
    assert emf_problems(emf) == [] and emf["ServerErrors"] == [1.0] and "Questions" not in emf


def test_the_caller_that_api_gateway_authorized_is_logged(loaded_fake_service: Service, logs: io.StringIO) -> None:
    event = chat_event()
    event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": "user-42", "email": "ann@example.com"},
                                                     "scopes": None}}
    event["headers"]["authorization"] = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJl"
    observed_chat(loaded_fake_service)(event, None)
    [line] = [entry for entry in lines(logs.getvalue()) if entry["message"] == "request"]
    assert line["caller"] == "user-42"
    assert "eyJhbGciOiJSUzI1NiJ9" not in logs.getvalue() and "ann@example.com" not in logs.getvalue()


class ManifestOnly:
    """The one Blobs call the ingest line makes: the manifest, or a failure to read it."""

    where = "memory://index"

    def __init__(self, manifest: Manifest | None, fail: bool = False) -> None:
        self.manifest, self.fail = manifest, fail

    def get_tagged(self, key: str) -> tuple[bytes, str] | None:
        assert key == MANIFEST_KEY
        if self.fail:
            raise OSError("unreachable")
        return (self.manifest.to_json(), "etag-1") if self.manifest else None


def test_an_ingest_run_counts_articles_publish_time_and_snapshot_age(
        logs: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    result = {"ingested": 3, "unchanged": 1, "deleted": 1, "bad_objects": ["articles/x.bin"],
              "errors": ["articles/x.bin: unsupported file type .bin", "a.jsonl line 4: no text"],
              "version": "v2", "published": True, "publish_seconds": 1.25}
    blobs = ManifestOnly(snapshot("v2", timedelta(seconds=2)))
    returned = observability.observed_ingest(lambda: blobs)(lambda event, context: result)({"Records": []}, None)
    assert returned is result
    [line] = [entry for entry in lines(logs.getvalue()) if entry["message"] == "ingest"]
    assert line["route"] == "ingest" and line["ok"] is True and line["index_version"] == "v2"
    assert (line["ingested"], line["failed"], line["bad_objects"], line["publish_seconds"]) == (3, 2, 1, 1.25)
    [emf] = metrics(capsys.readouterr().out)
    assert emf_problems(emf) == [] and emf["service"] == "ingest"
    assert (emf["ArticlesAdded"], emf["ArticlesFailed"], emf["ArticlesDeleted"]) == ([3.0], [2.0], [1.0])
    assert emf["PublishSeconds"] == [1.25] and 0 <= emf["SnapshotAgeSeconds"][0] < 60


def test_a_failed_ingest_still_reports_how_old_the_index_is(logs: io.StringIO,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    def failing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("publish conflict")

    run = observability.observed_ingest(lambda: ManifestOnly(snapshot("v1", timedelta(hours=3))))(failing)
    with pytest.raises(RuntimeError):
        run({"Records": []}, None)
    [line] = [entry for entry in lines(logs.getvalue()) if entry["message"] == "ingest"]
    assert line["ok"] is False and line["index_version"] == "v1"
    [emf] = metrics(capsys.readouterr().out)
    assert emf_problems(emf) == [] and set(emf) >= {"SnapshotAgeSeconds"} and "ArticlesAdded" not in emf
    assert 3 * 3600 - 5 < emf["SnapshotAgeSeconds"][0] < 3 * 3600 + 60

    unreachable = observability.observed_ingest(lambda: ManifestOnly(None, fail=True))(lambda e, c: {"ingested": 0})
    unreachable({"Records": []}, None)
    assert "snapshot age unknown error=OSError" in logs.getvalue()


def test_the_emf_check_rejects_what_cloudwatch_would() -> None:
    good = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["service"]],
                                                            "Metrics": [{"Name": "Questions", "Unit": "Count"}]}]},
            "service": "chat", "Questions": 1}
    assert emf_problems(good) == []
    assert emf_problems({**good, "Questions": "1"}) != []  # the value is not a number
    assert emf_problems({k: v for k, v in good.items() if k != "service"}) != []  # a dimension without a value
    assert emf_problems({**good, "_aws": {**good["_aws"], "Timestamp": "now"}}) != []
    bad_unit = json.loads(json.dumps(good))
    bad_unit["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = "Questions"
    assert emf_problems(bad_unit) != []


def test_log_level_comes_from_the_environment(logs: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_LOG_LEVEL", "warning")
    observability.configure(stream=logs)
    logging.getLogger("newsdesk.service").info("hidden")
    logging.getLogger("newsdesk.service").warning("shown")
    assert [entry["message"] for entry in lines(logs.getvalue())] == ["shown"]

    monkeypatch.setenv("NEWSDESK_LOG_LEVEL", "LOUD")  # a bad value: INFO, and the reason, not a crash at import
    observability.configure(stream=logs)
    assert "NEWSDESK_LOG_LEVEL must be one of" in lines(logs.getvalue())[-1]["message"]


@pytest.mark.parametrize(("entry", "level"), [
    ("import handler", "import logging; print(logging.getLogger('newsdesk').getEffectiveLevel())"),
    ("from newsdesk.cli import cli", "import atexit, logging; atexit.register(lambda: print(logging.getLogger()"
                                     ".getEffectiveLevel())); cli(['stats', '--store', '/nonexistent/index'])"),
])
def test_every_front_door_honours_the_log_level(entry: str, level: str, tmp_path: Path) -> None:
    import os

    for name, expected in (("DEBUG", "10"), ("ERROR", "40")):
        env = {**os.environ, "NEWSDESK_LOG_LEVEL": name, "NEWSDESK_EMBEDDER": "hash"}
        done = subprocess.run([sys.executable, "-c", f"{entry}\n{level}"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.stdout.strip().splitlines()[-1] == expected, done.stderr[-2000:]


def test_known_secret_shapes_are_redacted_whoever_logs_them(logs: io.StringIO) -> None:
    logging.getLogger("newsdesk.slack.bolt").warning("calling with token=%s", "xoxb-1234-5678-abcdef")
    logging.getLogger("newsdesk.requests").warning("header Authorization: Bearer abc.def.ghi")
    text = logs.getvalue()
    assert "xoxb-1234" not in text and "abc.def.ghi" not in text and text.count("[redacted]") == 2


@pytest.mark.server
def test_no_secret_reaches_the_logs_of_slack_and_chat_requests(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, logs: io.StringIO,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    """Everything logged at DEBUG while Slack events and chat questions run through the Lambda handlers,
    ours and the libraries', holds neither Slack secret nor the caller's token."""
    from newsdesk.ingest.load import load_paths

    import handler
    from newsdesk.app import build_service, service_from_env, slack_entry_from_env
    from tests.slack_fake import AWS_ENV, BOT_TOKEN, SIGNING_SECRET, FakeSlack, api_gateway_event, events_body

    bearer = "eyJraWQiOiJrMSJ9.eyJzdWIiOiJ1c2VyLTcifQ.c2VjcmV0LXNpZ25hdHVyZQ"
    with FakeSlack() as fake:
        for name, value in {**AWS_ENV, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN,
                            "NEWSDESK_SLACK_API_URL": fake.base_url, "NEWSDESK_EMBEDDER": "hash",
                            "NEWSDESK_STORE": str(tmp_path / "index"), "NEWSDESK_ABSTAIN_THRESHOLD": "0",
                            "NEWSDESK_LOG_LEVEL": "DEBUG"}.items():
            monkeypatch.setenv(name, value)
        for name in ("AWS_LAMBDA_FUNCTION_NAME", "NEWSDESK_SLACK_DEDUP_TABLE", "NEWSDESK_INDEX_BUCKET",
                     "NEWSDESK_CHROMA_URL"):
            monkeypatch.delenv(name, raising=False)
        assert build_service(Settings.from_env()).ingest(load_paths([str(EXAMPLES)])).failed == 0
        observability.configure(stream=logs)
        slack_entry_from_env.cache_clear()
        service_from_env.cache_clear()
        try:
            with caplog.at_level(logging.DEBUG):
                assert handler.slack(api_gateway_event(events_body("app_mention")), None)["statusCode"] == 200
                assert handler.slack(api_gateway_event(events_body("app_mention"), secret="guess"), None)[
                    "statusCode"] == 401
                local = slack_entry_from_env().local
                assert local is not None
                local.wait()
                event = chat_event()
                event["headers"]["authorization"] = f"Bearer {bearer}"
                assert handler.chat(event, None)["statusCode"] == 200
        finally:
            slack_entry_from_env.cache_clear()
            service_from_env.cache_clear()
        assert fake.called("chat.postMessage")  # the answer really went out, with the token
    captured = capsys.readouterr()
    ours = lines(logs.getvalue())
    assert {"answer", "request"} <= {str(entry["message"]) for entry in ours}  # the logs cover the answers
    assert any(entry["level"] == "DEBUG" for entry in ours + [{"level": r.levelname} for r in caplog.records])
    everything = "\n".join([logs.getvalue(), captured.out, captured.err, caplog.text])
    for secret in (SIGNING_SECRET, BOT_TOKEN, bearer, BOT_TOKEN.split("-", 1)[1]):
        assert secret not in everything


def test_a_failure_to_log_or_count_never_costs_the_answer(loaded_fake_service: Service, logs: io.StringIO,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    def unreadable_store() -> Any:
        raise OSError("the manifest went away")

    chat = observability.observed("chat", unreadable_store)(
        lambda event, context: handle_chat(event, lambda: loaded_fake_service))
    response = chat(chat_event(), None)
    assert response["statusCode"] == 200 and json.loads(response["body"])["citations"]
    assert "observability failed in _request_line" in logs.getvalue()
    capsys.readouterr()
    observability.record_answer(SimpleNamespace(to_dict=lambda: None), None)  # type: ignore[arg-type]
    assert "observability failed in record_answer" in logs.getvalue()
