"""Cross-validation helpers shared by the fitting scripts: questions grouped by story, k folds, no story in two."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Grouped:
    """A QA set's question ids with the story each was written against (the unit a fold never splits)."""

    ids: tuple[str, ...]
    groups: tuple[str, ...]


def read_groups(questions: Path) -> Grouped:
    """Story of each question: its gold article, else the paragraph it was written against, else itself."""
    ids, groups = [], []
    with questions.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            q = json.loads(line)
            gold = [e["doc_id"] for e in q.get("evidence") or [] if e.get("doc_id")]
            ids.append(str(q["id"]))
            groups.append(str(q.get("context_doc_id") or (gold[0] if gold else q["id"])))
    return Grouped(tuple(ids), tuple(groups))


def fold_of(groups: list[str] | tuple[str, ...], k: int = 5, seed: int = 18) -> np.ndarray:
    """Fold number per question: stories are shuffled (fixed seed) and dealt to folds by question count."""
    names = sorted(set(groups))
    rng = np.random.default_rng(seed)
    rng.shuffle(names)
    sizes = {g: 0 for g in names}
    for g in groups:
        sizes[g] += 1
    load = np.zeros(k, np.int64)
    assigned: dict[str, int] = {}
    for g in sorted(names, key=lambda g: -sizes[g]):  # stable: ties keep the shuffled order
        fold = int(np.argmin(load))
        assigned[g] = fold
        load[fold] += sizes[g]
    return np.array([assigned[g] for g in groups], np.int64)


def splits(fold: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) boolean masks, one pair per fold."""
    return [(fold != f, fold == f) for f in range(int(fold.max()) + 1)]
