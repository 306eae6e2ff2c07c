"""The store contract against the in-memory fake and real embedded Chroma, so the fake cannot drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.adapters.chroma_store import ChromaStore, connect
from newsdesk.adapters.memory_store import MemoryStore
from newsdesk.ports import VectorStore
from tests.store_contract import STORM, StoreContract, make_indexed, unit


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> VectorStore:
        return MemoryStore()


class TestEmbeddedChroma(StoreContract):
    """Without a folder: texts and sentence vectors in Chroma rows, as on a server."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> VectorStore:
        return ChromaStore(connect(path=tmp_path / "chroma"))


class TestEmbeddedChromaWithParts(StoreContract):
    """An embedded folder: texts and sentence vectors in part files beside Chroma's (newsdesk.index.article_parts)."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> VectorStore:
        store = ChromaStore(connect(path=tmp_path / "chroma"), folder=tmp_path / "chroma")
        assert store.compact
        return store


@pytest.mark.parametrize("parts", [False, True], ids=["rows", "parts"])
def test_chroma_index_survives_reopening(tmp_path: Path, parts: bool) -> None:
    path = tmp_path / "chroma"
    written = make_indexed("storm", STORM, unit(1))
    ChromaStore(connect(path=path), folder=path if parts else None).write(written)
    reopened = ChromaStore(connect(path=path), folder=path if parts else None)
    assert reopened.compact is parts
    assert reopened.version_of("storm") == "v1"
    assert reopened.articles(["storm"])["storm"] == (written.article, "v1")
    assert reopened.stats().sentences == len(STORM)
    assert [s.sentence.text for s in reopened.sentences({"storm": "v1"})] == STORM
