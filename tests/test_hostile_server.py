"""`newsdesk serve` at the socket level (issue 12, "Found" 8): every request gets a JSON reply, none is dropped or held."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from newsdesk.api.http import handle_chat
from newsdesk.api.local_server import make_server
from newsdesk.service import Service
from newsdesk.settings import DEFAULTS, Settings

pytestmark = pytest.mark.server
READ_TIMEOUT = 0.5  # seconds; the default is a setting (NEWSDESK_SERVE_READ_TIMEOUT_SECONDS)


@pytest.fixture
def server(loaded_fake_service: Service) -> Iterator[tuple[str, int]]:
    httpd = make_server("127.0.0.1", 0, lambda event, context: handle_chat(event, lambda: loaded_fake_service),
                        read_timeout=READ_TIMEOUT)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def exchange(server: tuple[str, int], raw: bytes, *, close_write: bool = True) -> bytes:
    """Send raw bytes, then read until the server closes; the client gives up only after 10 s."""
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(raw)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def parse(reply: bytes) -> tuple[int, dict[str, str], bytes]:
    assert reply, "the connection was dropped without a reply"
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1."), lines[0]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def json_error(reply: bytes, head_only: bool = False) -> tuple[int, dict[str, Any]]:
    status, headers, body = parse(reply)
    assert headers["content-type"] == "application/json", headers
    if head_only:
        assert body == b""
        return status, {}
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"} and error["message"]
    return status, error


@pytest.mark.parametrize("method", ["HEAD", "TRACE", "CONNECT", "PROPFIND", "FOO", "get", "post", "Post"])  # OPTIONS: 204
def test_every_method_gets_json(server: tuple[str, int], method: str) -> None:
    status, error = json_error(exchange(server, f"{method} /chat HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
                               head_only=method == "HEAD")
    assert status in {405, 501}
    if method != "HEAD":
        assert "POST" in error["message"]


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /chat\r\n\r\n",
        b"POST /chat HTTP/9.9\r\n\r\n",
        b"POST /chat HTTP/1.1 extra\r\n\r\n",
        b"\x00\x01\x02\xff\r\n\r\n",
        b"POST /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
        b"POST /chat HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n",
        b"POST /chat HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n",
        b"POST http://[::1/chat HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /chat HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST /chat HTTP/1.1\r\nContent-Length: 50\r\n\r\n{}",
        b"POST /chat HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n",
        b"POST /chat HTTP/1.1\r\nContent-Length: \xb2\xb3\r\n\r\n",
        b"POST /chat HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n{}{}",
        b"POST /chat HTTP/1.1\r\nContent-Length: 4\r\n\r\n\xff\xfe\xfd\xfc",
    ],
)
def test_malformed_requests_get_a_json_4xx(server: tuple[str, int], raw: bytes) -> None:
    status, error = json_error(exchange(server, raw))
    assert 400 <= status < 500 or status in {501, 505}, (status, error)


def test_a_slow_body_is_closed_with_408(server: tuple[str, int]) -> None:
    reply = exchange(server, b"POST /chat HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n{}", close_write=False)
    status, error = json_error(reply)
    assert status == 408 and error["code"] == "request_timeout"


def test_a_silent_client_is_closed_with_408(server: tuple[str, int]) -> None:
    status, error = json_error(exchange(server, b"POST /chat HTTP/1.1\r\nHost: x\r\n", close_write=False))
    assert status == 408


@pytest.mark.parametrize("raw", [b"", b"POST /ch"], ids=["nothing", "half a request line"])
def test_a_request_line_that_never_arrives_is_closed_with_408(server: tuple[str, int], raw: bytes,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    # The 408 was once answered before http.server had set `requestline`: an AttributeError traceback in the
    # server log and the connection dropped without a word.
    status, error = json_error(exchange(server, raw, close_write=False))
    assert status == 408 and error["code"] == "request_timeout"
    logged = capsys.readouterr().err
    assert "Traceback" not in logged and "AttributeError" not in logged, logged


def test_hostile_json_through_the_socket(server: tuple[str, int]) -> None:
    for body in (b'{"question":"\\ud800"}', b"[" * 5000 + b"]" * 5000, b'{"question":"x","k":' + b"9" * 5000 + b"}",
                 '{"question":"\ud800"}'.encode("utf-8", "surrogatepass")):
        raw = b"POST /chat HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        status, _ = json_error(exchange(server, raw))
        assert status == 400


def test_a_failing_chat_function_still_answers_json() -> None:
    def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    httpd = make_server("127.0.0.1", 0, broken)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        status, error = json_error(exchange(("127.0.0.1", httpd.server_address[1]), b"POST /chat HTTP/1.1\r\n\r\n"))
        assert status == 500 and error["code"] == "internal_error" and "boom" not in error["message"]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_binding_beyond_loopback_prints_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    for host, warned in (("127.0.0.1", False), ("0.0.0.0", True)):
        httpd = make_server(host, 0, lambda event, context: {"statusCode": 200, "body": ""})
        httpd.server_close()
        err = capsys.readouterr().err
        assert ("warning" in err and "0.0.0.0" in err) == warned, err


def test_the_read_timeout_is_a_setting() -> None:
    assert DEFAULTS.serve_read_timeout_seconds > 0
    assert Settings.from_env({"NEWSDESK_SERVE_READ_TIMEOUT_SECONDS": "2.5"}).serve_read_timeout_seconds == 2.5
