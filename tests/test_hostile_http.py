"""Hostile input at the front doors (issue 12, "Found" 3, 5, 6, 8): always a JSON 4xx that says what to fix, never a crash."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsdesk.api.http import handle_chat, handle_slack
from newsdesk.api.request_models import ChatResponse, parse_query
from newsdesk.api.slack_format import answer_text
from newsdesk.errors import BadRequest
from newsdesk.models import Answer, Citation, Query
from newsdesk.service import Service
from tests.conftest import EVENTS
from tests.reliability_counts import record, status_class

CONTENTLESS = [".", "*", "\\", '"', "\u0000", "\u200b", "\ufeff", "...", " . ", "?!", "\u200b\u200b"]


def chat_event(body: Any = None, *, b64: bool = False, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "chat_post.json").read_text(encoding="utf-8"))
    if body is not None:
        event["body"] = base64.b64encode(body.encode("utf-8")).decode("ascii") if b64 and isinstance(body, str) else body
        event["isBase64Encoded"] = b64
    event.update(changes)
    return event


def call(event: Any, service: Service) -> tuple[int, dict[str, Any]]:
    """handle_chat must never raise, and always answer JSON whose errors say what to fix."""
    response = handle_chat(event, lambda: service)
    record("handler.chat (listed hostile cases)", status_class(response["statusCode"]))
    assert response["headers"]["content-type"] == "application/json"
    response["body"].encode("utf-8")  # a lone surrogate in a reply would break the Lambda runtime and the local server
    body = json.loads(response["body"])
    if response["statusCode"] >= 400:
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        assert isinstance(body["error"]["message"], str) and len(body["error"]["message"]) > 10
    return response["statusCode"], body


HOSTILE_BODIES = [
    pytest.param('{"question":"\\ud800"}', False, "surrogate", id="lone-surrogate"),
    pytest.param('{"question":"\\ud800"}', True, "surrogate", id="lone-surrogate-base64"),
    pytest.param('{"question":"What \\udc00 happened?"}', False, "surrogate", id="surrogate-inside-words"),
    pytest.param("[" * 5000 + "]" * 5000, False, "nested", id="deeply-nested"),
    pytest.param("[" * 5000 + "]" * 5000, True, "nested", id="deeply-nested-base64"),
    pytest.param('{"":' * 2500 + '"x"' + "}" * 2500, False, "nested", id="deeply-nested-objects"),
    pytest.param('{"question":"x","k":' + "9" * 5000 + "}", False, "digits", id="5000-digit-number"),
    pytest.param('{"question":"x","k":' + "9" * 4000 + "}", False, "'k' must be", id="4000-digit-number"),
    pytest.param('{"question":"x","k":1e999}', False, "'k' must be", id="infinite-float"),
    pytest.param('{"question":"x","k":NaN}', False, "NaN", id="nan-literal"),
    pytest.param('{"question":"x","filters":{"outlet":"\\udc00"}}', False, "'outlet'", id="surrogate-outlet"),
    pytest.param('{"question":"x","filters":{"outlet":"Harbor\\u0000Gazette"}}', False, "'outlet'", id="nul-in-outlet"),
    pytest.param('{"question":"x","filters":{"published_after":"2024-02-30"}}', False, "published_after", id="bad-day"),
    pytest.param('{"question":"x","filters":{"published_after":"\\ud800"}}', False, "published_after", id="surrogate-day"),
    pytest.param('{"\\ud800":1,"question":"x"}', False, "field name contains an unpaired surrogate", id="surrogate-key"),
    pytest.param('{"question":"x","answerer":"\\ud800"}', False, "'answerer'", id="surrogate-answerer"),
    pytest.param('{"question":["x"]}', False, "'question'", id="question-list"),
    pytest.param('{"question":{"text":"x"}}', False, "'question'", id="question-object"),
    pytest.param('{"question":"x","k":[3]}', False, "'k' must be", id="k-list"),
    pytest.param('{"question":"x","filters":{"outlet":["a"]}}', False, "'outlet'", id="outlet-list"),
    pytest.param('{"question":"x","filters":{"outlet":"a","outlet":7}}', False, "'outlet'", id="duplicate-key"),
    pytest.param('{"question":"x","answerer":7}', False, "'answerer'", id="answerer-int"),
    pytest.param('{"question":"x"} trailing', False, "not valid JSON", id="trailing-garbage"),
    pytest.param('{"question":"cut off', False, "not valid JSON (Unterminated string starting at column 13)",
                 id="unterminated-string"),
    pytest.param(json.dumps({"question": "x" * 10_000}), False, "longer than 1000", id="huge-question"),
    pytest.param(json.dumps({"question": "x", "pad": "y" * 100_000}), False, "larger than", id="huge-body"),
    pytest.param(json.dumps({"question": "x", "pad": "y" * 100_000}), True, "larger than", id="huge-body-base64"),
    pytest.param("\x00\x01\x02", False, "not valid JSON", id="control-bytes"),
]


@pytest.mark.parametrize(("raw", "b64", "words"), HOSTILE_BODIES)
def test_hostile_bodies_get_a_400_that_says_what_to_fix(loaded_fake_service: Service, raw: str, b64: bool, words: str) -> None:
    status, body = call(chat_event(raw, b64=b64), loaded_fake_service)
    assert status == 400, body
    assert body["error"]["code"] == "bad_request"
    assert words in body["error"]["message"]


@pytest.mark.parametrize(
    ("name", "words"),
    [("chat_lone_surrogate", "unpaired surrogate"), ("chat_contentless_question", "no words"),
     ("chat_huge_number", "too many digits"), ("chat_deeply_nested", "nested too deeply"),
     ("chat_surrogate_outlet", "filter 'outlet' contains an unpaired surrogate")],
)
def test_hostile_sample_events(loaded_fake_service: Service, name: str, words: str) -> None:
    """The issue's cases as API Gateway sample events (tests/events/), as `sam local invoke` would send them."""
    event = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    status, body = call(event, loaded_fake_service)
    assert status == 400 and words in body["error"]["message"], body


