"""A local fake of Slack's Web API (records what users would see) and signed API Gateway events for handler tests."""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

EVENTS = Path(__file__).resolve().parent / "events"
SIGNING_SECRET = "test-signing-secret-8f2c"
BOT_TOKEN = "xoxb-test-token-5d1e"
BOT_USER = "UNEWSDESK"
BOT_ID = "BNEWSDESK"
TEAM = "T0NEWS"
MOTO = Path(sys.executable).parent / "moto_server"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class Call:
    method: str  # "chat.postMessage", or "response_url" for posts to a slash command's response_url
    params: dict[str, Any]
    authorization: str


class FakeSlack:
    """Slack's Web API on a free loopback port: checks the token and block limits, keeps thread messages."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/response/{name}"

    def add_message(self, channel: str, text: str, user: str = "UALICE", thread_ts: str | None = None) -> str:
        ts = self.next_ts()
        message = {"type": "message", "user": user, "text": text, "ts": ts}
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages.setdefault(channel, []).append(message)
        return ts

    def next_ts(self) -> str:
        return f"{1710000000 + next(self._ts)}.000100"

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def replies(self) -> list[dict[str, Any]]:
        """Everything posted to users: messages, ephemeral messages and response_url posts."""
        seen = {"chat.postMessage", "chat.postEphemeral", "response_url"}
        return [c.params for c in self.calls if c.method in seen]

    # -- the API --------------------------------------------------------------------
    def api(self, method: str, params: dict[str, Any], authorization: str) -> dict[str, Any]:
        with self._lock:
            self.calls.append(Call(method, params, authorization))
        if method != "response_url" and authorization != f"Bearer {BOT_TOKEN}":
            return {"ok": False, "error": "invalid_auth"}
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM, "user": "newsdesk", "url": ""}
        if method in {"chat.postMessage", "chat.postEphemeral", "response_url"}:
            problem = block_problem(params.get("blocks"))
            if problem or not (params.get("text") or params.get("blocks")):
                return {"ok": False, "error": "invalid_blocks", "detail": problem or "no text"}
            if method == "chat.postMessage":
                return {"ok": True, "channel": params["channel"], "ts": self._store_bot_message(params)}
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "conversations.replies":
            thread = [m for m in self.messages.get(str(params.get("channel")), [])
                      if params.get("ts") in (m["ts"], m.get("thread_ts"))]
            if not thread:
                return {"ok": False, "error": "thread_not_found"}
            return {"ok": True, "messages": sorted(thread, key=lambda m: float(m["ts"])), "has_more": False}
        return {"ok": False, "error": "unknown_method"}

    def _store_bot_message(self, params: dict[str, Any]) -> str:
        ts = self.next_ts()
        message = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "text": params.get("text", ""), "ts": ts}
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        self.messages.setdefault(str(params["channel"]), []).append(message)
        return ts

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode("utf-8")
                params: dict[str, Any] = dict(parse_qsl(parts.query))
                if raw and "json" in (self.headers.get("content-type") or ""):
                    params.update(json.loads(raw))
                elif raw:
                    params.update(parse_qsl(raw))
                if isinstance(params.get("blocks"), str):
                    params["blocks"] = json.loads(params["blocks"])
                auth = self.headers.get("authorization") or ""
                if parts.path.startswith("/response/"):
                    result = fake.api("response_url", params, auth)
                    self._send(200 if result["ok"] else 400, b"ok" if result["ok"] else result["error"].encode())
                    return
                result = fake.api(parts.path.removeprefix("/api/"), params, auth)
                self._send(200, json.dumps(result).encode(), "application/json")

            def _send(self, status: int, body: bytes, kind: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def block_problem(blocks: Any) -> str | None:
    """What real Slack would reject with invalid_blocks (the limits we rely on), or None."""
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > 50:
        return f"{len(blocks)} blocks, at most 50 allowed"
    for i, block in enumerate(blocks):
        texts = [block.get("text", {})] if block.get("type") == "section" else block.get("elements", [])
        if block.get("type") == "context" and len(texts) > 10:
            return f"block {i}: more than 10 context elements"
        for text in texts:
            if not 1 <= len(text.get("text", "")) <= 3000:
                return f"block {i}: text must be 1 to 3000 characters, got {len(text.get('text', ''))}"
    return None


# -- signed API Gateway events ------------------------------------------------------
def sign(body: str, timestamp: int | str, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def load_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"slack_{name}.json").read_text(encoding="utf-8"))
    return data


def events_body(name: str, **event_fields: Any) -> str:
    """An Events API envelope from tests/events/slack_NAME.json, with fields of its `event` replaced."""
    envelope = load_event(name)
    envelope.setdefault("event", {}).update(event_fields)
    return json.dumps(envelope)


def command_body(**fields: Any) -> str:
    """A /ask slash command (form-encoded, as Slack sends it) from tests/events/slack_command_ask.json."""
    return urlencode({**load_event("command_ask"), **fields})


def api_gateway_event(
    body: str,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
    secret: str = SIGNING_SECRET,
    headers: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event carrying `body`, signed like Slack signs it."""
    event = copy.deepcopy(load_event("apigw_http"))
    ts = int(time.time()) if timestamp is None else timestamp
    form = not body.lstrip().startswith("{")  # Events API bodies are JSON, slash commands are form-encoded
    event["headers"].update({
        "content-type": "application/x-www-form-urlencoded" if form else "application/json",
        "x-slack-request-timestamp": str(ts),
        "x-slack-signature": signature or sign(body, ts, secret),
        **(headers or {}),
    })
    for name in drop:
        event["headers"].pop(name, None)
    event["body"] = body
    event["requestContext"]["timeEpoch"] = ts * 1000
    return event


# -- moto's DynamoDB, for the seen-event table --------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's standalone server on a free loopback port; stopped on exit."""
    port = free_port()
    proc = subprocess.Popen([str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **AWS_ENV})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def create_seen_table(endpoint_url: str) -> str:
    """A fresh table shaped like the one in template.yaml: hash key event_id (S), TTL on expires_at."""
    import boto3

    name = f"seen-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}])
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
    return name
