"""Seen-event stores: in memory (one process, no AWS) and a DynamoDB table with a TTL attribute."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from newsdesk.errors import StoreUnavailable
from newsdesk.settings import DEFAULTS

HASH_KEY = "event_id"
TTL_ATTRIBUTE = "expires_at"


class MemorySeenEvents:
    """Good for one process (tests, a local server); Lambda containers do not share it."""

    def __init__(self, ttl_seconds: int = DEFAULTS.slack_dedup_ttl_seconds, clock: Callable[[], float] = time.time) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._expires: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            if len(self._expires) > 10_000:
                self._expires = {k: t for k, t in self._expires.items() if t > now}
            if self._expires.get(key, 0.0) > now:
                return False
            self._expires[key] = now + self.ttl_seconds
            return True


class DynamoSeenEvents:
    """One item per key; a conditional put makes the first writer win across every container."""

    def __init__(
        self,
        table: str,
        endpoint_url: str | None,
        region: str,
        ttl_seconds: int = DEFAULTS.slack_dedup_ttl_seconds,
        clock: Callable[[], float] = time.time,
        client: Any | None = None,
    ) -> None:
        self.table = table
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        # Short timeouts: this runs before answering, and a slow table must not hold the user up for long.
        config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})
        self._client = client or boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region, config=config)

    def first_time(self, key: str) -> bool:
        now = int(self._clock())
        try:
            self._client.put_item(
                TableName=self.table,
                Item={HASH_KEY: {"S": key}, TTL_ATTRIBUTE: {"N": str(now + self.ttl_seconds)}},
                # DynamoDB deletes expired items late (up to days), so an expired item counts as absent.
                ConditionExpression="attribute_not_exists(#k) OR #t < :now",
                ExpressionAttributeNames={"#k": HASH_KEY, "#t": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                return False
            raise StoreUnavailable(f"seen-event table {self.table!r} failed: {code}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(f"seen-event table {self.table!r} cannot be reached: {type(exc).__name__}") from exc
        return True