def test_cli_ask_refuses_contentless_and_broken_questions(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from newsdesk.cli import cli
    from tests.conftest import EXAMPLES

    env = {"NEWSDESK_STORE": str(tmp_path / "store"), "NEWSDESK_EMBEDDER": "hash"}
    assert CliRunner().invoke(cli, ["ingest", str(EXAMPLES)], env=env).exit_code == 0
    for question, words in ((".", "no words"), ("\u200b", "no words"), ("What \udcff happened?", "surrogate")):
        result = CliRunner().invoke(cli, ["ask", question], env=env)
        assert result.exit_code == 2 and words in result.stderr, result.output


@pytest.mark.parametrize("question", CONTENTLESS)
def test_contentless_questions_are_refused(loaded_fake_service: Service, question: str) -> None:
    status, body = call(chat_event(json.dumps({"question": question})), loaded_fake_service)
    assert status == 400, body
    assert "no words" in body["error"]["message"]


def test_contentless_questions_are_refused_by_the_service_itself(loaded_fake_service: Service) -> None:
    """Slack and the CLI reach the service without the HTTP request model: the service says the same."""
    for question in CONTENTLESS:
        with pytest.raises(BadRequest, match="no words"):
            loaded_fake_service.ask(Query(question))
    with pytest.raises(BadRequest, match="surrogate"):
        loaded_fake_service.ask(Query("What \ud800 happened?"))
    with pytest.raises(BadRequest, match="surrogate"):
        loaded_fake_service.ask(Query("What happened?", context=("Before \udc00",)))


def test_questions_with_words_in_any_script_are_still_answered(loaded_fake_service: Service) -> None:
    for question in ("Storm?", "¿Tormenta?", "停电了吗", "9,500", "What\u200bhappened to the bridge?"):
        status, body = call(chat_event(json.dumps({"question": question})), loaded_fake_service)
        assert status == 200, (question, body)
    # a leading byte order mark (some Windows clients send one) is not a reason to refuse the body
    status, body = call(chat_event("\ufeff" + json.dumps({"question": "Storm?"})), loaded_fake_service)
    assert status == 200, body


MALFORMED_EVENTS = [
    pytest.param(lambda e: {**e, "requestContext": "x"}, "requestContext", id="requestContext-string"),
    pytest.param(lambda e: {**e, "requestContext": [1]}, "requestContext", id="requestContext-list"),
    pytest.param(lambda e: {**e, "requestContext": {"http": 5}}, "http", id="http-int"),
    pytest.param(lambda e: {**e, "requestContext": {"http": {"method": ["POST"]}}}, "method", id="method-list"),
    pytest.param(lambda e: {**e, "body": {"question": "x"}}, "body", id="body-dict"),
    pytest.param(lambda e: {**e, "body": ["x"]}, "body", id="body-list"),
    pytest.param(lambda e: {**e, "body": 5}, "body", id="body-int"),
    pytest.param(lambda e: {**e, "body": b'{"question": "x"}'}, "body", id="body-bytes"),
    pytest.param(lambda e: {**e, "body": 5, "isBase64Encoded": True}, "body", id="base64-body-int"),
    pytest.param(lambda e: {**e, "body": "%%%", "isBase64Encoded": True}, "base64", id="base64-garbage"),
    pytest.param(lambda e: {**e, "body": base64.b64encode(b"\xff\xfe").decode(), "isBase64Encoded": True}, "UTF-8",
                 id="base64-not-utf8"),
    pytest.param(lambda e: {**e, "body": '{"question":"\ud800"}'}, "UTF-8", id="raw-surrogate-in-body-string"),
    pytest.param(lambda e: {**e, "isBase64Encoded": "yes"}, "isBase64Encoded", id="base64-flag-string"),
    pytest.param(lambda e: {**e, "headers": "x"}, "headers", id="headers-string"),
    pytest.param(lambda e: {**e, "rawPath": 7, "requestContext": {"http": {"method": "POST", "path": 7}}}, "path",
                 id="path-int"),
    pytest.param(lambda e: "not an event", "event", id="event-string"),
    pytest.param(lambda e: None, "event", id="event-none"),
]


@pytest.mark.parametrize(("change", "words"), MALFORMED_EVENTS)
def test_malformed_events_get_a_400(loaded_fake_service: Service, change: Any, words: str) -> None:
    status, body = call(change(chat_event()), loaded_fake_service)
    assert status == 400, body
    assert words in body["error"]["message"]


def test_unknown_paths_and_methods_are_json(loaded_fake_service: Service) -> None:
    for path in ("/nope", "/chat/extra", "/%00", "/\ud800"):
        event = chat_event()
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        status, body = call(event, loaded_fake_service)
        assert status == 404 and body["error"]["code"] == "not_found" and "POST" in body["error"]["message"]
    for method in ("GET", "HEAD", "TRACE", "post", "FOO", ""):  # OPTIONS is a preflight: tests/test_web_api.py
        event = chat_event()
        event["requestContext"]["http"]["method"] = method
        status, body = call(event, loaded_fake_service)
        assert status == 405 and body["error"]["code"] == "method_not_allowed" and "POST" in body["error"]["message"]


def test_an_unexpected_failure_is_a_json_500_not_a_traceback(loaded_fake_service: Service) -> None:
    def broken() -> Service:
        raise RuntimeError("boom")

    response = handle_chat(chat_event(), broken)
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["error"]["code"] == "internal_error"
    assert "boom" not in response["body"]


def test_hostile_filters_against_a_real_chroma_store(tmp_path: Path) -> None:
    """The Chroma adapter is where `\\udc00` in a filter used to explode (InvalidArgumentError)."""
    from newsdesk.ingest.load import load_paths
    from newsdesk.ingest.pipeline import ChunkConfig

    from newsdesk.adapters.chroma_store import ChromaStore, connect
    from newsdesk.adapters.hash_embedder import HashEmbedder
    from newsdesk.service import AnswerConfig
    from tests.conftest import EXAMPLES

    service = Service(HashEmbedder(), ChromaStore(connect(path=tmp_path / "index")), AnswerConfig(abstain_threshold=0.0),
                      ChunkConfig(3, 1))
    assert service.ingest(load_paths([str(EXAMPLES)])).failed == 0
    for filters, words in [({"outlet": "\udc00"}, "surrogate"), ({"outlet": "a\u0000b"}, "control"),
                           ({"outlet": "x" * 201}, "at most 200"), ({"published_before": "0001-01-01"}, None),
                           ({"outlet": "Harbor Gazette", "published_after": "9999-12-31"}, None)]:
        status, body = call(chat_event(json.dumps({"question": "What happened?", "filters": filters})), service)
        if words is None:
            assert status == 200 and body["citations"] == [], body
        else:
            assert status == 400 and words in body["error"]["message"], body


# -- the request models ------------------------------------------------------------
def test_request_model_names_every_problem() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_query({"question": "", "k": 0, "filters": {"outlet": 7}})
    message = str(caught.value)
    assert "'question'" in message and "'k'" in message and "'outlet'" in message


def test_extra_fields_are_named_without_echoing_huge_names() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_query({"question": "q", "x" * 5000: 1, "top_k": 2})
    message = str(caught.value)
    assert "unknown field" in message and "'top_k'" in message and len(message) < 500


def test_answers_fit_the_documented_response_model(loaded_fake_service: Service) -> None:
    status, body = call(chat_event(), loaded_fake_service)
    assert status == 200
    assert ChatResponse.model_validate(body).citations[0].n == 1
    schema = ChatResponse.model_json_schema()
    assert "citations" in schema["properties"] and schema["description"]


# -- Slack -------------------------------------------------------------------------
def test_slack_fallback_text_cannot_ping_a_channel() -> None:
    """`text=` of chat_postMessage is rendered and notified like blocks: mentions from articles must be escaped."""
    sentence = "Fans shouted <!channel> and <@U123ABC> & <!here|here> at <#C42> <https://evil.example|click>."
    citation = Citation(1, "a1", "t", None, None, None, sentence, 0, len(sentence), 0.9)
    text = answer_text(Answer("q", f"{sentence} [1]", False, (citation,)))
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt;" in text and "&lt;@U123ABC&gt;" in text and "&amp;" in text


class _Entry:
    """Stands in for the bolt entry: records what reaches it, answers like bolt does."""

    def __init__(self, response: dict[str, Any] | Exception | None = None) -> None:
        self.seen: list[dict[str, Any]] = []
        self.response = response or {"statusCode": 200, "body": "", "headers": {}}

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        self.seen.append(event)
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


def slack_event(body: Any = "", form: bool = False, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "slack_apigw_http.json").read_text(encoding="utf-8"))
    event["body"] = body
    if form:  # slash commands and interactive payloads
        event["headers"]["content-type"] = "application/x-www-form-urlencoded"
    event.update(changes)
    return event


