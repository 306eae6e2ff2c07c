"""`newsdesk eval`: run a QA set through the service and score retrieval, citations and abstention."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsdesk.models import Answer, Query

YES_NO = {"yes", "no"}


@dataclass(frozen=True)
class Question:
    """One question of a QA set with its gold answers and evidence."""
    id: str
    question: str
    answers: tuple[str, ...]
    gold_ids: tuple[str, ...]
    gold_sentences: tuple[str, ...]
    answerable: bool
    type: str | None


@dataclass
class Record:
    """One question's outcome, in the --out JSONL format."""

    id: str
    abstained: bool
    ranked_article_ids: list[str]
    citations: list[dict[str, Any]]
    latency_ms: float
    dropped_citations: int = 0

    def to_json(self) -> str:
        """One JSON line for --out."""
        return json.dumps({"id": self.id, "abstained": self.abstained, "ranked_article_ids": self.ranked_article_ids,
                           "citations": self.citations, "latency_ms": round(self.latency_ms, 2),
                           "dropped_citations": self.dropped_citations}, ensure_ascii=False)


def read_questions(path: Path, limit: int | None = None) -> list[Question]:
    """The questions of a QA set's questions.jsonl."""
    out = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            q = json.loads(line)
            evidence = q.get("evidence") or []
            out.append(Question(
                id=str(q["id"]), question=q["question"], answers=tuple(q.get("answers") or ()),
                gold_ids=tuple(dict.fromkeys(e["doc_id"] for e in evidence if e.get("doc_id"))),
                gold_sentences=tuple(e["sentence"] for e in evidence if e.get("sentence")),
                answerable=bool(q.get("answerable", True)), type=q.get("type"),
            ))
            if limit and len(out) >= limit:
                break
    return out


def read_texts(corpus: Path) -> dict[str, str]:
    """Article id to text, from a corpus.jsonl."""
    with corpus.open(encoding="utf-8") as f:
        return {d["id"]: d["text"] for d in (json.loads(line) for line in f if line.strip())}


def run(questions: Iterable[Question], ask: Callable[[Query], Answer], k: int = 3) -> Iterator[Record]:
    """Ask every question through the service and record the outcome."""
    for q in questions:
        started = time.perf_counter()
        answer = ask(Query(question=q.question, k=k))
        latency = (time.perf_counter() - started) * 1000
        yield Record(
            id=q.id, abstained=answer.abstained, ranked_article_ids=list(answer.ranked_article_ids[:10]),
            citations=[{"n": c.n, "article_id": c.article_id, "start": c.start, "end": c.end,
                        "sentence": c.sentence, "score": round(c.score, 4)} for c in answer.citations],
            latency_ms=latency, dropped_citations=answer.dropped_citations,
        )


def normalise(text: str) -> str:
    """Lower-case with whitespace squashed, for answer matching."""
    return " ".join(text.casefold().split())


def gold_form(answer: str) -> str:
    """A gold answer as it is matched: quotes and trailing punctuation stripped."""
    return normalise(answer).strip("\"'`“”‘’ ").strip(".,").strip()


def squash(text: str) -> str:
    """Whitespace runs to one space."""
    return re.sub(r"\s+", "", text)


