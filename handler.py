"""AWS Lambda entry points: thin wrappers that hand events to the shared core."""

from __future__ import annotations

import logging
from typing import Any

from newsdesk.app import service_from_env
from newsdesk.http_api import handle_chat

logging.getLogger().setLevel(logging.INFO)


def chat(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """POST /chat through API Gateway (HTTP API, payload 2.0)."""
    return handle_chat(event, service_from_env)
