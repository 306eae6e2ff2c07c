"""Sentence vectors copied beside an embedded index made before part files (its vectors are Chroma rows): evidence
without a store round trip, never stale. An index with part files keeps them there, once (test_article_parts.py)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
from newsdesk.ingest.load import load_paths
from newsdesk.ingest.pipeline import ChunkConfig

from newsdesk.adapters.chroma_store import ChromaStore, connect
from newsdesk.adapters.hash_embedder import HashEmbedder
from newsdesk.adapters.memory_store import MemoryStore
from newsdesk.index.sentence_vectors import INDEX_FILE, SentenceVectors
from newsdesk.models import Article, Query, StoredSentence
from newsdesk.service import AnswerConfig, Service
from tests.conftest import EXAMPLES

QUESTION = "How many homes lost power in the storm?"


class CountingStore(MemoryStore):
    """The memory store, counting which article versions `sentences` was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def sentences(self, versions: Mapping[str, str]) -> list[StoredSentence]:
        self.asked.extend(versions)
        return super().sentences(versions)


def memory_service() -> tuple[Service, CountingStore]:
    store = CountingStore()
    service = Service(HashEmbedder(), store, AnswerConfig(abstain_threshold=0.0), ChunkConfig(3, 1))
    service.ingest(load_paths([str(EXAMPLES)]))
    return service, store


def chroma_service(folder: Path) -> Service:
    store = ChromaStore(connect(path=folder), folder=folder)
    return Service(HashEmbedder(), store, AnswerConfig(abstain_threshold=0.0), ChunkConfig(3, 1))


def legacy_index(folder: Path) -> None:
    """An embedded folder as Newsdesk wrote it before part files: texts and sentence vectors in Chroma rows (one
    article of the examples, written by a store without a folder)."""
    first = sorted(EXAMPLES.iterdir())[0]
    store = ChromaStore(connect(path=folder))
    Service(HashEmbedder(), store, chunking=ChunkConfig(3, 1)).ingest(load_paths([str(first)]))
    assert not ChromaStore(connect(path=folder), folder=folder).compact


def count_fetches(service: Service) -> list[str]:
    """The article ids the service asks its store for sentences of, from now on."""
    fetched: list[str] = []
    real = service.store.sentences

    def counting(versions: Mapping[str, str]) -> list[StoredSentence]:
        fetched.extend(versions)
        return real(versions)

    service.store.sentences = counting  # type: ignore[method-assign]
    return fetched


def same(a: list[StoredSentence], b: list[StoredSentence]) -> None:
    assert [(s.sentence, s.version) for s in a] == [(s.sentence, s.version) for s in b]
    assert np.array_equal(np.stack([s.vector for s in a]), np.stack([s.vector for s in b]))


def test_built_vectors_give_the_stores_sentences_exactly() -> None:
    _, store = memory_service()
    articles = list(store.iter_articles())
    vectors = SentenceVectors.build(store, articles, "r1")
    for article, version in articles:
        got = vectors.get(article, version)
        assert got is not None
        same(got, store.sentences({article.id: version}))
        for s in got:  # the quoted text is the article's own text at the offsets
            assert article.text[s.sentence.start : s.sentence.end] == s.sentence.text


def test_a_version_the_file_does_not_hold_is_none_not_a_wrong_answer() -> None:
    _, store = memory_service()
    article, version = next(iter(store.iter_articles()))
    vectors = SentenceVectors.build(store, [(article, version)], "r1")
    assert vectors.get(article, "another-version") is None
    assert vectors.get(Article("unknown", "Some text."), version) is None


def test_a_rebuild_fetches_only_versions_it_does_not_hold() -> None:
    _, store = memory_service()
    articles = list(store.iter_articles())
    first = SentenceVectors.build(store, articles[:4], "r1")
    store.asked.clear()
    second = SentenceVectors.build(store, articles, "r2", previous=first)
    assert sorted(store.asked) == sorted(a.id for a, _ in articles[4:])
    for article, version in articles:
        same(second.get(article, version) or [], store.sentences({article.id: version}))


