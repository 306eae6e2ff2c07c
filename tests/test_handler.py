"""POST /chat from sample API Gateway HTTP API (payload 2.0) events: responses as a client sees them."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from newsdesk.api.http import handle_chat
from newsdesk.service import Service
from tests.conftest import EVENTS

CITATION_KEYS = {"n", "article_id", "title", "url", "outlet", "published_at", "sentence", "start", "end", "score"}


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return event


def call(event: dict[str, Any], service: Service) -> tuple[int, dict[str, Any]]:
    response = handle_chat(event, lambda: service)
    assert response["headers"]["content-type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def check_answer_body(body: dict[str, Any], question: str, texts: dict[str, str]) -> None:
    assert set(body) >= {"question", "answer", "abstained", "citations", "timing_ms"}
    assert body["question"] == question and body["abstained"] is False
    assert body["citations"], body
    for n, c in enumerate(body["citations"], start=1):
        assert set(c) == CITATION_KEYS
        assert c["n"] == n
        assert texts[c["article_id"]][c["start"] : c["end"]] == c["sentence"]
        assert f"{c['sentence']} [{n}]" in body["answer"]
        assert isinstance(c["score"], float)
    assert body["timing_ms"]["total"] >= 0


def article_texts(service: Service, body: dict[str, Any]) -> dict[str, str]:
    found = service.store.articles([c["article_id"] for c in body["citations"]])
    return {a: article.text for a, (article, _) in found.items()}


def test_every_sample_event_is_a_full_payload_v2_event() -> None:
    names = sorted(p.stem for p in EVENTS.glob("chat_*.json"))
    assert len(names) >= 10
    for name in names:
        event = load_event(name)
        assert event["version"] == "2.0" and event["routeKey"] and event["rawPath"].startswith("/")
        assert event["requestContext"]["http"]["method"] in {"GET", "POST"}
        assert isinstance(event["isBase64Encoded"], bool) and "headers" in event


def test_post_chat_answers_with_verified_citations(loaded_fake_service: Service) -> None:
    status, body = call(load_event("chat_post"), loaded_fake_service)
    assert status == 200
    check_answer_body(body, "How many homes lost power in the storm?", article_texts(loaded_fake_service, body))
    assert len(body["citations"]) == 3  # the service's default k
    assert any("9,500" in c["sentence"] for c in body["citations"])


def test_k_and_filters_are_applied(loaded_fake_service: Service) -> None:
    status, body = call(load_event("chat_post_filters"), loaded_fake_service)
    assert status == 200
    check_answer_body(body, "How many homes lost power in the storm?", article_texts(loaded_fake_service, body))
    assert 1 <= len(body["citations"]) <= 2
    assert {c["outlet"] for c in body["citations"]} == {"Valley Courier"}
    assert any("12,000" in c["sentence"] for c in body["citations"])


def test_base64_body(loaded_fake_service: Service) -> None:
    event = load_event("chat_post_base64")
    assert event["isBase64Encoded"] is True
    status, body = call(event, loaded_fake_service)
    assert status == 200
    question = "When will the council vote on the bridge repair contract?"
    check_answer_body(body, question, article_texts(loaded_fake_service, body))
    assert "March 12" in body["answer"]


def test_abstaining_answer_has_no_citations(fake_service: Service) -> None:
    status, body = call(load_event("chat_post"), fake_service)  # nothing ingested
    assert status == 200
    assert body["abstained"] is True and body["citations"] == [] and body["answer"]


@pytest.mark.parametrize(
    ("name", "status", "code", "words"),
    [
        ("chat_invalid_json", 400, "bad_request", "not valid JSON"),
        ("chat_missing_question", 400, "bad_request", "'question' is required"),
        ("chat_empty_question", 400, "bad_request", "'question' is required"),
        ("chat_empty_body", 400, "bad_request", "body is empty"),
        ("chat_bad_filter", 400, "bad_request", "published_after"),
        ("chat_unknown_filter", 400, "bad_request", "unknown filter"),
        ("chat_bad_k", 400, "bad_request", "'k' must be"),
        ("chat_unknown_route", 404, "not_found", "/ask"),
        ("chat_get", 405, "method_not_allowed", "GET"),
    ],
)
def test_client_errors(loaded_fake_service: Service, name: str, status: int, code: str, words: str) -> None:
    got_status, body = call(load_event(name), loaded_fake_service)
    assert got_status == status
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert words in body["error"]["message"]


def _with_body(raw: str, *, b64: bool = False) -> dict[str, Any]:
    event = copy.deepcopy(load_event("chat_post"))
    event["body"] = base64.b64encode(raw.encode()).decode() if b64 else raw
    event["isBase64Encoded"] = b64
    return event


@pytest.mark.parametrize(
    ("raw", "b64", "words"),
    [
        (json.dumps({"question": "x" * 1001}), False, "longer than 1000"),
        (json.dumps({"question": "x" * 1001}), True, "longer than 1000"),
        (json.dumps({"question": "ok", "k": 0}), False, "'k' must be"),
        (json.dumps({"question": "ok", "k": "three"}), False, "'k' must be"),
        (json.dumps({"question": "ok", "filters": {"outlet": ""}}), False, "'outlet'"),
        (json.dumps({"question": "ok", "filters": []}), False, "'filters'"),
        (json.dumps(["question"]), False, "JSON object"),
        ("null", False, "JSON object"),
        (json.dumps({"question": "y" * 20000}), False, "larger than"),
    ],
)
def test_more_bad_bodies_are_400(loaded_fake_service: Service, raw: str, b64: bool, words: str) -> None:
    status, body = call(_with_body(raw, b64=b64), loaded_fake_service)
    assert status == 400, body
    assert words in body["error"]["message"]


def test_body_that_is_not_base64_is_400(loaded_fake_service: Service) -> None:
    event = load_event("chat_post_base64")
    event["body"] = "%%% not base64 %%%"
    status, body = call(event, loaded_fake_service)
    assert status == 400 and "base64" in body["error"]["message"]


def test_question_of_exactly_1000_characters_is_accepted(loaded_fake_service: Service) -> None:
    question = ("How many homes lost power in the storm? " * 30)[:1000]
    status, _ = call(_with_body(json.dumps({"question": question})), loaded_fake_service)
    assert status == 200


def test_trailing_slash_and_other_methods(loaded_fake_service: Service) -> None:
    event = load_event("chat_post")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/chat/"
    assert call(event, loaded_fake_service)[0] == 200
    for method in ("PUT", "DELETE"):
        event = load_event("chat_post")
        event["requestContext"]["http"]["method"] = method
        assert call(event, loaded_fake_service)[0] == 405
    event = load_event("chat_post")
    event["requestContext"]["http"]["method"] = "OPTIONS"  # a CORS preflight: the methods, no body
    response = handle_chat(event, lambda: loaded_fake_service)
    assert response["statusCode"] == 204 and response["headers"]["allow"] == "POST, OPTIONS"


@pytest.mark.model
def test_lambda_entry_point_with_the_real_model(clean_env: pytest.MonkeyPatch, examples_store: Path) -> None:
    import handler
    from newsdesk.app import service_from_env

    clean_env.setenv("NEWSDESK_STORE", str(examples_store))
    response = handler.chat(load_event("chat_post"), None)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    service = service_from_env()
    check_answer_body(body, "How many homes lost power in the storm?", article_texts(service, body))
    assert {"9,500", "12,000"} <= {fig for c in body["citations"] for fig in ("9,500", "12,000") if fig in c["sentence"]}
    # Built once per container: the next request reuses the same service.
    assert handler.chat(load_event("chat_get"), None)["statusCode"] == 405
    assert service_from_env() is service
