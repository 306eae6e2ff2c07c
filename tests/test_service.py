"""The service over a fake embedder and the in-memory store: ingest, replace, delete, cite, abstain, filter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from newsdesk.ingest.load import load_paths
from newsdesk.ingest.pipeline import ChunkConfig

from newsdesk.adapters.hash_embedder import HashEmbedder
from newsdesk.adapters.memory_store import MemoryStore
from newsdesk.answer.compose import ABSTAIN_TEXT
from newsdesk.errors import BadRequest
from newsdesk.models import Answer, Filters, Query, StoredSentence
from newsdesk.service import AnswerConfig, Service
from tests.conftest import EXAMPLES

STORM_Q = "How many homes lost power in the storm?"
BRIDGE_Q = "When will the council vote on the bridge repair contract?"


def ingest_examples(service: Service) -> None:
    report = service.ingest(load_paths([str(EXAMPLES)]))
    assert report.failed == 0, report.errors


def assert_verified(service: Service, answer: Answer) -> None:
    """What a user can check: each quoted sentence is exactly at its offsets in its article."""
    found = service.store.articles([c.article_id for c in answer.citations])
    for c in answer.citations:
        article, _ = found[c.article_id]
        assert article.text[c.start : c.end] == c.sentence
        assert (c.title, c.url, c.outlet, c.published_at) == (article.title, article.url, article.outlet, article.published_at)
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert f"{c.sentence} [{c.n}]" in answer.text


def write_jsonl(path: Path, *records: Mapping[str, object]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


# -- ingest -------------------------------------------------------------------------------------------


def test_reingest_is_unchanged_and_counts_do_not_move(fake_service: Service) -> None:
    first = fake_service.ingest(load_paths([str(EXAMPLES)]))
    assert (first.added, first.updated, first.unchanged, first.failed) == (6, 0, 0, 0)
    assert first.chunks > 0
    stats = fake_service.stats()
    assert stats.articles == 6
    revision = fake_service.store.revision()

    second = fake_service.ingest(load_paths([str(EXAMPLES)]))
    assert (second.added, second.updated, second.unchanged, second.failed, second.chunks) == (0, 0, 6, 0, 0)
    assert fake_service.stats() == stats
    assert fake_service.store.revision() == revision
    assert second.summary().startswith("added 0, updated 0, unchanged 6, failed 0, chunks 0, ")


def test_changed_article_replaces_the_old_one(fake_service: Service, tmp_path: Path) -> None:
    old = {"id": "parade", "title": "Harbor parade", "source": "Bay Post", "published_at": "2024-05-01",
           "text": "The mayor announced a harbor parade for Friday. Floats will start at the pier at noon."}
    new = {**old, "text": "The mayor cancelled the harbor parade because of rain. Floats will stay in the depot."}
    ingest_examples(fake_service)
    fake_service.ingest(load_paths([write_jsonl(tmp_path / "v1.jsonl", old)]))
    before = fake_service.ask(Query("What happened to the harbor parade and the floats?"))
    assert any("announced a harbor parade" in c.sentence for c in before.citations)

    report = fake_service.ingest(load_paths([write_jsonl(tmp_path / "v2.jsonl", new)]))
    assert (report.added, report.updated, report.unchanged) == (0, 1, 0)
    assert fake_service.stats().articles == 7
    for question in ("What happened to the harbor parade and the floats?", "When do floats start at the pier at noon?"):
        answer = fake_service.ask(Query(question, k=5))
        assert_verified(fake_service, answer)
        quoted = " ".join(c.sentence for c in answer.citations)
        assert "announced" not in quoted and "noon" not in quoted
    after = fake_service.ask(Query("What happened to the harbor parade and the floats?"))
    assert any("cancelled the harbor parade" in c.sentence for c in after.citations)

    again = fake_service.ingest(load_paths([write_jsonl(tmp_path / "v2.jsonl", new)]))
    assert (again.updated, again.unchanged) == (0, 1)


def test_delete_removes_an_article_from_answers(loaded_fake_service: Service) -> None:
    answer = loaded_fake_service.ask(Query(BRIDGE_Q))
    bridge_id = answer.citations[0].article_id
    assert "Old Mill Bridge" in (answer.citations[0].title or "")
    assert loaded_fake_service.delete(bridge_id) is True
    assert loaded_fake_service.stats().articles == 5
    after = loaded_fake_service.ask(Query(BRIDGE_Q, k=10))
    assert bridge_id not in {c.article_id for c in after.citations}
    assert bridge_id not in after.ranked_article_ids
    assert loaded_fake_service.delete(bridge_id) is False


# -- answers and citations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [(BRIDGE_Q, "The city council will vote on March 12"), (STORM_Q, "9,500 homes"),
     ("How much did the library renovation cost?", "$6.8 million")],
)
def test_answers_quote_verified_sentences(loaded_fake_service: Service, question: str, expected: str) -> None:
    answer = loaded_fake_service.ask(Query(question))
    assert not answer.abstained
    assert answer.dropped_citations == 0
    assert any(expected in c.sentence for c in answer.citations)
    assert_verified(loaded_fake_service, answer)
    body = answer.to_dict()
    assert body["question"] == question and body["answer"] == answer.text and "dropped_citations" not in body
    timing = body["timing_ms"]
    assert isinstance(timing, dict) and set(timing) >= {"embed", "retrieve", "evidence", "total"}


class TamperedStore(MemoryStore):
    """Returns evidence sentences that no longer match their article, as a corrupted index would."""

    def __init__(self, tamper: str) -> None:
        super().__init__()
        self.tamper = tamper

    def sentences(self, versions: Mapping[str, str]) -> list[StoredSentence]:
        out = []
        for stored in super().sentences(versions):
            s = stored.sentence
            if self.tamper in s.text:
                s = replace(s, text=s.text.replace("9,500", "95,000"))
            elif "12,000" in s.text:
                s = replace(s, start=s.start + 1, end=s.end + 1)  # right text, wrong offsets
            out.append(replace(stored, sentence=s))
        return out


def test_citation_that_does_not_check_out_is_dropped_and_counted() -> None:
    service = Service(HashEmbedder(), TamperedStore("9,500"), AnswerConfig(abstain_threshold=0.0), ChunkConfig(3, 1))
    ingest_examples(service)
    answer = service.ask(Query(STORM_Q, k=5))
    assert answer.dropped_citations == 2
    assert answer.to_dict()["dropped_citations"] == 2
    quoted = " ".join(c.sentence for c in answer.citations)
    assert "95,000" not in quoted and "9,500" not in quoted and "12,000" not in quoted
    assert "95,000" not in answer.text
    assert_verified(service, answer)


def test_every_citation_dropped_means_abstain() -> None:
    service = Service(HashEmbedder(), TamperedStore("9,500"), AnswerConfig(abstain_threshold=0.0), ChunkConfig(3, 1))
    service.ingest(load_paths([str(EXAMPLES / "harbor-gazette-storm-outage.txt")]))
    answer = service.ask(Query("Tuesday's storm cut power to 9,500 homes, North Coast Electric said", k=1))
    assert answer.abstained and answer.citations == () and answer.text == ABSTAIN_TEXT
    assert answer.dropped_citations == 1


def test_abstains_below_the_threshold(fake_service: Service) -> None:
    strict = Service(HashEmbedder(), fake_service.store, AnswerConfig(abstain_threshold=0.42), ChunkConfig(3, 1))
    ingest_examples(strict)
    off_topic = strict.ask(Query("What is the capital of Mongolia?"))
    assert off_topic.abstained and off_topic.citations == () and off_topic.text == ABSTAIN_TEXT
    assert off_topic.to_dict()["citations"] == []
    assert not strict.ask(Query(STORM_Q)).abstained
    # The threshold is what decides: with it at 0 the same question gets an answer, above 1 nothing does.
    assert not fake_service.ask(Query("What is the capital of Mongolia?")).abstained
    never = Service(HashEmbedder(), fake_service.store, AnswerConfig(abstain_threshold=1.01), ChunkConfig(3, 1))
    assert never.ask(Query(STORM_Q)).abstained


def test_empty_store_abstains(fake_service: Service) -> None:
    answer = fake_service.ask(Query(STORM_Q))
    assert answer.abstained and answer.citations == ()


# -- filters and k -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "allowed"),
    [
        (Filters(outlet="valley COURIER"), lambda c: c.outlet == "Valley Courier"),
        (Filters(outlet="Harbor Gazette"), lambda c: c.outlet == "Harbor Gazette"),
        (Filters(published_after=20240306), lambda c: c.published_at >= "2024-03-06"),
        (Filters(published_before=20240305), lambda c: c.published_at <= "2024-03-05"),
        (Filters(published_after=20240305, published_before=20240305), lambda c: c.published_at == "2024-03-05"),
    ],
)
def test_filters_restrict_the_sources(loaded_fake_service: Service, filters: Filters, allowed: Any) -> None:
    answer = loaded_fake_service.ask(Query(STORM_Q, k=5, filters=filters))
    assert answer.citations
    assert all(allowed(c) for c in answer.citations), [(c.outlet, c.published_at) for c in answer.citations]
    assert_verified(loaded_fake_service, answer)


def test_filter_that_matches_nothing_abstains(loaded_fake_service: Service) -> None:
    for filters in (Filters(outlet="No Such Outlet"), Filters(published_after=20250101)):
        answer = loaded_fake_service.ask(Query(STORM_Q, filters=filters))
        assert answer.abstained and answer.citations == ()


def test_k_bounds_the_citations(loaded_fake_service: Service) -> None:
    assert len(loaded_fake_service.ask(Query(STORM_Q, k=1)).citations) == 1
    # a figure question quotes only the sentences that give the figure, however large k is
    homes = loaded_fake_service.ask(Query(STORM_Q, k=10)).citations
    assert 1 < len(homes) < 10 and all("homes" in c.sentence for c in homes), [c.sentence for c in homes]
    pipeline = loaded_fake_service.pipeline  # no margin: the fake embedder's scores are not the shipped scale
    pipeline.config = replace(pipeline.config, citation_margin=float("inf"))
    many = loaded_fake_service.ask(Query(BRIDGE_Q, k=10))
    assert 3 < len(many.citations) <= 10
    per_article: dict[str, int] = {}
    for c in many.citations:
        per_article[c.article_id] = per_article.get(c.article_id, 0) + 1
    assert max(per_article.values()) <= loaded_fake_service.config.per_article
    assert len({c.sentence for c in many.citations}) == len(many.citations)


@pytest.mark.parametrize(
    ("query", "words"),
    [(Query(STORM_Q, k=0), "k must be"), (Query(STORM_Q, k=11), "k must be"), (Query("   \n "), "empty"),
     (Query("why " * 251), "longer than 1000")],
)
def test_bad_queries_are_refused(loaded_fake_service: Service, query: Query, words: str) -> None:
    with pytest.raises(BadRequest, match=words):
        loaded_fake_service.ask(query)


# -- the real model ---------------------------------------------------------------------------------------


@pytest.mark.model
def test_disagreeing_storm_reports_are_both_cited(real_embedder: Any, examples_store: Path) -> None:
    from newsdesk.adapters.chroma_store import ChromaStore, connect

    service = Service(real_embedder, ChromaStore(connect(path=examples_store)))
    answer = service.ask(Query(STORM_Q))
    assert not answer.abstained
    by_figure = {fig: [c for c in answer.citations if fig in c.sentence] for fig in ("9,500", "12,000")}
    assert by_figure["9,500"] and by_figure["9,500"][0].outlet == "Harbor Gazette"
    assert by_figure["12,000"] and by_figure["12,000"][0].outlet == "Valley Courier"
    assert_verified(service, answer)
