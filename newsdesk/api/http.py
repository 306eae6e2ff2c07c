"""API Gateway HTTP API (payload 2.0) in and out: routes, errors to status codes, JSON bodies."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from newsdesk.api.request_models import parse_query
from newsdesk.errors import (
    BadRequest,
    ConfigError,
    GeneratorError,
    MethodNotAllowed,
    NewsdeskError,
    NotFound,
    StoreUnavailable,
)
from newsdesk.service import Service

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16_384
STATUS = {BadRequest: 400, NotFound: 404, MethodNotAllowed: 405, StoreUnavailable: 503, GeneratorError: 502, ConfigError: 500}
CORS = {"access-control-allow-origin": "*"}


def respond(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **CORS},
        "body": json.dumps(body, ensure_ascii=False),
    }


def error_response(exc: NewsdeskError) -> dict[str, Any]:
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
    return respond(status, {"error": {"code": exc.code, "message": str(exc)}})


def handle_chat(event: dict[str, Any], get_service: Callable[[], Service]) -> dict[str, Any]:
    """One API Gateway event in, one response out; client mistakes are 4xx, never 500."""
    started = time.perf_counter()
    request_id = ((event.get("requestContext") or {}).get("requestId")) or "-"
    try:
        body = _route_and_body(event)
        service = get_service()
        query = parse_query(body, service.config.citations, service.config.max_k, service.config.max_question_chars)
        answer = service.ask(query)
    except NewsdeskError as exc:
        log.info("request_id=%s status=error code=%s", request_id, exc.code)
        return error_response(exc)
    log.info(
        "request_id=%s abstained=%s citations=%d ms=%.1f",
        request_id, answer.abstained, len(answer.citations), (time.perf_counter() - started) * 1000,
    )
    return respond(200, answer.to_dict())


def _route_and_body(event: dict[str, Any]) -> Any:
    http = (event.get("requestContext") or {}).get("http") or {}
    method = str(http.get("method") or event.get("httpMethod") or "").upper()
    path = str(event.get("rawPath") or http.get("path") or event.get("path") or "")
    route = str(event.get("routeKey") or "")
    if route.endswith(" /chat"):  # an explicit route: rawPath may carry a stage prefix (/prod/chat)
        path = "/chat"
    if path.rstrip("/") != "/chat":
        raise NotFound(f"no route {path or '(empty)'}: POST your question to /chat")
    if method != "POST":
        raise MethodNotAllowed(f"{method or 'this method'} is not allowed on /chat: use POST")
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the body is not valid base64-encoded UTF-8") from None
    if len(raw.encode("utf-8")) > MAX_BODY_BYTES:
        raise BadRequest(f"the body is larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise BadRequest('the body is empty: send {"question": "..."}')
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON ({exc.msg} at column {exc.colno})") from None