@pytest.mark.parametrize(
    ("event", "status", "words"),
    [
        (lambda: {**slack_event(), "requestContext": "x"}, 400, "requestContext"),
        (lambda: {**slack_event(), "requestContext": {"http": 5}}, 400, "http"),
        (lambda: slack_event({"type": "event_callback"}), 400, "body"),
        (lambda: slack_event(5), 400, "body"),
        (lambda: slack_event(b"x"), 400, "body"),
        (lambda: slack_event(5, isBase64Encoded=True), 400, "body"),
        (lambda: slack_event("%%%", isBase64Encoded=True), 400, "base64"),
        (lambda: {**slack_event("{}"), "headers": [1]}, 400, "headers"),
        (lambda: {**slack_event("{}"), "headers": {"x-slack-signature": 5}}, 400, "header"),
        (lambda: slack_event('{"a":' + "[" * 5000 + "]" * 5000 + "}"), 400, "nested"),
        (lambda: slack_event('{"type":"event_callback","n":' + "9" * 5000 + "}"), 400, "digits"),
        (lambda: slack_event('{"type":"event_callback","event":5}'), 400, "'event'"),
        # bolt reads these before it checks the signature: anyone could send them
        (lambda: slack_event('{"type":"event_callback","event":null}'), 400, "'event'"),
        (lambda: slack_event('{"type":"event_callback","authorizations":true}'), 400, "'authorizations'"),
        (lambda: slack_event('{"authorizations":[5]}'), 400, "'authorizations.0'"),
        (lambda: slack_event('{"event":{"type":"message","subtype":["x"]}}'), 400, "'event.subtype'"),
        (lambda: slack_event("command=%2Fask&authorizations=x", form=True), 400, "'authorizations'"),
        (lambda: slack_event("payload=%5B1%5D", form=True), 400, "JSON object"),
        (lambda: slack_event("payload=%7Bbad", form=True), 400, "not valid JSON"),
        (lambda: slack_event("[1, 2]"), 400, "JSON object"),
        (lambda: slack_event("command=%2Fask&text=hi"), 400, "not valid JSON"),  # the sample's content-type is JSON
        (lambda: slack_event("x" * 2_000_000), 400, "larger than"),
        (lambda: {**slack_event("{}"), "rawPath": "/chat", "routeKey": "$default"}, 404, "/slack/events"),
        (lambda: {**slack_event("{}"), "requestContext": {"http": {"method": "GET", "path": "/slack/events"}}}, 405, "POST"),
        (lambda: "not an event", 400, "event"),
    ],
)
def test_malformed_slack_events_never_reach_bolt(event: Any, status: int, words: str) -> None:
    entry = _Entry()
    response = handle_slack(event(), None, lambda: entry)
    assert response["statusCode"] == status, response
    body = json.loads(response["body"])
    assert words in body["error"]["message"] and body["error"]["code"]
    assert entry.seen == []


