"""Newsdesk against the LangChain tutorial peer on one QA set, in one run on one machine.

Usage: python bench/compare.py DATASET_DIR [--store DIR] [--peer-store DIR] [--limit N] [--json]
Reusing --store/--peer-store skips the (slow) ingest on later runs; ingest is idempotent.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

ROWS = ["questions", "hits@1", "hits@5", "hits@10", "mrr@10", "cited_has_answer@1", "cited_has_answer@3",
        "citations_verified", "answer_rate", "abstain_rate", "p50_ms", "p95_ms", "similarity_search_p50_ms",
        "ingest_seconds"]


def main() -> None:
    from peer_langchain import run_peer

    from newsdesk.eval.run import run_eval

    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--peer-store", type=Path)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ours = run_eval(args.dataset, None, args.store, None, args.limit, None, progress=False)
    peer = run_peer(args.dataset, args.peer_store, args.limit)
    paired = paired_latency(args.dataset, args.store, args.peer_store, args.limit)
    if args.json:
        print(json.dumps({"newsdesk": ours, "peer": peer, "paired_latency": paired}))
        return
    print(f"{args.dataset.name} · {date.today()} · {platform.machine()} · {platform.python_version()}")
    print("| metric | newsdesk | langchain peer |\n|---|---|---|")
    for key in ROWS:
        print(f"| {key} | {_fmt(ours.get(key))} | {_fmt(peer.get(key))} |")
    if ours.get("p50_ms") and peer.get("similarity_search_p50_ms"):
        print(f"\nnewsdesk answer p50 / peer similarity_search p50 = {ours['p50_ms'] / peer['similarity_search_p50_ms']:.2f}")
    if paired:
        print(f"paired, question by question: newsdesk answer p50 {paired['newsdesk_p50_ms']:.1f} ms "
              f"(p95 {paired['newsdesk_p95_ms']:.1f}), peer similarity_search p50 {paired['peer_p50_ms']:.1f} ms "
              f"(p95 {paired['peer_p95_ms']:.1f}): ratio {paired['ratio_p50']:.2f}")


def paired_latency(dataset: Path, store: Path | None, peer_store: Path | None, limit: int | None) -> dict[str, float]:
    """Newsdesk's whole answer and the peer's bare similarity_search, timed alternately question by
    question so that machine noise hits both alike, from fresh caches as in a new container.
    Needs both stores (it reuses them); {} otherwise."""
    if store is None or peer_store is None:
        return {}
    from peer_langchain import build

    from newsdesk.answer.evidence import clear_caches
    from newsdesk.app import build_service
    from newsdesk.eval.score import read_questions
    from newsdesk.models import Query
    from newsdesk.settings import Settings

    clear_caches()
    service = build_service(Settings.from_env(store=store))
    service.lexical_index()
    db, embeddings, _ = build(dataset / "corpus.jsonl", peer_store)
    service.embedder.embed(["warm up"])  # each model's first run is slow; neither pipeline is charged for it
    embeddings.embed_query("warm up")
    ours: list[float] = []
    theirs: list[float] = []
    for i, q in enumerate(read_questions(dataset / "questions.jsonl", limit)):
        steps = [(ours, lambda q=q: service.ask(Query(q.question))),
                 (theirs, lambda q=q: db.similarity_search(q.question, k=10))]
        for times, step in steps if i % 2 else reversed(steps):
            started = time.perf_counter()
            step()
            times.append((time.perf_counter() - started) * 1000)
    ours.sort()
    theirs.sort()
    return {"newsdesk_p50_ms": statistics.median(ours), "newsdesk_p95_ms": ours[int(0.95 * (len(ours) - 1))],
            "peer_p50_ms": statistics.median(theirs), "peer_p95_ms": theirs[int(0.95 * (len(theirs) - 1))],
            "ratio_p50": statistics.median(ours) / statistics.median(theirs)}


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else ("–" if value is None else str(value))


if __name__ == "__main__":
    main()
