"""Newsdesk against the LangChain tutorial peer on one QA set, in one run on one machine.

Usage: python bench/compare.py DATASET_DIR [--store DIR] [--peer-store DIR] [--limit N] [--json]
Reusing --store/--peer-store skips the (slow) ingest on later runs; ingest is idempotent.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

ROWS = ["questions", "hits@1", "hits@5", "hits@10", "mrr@10", "cited_has_answer@1", "cited_has_answer@3",
        "citations_verified", "answer_rate", "abstain_rate", "p50_ms", "p95_ms", "similarity_search_p50_ms",
        "ingest_seconds"]


def main() -> None:
    from peer_langchain import run_peer

    from newsdesk.eval_run import run_eval

    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--peer-store", type=Path)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ours = run_eval(args.dataset, None, args.store, None, args.limit, None, progress=False)
    peer = run_peer(args.dataset, args.peer_store, args.limit)
    if args.json:
        print(json.dumps({"newsdesk": ours, "peer": peer}))
        return
    print(f"{args.dataset.name} · {date.today()} · {platform.machine()} · {platform.python_version()}")
    print("| metric | newsdesk | langchain peer |\n|---|---|---|")
    for key in ROWS:
        print(f"| {key} | {_fmt(ours.get(key))} | {_fmt(peer.get(key))} |")
    if ours.get("p50_ms") and peer.get("similarity_search_p50_ms"):
        print(f"\nnewsdesk answer p50 / peer similarity_search p50 = {ours['p50_ms'] / peer['similarity_search_p50_ms']:.2f}")


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else ("–" if value is None else str(value))


if __name__ == "__main__":
    main()
