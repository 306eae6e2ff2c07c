"""The VectorStore contract: subclass `StoreContract` and give it a `store` fixture with an empty store.

    from tests.store_contract import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            return MyStore(...)  # empty, and not shared with any other test

Vectors here are hand-made in DIM dimensions so rankings and scores are known exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from newsdesk.ingest.chunk import make_chunks
from newsdesk.ingest.sentences import split_sentences

from newsdesk.models import Article, Filters, Hit, IndexedArticle, Matrix
from newsdesk.ports import VectorStore

DIM = 8


def unit(*weights: float) -> Matrix:
    """A unit vector from the first len(weights) axes, e.g. unit(1, 1) points between axes 0 and 1."""
    v = np.zeros(DIM, np.float32)
    v[: len(weights)] = weights
    return (v / np.linalg.norm(v)).astype(np.float32)


def make_indexed(
    article_id: str,
    sentences: list[str],
    direction: Matrix,
    *,
    version: str = "v1",
    outlet: str | None = "Test Outlet",
    published_at: str | None = "2024-03-05",
    title: str | None = "A title",
    url: str | None = "https://example.test/story",
    separator: str = "  ",
) -> IndexedArticle:
    """An article whose every vector points near `direction`; sentence i drifts a little further away with i."""
    text = separator.join(sentences)
    article = Article(article_id, text, title, url, outlet, published_at)
    split = split_sentences(article_id, text)
    assert [s.text for s in split] == sentences, "test sentences must split as written"
    chunks = make_chunks(text, split, 2, 1)
    drift = np.zeros(DIM, np.float32)
    drift[DIM - 1] = 1.0

    def near(i: int) -> Matrix:
        v = direction + 0.05 * i * drift
        return (v / np.linalg.norm(v)).astype(np.float32)

    return IndexedArticle(
        article=article,
        version=version,
        sentences=split,
        sentence_vectors=np.stack([near(i) for i in range(len(split))]),
        chunks=chunks,
        chunk_vectors=np.stack([near(i) for i in range(len(chunks))]),
        article_vector=direction.astype(np.float32),
    )


STORM = ["The storm cut power to 9,500 homes.", "Crews worked all night.", "Schools stayed shut on Tuesday."]
BRIDGE = ["The bridge closed on Monday.", "Inspectors found cracks.", "A repair vote is due in March."]
LIBRARY = ["The library reopened on Saturday.", "It has a new children's wing."]
UNDATED = ["An undated note about the harbor.", "It has no date at all."]


class StoreContract:
    """Behaviour every VectorStore must share; the subclass supplies `store`."""

    @pytest.fixture
    def three(self, store: VectorStore) -> VectorStore:
        """Three dated articles from two outlets and one undated article without an outlet."""
        store.write(make_indexed("storm", STORM, unit(1), outlet="Harbor Gazette", published_at="2024-03-06"))
        store.write(make_indexed("bridge", BRIDGE, unit(1, 1), outlet="Valley Courier", published_at="2024-03-05"))
        store.write(make_indexed("library", LIBRARY, unit(0, 1), outlet="harbor gazette", published_at="2024-03-04T09:00:00"))
        store.write(make_indexed("undated", UNDATED, unit(0, 0, 1), outlet=None, published_at=None, title=None, url=None))
        return store

    # -- write and read back ----------------------------------------------------------------------
    def test_empty_store(self, store: VectorStore) -> None:
        assert store.version_of("nothing") is None
        assert store.query_chunks(unit(1), 5, Filters()) == []
        assert store.query_sentences(unit(1), 5, Filters()) == []
        assert store.articles(["nothing"]) == {} and store.articles([]) == {}
        assert store.sentences({}) == [] and store.sentences({"nothing": "v1"}) == []
        assert list(store.iter_articles()) == []
        stats = store.stats()
        assert (stats.articles, stats.chunks, stats.sentences, stats.outlets) == (0, 0, 0, {})

    def test_article_reads_back_exactly(self, store: VectorStore) -> None:
        odd = ["Prices rose 3 % , officials said .", "`` It 's fine , '' he said -LRB- twice -RRB- .", "Caf\u00e9 \u2014 ok."]
        indexed = make_indexed("odd", odd, unit(1), separator=" \r\n\t ")
        store.write(indexed)
        undated = make_indexed("bare", UNDATED, unit(0, 1), outlet=None, published_at=None, title=None, url=None)
        store.write(undated)
        assert store.version_of("odd") == "v1"
        got = store.articles(["odd", "bare", "missing"])
        assert set(got) == {"odd", "bare"}
        assert got["odd"] == (indexed.article, "v1")  # every field, text byte for byte
        assert got["bare"] == (undated.article, "v1")
        assert set(store.articles(["odd", "odd", "bare", "odd"])) == {"odd", "bare"}  # repeated ids are fine

    def test_sentences_come_back_with_offsets_and_vectors(self, three: VectorStore) -> None:
        got = three.sentences({"storm": "v1", "library": "v1"})
        assert sorted((s.sentence.article_id, s.sentence.text) for s in got) == sorted(
            [("storm", t) for t in STORM] + [("library", t) for t in LIBRARY]
        )
        texts = {a: article.text for a, (article, _) in three.articles(["storm", "library"]).items()}
        for s in got:
            assert texts[s.sentence.article_id][s.sentence.start : s.sentence.end] == s.sentence.text
            assert s.version == "v1"
            assert s.vector.shape == (DIM,)
        storm = sorted((s for s in got if s.sentence.article_id == "storm"), key=lambda s: s.sentence.index)
        assert [s.sentence.index for s in storm] == [0, 1, 2]
        assert np.allclose(storm[0].vector, unit(1), atol=1e-5)

    def test_sentences_only_for_the_asked_version(self, three: VectorStore) -> None:
        assert three.sentences({"storm": "v0"}) == []
        assert three.sentences({"storm": "v0", "bridge": "v1"}) != []
        assert {s.sentence.article_id for s in three.sentences({"storm": "v0", "bridge": "v1"})} == {"bridge"}

    # -- queries ------------------------------------------------------------------------------------
    def test_query_chunks_ranks_by_cosine(self, three: VectorStore) -> None:
        hits = three.query_chunks(unit(1), 20, Filters())
        assert hits[0].article_id == "storm" and hits[0].index == 0 and hits[0].version == "v1"
        assert hits[0].score == pytest.approx(1.0, abs=1e-3)
        best: dict[str, float] = {}
        for h in hits:
            best.setdefault(h.article_id, h.score)
        assert list(best) == ["storm", "bridge", "library", "undated"]
        assert best["bridge"] == pytest.approx(0.7071, abs=1e-3)
        assert best["undated"] == pytest.approx(0.0, abs=1e-3)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert len(hits) == 2 + 2 + 1 + 1  # every chunk once

    def test_query_dense_gives_both_lists(self, three: VectorStore) -> None:
        """One call, the same hits as query_chunks and query_sentences (with filters too)."""
        for vector, k, filters in [(unit(1), 20, Filters()), (unit(1, 1), 3, Filters()),
                                   (unit(0, 1), 4, Filters(outlet="Harbor Gazette"))]:
            chunks, sentences = three.query_dense(vector, k, filters)
            _same_ranking(chunks, three.query_chunks(vector, k, filters))
            _same_ranking(sentences, three.query_sentences(vector, k, filters))
            assert len(chunks) <= k and len(sentences) <= k and sentences

    def test_query_sentences_ranks_and_limits(self, three: VectorStore) -> None:
        hits = three.query_sentences(unit(1, 1), 3, Filters())
        assert len(hits) == 3
        assert (hits[0].article_id, hits[0].index) == ("bridge", 0)
        assert hits[0].score == pytest.approx(1.0, abs=1e-3)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert all(h.version == "v1" for h in hits)

    def test_k_larger_than_the_store(self, three: VectorStore) -> None:
        assert len(three.query_sentences(unit(1), 100, Filters())) == 3 + 3 + 2 + 2

    def test_filters(self, three: VectorStore) -> None:
        """Outlet is case-insensitive; dates are inclusive days; undated articles never pass a date filter."""
        cases = [
            (Filters(), {"storm", "bridge", "library", "undated"}),
            (Filters(outlet="HARBOR gazette"), {"storm", "library"}),
            (Filters(outlet="Valley Courier"), {"bridge"}),
            (Filters(outlet="Nobody"), set()),
            (Filters(published_after=20240305), {"storm", "bridge"}),
            (Filters(published_before=20240305), {"bridge", "library"}),
            (Filters(published_after=20240305, published_before=20240305), {"bridge"}),
            (Filters(published_after=20240307), set()),
            (Filters(outlet="harbor gazette", published_before=20240305), {"library"}),
        ]
        for filters, expected in cases:
            for query in (three.query_chunks, three.query_sentences):
                got = {h.article_id for h in query(unit(1), 50, filters)}
                assert got == expected, (filters, query.__name__)

    # -- replace, delete, revision -------------------------------------------------------------------
    def test_new_version_replaces_every_old_row(self, three: VectorStore) -> None:
        before = three.revision()
        edited = ["The storm cut power to 12,000 homes.", "Power is back everywhere."]
        three.write(make_indexed("storm", edited, unit(1), version="v2", outlet="Harbor Gazette", published_at="2024-03-07"))
        assert three.revision() != before
        assert three.version_of("storm") == "v2"
        article, version = three.articles(["storm"])["storm"]
        assert version == "v2" and article.text == "  ".join(edited) and article.published_at == "2024-03-07"
        for query in (three.query_chunks, three.query_sentences):
            hits = [h for h in query(unit(1), 50, Filters()) if h.article_id == "storm"]
            assert hits and {h.version for h in hits} == {"v2"}
        assert len([h for h in three.query_sentences(unit(1), 50, Filters()) if h.article_id == "storm"]) == 2
        assert three.sentences({"storm": "v1"}) == []
        assert [s.sentence.text for s in three.sentences({"storm": "v2"})] == edited
        listed = [(version, a.text) for a, version in three.iter_articles() if a.id == "storm"]
        assert listed == [("v2", "  ".join(edited))]
        stats = three.stats()
        assert (stats.articles, stats.sentences) == (4, 2 + 3 + 2 + 2)

    def test_rewriting_the_same_version_changes_nothing_visible(self, three: VectorStore) -> None:
        three.write(make_indexed("storm", STORM, unit(1), outlet="Harbor Gazette", published_at="2024-03-06"))
        assert len(three.query_sentences(unit(1), 100, Filters())) == 3 + 3 + 2 + 2
        assert three.stats().articles == 4

    def test_delete(self, three: VectorStore) -> None:
        before = three.revision()
        assert three.delete("bridge") is True
        after = three.revision()
        assert after != before
        assert three.version_of("bridge") is None
        assert "bridge" not in three.articles(["bridge", "storm"])
        assert three.sentences({"bridge": "v1"}) == []
        for query in (three.query_chunks, three.query_sentences):
            assert "bridge" not in {h.article_id for h in query(unit(1, 1), 50, Filters())}
        assert "bridge" not in {a.id for a, _ in three.iter_articles()}
        assert three.delete("bridge") is False
        assert three.delete("never-written") is False
        assert three.revision() == after  # nothing changed, so the revision did not either
        stats = three.stats()
        assert (stats.articles, stats.chunks, stats.sentences) == (3, 2 + 1 + 1, 3 + 2 + 2)

    def test_revision_changes_on_each_write(self, store: VectorStore) -> None:
        seen = {store.revision()}
        store.write(make_indexed("a", STORM, unit(1)))
        seen.add(store.revision())
        store.write(make_indexed("b", BRIDGE, unit(0, 1)))
        seen.add(store.revision())
        assert len(seen) == 3
        assert store.revision() == store.revision()  # stable while nothing changes

    # -- listing and counts ------------------------------------------------------------------------
    def test_iter_articles_lists_every_current_article(self, three: VectorStore) -> None:
        rows = {a.id: (version, a.text, a.outlet, a.published_day) for a, version in three.iter_articles()}
        assert set(rows) == {"storm", "bridge", "library", "undated"}
        assert rows["storm"] == ("v1", "  ".join(STORM), "Harbor Gazette", 20240306)
        assert rows["library"][2:] == ("harbor gazette", 20240304)
        assert rows["undated"][2:] == (None, None)

    def test_stats(self, three: VectorStore) -> None:
        stats = three.stats()
        assert stats.articles == 4
        assert stats.chunks == 2 + 2 + 1 + 1
        assert stats.sentences == 3 + 3 + 2 + 2
        assert stats.outlets == {"Harbor Gazette": 1, "Valley Courier": 1, "harbor gazette": 1, "(unknown)": 1}


def _same_ranking(ours: list[Hit], theirs: list[Hit]) -> None:
    """The same scores in order, and the same hits above the last score (hits tied at it may differ)."""
    assert [round(h.score, 4) for h in ours] == [round(h.score, 4) for h in theirs]
    last = round(theirs[-1].score, 4) if theirs else 0.0

    def above(hits: list[Hit]) -> set[tuple[str, str, int]]:
        return {(h.article_id, h.version, h.index) for h in hits if round(h.score, 4) > last}

    assert above(ours) == above(theirs)
