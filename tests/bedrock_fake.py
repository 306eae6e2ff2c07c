"""A local Bedrock Runtime: `POST /model/{modelId}/converse` with scripted replies, statuses and delays."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

CONVERSE = re.compile(r"^/model/(?P<model>[^/]+)/converse$")
SOURCE_LINE = re.compile(r'^\[(S\d+)\] \((.*?), (.*?)\) "(.*)"$', re.M)
MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"


@dataclass(frozen=True)
class Reply:
    """One scripted response: assistant text, or an error status, or a raw body; optionally late."""

    text: str | None = None
    status: int = 200
    error_type: str | None = None
    raw: bytes | None = None
    delay: float = 0.0
    input_tokens: int = 900
    output_tokens: int = 60

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.status != 200:
            return json.dumps({"message": f"scripted {self.error_type or self.status}"}).encode()
        return json.dumps({
            "output": {"message": {"role": "assistant", "content": [{"text": self.text or ""}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": self.input_tokens, "outputTokens": self.output_tokens,
                      "totalTokens": self.input_tokens + self.output_tokens},
            "metrics": {"latencyMs": 42},
        }).encode()


@dataclass(frozen=True)
class Call:
    """What the client sent: the model id from the path and the JSON body."""

    model_id: str
    body: dict[str, Any]

    @property
    def user_text(self) -> str:
        return "\n".join(block["text"] for m in self.body["messages"] for block in m["content"] if "text" in block)

    @property
    def system_text(self) -> str:
        return "\n".join(block["text"] for block in self.body.get("system", []) if "text" in block)

    def sources(self) -> dict[str, str]:
        """Label -> quoted sentence, as the prompt presented them."""
        return {m.group(1): m.group(4) for m in SOURCE_LINE.finditer(self.user_text)}

    def label_of(self, fragment: str) -> str:
        return next(label for label, sentence in self.sources().items() if fragment in sentence)


Script = Callable[[Call], Reply]


class FakeBedrock:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.script: Script = lambda call: Reply(text="")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reply(self, script: Script | Reply) -> None:
        self.script = script if callable(script) else (lambda call: script)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                match = CONVERSE.match(self.path)
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                if not match:
                    self._send(404, b'{"message": "unknown operation"}', "UnknownOperationException")
                    return
                call = Call(unquote(match.group("model")), json.loads(raw))
                fake.calls.append(call)
                reply = fake.script(call)
                time.sleep(reply.delay)
                self._send(reply.status, reply.body(), reply.error_type)

            def _send(self, status: int, body: bytes, error_type: str | None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    if error_type:
                        self.send_header("x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/coral/")
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> FakeBedrock:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running() -> Iterator[FakeBedrock]:
    fake = FakeBedrock().start()
    try:
        yield fake
    finally:
        fake.stop()


def aws_test_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Static fake credentials so botocore signs requests without looking anywhere else."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
