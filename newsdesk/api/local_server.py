"""`newsdesk serve`: a local HTTP server that turns requests into API Gateway 2.0 events for handler.chat's routes."""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import sys
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from newsdesk.settings import DEFAULTS

MAX_REQUEST_BYTES = 65_536
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT")
log = logging.getLogger(__name__)


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
    """Every request gets one JSON reply, whatever arrives: never Python's HTML error page or a silent close."""

    chat: Chat
    read_timeout: float = DEFAULTS.serve_read_timeout_seconds
    default_request_version = "HTTP/1.0"  # so even a garbled request line gets a status line and headers
    _replied = False

    def handle_one_request(self) -> None:
        self._replied = False
        # What http.server sets only once a request line is parsed, and reads again when it replies (the 408 below
        # can come before any line arrived): a reply must never depend on how far the request got.
        self.requestline, self.request_version, self.command = "", self.default_request_version, ""
        try:
            self.raw_requestline = self.rfile.readline(MAX_REQUEST_BYTES + 1)
            if not self.raw_requestline:  # the client closed without a request: nobody to answer
                self.close_connection = True
                return
            if len(self.raw_requestline) > MAX_REQUEST_BYTES:
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG, "the request line is too long")
                return
            if not self.parse_request():
                if not self._replied:  # a blank request line: parse_request gives up without a word
                    self.send_error(HTTPStatus.BAD_REQUEST, "the request line is empty")
                return
            if self.command not in METHODS:
                self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"method {self.command[:20]!r} is not supported: "
                                                            "POST /chat (methods are upper case)")
                return
            self._serve()
        except TimeoutError:
            self._reply(_error(408, "request_timeout", f"the request did not arrive within {self.read_timeout:g} s: "
                                                       "send the headers and the whole body at once"))
        except ConnectionError:
            pass  # the client went away: nobody to answer
        finally:
            self.close_connection = True

    def finish(self) -> None:
        """Close gently: a client still sending (a body we refused) would get a reset that can destroy our reply
        in flight, so stop writing, then read and drop what it still sends, briefly, before closing."""
        super().finish()
        try:
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + min(1.0, self.read_timeout)
            drained = 0
            while drained < 4 * MAX_REQUEST_BYTES and (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                chunk = self.connection.recv(65_536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass

    def _serve(self) -> None:
        if self.headers.get("transfer-encoding"):
            self._reply(_error(501, "not_implemented", "chunked bodies are not supported: send a Content-Length"))
            return
        lengths = {value.strip() for value in self.headers.get_all("content-length") or []}
        raw_length = lengths.pop() if len(lengths) == 1 else ("0" if not lengths else "several values")
        if not (raw_length.isascii() and raw_length.isdigit()):  # a negative read would block until EOF
            self._reply(_error(400, "bad_request", f"bad content-length {raw_length[:20]!r}: send the body's size in bytes"))
            return
        length = int(raw_length)
        if length > MAX_REQUEST_BYTES:
            self._reply(_error(413, "too_large", f"request too large: at most {MAX_REQUEST_BYTES} bytes"))
            return
        body = self._read_body(length)
        if len(body) < length:
            self._reply(_error(400, "bad_request", f"the body ended after {len(body)} of {length} bytes: "
                                                   "send a content-length that matches the body"))
            return
        try:
            event = to_event(self.command, self.path, dict(self.headers.items()), body)
        except ValueError:
            self._reply(_error(400, "bad_request", "the request target is not a valid URL path: POST to /chat"))
            return
        try:
            response = self.chat(event, None)
        except Exception:  # a bug in the chat function: logged and answered; the server keeps serving
            log.exception("newsdesk serve: request failed")
            response = _error(500, "internal_error", "something went wrong on our side; the server log has details")
        self._reply(response)

    def _read_body(self, length: int) -> bytes:
        """The body within one deadline for all of it, so a client that trickles bytes cannot hold a thread."""
        deadline = time.monotonic() + self.read_timeout
        chunks: list[bytes] = []
        missing = length
        while missing > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.connection.settimeout(left)
            chunk = self.rfile.read1(missing)
            if not chunk:
                break
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, headers too long...) as our JSON, not its HTML page."""
        short, _ = self.responses.get(code, ("Error", ""))
        name = short.lower().replace(" ", "_").replace("-", "_")
        text = message or short
        if code == HTTPStatus.BAD_REQUEST:
            text = f"{text}: send 'POST /chat HTTP/1.1' with a JSON body"
        self._reply(_error(int(code), name, text))

    def _reply(self, response: dict[str, Any]) -> None:
        payload = str(response.get("body", "")).encode("utf-8", "replace")
        self._replied = True
        try:
            self.send_response(int(response["statusCode"]))
            for key, value in (response.get("headers") or {}).items():
                self.send_header(key, value)
            self.send_header("content-length", str(len(payload)))
            self.send_header("connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client went away: nobody to answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: http.server's own access lines are plain text on stderr
        return


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps({"error": {"code": code, "message": message}})}


def make_server(host: str, port: int, chat: Chat, read_timeout: float = DEFAULTS.serve_read_timeout_seconds,
                ) -> ThreadingHTTPServer:
    """A threaded HTTP server on (host, port) that answers every request through `chat`.

    It is for trying Newsdesk on one machine: bound beyond loopback, it says so on stderr."""
    if not _is_loopback(host):
        print(f"warning: serving on {host}, beyond this machine: `newsdesk serve` is a local test server "
              "(no TLS, no auth); deploy the API Gateway stack to serve others", file=sys.stderr)
    # `timeout` bounds each read of the request line and headers; the body has one deadline (`read_timeout`).
    attributes = {"chat": staticmethod(chat), "timeout": read_timeout, "read_timeout": read_timeout}
    handler_class = type("Handler", (_Handler,), attributes)
    return ThreadingHTTPServer((host, port), handler_class)


def serve_forever(host: str, port: int, chat: Chat, read_timeout: float = DEFAULTS.serve_read_timeout_seconds,
                  on_ready: Callable[[int], None] | None = None) -> None:
    """Serve until interrupted (Ctrl-C); `on_ready` gets the bound port, so "serving" is never said early."""
    server = make_server(host, port, chat, read_timeout)
    if on_ready is not None:
        on_ready(server.server_address[1])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False
