"""AWS Lambda entry points: thin wrappers that hand events to the shared core."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from newsdesk import observability
from newsdesk.api.http import handle_chat
from newsdesk.app import s3_ingest_from_env, service_from_env
from newsdesk.settings import Settings

observability.configure()  # JSON lines at NEWSDESK_LOG_LEVEL; metrics as EMF lines


@lru_cache(maxsize=1)
def _cors_origins() -> str:
    return Settings.from_env().cors_origins


@observability.observed("chat", service_from_env)
def chat(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The HTTP API through API Gateway (payload 2.0): POST /chat, the page at /, /articles, /outlets, /health..."""
    return handle_chat(event, service_from_env, _cors_origins())


def ingest_s3(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A batch of SQS messages carrying S3 notifications for articles/: one index publish for the whole batch.
    Returns the messages to retry (their object could not be ingested), as ReportBatchItemFailures expects."""
    return {"batchItemFailures": _ingest_batch(event, context)["batchItemFailures"]}


@observability.observed_ingest(lambda: s3_ingest_from_env()[0].blobs)
def _ingest_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from newsdesk.snapshots.s3_events import handle_delivery

    writer, read = s3_ingest_from_env()
    return handle_delivery(event, writer, read)


@observability.observed("slack")
def slack(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """POST /slack/events (Events API and /ask) through API Gateway: ack at once, answer in a lazy re-invocation."""
    from newsdesk.api.http import handle_slack
    from newsdesk.app import slack_entry_from_env

    return handle_slack(event, context, slack_entry_from_env)
