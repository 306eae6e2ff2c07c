"""The lexical index is saved beside an embedded index, so a new process loads it instead of rebuilding."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from newsdesk.ingest.load import load_paths
from newsdesk.ingest.pipeline import ChunkConfig

from newsdesk.adapters.chroma_store import ChromaStore, connect
from newsdesk.adapters.hash_embedder import HashEmbedder
from newsdesk.index.lexical import CACHE_FILE, LexicalIndex
from newsdesk.models import Query
from newsdesk.service import AnswerConfig, Service
from tests.conftest import EXAMPLES

QUESTION = "How much did the library renovation cost?"


def service_on(folder: Path) -> Service:
    store = ChromaStore(connect(path=folder), folder=folder)
    return Service(HashEmbedder(), store, AnswerConfig(abstain_threshold=0.0), ChunkConfig(3, 1))


def test_a_new_process_loads_the_saved_index_and_answers_the_same(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    writer = service_on(tmp_path)
    writer.ingest(load_paths([str(EXAMPLES)]))
    assert (tmp_path / CACHE_FILE).exists()
    expected = writer.ask(Query(QUESTION))

    caplog.set_level(logging.INFO, logger="newsdesk.index.derived")
    caplog.clear()
    reader = service_on(tmp_path)
    answer = reader.ask(Query(QUESTION))
    assert "lexical index loaded articles=6" in caplog.text and "lexical index built" not in caplog.text
    assert [c.sentence for c in answer.citations] == [c.sentence for c in expected.citations]


def test_a_saved_index_for_another_revision_is_not_used(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    writer = service_on(tmp_path)
    writer.ingest(load_paths([str(EXAMPLES)]))
    revision = writer.store.revision()
    assert LexicalIndex.load(tmp_path, revision) is not None
    assert LexicalIndex.load(tmp_path, "another-revision") is None

    writer.delete("regional-wire-ferry-2024-03-08")  # a write saves a new index for the new revision
    caplog.set_level(logging.INFO, logger="newsdesk.index.derived")
    caplog.clear()
    reader = service_on(tmp_path)
    reader.ask(Query(QUESTION))
    assert "lexical index loaded articles=5" in caplog.text


def test_a_corrupt_saved_index_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    service_on(tmp_path).ingest(load_paths([str(EXAMPLES)]))
    (tmp_path / CACHE_FILE).write_bytes(b"not a pickle")
    caplog.set_level(logging.INFO, logger="newsdesk.index.derived")
    caplog.clear()
    answer = service_on(tmp_path).ask(Query(QUESTION))
    assert "lexical index built articles=6" in caplog.text and answer.citations
