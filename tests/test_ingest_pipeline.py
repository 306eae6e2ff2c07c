"""The ingest pipeline: chunk vectors, batches, the writer thread, bounded memory and Ctrl-C."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from newsdesk.ingest.load import Loaded
from newsdesk.ingest.pipeline import ChunkConfig, Ingestor

from newsdesk.adapters.hash_embedder import HashEmbedder
from newsdesk.adapters.memory_store import MemoryStore
from newsdesk.errors import ArticleError, StoreUnavailable
from newsdesk.models import Article, IndexedArticle, Matrix


def article(i: int, title: str | None = None, sentences: int = 7) -> Article:
    text = " ".join(f"Story {i} sentence {j} tells of harbor {i * 7 + j} and ferry {j}." for j in range(sentences))
    return Article(id=f"a{i}", text=text, title=title)


class RecordingEmbedder(HashEmbedder):
    """The hash embedder, remembering what each call was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> Matrix:
        self.calls.append(list(texts))
        return super().embed(texts)


def test_chunk_vectors_are_the_mean_direction_of_their_sentences_and_title() -> None:
    store, embedder = MemoryStore(), HashEmbedder()
    report = Ingestor(embedder, store, ChunkConfig(3, 1)).run([article(1, "Ferry news"), article(2)])
    assert report.added == 2 and report.failed == 0
    for article_id, title in (("a1", "Ferry news"), ("a2", None)):
        stored: IndexedArticle = store._items[article_id]
        assert np.allclose(stored.sentence_vectors, embedder.embed([s.text for s in stored.sentences]))
        first = {s.start: s.index for s in stored.sentences}
        for chunk, vector in zip(stored.chunks, stored.chunk_vectors, strict=True):
            members = stored.sentence_vectors[first[chunk.start] : first[chunk.start] + len(chunk.sentence_spans)]
            parts = np.concatenate([members, embedder.embed([title])]) if title else members
            expected = parts.mean(axis=0) / np.linalg.norm(parts.mean(axis=0))
            assert np.allclose(vector, expected, atol=1e-6)
        assert np.isclose(np.linalg.norm(stored.article_vector), 1.0)


def test_encoded_chunks_are_embedded_with_their_title() -> None:
    embedder = RecordingEmbedder()
    store = MemoryStore()
    Ingestor(embedder, store, ChunkConfig(3, 1, chunk_vectors="encoded")).run([article(1, "Ferry news")])
    stored = store._items["a1"]
    [texts] = embedder.calls
    assert texts == [s.text for s in stored.sentences] + [f"Ferry news\n{c.text}" for c in stored.chunks]
    assert np.allclose(stored.chunk_vectors, HashEmbedder().embed(texts[len(stored.sentences) :]))


def test_the_sentence_mean_embeds_each_sentence_once_and_the_title() -> None:
    embedder = RecordingEmbedder()
    Ingestor(embedder, MemoryStore(), ChunkConfig(3, 1)).run([article(1, "Ferry news"), article(2)])
    [texts] = embedder.calls
    assert len(texts) == 7 + 1 + 7 and texts.count("Ferry news") == 1


def test_switching_chunk_vectors_reindexes_and_rerunning_changes_nothing() -> None:
    store = MemoryStore()
    items = [article(i) for i in range(3)]
    assert Ingestor(HashEmbedder(), store, ChunkConfig(3, 1)).run(items).added == 3
    assert Ingestor(HashEmbedder(), store, ChunkConfig(3, 1)).run(items).unchanged == 3
    encoded = ChunkConfig(3, 1, chunk_vectors="encoded")
    assert Ingestor(HashEmbedder(), store, encoded).run(items).updated == 3
    assert Ingestor(HashEmbedder(), store, encoded).run(items).unchanged == 3


def test_batches_embed_together_and_progress_counts_every_item() -> None:
    embedder = RecordingEmbedder()
    items: list[Loaded] = [article(i, sentences=2) for i in range(10)]
    items.insert(4, ArticleError("bad line", "x.jsonl", 5))
    seen: list[int] = []
    report = Ingestor(embedder, MemoryStore(), ChunkConfig(3, 1, batch_articles=4)).run(items, seen.append)
    assert [len(call) for call in embedder.calls] == [8, 6, 6]  # 4, 3 (and the bad line) and 3 articles
    assert seen == [4, 4, 3] and sum(seen) == len(items)
    assert (report.added, report.failed) == (10, 1) and "x.jsonl:5" in report.errors[0]
    assert sorted(report.article_ids) == sorted(f"a{i}" for i in range(10))


def test_first_batches_are_small_so_progress_shows_early() -> None:
    embedder = RecordingEmbedder()
    seen: list[int] = []
    Ingestor(embedder, MemoryStore(), ChunkConfig(3, 1, batch_articles=16)).run(
        [article(i, sentences=1) for i in range(50)], seen.append)
    assert seen == [4, 8, 16, 16, 6] and [len(call) for call in embedder.calls] == seen