def test_saved_vectors_load_back_memory_mapped(tmp_path: Path) -> None:
    _, store = memory_service()
    articles = list(store.iter_articles())
    SentenceVectors.build(store, articles, "r1").save(tmp_path)
    SentenceVectors.build(store, articles, "r2").save(tmp_path)  # replaces the first files
    assert len(list(tmp_path.glob("newsdesk-sentences-*.vectors.npy"))) == 1
    assert len(list(tmp_path.glob("newsdesk-sentences-*.spans.npy"))) == 1
    loaded = SentenceVectors.load(tmp_path)
    assert loaded is not None and loaded.revision == "r2"
    article, version = articles[0]
    same(loaded.get(article, version) or [], store.sentences({article.id: version}))
    assert SentenceVectors.load(tmp_path / "elsewhere") is None
    (tmp_path / INDEX_FILE).write_bytes(b"not a pickle")
    assert SentenceVectors.load(tmp_path) is None


def test_ingest_saves_them_and_a_new_process_answers_the_same_without_the_store(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    legacy_index(tmp_path)
    writer = chroma_service(tmp_path)
    writer.ingest(load_paths([str(EXAMPLES)]))
    assert (tmp_path / INDEX_FILE).exists()
    expected = writer.ask(Query(QUESTION))

    reader = chroma_service(tmp_path)
    fetched = count_fetches(reader)
    answer = reader.ask(Query(QUESTION))
    assert fetched == []  # every evidence sentence came from the file
    assert [(c.article_id, c.start, c.sentence) for c in answer.citations] == \
        [(c.article_id, c.start, c.sentence) for c in expected.citations]


def test_an_article_changed_after_the_file_was_loaded_is_read_from_the_store(tmp_path: Path) -> None:
    legacy_index(tmp_path)
    chroma_service(tmp_path).ingest(load_paths([str(EXAMPLES)]))
    reader = chroma_service(tmp_path)
    reader.ask(Query(QUESTION))  # loads the file as it is now
    loaded = reader.derived.vectors
    assert loaded is not None

    writer = chroma_service(tmp_path)  # another process changes the storm story
    storm = next(a for a, _ in writer.store.iter_articles() if a.title == "Storm cuts power across the harbor district")
    writer.ingest([Article(storm.id, "A storm knocked out the harbor lights. Crews restored power to 4,000 homes by noon.",
                           title=storm.title, url=storm.url, outlet=storm.outlet, published_at=storm.published_at)])

    fetched = count_fetches(reader)
    answer = reader.ask(Query("How many homes had power restored by crews by noon?"))
    assert fetched == [storm.id]  # only the changed story, whose new version the file does not hold
    assert reader.derived.vectors is loaded  # inside the revision check interval: still the older file
    quoted = [c for c in answer.citations if c.article_id == storm.id]
    assert quoted and all(c.sentence in writer.store.articles([storm.id])[storm.id][0].text for c in quoted)
    assert any("4,000 homes" in c.sentence for c in quoted)


def test_a_save_deletes_the_older_pickle_format_and_files_that_do_not_fit_are_not_used(tmp_path: Path) -> None:
    _, store = memory_service()
    articles = list(store.iter_articles())
    (tmp_path / "newsdesk-sentences.pkl").write_bytes(b"left by an older Newsdesk")
    (tmp_path / "newsdesk-sentences-0123456789ab.npy").write_bytes(b"its vectors")
    SentenceVectors.build(store, articles, "r1").save(tmp_path)
    assert not (tmp_path / "newsdesk-sentences.pkl").exists()
    assert not (tmp_path / "newsdesk-sentences-0123456789ab.npy").exists()
    assert SentenceVectors.load(tmp_path) is not None

    (spans,) = tmp_path.glob("newsdesk-sentences-*.spans.npy")
    np.save(spans, np.zeros((2, 3), np.int64))  # fewer spans than vectors
    assert SentenceVectors.load(tmp_path) is None
    (vectors,) = tmp_path.glob("newsdesk-sentences-*.vectors.npy")
    np.save(vectors, np.zeros((2, 4), np.float64))  # as many rows, but not float32
    assert SentenceVectors.load(tmp_path) is None
