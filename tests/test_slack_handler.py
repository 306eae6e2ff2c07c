"""`handler.slack` as Lambda calls it, configured only through the environment (secrets, API URL, dedup table)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

import handler
from newsdesk.app import build_service, service_from_env, slack_entry_from_env
from newsdesk.settings import Settings
from tests.conftest import EXAMPLES
from tests.slack_fake import (
    AWS_ENV,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    api_gateway_event,
    create_seen_table,
    events_body,
    load_event,
    moto_server,
)

pytestmark = pytest.mark.server


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    slack_entry_from_env.cache_clear()
    service_from_env.cache_clear()
    yield
    entry = slack_entry_from_env() if slack_entry_from_env.cache_info().currsize else None
    if entry is not None and entry.local is not None:
        entry.local.wait()
    slack_entry_from_env.cache_clear()
    service_from_env.cache_clear()


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch, fresh_caches: None, tmp_path: Path) -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        for name, value in {
            **AWS_ENV, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN,
            "NEWSDESK_SLACK_API_URL": fake.base_url, "NEWSDESK_EMBEDDER": "hash",
            "NEWSDESK_STORE": str(tmp_path / "index"), "NEWSDESK_ABSTAIN_THRESHOLD": "0",
        }.items():
            monkeypatch.setenv(name, value)
        for name in ("AWS_LAMBDA_FUNCTION_NAME", "NEWSDESK_SLACK_DEDUP_TABLE", "NEWSDESK_INDEX_BUCKET", "NEWSDESK_CHROMA_URL"):
            monkeypatch.delenv(name, raising=False)
        yield fake


def test_url_verification_and_bad_signature_through_the_handler(slack_env: FakeSlack) -> None:
    body = json.dumps(load_event("url_verification"))
    ok = handler.slack(api_gateway_event(body), None)
    assert ok["statusCode"] == 200 and load_event("url_verification")["challenge"] in ok["body"]
    assert handler.slack(api_gateway_event(body, secret="guess"), None)["statusCode"] == 401


def test_an_event_that_is_not_plain_json_is_a_400_before_the_slack_app(slack_env: FakeSlack) -> None:
    # Never from API Gateway (its events are JSON), but a caller may invoke the function with anything; bolt would
    # fail to serialise it for its lazy re-invocation.
    event = api_gateway_event("command=%2Fask&text=")
    event["requestContext"]["http"]["path"] = b""
    response = handler.slack(event, None)
    assert response["statusCode"] == 400 and "only JSON values" in json.loads(response["body"])["error"]["message"]


def test_missing_secrets_fail_with_the_variable_name(slack_env: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    response = handler.slack(api_gateway_event(events_body("app_mention")), None)
    assert response["statusCode"] == 500
    assert "SLACK_BOT_TOKEN" in response["body"] and SIGNING_SECRET not in response["body"]
    assert slack_env.calls == []


def test_retried_mention_through_the_handler_answers_once_with_the_dynamodb_table(
    slack_env: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsdesk.ingest.load import load_paths

    report = build_service(Settings.from_env()).ingest(load_paths([str(EXAMPLES)]))
    assert report.failed == 0
    with moto_server() as moto_url:
        monkeypatch.setenv("NEWSDESK_SLACK_DEDUP_TABLE", create_seen_table(moto_url))
        monkeypatch.setenv("NEWSDESK_DYNAMODB_ENDPOINT_URL", moto_url)
        body = events_body("app_mention")
        for retry in (None, "1", "2"):
            headers = {"x-slack-retry-num": retry, "x-slack-retry-reason": "http_timeout"} if retry else {}
            assert handler.slack(api_gateway_event(body, headers=headers), None)["statusCode"] == 200
        local = slack_entry_from_env().local
        assert local is not None
        local.wait()
        table = boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1").scan(
            TableName=os.environ["NEWSDESK_SLACK_DEDUP_TABLE"])
        assert {"Ev0MENTION001", "message:C0NEWSROOM:1710150000.000100"} <= {i["event_id"]["S"] for i in table["Items"]}
    [post] = slack_env.called("chat.postMessage")
    assert post.params["thread_ts"] == "1710150000.000100"
    assert "power to 9,500 homes" in post.params["text"]
