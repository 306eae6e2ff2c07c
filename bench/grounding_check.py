"""Measure the grounding check on generated replies written for it (tests/fixtures/grounding_replies.json).

Usage: python bench/grounding_check.py [--set PATH] [--json]
Each reply goes through `generative.verify`, as a Converse reply would; a statement counts as caught when verify
removes it. The positive class is an unsupported statement: precision is the share of removed statements that
were unsupported, recall the share of unsupported statements removed. Prints the confusion counts, both figures,
recall by kind of change, and every miss and false alarm with its reasons.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsdesk.answer.generative import strip_markers, verify  # noqa: E402
from newsdesk.models import Article, Citation  # noqa: E402

DEFAULT_SET = ROOT / "tests" / "fixtures" / "grounding_replies.json"


@dataclass(frozen=True)
class Judged:
    """One statement: what the set says and what the check did."""

    text: str
    kind: str
    round: int  # 1: written before the check was measured; 2: written after its last change
    supported: bool
    removed: bool
    reasons: tuple[str, ...]


def sources_of(data: dict[str, Any]) -> tuple[list[Citation], dict[str, Article]]:
    """The set's sources as S1..Sn, each its own article so it verifies at its offsets."""
    citations, articles = [], {}
    for label, source in data["sources"].items():
        n, sentence = int(label.removeprefix("S")), source["sentence"]
        articles[f"s{n}"] = Article(f"s{n}", sentence, outlet=source["outlet"], published_at=source["published_at"])
        citations.append(Citation(n, f"s{n}", None, None, source["outlet"], source["published_at"], sentence, 0,
                                  len(sentence), 1.0))
    return sorted(citations, key=lambda c: c.n), articles


def judge(data: dict[str, Any]) -> list[Judged]:
    """Every statement of every reply, checked as part of its reply."""
    sources, articles = sources_of(data)
    out = []
    for reply in data["replies"]:
        checked = verify(" ".join(s["text"] for s in reply["statements"]), sources, articles)
        removed = {r.statement: tuple(f"{p.reason}: {p.detail}" for p in r.problems) for r in checked.removed}
        for s in reply["statements"]:
            plain = strip_markers(s["text"])
            out.append(Judged(plain, s["kind"], reply.get("round", 1), s["supported"], plain in removed,
                              removed.get(plain, ())))
    return out


def figures(judged: list[Judged]) -> dict[str, Any]:
    """Confusion counts, precision and recall."""
    tp = sum(1 for j in judged if not j.supported and j.removed)
    fp = sum(1 for j in judged if j.supported and j.removed)
    fn = sum(1 for j in judged if not j.supported and not j.removed)
    tn = sum(1 for j in judged if j.supported and not j.removed)
    return {
        "statements": len(judged), "unsupported": tp + fn, "supported": fp + tn,
        "confusion": {"caught": tp, "false_alarms": fp, "missed": fn, "passed": tn},
        "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "recall": round(tp / (tp + fn), 3) if tp + fn else None,
    }


def summary(judged: list[Judged]) -> dict[str, Any]:
    kinds = Counter(j.kind for j in judged if not j.supported)
    caught = Counter(j.kind for j in judged if not j.supported and j.removed)
    return {
        **figures(judged),
        "by_round": {n: figures([j for j in judged if j.round == n]) for n in sorted({j.round for j in judged})},
        "recall_by_kind": {k: f"{caught[k]}/{n}" for k, n in sorted(kinds.items())},
        "missed": [f"[{j.kind}] {j.text}" for j in judged if not j.supported and not j.removed],
        "false_alarms": [f"[{j.kind}] {j.text} -- {'; '.join(j.reasons)}" for j in judged if j.supported and j.removed],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="the written replies (JSON)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    args = parser.parse_args()
    result = summary(judge(json.loads(args.set.read_text())))
    if args.json:
        print(json.dumps(result))
        return
    for name, part in [("all", result), *((f"round {n}", f) for n, f in result["by_round"].items())]:
        c = part["confusion"]
        print(f"{name}: {part['statements']} statements ({part['unsupported']} unsupported, {part['supported']} "
              f"supported): caught {c['caught']}, false alarms {c['false_alarms']}, missed {c['missed']}, "
              f"passed {c['passed']}; precision {part['precision']}, recall {part['recall']}")
    print("(positive class: an unsupported statement, caught when verify removes it)")
    print("recall by kind: " + ", ".join(f"{k} {v}" for k, v in result["recall_by_kind"].items()))
    for title in ("missed", "false_alarms"):
        print(f"{title.replace('_', ' ')}:")
        for line in result[title]:
            print(f"  {line}")


if __name__ == "__main__":
    main()