def test_bolt_errors_become_json_and_events_are_not_mutated() -> None:
    original = slack_event(base64.b64encode(b'{"type":"url_verification"}').decode(), isBase64Encoded=True)
    before = copy.deepcopy(original)
    entry = _Entry({"statusCode": 401, "body": '{"error": "invalid request"}', "headers": {}})
    response = handle_slack(original, None, lambda: entry)
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "bad_signature"
    assert original == before
    # bolt sees the decoded body, so a lazy re-invocation carries it as it was signed
    assert entry.seen[0]["body"] == '{"type":"url_verification"}' and entry.seen[0]["isBase64Encoded"] is False
    crashing = _Entry(RuntimeError("boom"))
    response = handle_slack(slack_event("{}"), None, lambda: crashing)
    assert response["statusCode"] == 500 and json.loads(response["body"])["error"]["code"] == "internal_error"


def test_good_slack_events_pass_through_unchanged() -> None:
    entry = _Entry({"statusCode": 200, "body": "challenge-x", "headers": {"content-type": "text/plain"}})
    event = slack_event('{"type":"url_verification","challenge":"challenge-x"}')
    assert handle_slack(event, None, lambda: entry) == {"statusCode": 200, "body": "challenge-x",
                                                        "headers": {"content-type": "text/plain"}}
    assert entry.seen[0]["body"] == event["body"] and entry.seen[0]["headers"] == event["headers"]
    lazy = {**slack_event("command=%2Fask&text=hi", form=True), "method": "NONE"}  # bolt's own lazy re-invocation
    lazy["headers"] = {**lazy["headers"], "x-slack-bolt-lazy-only": "1", "x-slack-bolt-lazy-function-name": "answer"}
    assert handle_slack(lazy, None, lambda: entry)["statusCode"] == 200


@pytest.fixture
def slack_handler_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    from newsdesk.app import service_from_env, slack_entry_from_env
    from tests.slack_fake import BOT_TOKEN, SIGNING_SECRET

    slack_entry_from_env.cache_clear()
    service_from_env.cache_clear()
    for name, value in {"SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN,
                        "NEWSDESK_EMBEDDER": "hash", "NEWSDESK_STORE": str(tmp_path / "index")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    yield
    slack_entry_from_env.cache_clear()
    service_from_env.cache_clear()


def test_handler_slack_answers_malformed_events_with_json(slack_handler_env: None) -> None:
    import handler
    from tests.slack_fake import api_gateway_event

    for event in ({**slack_event(), "requestContext": "x"}, slack_event({"a": 1}), slack_event(b"x"),
                  api_gateway_event('{"a":' + "[" * 5000 + "]" * 5000 + "}"),
                  api_gateway_event('{"type":"event_callback","event":5}')):
        response = handler.slack(event, None)
        assert response["statusCode"] == 400, response
        assert json.loads(response["body"])["error"]["code"] == "bad_request"
