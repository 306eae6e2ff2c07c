"""AWS Lambda entry points: thin wrappers that hand events to the shared core."""

from __future__ import annotations

from typing import Any

from newsdesk import observability
from newsdesk.adapters.sqlite_compat import ensure_modern_sqlite
from newsdesk.api.http import handle_chat
from newsdesk.app import s3_ingest_from_env, service_from_env

observability.configure()  # JSON lines at NEWSDESK_LOG_LEVEL; metrics as EMF lines
ensure_modern_sqlite()  # before chromadb is first imported: the Lambda 3.11 image's sqlite is too old for Chroma


@observability.observed("chat", service_from_env)
def chat(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """POST /chat through API Gateway (HTTP API, payload 2.0)."""
    return handle_chat(event, service_from_env)


@observability.observed_ingest(lambda: s3_ingest_from_env()[0].blobs)
def ingest_s3(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """S3 ObjectCreated/ObjectRemoved under articles/: update the index and publish a new snapshot."""
    from newsdesk.index.s3_events import parse_s3_event

    writer, read = s3_ingest_from_env()
    return writer.handle(parse_s3_event(event), read)


@observability.observed("slack")
def slack(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """POST /slack/events (Events API and /ask) through API Gateway: ack at once, answer in a lazy re-invocation."""
    from newsdesk.api.http import handle_slack
    from newsdesk.app import slack_entry_from_env

    return handle_slack(event, context, slack_entry_from_env)
