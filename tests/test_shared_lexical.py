"""A Chroma server's readers load the lexical index its writer shares, instead of reading every article each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from newsdesk.ingest.load import load_paths

from newsdesk.adapters.chroma_store import ARTICLES, CHUNKS, SENTENCES, ChromaStore, connect
from newsdesk.app import build_service
from newsdesk.index.lexical import LexicalIndex
from newsdesk.models import Article, Query
from newsdesk.service import Service
from newsdesk.settings import Settings
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.server
QUESTION = "How many homes lost power in the storm?"


@pytest.fixture
def settings(chroma_url: str, tmp_path: Path) -> Settings:
    client = connect(url=chroma_url)
    for name in (ARTICLES, CHUNKS, SENTENCES):
        if name in {getattr(c, "name", c) for c in client.list_collections()}:
            client.delete_collection(name)
    return Settings.from_env({}, chroma_url=chroma_url, shared_dir=tmp_path / "shared", embedder="hash",
                             abstain_threshold=0.0, revision_check_seconds=0.0)


def count_reads(service: Service) -> list[int]:
    """Counts the articles the service's store lists from now on (what building a lexical index reads)."""
    read: list[int] = []
    real = service.store.iter_articles

    def counting() -> Iterator[tuple[Article, str]]:
        for row in real():
            read.append(1)
            yield row

    service.store.iter_articles = counting  # type: ignore[method-assign]
    return read


def test_a_new_reader_loads_what_the_writer_shared(settings: Settings) -> None:
    writer = build_service(settings)
    assert writer.ingest(load_paths([str(EXAMPLES)])).failed == 0
    store: Any = writer.store
    folder = store.cache_dir()
    assert LexicalIndex.saved_revision(folder) == store.revision()

    reader = build_service(settings)  # a new process
    read = count_reads(reader)
    answer = reader.ask(Query(QUESTION))
    assert any("homes" in c.sentence for c in answer.citations)
    assert read == []  # no article was read to build a lexical index
    assert reader.lexical_index().size == writer.lexical_index().size


def test_readers_follow_each_write_and_build_only_when_nothing_was_shared(settings: Settings) -> None:
    first = sorted(EXAMPLES.iterdir())
    writer = build_service(settings)
    writer.ingest(load_paths([str(first[0])]))
    reader = build_service(settings)
    before = reader.lexical_index().size
    writer.ingest(load_paths([str(p) for p in first[1:]]))
    read = count_reads(reader)
    assert reader.lexical_index().size > before and read == []  # the writer's new index, loaded

    alone = build_service(Settings.from_env({}, chroma_url=settings.chroma_url, embedder="hash",
                                            shared_dir=settings.shared_dir.parent / "elsewhere"))  # type: ignore[union-attr]
    read = count_reads(alone)
    assert alone.lexical_index().size == reader.lexical_index().size and len(read) == alone.stats().articles
    again = build_service(Settings.from_env({}, chroma_url=settings.chroma_url, embedder="hash",
                                            shared_dir=settings.shared_dir.parent / "elsewhere"))  # type: ignore[union-attr]
    read = count_reads(again)
    again.lexical_index()
    assert read == []  # the first reader there shared what it built


def test_the_folder_is_per_index(settings: Settings) -> None:
    one: Any = ChromaStore(connect(url=settings.chroma_url), shared=settings.shared_dir)
    folder = one.cache_dir()
    connect(url=settings.chroma_url).delete_collection(ARTICLES)
    two: Any = ChromaStore(connect(url=settings.chroma_url), shared=settings.shared_dir)
    assert two.cache_dir() != folder and two.cache_dir().parent == folder.parent
