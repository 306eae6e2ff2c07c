"""Shared fixtures: no network in tests, a fake service, and the sample articles."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from newsdesk.ingest.pipeline import ChunkConfig

from newsdesk.adapters.hash_embedder import HashEmbedder
from newsdesk.adapters.memory_store import MemoryStore
from newsdesk.service import AnswerConfig, Service

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "articles"
EVENTS = Path(__file__).resolve().parent / "events"

pytest_plugins = ["tests.moto_fixtures"]  # moto_url, chroma_url, aws_env: local servers for server tests

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and (host in {"localhost", "::1"} or host.startswith("127.")) or self.family == socket.AF_UNIX:
        return _real_connect(self, address)
    raise OSError(f"network access blocked in tests: {address!r}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The reliability suite's counts (tests/reliability_counts.py): cases tried and how each ended."""
    from tests.reliability_counts import summary_lines

    lines = summary_lines()
    if lines:
        terminalreporter.write_sep("-", "reliability counts")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may talk to servers they start on loopback, nothing else."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def fake_service() -> Service:
    """The real service logic over a hash embedder and an in-memory store; abstention off."""
    return Service(HashEmbedder(), MemoryStore(), AnswerConfig(abstain_threshold=0.0), ChunkConfig(3, 1))


@pytest.fixture
def loaded_fake_service(fake_service: Service) -> Service:
    from newsdesk.ingest.load import load_paths

    report = fake_service.ingest(load_paths([str(EXAMPLES)]))
    assert report.failed == 0, report.errors
    return fake_service


@pytest.fixture(scope="session")
def real_embedder() -> Any:
    """The default encoder (the shipped fine-tuned model), loaded once per test session (the first load takes ~8 s)."""
    from newsdesk.adapters.encoders import encoder_model
    from newsdesk.adapters.st_embedder import SentenceTransformerEmbedder
    from newsdesk.settings import DEFAULTS

    return SentenceTransformerEmbedder(encoder_model(DEFAULTS.model))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """No NEWSDESK_* variables from the caller's shell, and a fresh cached service before and after.

    The ONNX export is looked for in an empty folder, so the default (auto) embedder is sentence-transformers
    whatever this machine's ~/.cache holds: an export there would make the CLI index with other vectors than
    the fixtures (re-indexing the shared sample store).
    """
    import os

    from newsdesk.app import service_from_env

    for name in list(os.environ):
        if name.startswith("NEWSDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NEWSDESK_ONNX_DIR", str(tmp_path / "no-onnx-export"))
    service_from_env.cache_clear()
    yield monkeypatch
    service_from_env.cache_clear()


@pytest.fixture(scope="session")
def examples_store(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Path:
    """An embedded-Chroma index of the sample articles (real model, default settings), shared: do not modify it."""
    from newsdesk.ingest.load import load_paths

    from newsdesk.adapters.chroma_store import ChromaStore, connect

    path = tmp_path_factory.mktemp("examples") / "index"
    service = Service(real_embedder, ChromaStore(connect(path=path)))
    report = service.ingest(load_paths([str(EXAMPLES)]))
    assert report.failed == 0, report.errors
    return path
