"""Integration: the real packaged model and real embedded Chroma over the sample articles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from newsdesk.ingest.load import load_paths

from newsdesk.adapters.chroma_store import ChromaStore, connect
from newsdesk.models import Answer, Filters, Query
from newsdesk.service import Service
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def service(real_embedder: Any, examples_store: Path) -> Service:
    return Service(real_embedder, ChromaStore(connect(path=examples_store)))


def assert_verified(service: Service, answer: Answer) -> None:
    found = service.store.articles([c.article_id for c in answer.citations])
    for c in answer.citations:
        assert found[c.article_id][0].text[c.start : c.end] == c.sentence


@pytest.mark.parametrize(
    ("question", "article_id", "words"),
    [
        ("When will the council vote on the bridge repair contract?", "url-", "March 12"),
        ("How much did the library renovation cost?", "url-", "$6.8 million"),
        ("What time do the early ferry sailings leave?", "regional-wire-ferry-2024-03-08", "6:15 a.m."),
        ("How many new teaching posts does the school budget add?", "regional-wire-schools-2024-03-12", "14 teaching posts"),
    ],
)
def test_question_is_answered_from_the_right_article(service: Service, question: str, article_id: str, words: str) -> None:
    answer = service.ask(Query(question))
    assert not answer.abstained
    assert any(words in c.sentence and c.article_id.startswith(article_id) for c in answer.citations), answer.text
    assert answer.citations[0].article_id.startswith(article_id)
    assert answer.dropped_citations == 0
    assert_verified(service, answer)


def test_heading_is_not_quoted_with_its_marks(service: Service) -> None:
    answer = service.ask(Query("Why was the Old Mill Bridge closed?"))
    assert not answer.abstained and "cracks" in answer.text
    assert not any(c.sentence.startswith("#") for c in answer.citations)
    assert_verified(service, answer)


@pytest.mark.parametrize("question", ["Who won the 1998 football World Cup?", "What is the recipe for banana bread?"])
def test_off_topic_questions_abstain_at_the_default_threshold(service: Service, question: str) -> None:
    answer = service.ask(Query(question))
    assert answer.abstained and answer.citations == ()


def test_filters_with_the_real_store(service: Service) -> None:
    answer = service.ask(Query("How many homes lost power in the storm?", filters=Filters(outlet="harbor gazette")))
    assert answer.citations and {c.outlet for c in answer.citations} == {"Harbor Gazette"}
    assert "9,500" in answer.text and "12,000" not in answer.text


def test_reingest_is_unchanged(service: Service) -> None:
    stats = service.stats()
    report = service.ingest(load_paths([str(EXAMPLES)]))
    assert (report.added, report.updated, report.unchanged, report.failed, report.chunks) == (0, 0, 6, 0, 0)
    assert service.stats() == stats


def test_jsonl_text_is_cited_byte_for_byte(real_embedder: Any, tmp_path: Path) -> None:
    text = (
        "The harbor board -LRB- HB -RRB- voted 7-2 on Monday to dredge the east channel .  "
        "`` It 's overdue , '' chair Mara Quint said .\n\nWork starts in June and costs $ 3.1 million ."
    )
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps({"id": "hb-77", "title": "Dredging vote", "text": text, "source": "Bay Post",
                                "published_at": "2024-06-03", "url": "https://bay-post.example/hb-77"}) + "\n")
    service = Service(real_embedder, ChromaStore(connect(path=tmp_path / "index")))
    assert service.ingest(load_paths([str(path)])).added == 1
    assert service.store.articles(["hb-77"])["hb-77"][0].text == text
    answer = service.ask(Query("How much will the dredging of the east channel cost?"))
    assert not answer.abstained
    assert any(c.sentence == "Work starts in June and costs $ 3.1 million ." for c in answer.citations)
    for c in answer.citations:
        assert c.article_id == "hb-77" and text[c.start : c.end] == c.sentence
