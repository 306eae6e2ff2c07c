"""`newsdesk serve`: real HTTP on a free loopback port, through the Lambda handler's code path."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import handler
from newsdesk.api.local_server import make_server

pytestmark = pytest.mark.server


@pytest.fixture
def server(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The service is built on the first request that needs it, from NEWSDESK_* at that moment."""
    clean_env.setenv("NEWSDESK_STORE", str(tmp_path / "empty"))
    httpd = make_server("127.0.0.1", 0, handler.chat)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def request(server: tuple[str, int], method: str, path: str, body: str | None = None) -> tuple[int, dict[str, Any], str]:
    conn = http.client.HTTPConnection(*server, timeout=60)
    try:
        headers = {"content-type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body.encode("utf-8") if body is not None else None, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read()), response.getheader("content-type") or ""
    finally:
        conn.close()


@pytest.mark.model
def test_post_chat_end_to_end(server: tuple[str, int], clean_env: pytest.MonkeyPatch, examples_store: Path) -> None:
    clean_env.setenv("NEWSDESK_STORE", str(examples_store))
    question = json.dumps({"question": "How much did the library renovation cost?"})
    status, body, content_type = request(server, "POST", "/chat", question)
    assert status == 200 and content_type == "application/json"
    assert body["abstained"] is False
    first = body["citations"][0]
    assert "$6.8 million" in first["sentence"] and first["outlet"] == "Port Alder Radio"
    assert f"{first['sentence']} [1]" in body["answer"]

    status, body, _ = request(server, "POST", "/chat", json.dumps({"question": ""}))
    assert status == 400 and body["error"]["code"] == "bad_request"
    status, body, _ = request(server, "POST", "/chat", "{oops")
    assert status == 400 and "not valid JSON" in body["error"]["message"]


def test_unknown_route_and_wrong_method(server: tuple[str, int]) -> None:
    status, body, _ = request(server, "POST", "/nope", json.dumps({"question": "hi"}))
    assert status == 404 and body["error"]["code"] == "not_found"
    for method in ("GET", "PUT", "DELETE"):
        status, body, _ = request(server, method, "/chat")
        assert status == 405 and body["error"]["code"] == "method_not_allowed"


def raw_request(server: tuple[str, int], head: str) -> str:
    with socket.create_connection(server, timeout=5) as sock:
        sock.sendall(head.encode("ascii"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8")


@pytest.mark.parametrize(
    ("length", "status"), [("-5", "400"), ("ten", "400"), ("100000", "413")],
)
def test_bad_content_length_gets_a_prompt_error(server: tuple[str, int], length: str, status: str) -> None:
    reply = raw_request(server, f"POST /chat HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n")
    assert reply.startswith(f"HTTP/1.0 {status} ")
    assert '"error"' in reply
