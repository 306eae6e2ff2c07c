"""NEWSDESK_CHROMA_URL mode: the store contract against a real `chroma run` server, and the service end to end."""

from __future__ import annotations

from typing import Any

import pytest

from newsdesk.adapters.chroma_store import ARTICLES, CHUNKS, SENTENCES, ChromaStore, connect
from newsdesk.app import build_service
from newsdesk.models import Query
from newsdesk.settings import Settings
from tests.conftest import EXAMPLES
from tests.store_contract import StoreContract

pytestmark = pytest.mark.server


def _empty_client(url: str) -> Any:
    client = connect(url=url)
    for name in (ARTICLES, CHUNKS, SENTENCES):
        if name in {c.name if hasattr(c, "name") else c for c in client.list_collections()}:
            client.delete_collection(name)
    return client


class TestChromaServerStore(StoreContract):
    @pytest.fixture
    def store(self, chroma_url: str) -> ChromaStore:
        return ChromaStore(_empty_client(chroma_url))


def test_ingest_and_ask_through_the_server(chroma_url: str) -> None:
    from newsdesk.ingest.load import load_paths

    _empty_client(chroma_url)
    settings = Settings.from_env({}, chroma_url=chroma_url, embedder="hash", abstain_threshold=0.0)
    service = build_service(settings)
    report = service.ingest(load_paths([str(EXAMPLES)]))
    assert report.failed == 0 and report.added >= 5

    # A second service (another process in real life) sees the same index through the server.
    again = build_service(settings)
    assert again.stats().articles == service.stats().articles
    assert again.ingest(load_paths([str(EXAMPLES)])).unchanged == report.added
    answer = again.ask(Query("How many homes lost power in the storm?"))
    assert answer.citations
    assert any("homes" in c.sentence for c in answer.citations)