def score(questions: list[Question], records: list[Record], texts: dict[str, str]) -> dict[str, Any]:
    """Summary metrics over the questions (see the eval README for definitions)."""
    by_id = {r.id: r for r in records}
    pairs = [(q, by_id[q.id]) for q in questions if q.id in by_id]
    answerable = [(q, r) for q, r in pairs if q.answerable]
    unanswerable = [(q, r) for q, r in pairs if not q.answerable]
    retrieval = [(q, r) for q, r in answerable if q.gold_ids]

    def hits(n: int) -> float | None:
        return _mean(any(a in q.gold_ids for a in r.ranked_article_ids[:n]) for q, r in retrieval)

    def rr(q: Question, r: Record) -> float:
        return next((1.0 / (i + 1) for i, a in enumerate(r.ranked_article_ids[:10]) if a in q.gold_ids), 0.0)

    extractive = [(q, r) for q, r in answerable
                  if q.answers and not all(gold_form(a) in YES_NO for a in q.answers) and not r.abstained]

    def has_answer(r: Record, q: Question, n: int) -> bool:
        golds = [g for g in (gold_form(a) for a in q.answers) if g]
        return any(g in normalise(c["sentence"]) for c in r.citations[:n] for g in golds)

    citations = [(c, texts.get(c["article_id"], "")) for _, r in pairs for c in r.citations]
    with_gold_sentences = [(q, r) for q, r in answerable if q.gold_sentences and not r.abstained]
    comparison = [(q, r) for q, r in answerable if q.type == "comparison_query" and len(q.gold_ids) > 1]
    latencies = sorted(r.latency_ms for _, r in pairs)
    out: dict[str, Any] = {
        "questions": len(pairs),
        "hits@1": hits(1), "hits@5": hits(5), "hits@10": hits(10),
        "mrr@10": _mean(rr(q, r) for q, r in retrieval),
        "cited_has_answer@1": _mean(has_answer(r, q, 1) for q, r in extractive),
        "cited_has_answer@3": _mean(has_answer(r, q, 3) for q, r in extractive),
        "citations_verified": _mean(t[c["start"]:c["end"]] == c["sentence"] for c, t in citations) if citations else None,
        "citations_removed": sum(r.dropped_citations for _, r in pairs),
        "answer_rate": _mean(not r.abstained for _, r in answerable),
        "abstain_rate": _mean(r.abstained for _, r in unanswerable),
        "p50_ms": _percentile(latencies, 50), "p95_ms": _percentile(latencies, 95),
    }
    if unanswerable and answerable:
        out["balanced_accuracy"] = (out["answer_rate"] + out["abstain_rate"]) / 2
    if with_gold_sentences:
        out["evidence_recall"] = _mean(
            sum(_cited(g, r) for g in q.gold_sentences) / len(q.gold_sentences) for q, r in with_gold_sentences
        )
    if comparison:
        out["comparison_all_sources_cited"] = _mean(
            set(q.gold_ids) <= {c["article_id"] for c in r.citations} for q, r in comparison
        )
        out["comparison_multi_source"] = _mean(len({c["article_id"] for c in r.citations}) > 1 for _, r in comparison)
    out.update(by_type(pairs))
    return out


def by_type(pairs: list[tuple[Question, Record]]) -> dict[str, Any]:
    """For sets whose questions have types (MultiHop-RAG: comparison, temporal, inference; null is unanswerable):
    per type, the share of multi-source questions whose citations include every gold article, evidence recall
    of the answered, and the answer rate (the abstain rate for a type with no answerable question)."""
    out: dict[str, Any] = {}
    for kind in sorted({q.type for q, _ in pairs if q.type}):
        name = kind.removesuffix("_query")
        group = [(q, r) for q, r in pairs if q.type == kind]
        answerable = [(q, r) for q, r in group if q.answerable]
        if not answerable:
            out[f"{name}_abstain_rate"] = _mean(r.abstained for _, r in group)
            continue
        multi = [(q, r) for q, r in answerable if len(q.gold_ids) > 1]
        if multi:
            out[f"{name}_all_sources_cited"] = _mean(set(q.gold_ids) <= {c["article_id"] for c in r.citations}
                                                     for q, r in multi)
        answered = [(q, r) for q, r in answerable if q.gold_sentences and not r.abstained]
        if answered:
            out[f"{name}_evidence_recall"] = _mean(
                sum(_cited(g, r) for g in q.gold_sentences) / len(q.gold_sentences) for q, r in answered)
        out[f"{name}_answer_rate"] = _mean(not r.abstained for _, r in answerable)
    return out


def _cited(gold_sentence: str, record: Record) -> bool:
    """A gold evidence sentence counts as cited when it and a citation contain one another (spaces ignored)."""
    gold = squash(gold_sentence)
    return any(gold in squash(c["sentence"]) or squash(c["sentence"]) in gold for c in record.citations)


def _mean(values: Iterable[bool | float]) -> float | None:
    items = [float(v) for v in values]
    return statistics.fmean(items) if items else None


def _percentile(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]
