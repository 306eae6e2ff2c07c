"""The Slack bot end to end: signed API Gateway events in, what users see in (fake) Slack out."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from newsdesk.adapters.dedup import MemorySeenEvents
from newsdesk.adapters.slack_app import SlackEntry, build_slack_app
from newsdesk.errors import StoreUnavailable
from newsdesk.models import Answer, Query
from newsdesk.service import Service
from newsdesk.settings import SlackSettings
from tests.slack_fake import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USER,
    SIGNING_SECRET,
    FakeSlack,
    api_gateway_event,
    command_body,
    events_body,
    load_event,
)

pytestmark = pytest.mark.server
SETTINGS = SlackSettings(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN)


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def make_entry(slack_api: FakeSlack) -> Iterator[Callable[[Callable[[], Service]], SlackEntry]]:
    entries: list[SlackEntry] = []

    def make(get_service: Callable[[], Service]) -> SlackEntry:
        entry = SlackEntry(build_slack_app(get_service, SETTINGS, MemorySeenEvents(), base_url=slack_api.base_url))
        entries.append(entry)
        return entry

    yield make
    for entry in entries:
        assert entry.local is not None
        entry.local.wait()


@pytest.fixture
def entry(make_entry: Callable[[Callable[[], Service]], SlackEntry], loaded_fake_service: Service) -> SlackEntry:
    return make_entry(lambda: loaded_fake_service)


def deliver(entry: SlackEntry, body: str, **kwargs: Any) -> dict[str, Any]:
    """One request as API Gateway hands it to the function; waits for the lazy answer, if any."""
    response = entry.handle(api_gateway_event(body, **kwargs), None)
    assert entry.local is not None
    entry.local.wait()
    return response


def texts(blocks: list[dict[str, Any]]) -> str:
    parts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    parts += [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    return "\n".join(parts)


def test_mention_is_answered_in_its_thread_with_quoted_linked_sources(entry: SlackEntry, slack_api: FakeSlack) -> None:
    response = deliver(entry, events_body("app_mention"))

    assert response["statusCode"] == 200
    [post] = slack_api.called("chat.postMessage")
    assert post.params["channel"] == "C0NEWSROOM"
    assert post.params["thread_ts"] == "1710150000.000100"
    shown = texts(post.params["blocks"])
    assert "power to 9,500 homes" in post.params["text"] and "[1]" in post.params["text"]
    assert "<https://harbor-gazette.example/2024/03/06/storm-power-cuts|Storm cuts power across the harbor district>" in shown
    assert "_Harbor Gazette · 6 Mar 2024_" in shown
    assert ">“Tuesday's storm cut power to 9,500 homes" in shown
    assert post.authorization == f"Bearer {BOT_TOKEN}"


def test_direct_message_is_answered_in_a_thread(entry: SlackEntry, slack_api: FakeSlack) -> None:
    deliver(entry, events_body("message_im"))

    [post] = slack_api.called("chat.postMessage")
    assert (post.params["channel"], post.params["thread_ts"]) == ("D0BOBDM", "1710150100.000200")
    assert "Old Mill Bridge" in texts(post.params["blocks"])


def test_ask_command_replies_only_to_the_user(entry: SlackEntry, slack_api: FakeSlack) -> None:
    response = deliver(entry, command_body(response_url=slack_api.response_url()))

    assert response["statusCode"] == 200
    assert slack_api.called("chat.postMessage") == []
    [reply] = slack_api.called("response_url")
    assert reply.params["response_type"] == "ephemeral"
    shown = texts(reply.params["blocks"])
    assert "*Question:* What did the school board approve?" in shown
    assert "approved a $48 million budget" in shown and "Regional Wire · 12 Mar 2024" in shown


def test_abstention_is_said_plainly(make_entry: Callable[[Callable[[], Service]], SlackEntry],
                                    loaded_fake_service: Service, slack_api: FakeSlack) -> None:
    pipeline = loaded_fake_service.pipeline
    pipeline.config = dataclasses.replace(pipeline.config, abstain_threshold=0.99)
    deliver(make_entry(lambda: loaded_fake_service), events_body("app_mention", text="<@UNEWSDESK> Who won the chess final?"))

    [post] = slack_api.called("chat.postMessage")
    shown = texts(post.params["blocks"])
    assert "does not cover that question" in shown
    assert "<http" not in shown and not any(b["type"] == "divider" for b in post.params["blocks"])


def test_follow_up_in_a_thread_uses_the_earlier_question(entry: SlackEntry, slack_api: FakeSlack,
                                                         loaded_fake_service: Service) -> None:
    first = slack_api.add_message("C0NEWSROOM", f"<@{BOT_USER}> Why did the Old Mill Bridge close?")
    slack_api.add_message("C0NEWSROOM", "Inspectors found cracks. [1]", user=BOT_USER, thread_ts=first)
    slack_api.messages["C0NEWSROOM"][-1]["bot_id"] = BOT_ID
    follow_up = slack_api.add_message("C0NEWSROOM", f"<@{BOT_USER}> when will it reopen?", thread_ts=first)

    deliver(entry, events_body("app_mention", text=f"<@{BOT_USER}> when will it reopen?", ts=follow_up, thread_ts=first))

    [replies] = slack_api.called("conversations.replies")
    assert (replies.params["channel"], replies.params["ts"]) == ("C0NEWSROOM", first)
    [post] = slack_api.called("chat.postMessage")
    assert post.params["thread_ts"] == first
    with_context = loaded_fake_service.ask(Query("when will it reopen?", context=("Why did the Old Mill Bridge close?",)))
    alone = loaded_fake_service.ask(Query("when will it reopen?"))
    assert with_context.text != alone.text
    assert post.params["text"] == with_context.text
    assert "closed the Old Mill Bridge to all traffic" in post.params["text"]


def test_a_thread_newsdesk_never_answered_gives_no_context(entry: SlackEntry, slack_api: FakeSlack,
                                                           loaded_fake_service: Service) -> None:
    first = slack_api.add_message("C0NEWSROOM", f"<@{BOT_USER}> Why did the Old Mill Bridge close?")
    follow_up = slack_api.add_message("C0NEWSROOM", f"<@{BOT_USER}> what did the school board approve?", thread_ts=first)
    deliver(entry, events_body("app_mention", text=f"<@{BOT_USER}> what did the school board approve?",
                               ts=follow_up, thread_ts=first))

    [post] = slack_api.called("chat.postMessage")
    alone = loaded_fake_service.ask(Query("what did the school board approve?"))
    assert post.params["text"] == alone.text


def test_retried_event_is_answered_exactly_once(entry: SlackEntry, slack_api: FakeSlack) -> None:
    body = events_body("app_mention")
    statuses = [deliver(entry, body)["statusCode"]]
    for retry in (1, 2):
        headers = {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"}
        statuses.append(deliver(entry, body, headers=headers)["statusCode"])
    assert statuses == [200, 200, 200]
    assert len(slack_api.called("chat.postMessage")) == 1


def test_replayed_lazy_request_does_not_answer_again(entry: SlackEntry, slack_api: FakeSlack) -> None:
    body = events_body("message_im")
    deliver(entry, body)
    forged = {"x-slack-bolt-lazy-only": "1", "x-slack-bolt-lazy-function-name": "answer_direct_message"}
    deliver(entry, body, headers=forged)
    assert len(slack_api.called("chat.postMessage")) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "not-the-signing-secret"},
        {"drop": ("x-slack-signature",)},
        {"drop": ("x-slack-request-timestamp",)},
        {"age": 301},
        {"age": -301},
    ],
    ids=["bad-signature", "no-signature", "no-timestamp", "stale", "future"],
)
def test_unsigned_or_stale_requests_get_401_and_no_work(kwargs: dict[str, Any], make_entry: Callable[..., SlackEntry],
                                                        slack_api: FakeSlack) -> None:
    if "age" in kwargs:  # computed now, not at collection time
        kwargs = {"timestamp": int(time.time()) - kwargs["age"]}
    asked: list[str] = []
    entry = make_entry(lambda: asked.append("built") or pytest.fail("service built for a rejected request"))
    for body in (events_body("app_mention"), command_body(response_url=slack_api.response_url()),
                 json.dumps(load_event("url_verification"))):
        response = entry.handle(api_gateway_event(body, **kwargs), None)
        assert response["statusCode"] == 401
    assert entry.local is not None and entry.local.wait() == []
    assert slack_api.calls == [] and asked == []


def test_tampered_body_is_rejected(entry: SlackEntry, slack_api: FakeSlack) -> None:
    event = api_gateway_event(events_body("app_mention"))
    event["body"] = event["body"].replace("homes", "bridges")
    assert entry.handle(event, None)["statusCode"] == 401
    assert slack_api.calls == []


def test_url_verification_is_answered(entry: SlackEntry) -> None:
    challenge = load_event("url_verification")["challenge"]
    response = deliver(entry, json.dumps(load_event("url_verification")))
    assert response["statusCode"] == 200 and challenge in response["body"]


@pytest.mark.parametrize(
    "event_fields",
    [
        {},  # another bot's message (subtype bot_message)
        {"subtype": None, "bot_id": BOT_ID, "user": BOT_USER, "text": "Our own earlier answer [1]"},
        {"subtype": "message_changed", "bot_id": None},
    ],
    ids=["other-bot", "own-message", "edit"],
)
def test_bots_own_messages_and_edits_are_ignored(event_fields: dict[str, Any], entry: SlackEntry,
                                                 slack_api: FakeSlack) -> None:
    response = deliver(entry, events_body("bot_message_im", **event_fields))
    assert response["statusCode"] == 200
    assert slack_api.replies() == []


def test_empty_mention_gets_help(entry: SlackEntry, slack_api: FakeSlack) -> None:
    deliver(entry, events_body("app_mention", text="<@UNEWSDESK>   "))
    [post] = slack_api.called("chat.postMessage")
    assert "Ask me a question about the news" in post.params["text"]


def test_question_over_the_limit_gets_a_friendly_reply(entry: SlackEntry, slack_api: FakeSlack) -> None:
    deliver(entry, events_body("app_mention", text="<@UNEWSDESK> " + "why " * 260))
    [post] = slack_api.called("chat.postMessage")
    assert "longer than 1000 characters" in texts(post.params["blocks"])


def test_store_unavailable_gets_a_friendly_reply(make_entry: Callable[..., SlackEntry], slack_api: FakeSlack) -> None:
    def no_store() -> Service:
        raise StoreUnavailable("no index at /var/task/.newsdesk: run `newsdesk ingest` first")

    deliver(make_entry(no_store), command_body(response_url=slack_api.response_url()))
    [reply] = slack_api.called("response_url")
    assert "can't reach the news index" in reply.params["text"]
    assert "/var/task" not in json.dumps(reply.params)


def test_unexpected_failure_still_answers(make_entry: Callable[..., SlackEntry], loaded_fake_service: Service,
                                          slack_api: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(query: Query) -> Answer:
        raise RuntimeError("boom")

    monkeypatch.setattr(loaded_fake_service, "ask", broken)
    deliver(make_entry(lambda: loaded_fake_service), events_body("message_im"))
    [post] = slack_api.called("chat.postMessage")
    assert "Something went wrong" in post.params["text"]


def test_ack_does_not_wait_for_the_answer(make_entry: Callable[..., SlackEntry], loaded_fake_service: Service,
                                          slack_api: FakeSlack) -> None:
    release = threading.Event()
    real_ask = loaded_fake_service.ask

    def slow_ask(query: Query) -> Answer:
        assert release.wait(10)
        return real_ask(query)

    loaded_fake_service.ask = slow_ask  # type: ignore[method-assign]
    entry = make_entry(lambda: loaded_fake_service)
    response = entry.handle(api_gateway_event(events_body("app_mention")), None)
    assert response["statusCode"] == 200 and slack_api.called("chat.postMessage") == []
    release.set()
    assert entry.local is not None
    entry.local.wait()
    assert len(slack_api.called("chat.postMessage")) == 1


def test_secrets_never_reach_the_logs(entry: SlackEntry, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    deliver(entry, events_body("app_mention"))
    deliver(entry, events_body("app_mention"), secret="wrong")
    assert caplog.records
    assert SIGNING_SECRET not in caplog.text and BOT_TOKEN not in caplog.text
    assert SIGNING_SECRET not in repr(SETTINGS) and BOT_TOKEN not in repr(SETTINGS)
