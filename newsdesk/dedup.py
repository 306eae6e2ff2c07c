"""The seen-event port: remembers Slack event ids so a retried or redelivered event is answered once."""

from __future__ import annotations

from typing import Protocol

DEFAULT_TTL_SECONDS = 24 * 3600  # Slack retries within minutes; a day leaves a wide margin


class SeenEvents(Protocol):
    """A set of keys with an expiry, where adding is atomic."""

    def first_time(self, key: str) -> bool:
        """Record `key`; True for exactly one caller, False for every repeat until the key expires.

        Raises StoreUnavailable when the store cannot be reached.
        """
