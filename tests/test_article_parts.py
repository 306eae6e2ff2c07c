"""Part files: an embedded index keeps each text and sentence vector once, beside Chroma, and stays that way."""

from __future__ import annotations

import json
import pickle
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from newsdesk.ingest.load import load_paths
from newsdesk.ingest.pipeline import ChunkConfig

from newsdesk.adapters.chroma_store import ChromaStore, connect
from newsdesk.adapters.hash_embedder import HashEmbedder
from newsdesk.errors import StoreUnavailable
from newsdesk.index.article_parts import POINTER, TIER_BASE, ArticleParts, copy_parts
from newsdesk.index.lock import FolderWriter
from newsdesk.index.part_files import Written, quantize
from newsdesk.models import Filters, Query
from newsdesk.service import AnswerConfig, Service
from tests.conftest import EXAMPLES
from tests.store_contract import BRIDGE, STORM, make_indexed, unit

QUESTION = "How many homes lost power in the storm?"


def open_store(folder: Path) -> ChromaStore:
    return ChromaStore(connect(path=folder), folder=folder)


def service(folder: Path) -> Service:
    store = open_store(folder)
    return Service(HashEmbedder(), store, AnswerConfig(abstain_threshold=0.0), ChunkConfig(3, 1),
                   writer=FolderWriter(folder, store))


