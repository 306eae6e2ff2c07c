"""Seen-event stores (memory and DynamoDB on moto's server), and 'never twice' across Lambda containers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import boto3
import pytest

from newsdesk.adapters.dedup import HASH_KEY, TTL_ATTRIBUTE, DynamoSeenEvents, MemorySeenEvents
from newsdesk.adapters.slack_app import SlackEntry, build_slack_app
from newsdesk.errors import StoreUnavailable
from newsdesk.ports import SeenEvents
from newsdesk.service import Service
from newsdesk.settings import SlackSettings
from tests.slack_fake import (
    AWS_ENV,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    api_gateway_event,
    create_seen_table,
    events_body,
    free_port,
    moto_server,
)

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def table(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    return create_seen_table(moto_url)


class Clock:
    def __init__(self) -> None:
        self.now = 1_710_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "dynamodb"])
def make_store(request: pytest.FixtureRequest) -> Callable[[Clock], SeenEvents]:
    if request.param == "memory":
        return lambda clock: MemorySeenEvents(ttl_seconds=3600, clock=clock)
    table_name, url = request.getfixturevalue("table"), request.getfixturevalue("moto_url")
    return lambda clock: DynamoSeenEvents(table_name, url, "us-east-1", ttl_seconds=3600, clock=clock)


def test_first_time_only_once_until_expiry(make_store: Callable[[Clock], SeenEvents]) -> None:
    clock = Clock()
    store = make_store(clock)
    assert store.first_time("Ev1") is True
    assert store.first_time("Ev1") is False
    assert store.first_time("Ev2") is True
    clock.now += 3599
    assert store.first_time("Ev1") is False
    clock.now += 2  # expired, even if DynamoDB has not deleted the item yet
    assert store.first_time("Ev1") is True


def test_concurrent_claims_have_one_winner(make_store: Callable[[Clock], SeenEvents]) -> None:
    store = make_store(Clock())
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(store.first_time("EvRace"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_table_item_carries_the_ttl_attribute(table: str, moto_url: str) -> None:
    DynamoSeenEvents(table, moto_url, "us-east-1", ttl_seconds=60, clock=lambda: 1000.0).first_time("EvTTL")
    item = boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1").get_item(
        TableName=table, Key={HASH_KEY: {"S": "EvTTL"}})["Item"]
    assert item[TTL_ATTRIBUTE] == {"N": "1060"}


def test_unreachable_table_is_store_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    store = DynamoSeenEvents("seen", f"http://127.0.0.1:{free_port()}", "us-east-1")
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        store.first_time("Ev1")


def entries_sharing(seen: list[SeenEvents], fake: FakeSlack, service: Service) -> list[SlackEntry]:
    """One SlackEntry per simulated Lambda container."""
    settings = SlackSettings(SIGNING_SECRET, BOT_TOKEN)
    return [SlackEntry(build_slack_app(lambda: service, settings, s, base_url=fake.base_url)) for s in seen]


def deliver_three_times(entries: list[SlackEntry]) -> list[int]:
    body = events_body("app_mention")
    statuses = []
    for retry, entry in zip((None, "1", "2"), entries, strict=True):
        headers = {"x-slack-retry-num": retry, "x-slack-retry-reason": "http_timeout"} if retry else {}
        statuses.append(entry.handle(api_gateway_event(body, headers=headers), None)["statusCode"])
    for entry in entries:
        assert entry.local is not None
        entry.local.wait()
    return statuses


def test_retries_to_different_containers_answer_once_with_dynamodb(table: str, moto_url: str,
                                                                   loaded_fake_service: Service) -> None:
    with FakeSlack() as fake:
        stores: list[SeenEvents] = [DynamoSeenEvents(table, moto_url, "us-east-1") for _ in range(3)]
        assert deliver_three_times(entries_sharing(stores, fake, loaded_fake_service)) == [200, 200, 200]
        [post] = fake.called("chat.postMessage")
        assert "9,500 homes" in post.params["text"]


def test_retries_to_one_process_answer_once_in_memory(loaded_fake_service: Service) -> None:
    with FakeSlack() as fake:
        shared = MemorySeenEvents()
        entry = entries_sharing([shared], fake, loaded_fake_service)[0]
        assert deliver_three_times([entry] * 3) == [200, 200, 200]
        assert len(fake.called("chat.postMessage")) == 1


def test_unreachable_dedup_table_still_answers(loaded_fake_service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    with FakeSlack() as fake:
        broken = DynamoSeenEvents("seen", f"http://127.0.0.1:{free_port()}", "us-east-1")
        [entry] = entries_sharing([broken], fake, loaded_fake_service)
        entry.handle(api_gateway_event(events_body("app_mention")), None)
        assert entry.local is not None
        entry.local.wait()
        assert len(fake.called("chat.postMessage")) == 1
