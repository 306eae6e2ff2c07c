"""Questions that name several sources cite each one; the eval reports this per MultiHop-RAG question type."""

from __future__ import annotations

from pathlib import Path

from newsdesk.ingest.load import load_paths

from newsdesk.eval.score import Question, Record, by_type
from newsdesk.models import Query
from newsdesk.service import Service

STORM = Path(__file__).resolve().parent / "fixtures" / "storm"


def question(qid: str, kind: str, gold: tuple[str, ...], answerable: bool = True) -> Question:
    return Question(qid, "q", ("a",), gold, tuple(f"sentence {g}" for g in gold), answerable, kind)


def record(qid: str, cited: tuple[str, ...], abstained: bool = False) -> Record:
    citations = [{"n": i + 1, "article_id": a, "start": 0, "end": 1, "sentence": f"sentence {a}", "score": 1.0}
                 for i, a in enumerate(cited)]
    return Record(qid, abstained, [], citations, 1.0)


def test_by_type_counts_every_gold_article_cited_recall_and_abstention() -> None:
    pairs = [
        (question("c1", "comparison_query", ("a", "b")), record("c1", ("a", "b", "x"))),
        (question("c2", "comparison_query", ("a", "b")), record("c2", ("a",))),
        (question("t1", "temporal_query", ("a", "b")), record("t1", (), abstained=True)),
        (question("n1", "null_query", (), answerable=False), record("n1", (), abstained=True)),
        (question("n2", "null_query", (), answerable=False), record("n2", ("a",))),
    ]
    out = by_type(pairs)
    assert out["comparison_all_sources_cited"] == 0.5 and out["comparison_evidence_recall"] == 0.75
    assert out["comparison_answer_rate"] == 1.0
    assert out["temporal_all_sources_cited"] == 0.0 and out["temporal_answer_rate"] == 0.0
    assert "temporal_evidence_recall" not in out  # nothing answered
    assert out["null_abstain_rate"] == 0.5
    assert by_type([(question("x", None, ("a",)), record("x", ("a",)))]) == {}  # untyped sets add nothing


def test_a_question_naming_two_outlets_cites_both(fake_service: Service) -> None:
    assert fake_service.ingest(load_paths([str(STORM)])).failed == 0
    answer = fake_service.ask(Query("Did the Tri-County Wire and the Valley Courier give the same number of deaths?"))
    outlets = [c.outlet for c in answer.citations]
    assert {"Tri-County Wire", "Valley Courier"} <= set(outlets) and "Lakeshore Gazette" not in outlets
    one = fake_service.ask(Query("What did the Lakeshore Gazette report about Storm Hadley?"))
    assert {c.outlet for c in one.citations} == {"Lakeshore Gazette"}
