"""API Gateway HTTP API (payload 2.0) in and out: routes, errors to status codes, JSON bodies."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from newsdesk.api.gateway import Envelope, body_text, envelope, parse_json
from newsdesk.api.request_models import parse_query
from newsdesk.api.slack_events import check_slack_body
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
MAX_SLACK_BODY_BYTES = 1_000_000  # Slack's own payloads (message events with blocks) are far larger than a question
STATUS = {BadRequest: 400, NotFound: 404, MethodNotAllowed: 405, StoreUnavailable: 503, GeneratorError: 502, ConfigError: 500}
CORS = {"access-control-allow-origin": "*"}
INTERNAL = "something went wrong on our side while answering; retry, or report request id {id}"
# bolt's own error replies, rewritten as ours: (code, message)
SLACK_ERRORS = {
    401: ("bad_signature", "the request is not signed with this app's signing secret, or its timestamp is over five "
                           "minutes old: only Slack can call this endpoint (check SLACK_SIGNING_SECRET)"),
    404: ("not_found", "this is not a Slack request the app handles: it answers Events API callbacks and /ask"),
}


class SlackEntry(Protocol):
    """The Slack app's Lambda adapter (newsdesk.adapters.slack_app.SlackEntry)."""

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]: ...


def respond(status: int, body: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(body, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate echoed from a request: escape it rather than fail to send
        text = json.dumps(body)
    return {"statusCode": status, "headers": {"content-type": "application/json", **CORS}, "body": text}


def error_response(exc: NewsdeskError) -> dict[str, Any]:
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
    return _error(status, exc.code, str(exc))


def handle_chat(event: dict[str, Any], get_service: Callable[[], Service]) -> dict[str, Any]:
    """One API Gateway event in, one JSON response out: client mistakes are 4xx, never an exception."""
    started = time.perf_counter()
    request_id = _request_id(event)
    try:
        _route(envelope(event), "/chat", "POST your question to /chat")
        body = parse_json(body_text(event, MAX_BODY_BYTES))
        service = get_service()
        query = parse_query(body, service.config.citations, service.config.max_k, service.config.max_question_chars)
        answer = service.ask(query)
    except NewsdeskError as exc:
        log.info("request_id=%s status=error code=%s", request_id, exc.code)
        return error_response(exc)
    except Exception:  # a bug or an unexpected dependency failure: logged in full, never a traceback to the client
        log.exception("request_id=%s status=error code=internal_error", request_id)
        return _error(500, "internal_error", INTERNAL.format(id=request_id))
    log.info(
        "request_id=%s abstained=%s citations=%d ms=%.1f",
        request_id, answer.abstained, len(answer.citations), (time.perf_counter() - started) * 1000,
    )
    return respond(200, answer.to_dict())


def handle_slack(event: dict[str, Any], context: Any, get_entry: Callable[[], SlackEntry]) -> dict[str, Any]:
    """POST /slack/events: a well-formed event goes to the Slack app (which checks the signature), others get a 4xx."""
    request_id = _request_id(event)
    try:
        _route(envelope(event), "/slack/events", "Slack POSTs its events to /slack/events")
        raw = body_text(event, MAX_SLACK_BODY_BYTES)
        check_slack_body(raw, event.get("headers") or {})
        # A copy: bolt adds headers to what it gets, and re-invokes the function with it for lazy work.
        clean = {**event, "body": raw, "isBase64Encoded": False, "headers": dict(event.get("headers") or {})}
        response = get_entry().handle(clean, context)
        return _slack_reply(response)
    except NewsdeskError as exc:
        log.info("request_id=%s slack status=error code=%s", request_id, exc.code)
        return error_response(exc)
    except Exception:
        log.exception("request_id=%s slack status=error code=internal_error", request_id)
        return _error(500, "internal_error", INTERNAL.format(id=request_id))


def _route(request: Envelope, path: str, hint: str) -> None:
    """404 for another path, 405 for another method than POST."""
    given = path if request.route.endswith(" " + path) else request.path  # rawPath may carry a stage prefix
    if given.rstrip("/") != path:
        raise NotFound(f"no route {given[:100] or '(empty)'!r}: {hint}")
    if request.method != "POST":
        raise MethodNotAllowed(f"{request.method[:20] or 'this method'!r} is not allowed on {path}: use POST")


def _slack_reply(response: Any) -> dict[str, Any]:
    """bolt's response as it is, except that errors become our JSON errors."""
    status = response.get("statusCode") if isinstance(response, Mapping) else None
    if not isinstance(status, int):
        raise TypeError(f"the Slack app returned {type(response).__name__}, not a Lambda response")
    if status < 400:
        return dict(response)
    code, message = SLACK_ERRORS.get(status, ("bad_request" if status < 500 else "internal_error",
                                              f"the Slack app refused the request ({status})"))
    return _error(status, code, message)


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return respond(status, {"error": {"code": code, "message": message}})


def _request_id(event: object) -> str:
    context = event.get("requestContext") if isinstance(event, Mapping) else None
    value = context.get("requestId") if isinstance(context, Mapping) else None
    return value[:100] if isinstance(value, str) and value else "-"
