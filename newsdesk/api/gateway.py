"""API Gateway HTTP API (payload 2.0) events in: their shape checked, the body decoded and parsed, or BadRequest."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from newsdesk.errors import BadRequest


@dataclass(frozen=True)
class Envelope:
    """What routing needs from an event: no body yet, so a wrong route is refused before the body is read."""

    method: str
    path: str  # rawPath; may carry a stage prefix (/prod/chat)
    route: str  # routeKey, like "POST /chat" or "$default"
    request_id: str


def envelope(event: object) -> Envelope:
    """The event's method, path and route, or BadRequest naming the malformed part."""
    if not isinstance(event, Mapping):
        raise BadRequest("the event must be an API Gateway HTTP API event (a JSON object)")
    context = _object(event, "requestContext")
    http = _object(context, "http", "requestContext.http")
    _strings(event, "headers")
    for flag in ("isBase64Encoded",):
        if event.get(flag) is not None and not isinstance(event.get(flag), bool):
            raise BadRequest(f"malformed event: '{flag}' must be true or false")
    method = _text(http.get("method") or event.get("httpMethod") or context.get("httpMethod"), "requestContext.http.method")
    path = _text(event.get("rawPath") or http.get("path") or event.get("path"), "rawPath (the request path)")
    route = _text(event.get("routeKey"), "routeKey")
    return Envelope(method, path, route, _text(context.get("requestId"), "requestContext.requestId")[:100] or "-")


def json_only(event: Mapping[str, Any]) -> None:
    """BadRequest unless the event is plain JSON, as every Lambda event is (a value of another type was put there by
    a caller that did not come through API Gateway)."""
    try:
        json.dumps(event)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"malformed event: it must hold only JSON values ({exc})") from None


def body_text(event: Mapping[str, Any], max_bytes: int) -> str:
    """The request body as text (base64 decoded when flagged), within `max_bytes` of UTF-8."""
    raw = event.get("body")
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise BadRequest(f"malformed event: 'body' must be a string, not {type(raw).__name__}")
    if event.get("isBase64Encoded"):
        if len(raw) > max_bytes * 4 // 3 + 4:
            raise _too_large(max_bytes)
        try:
            raw = base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise BadRequest("the body is not valid base64-encoded UTF-8") from None
    try:
        size = len(raw.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate in a body string, which no HTTP client can send
        raise BadRequest("the body is not valid UTF-8 text") from None
    if size > max_bytes:
        raise _too_large(max_bytes)
    return raw.removeprefix("\ufeff")  # a byte order mark (some Windows clients) is not part of the JSON


def parse_json(raw: str) -> Any:
    """JSON text as Python values; every way it can be broken is a BadRequest that says how."""
    if not raw.strip():
        raise BadRequest('the body is empty: send {"question": "..."}')
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        # json's messages may end in "at" ("Unterminated string starting at"): the column completes them.
        raise BadRequest(f"the body is not valid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})") from None
    except RecursionError:
        raise BadRequest('the body is nested too deeply to be a request: send {"question": "..."}') from None
    except ValueError:  # Python's guard against quadratic int parsing: a number with over 4,300 digits
        raise BadRequest("a number in the body has too many digits: send 'k' as a small integer") from None


def _no_constant(name: str) -> Any:
    raise BadRequest(f"the body is not valid JSON: {name} is not a JSON number")


def _too_large(max_bytes: int) -> BadRequest:
    return BadRequest(f"the body is larger than {max_bytes} bytes: send one question, without attachments")


def _object(parent: Mapping[str, Any], key: str, name: str | None = None) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadRequest(f"malformed event: '{name or key}' must be an object, not {type(value).__name__}")
    return value


def _strings(parent: Mapping[str, Any], key: str) -> None:
    value = _object(parent, key)
    bad = next((k for k, v in value.items() if not isinstance(k, str) or not isinstance(v, str)), None)
    if bad is not None:
        raise BadRequest(f"malformed event: every header in '{key}' must be a string (see header {str(bad)[:40]!r})")


def _text(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"malformed event: '{name}' must be a string, not {type(value).__name__}")
    return value
