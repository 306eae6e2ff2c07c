"""Local servers for tests: moto's standalone S3 and a real `chroma run`, each on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no answer from {url} within {seconds} s")


def start(command: list[str], ready_url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **FAKE_AWS})
    try:
        wait_for(ready_url, process)
    except RuntimeError:
        stop(process)
        raise RuntimeError(log.read_text()[-2000:]) from None
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto_server on 127.0.0.1 for the session; use with endpoint_url and the FAKE_AWS credentials."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    process = start([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                    f"http://127.0.0.1:{port}/moto-api/", log)
    yield f"http://127.0.0.1:{port}"
    stop(process)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` server with its data in a temporary folder."""
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-data")
    process = start([str(BIN / "chroma"), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                    f"http://127.0.0.1:{port}/api/v2/heartbeat", data.parent / "chroma.log")
    yield f"http://127.0.0.1:{port}"
    stop(process)
