"""`newsdesk serve`: a local HTTP server that turns requests into API Gateway 2.0 events for handler.chat."""

from __future__ import annotations

import json
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

MAX_REQUEST_BYTES = 65_536


def to_event(method: str, target: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    parts = urlsplit(target)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {"requestId": uuid.uuid4().hex, "http": {"method": method, "path": parts.path}},
        "body": body.decode("utf-8", errors="replace"),
        "isBase64Encoded": False,
    }


# An API Gateway 2.0 event in, a Lambda proxy response out: handler.chat.
Chat = Callable[[dict[str, Any], Any], dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    chat: Chat

    def _serve(self) -> None:
        raw_length = self.headers.get("content-length") or "0"
        length = int(raw_length) if raw_length.isdigit() else -1  # a negative read would block until EOF
        if length < 0:
            self._reply(_error(400, "bad_request", f"bad content-length {raw_length!r}"))
            return
        if length > MAX_REQUEST_BYTES:
            self._reply(_error(413, "too_large", "request too large"))
            return
        body = self.rfile.read(length) if length else b""
        event = to_event(self.command, self.path, dict(self.headers.items()), body)
        self._reply(self.chat(event, None))

    def _reply(self, response: dict[str, Any]) -> None:
        payload = str(response.get("body", "")).encode("utf-8")
        self.send_response(int(response["statusCode"]))
        for key, value in (response.get("headers") or {}).items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet; handler logs requests
        return


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps({"error": {"code": code, "message": message}})}


def make_server(host: str, port: int, chat: Chat) -> ThreadingHTTPServer:
    """A threaded HTTP server on (host, port) that answers every request through `chat`."""
    handler_class = type("Handler", (_Handler,), {"chat": staticmethod(chat)})
    return ThreadingHTTPServer((host, port), handler_class)


def serve_forever(host: str, port: int, chat: Chat) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = make_server(host, port, chat)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