class BlockedStore(MemoryStore):
    """Writes wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def write(self, indexed: IndexedArticle) -> None:
        self.gate.wait()
        super().write(indexed)


def test_reading_waits_for_the_store_so_memory_holds_a_few_batches() -> None:
    pulled: list[int] = []

    def articles() -> Iterator[Loaded]:
        for i in range(200):
            pulled.append(i)
            yield article(i, sentences=2)

    store = BlockedStore()
    done: list[int] = []
    ingestor = Ingestor(HashEmbedder(), store, ChunkConfig(3, 1, batch_articles=1))
    runner = threading.Thread(target=lambda: done.append(ingestor.run(articles()).added), daemon=True)
    runner.start()
    runner.join(timeout=1.0)  # time for reading to run as far ahead of the blocked store as it may
    ahead = len(pulled)
    store.gate.set()
    runner.join(timeout=60)
    # One batch being written, two waiting, one embedded and waiting to be queued, one being read.
    assert ahead <= 5
    assert done == [200]


def test_ctrl_c_stores_the_embedded_batches_and_reports_it() -> None:
    def interrupted() -> Iterator[Loaded]:
        for i in range(7):
            yield article(i, sentences=2)
        raise KeyboardInterrupt

    store = MemoryStore()
    report = Ingestor(HashEmbedder(), store, ChunkConfig(3, 1, batch_articles=3)).run(interrupted())
    assert report.interrupted and "Ctrl-C" in report.summary()
    assert report.added == 6 and sorted(store._items) == [f"a{i}" for i in range(6)]  # two whole batches


class FailingStore(MemoryStore):
    def __init__(self, fail_on: str, error: Exception) -> None:
        super().__init__()
        self.fail_on, self.error = fail_on, error

    def write(self, indexed: IndexedArticle) -> None:
        if indexed.article.id == self.fail_on:
            raise self.error
        super().write(indexed)


def test_a_store_error_fails_only_its_article() -> None:
    store = FailingStore("a2", StoreUnavailable("disk full"))
    report = Ingestor(HashEmbedder(), store, ChunkConfig(3, 1, batch_articles=2)).run([article(i) for i in range(5)])
    assert (report.added, report.failed) == (4, 1) and report.errors == ["a2: disk full"]
    assert "a2" not in store._items


def test_an_unexpected_writer_error_reaches_the_caller() -> None:
    store = FailingStore("a1", RuntimeError("bug in the store"))
    ingestor = Ingestor(HashEmbedder(), store, ChunkConfig(3, 1, batch_articles=1))
    with pytest.raises(RuntimeError, match="bug in the store"):
        ingestor.run([article(i, sentences=2) for i in range(30)])


class BatchStore(MemoryStore):
    """A store that writes a batch in one call, and refuses batches holding `refuse`."""

    def __init__(self, refuse: str = "") -> None:
        super().__init__()
        self.refuse = refuse
        self.calls: list[list[str]] = []

    def write_many(self, batch: Sequence[IndexedArticle]) -> None:
        self.calls.append([i.article.id for i in batch])
        if any(i.article.id == self.refuse for i in batch):
            raise StoreUnavailable("cannot store it")
        for indexed in batch:
            super().write(indexed)

    def write(self, indexed: IndexedArticle) -> None:
        if indexed.article.id == self.refuse:
            raise StoreUnavailable("cannot store it")
        super().write(indexed)


def test_a_store_that_writes_many_gets_each_batch_in_one_call() -> None:
    store = BatchStore()
    report = Ingestor(HashEmbedder(), store, ChunkConfig(3, 1, batch_articles=3)).run([article(i) for i in range(7)])
    assert store.calls == [["a0", "a1", "a2"], ["a3", "a4", "a5"], ["a6"]]
    assert report.added == 7 and sorted(store._items) == [f"a{i}" for i in range(7)]


def test_a_refused_batch_is_written_one_article_at_a_time() -> None:
    store = BatchStore(refuse="a4")
    report = Ingestor(HashEmbedder(), store, ChunkConfig(3, 1, batch_articles=3)).run([article(i) for i in range(7)])
    assert (report.added, report.failed) == (6, 1) and report.errors == ["a4: cannot store it"]
    assert sorted(store._items) == [f"a{i}" for i in range(7) if i != 4]


def test_long_articles_come_in_small_batches_so_progress_keeps_moving() -> None:
    embedder = RecordingEmbedder()
    seen: list[int] = []
    long_ones = [article(i, sentences=40) for i in range(7)]  # 2,089 characters each
    report = Ingestor(embedder, MemoryStore(), ChunkConfig(3, 1, batch_articles=64, batch_chars=5_000)).run(
        long_ones, seen.append)
    assert report.added == 7
    assert seen == [2, 2, 2, 1]  # two a batch (a third would pass 5,000 characters), not the 4, 8... of short ones
    assert [sum(map(len, call)) <= 5_000 for call in embedder.calls] == [True] * 4
    alone = Ingestor(RecordingEmbedder(), MemoryStore(), ChunkConfig(3, 1, batch_chars=100))
    assert alone.run([article(0, sentences=40)]).added == 1  # an article over the budget is a batch of its own