def test_int8_rows_give_the_vectors_back_closely() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((200, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows, scales = quantize(vectors, "int8")
    assert rows.dtype == np.int8 and scales.dtype == np.float32
    back = rows.astype(np.float32) * scales[:, None]
    assert np.abs(back - vectors).max() <= np.abs(vectors).max(axis=1).max() / 254 + 1e-6
    query = vectors[0]
    assert np.abs(back @ query - vectors @ query).max() < 0.01  # cosine scores move by well under a hundredth


def test_one_copy_of_each_text_and_sentence_vector(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    writer = service(folder)
    assert writer.ingest(load_paths([str(EXAMPLES)])).failed == 0
    store = writer.store
    assert isinstance(store, ChromaStore) and store.compact
    assert store._sentences.count() == 0  # no sentence rows in Chroma
    assert all(d is None for d in store._articles.get(include=["documents"])["documents"])  # nor texts
    assert not list(folder.glob("newsdesk-sentences*"))  # nor a derived copy of the vectors
    for article, version in store.iter_articles():  # the text and offsets read back exactly
        sentences = store.sentences({article.id: version})
        assert sentences and all(article.text[s.sentence.start : s.sentence.end] == s.sentence.text for s in sentences)
    answer = service(folder).ask(Query(QUESTION))  # a new process answers from the files
    assert any("homes" in c.sentence for c in answer.citations)


def test_parts_stay_few_and_dead_rows_go(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    for i in range(40):
        store.write(make_indexed(f"a{i}", STORM, unit(1, i % 3)))
    for i in range(10):  # new versions and deletions leave dead rows behind
        store.write(make_indexed(f"a{i}", BRIDGE, unit(0, 1), version="v2"))
    for i in range(10, 15):
        store.delete(f"a{i}")
    parts = store._parts
    assert parts is not None
    assert len(parts.names()) < 2 * TIER_BASE  # merged by size tier as they come
    store.compact_parts()
    assert len(parts.names()) == 1
    (only,) = parts._parts
    assert sorted(a for a, *_ in only.articles) == sorted(f"a{i}" for i in [*range(10), *range(15, 40)])
    assert only.rows == 10 * len(BRIDGE) + 25 * len(STORM)
    assert [s.sentence.text for s in store.sentences({"a3": "v2"})] == BRIDGE
    assert store.sentences({"a3": "v1"}) == [] and store.articles(["a12"]) == {}
    assert sorted(p.name.split(".")[0] for p in tmp_path.glob("newsdesk-part-*.json")) == parts.names()  # no leftovers


def test_a_merge_copies_rows_and_texts_as_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Merging copies each kept article's int8 rows, scales, offsets and compressed text byte for byte (nothing is
    quantized twice, nothing decompressed); a part of another precision is converted to the current one."""
    import newsdesk.index.part_files as part_files

    parts = ArticleParts.create(tmp_path)
    rng = np.random.default_rng(3)
    written = [Written(f"a{i}", f"v{i}", f"Text of article {i}. " * (i + 1), np.array([[0, 0, 5]], np.int32),
                       rng.standard_normal((1, 8)).astype(np.float32)) for i in range(6)]
    parts.add(written[:3])
    monkeypatch.setattr(part_files, "PRECISION", "float16")  # an older part of another precision
    parts.add(written[3:5])
    monkeypatch.setattr(part_files, "PRECISION", "int8")
    parts.add(written[5:])
    before = {a: (p.vectors[f:f + n].copy(), p.scales[f:f + n].copy(), p.text[t0:t1].tobytes(), p.text_of(t0, t1))
              for p in parts._parts for a, _, f, n, t0, t1 in p.articles}
    parts.compact(lambda ids: {a: f"v{a[1:]}" for a in ids if a != "a1"})  # a1 was deleted
    (merged,) = parts._parts
    assert merged.vectors.dtype == np.int8 and [a for a, *_ in merged.articles] == ["a0", "a2", "a3", "a4", "a5"]
    for article_id, _, first, count, t0, t1 in merged.articles:
        rows, scales, packed, text = before[article_id]
        assert merged.text_of(t0, t1) == text
        if rows.dtype == np.int8:  # the same bytes
            assert merged.text[t0:t1].tobytes() == packed and np.array_equal(merged.vectors[first:first + count], rows)
            assert np.array_equal(merged.scales[first:first + count], scales)
        else:  # float16 rows re-stored as int8, within int8's step
            assert np.allclose(merged.block(first, count), rows.astype(np.float32), atol=np.abs(rows).max() / 120)
    assert parts.text("a1", "v1") is None and parts.text("a4", "v4") == written[4].text


@pytest.mark.parametrize("parts", [False, True], ids=["rows", "parts"])
def test_a_new_version_replaces_exactly_the_old_versions_rows(tmp_path: Path, parts: bool) -> None:
    """Old rows go by id (from the article row's counts), not by a `where` scan of the collection."""
    store = ChromaStore(connect(path=tmp_path), folder=tmp_path if parts else None)
    store.write_many([make_indexed(f"a{i}", STORM, unit(1, i)) for i in range(3)])
    store.write_many([make_indexed("a1", BRIDGE, unit(0, 1), version="v2"), make_indexed("a3", BRIDGE, unit(0, 2)),
                      make_indexed("a2", STORM, unit(1, 2))])  # an edit, a new article, an unchanged one
    assert store.check().ok
    if not parts:
        assert {i.rsplit(":", 1)[0] for i in store._sentences.get(include=[])["ids"]} == {"a0:v1", "a1:v2", "a2:v1",
                                                                                           "a3:v1"}
    chunk_ids = store._chunks.get(include=[])["ids"]
    assert {i.rsplit(":", 1)[0] for i in chunk_ids} == {"a0:v1", "a1:v2", "a2:v1", "a3:v1"}
    assert {h.version for h in store.query_chunks(unit(0, 1), 20, Filters()) if h.article_id == "a1"} == {"v2"}


def test_sentence_queries_score_every_sentence_of_the_best_chunks_articles(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.write(make_indexed("storm", STORM, unit(1)))
    store.write(make_indexed("bridge", BRIDGE, unit(0, 1)))
    hits = store.query_sentences(unit(1), 4, Query("q").filters)
    assert [h.article_id for h in hits[:3]] == ["storm"] * 3
    assert hits[0].score == pytest.approx(1.0, abs=0.01)  # int8 rows: within a hundredth of the float score


def test_files_a_killed_writer_left_are_ignored_then_removed(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.write(make_indexed("storm", STORM, unit(1)))
    for name in ("newsdesk-part-0123456789ab.json", "newsdesk-part-0123456789ab.vectors.npy"):
        (tmp_path / name).write_bytes(b"half written")  # a part the pointer never named
    reader = open_store(tmp_path)
    assert [s.sentence.text for s in reader.sentences({"storm": "v1"})] == STORM
    reader.begin_write()
    assert not list(tmp_path.glob("newsdesk-part-0123456789ab*"))


def test_a_pickle_in_a_part_file_runs_nothing_and_is_refused(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.write(make_indexed("storm", STORM, unit(1)))
    marker = tmp_path / "marker"
    (vectors,) = tmp_path.glob("newsdesk-part-*.vectors.npy")
    vectors.write_bytes(pickle.dumps(Marker(marker)))
    with pytest.raises(StoreUnavailable, match="cannot read the article files"):
        open_store(tmp_path)
    assert not marker.exists()


class Marker:
    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (self.path, "w")


def test_a_folder_made_before_parts_keeps_its_layout(tmp_path: Path) -> None:
    ChromaStore(connect(path=tmp_path)).write(make_indexed("storm", STORM, unit(1)))  # rows, as a server keeps them
    store = open_store(tmp_path)
    assert not store.compact and not (tmp_path / POINTER).exists()
    store.write(make_indexed("bridge", BRIDGE, unit(0, 1)))
    assert [s.sentence.text for s in store.sentences({"bridge": "v1"})] == BRIDGE
    assert store._sentences.count() == len(STORM) + len(BRIDGE)


def test_copy_parts_keeps_the_newest_folders_articles(tmp_path: Path) -> None:
    old, new, target = tmp_path / "old", tmp_path / "new", tmp_path / "target"
    open_store(old).write(make_indexed("storm", STORM, unit(1)))
    open_store(old).write(make_indexed("bridge", BRIDGE, unit(0, 1)))
    open_store(new).write(make_indexed("storm", BRIDGE, unit(1), version="v2"))
    assert copy_parts([(old, frozenset({"bridge"})), (new, frozenset())], target) == 1
    parts = ArticleParts(target)
    assert parts.text("storm", "v2") == "  ".join(BRIDGE)
    assert not parts.has("storm", "v1") and not parts.has("bridge", "v1")
    assert json.loads((target / POINTER).read_text())["parts"] == parts.names()


def test_the_writer_gives_back_the_pages_chromas_log_freed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from newsdesk.adapters import chroma_store

    def free_pages() -> int:
        with closing(sqlite3.connect(tmp_path / "chroma.sqlite3")) as db:
            return int(db.execute("PRAGMA freelist_count").fetchone()[0])

    monkeypatch.setattr(chroma_store, "VACUUM_AT", 10_000)  # any free page is worth giving back here
    store = open_store(tmp_path)
    sentences = [f"Sentence number {i} of a long story." for i in range(12)]
    with FolderWriter(tmp_path, store).session():
        for start in range(0, 300, 50):  # past Chroma's sync threshold: its log rows are purged, pages freed
            store.write_many([make_indexed(f"a{i}", sentences, unit(1, i % 5)) for i in range(start, start + 50)])
        assert free_pages() > 0
    assert free_pages() == 0  # vacuumed when the write ended
    assert store.stats().articles == 300 and len(store.query_chunks(unit(1), 5, Query("q").filters)) == 5
    assert store.vacuum() is False  # nothing left to give back


@pytest.mark.parametrize("parts", [False, True], ids=["rows", "parts"])
def test_a_batch_larger_than_chromas_limit_is_written_in_slices(tmp_path: Path, parts: bool) -> None:
    store = ChromaStore(connect(path=tmp_path), folder=tmp_path if parts else None)
    store._batch_size = 4  # Chroma refuses calls above its maximum batch size (5,461 rows here)
    store.write_many([make_indexed(f"a{i}", STORM, unit(1, i)) for i in range(5)])
    assert store.stats().articles == 5
    assert len(store.query_chunks(unit(1), 100, Query("q").filters)) == 5 * 2
    assert len(store.query_sentences(unit(1), 100, Query("q").filters)) == 5 * len(STORM)
    assert store.check().ok
