"""Choose the retrieval fusion weights by a grid search with k-fold cross-validation by story.

Usage: python bench/fit_fusion.py DATASET_DIR --store STORE [--cv 5]
Each question's three lists (dense chunks, dense sentences, article BM25 scaled by its top score) are
fetched once; every weight triple of the grid then ranks articles in numpy. Prints Hits@1/5 and MRR@10
for the shipped weights, for the grid's best on all questions (in-sample) and for the best chosen
without the question's story (cross-validated), and how often each fold chose each triple.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cv import fold_of, read_groups, splits  # noqa: E402

from newsdesk.eval.score import read_questions  # noqa: E402
from newsdesk.models import Filters  # noqa: E402
from newsdesk.settings import DEFAULTS  # noqa: E402

GRID = list(itertools.product((0.0, 0.25, 0.5, 1.0), (1.0, 1.5, 2.0, 3.0), (0.5, 0.75, 1.0, 1.5, 2.0)))
SHIPPED = (DEFAULTS.weight_dense_chunk, DEFAULTS.weight_dense_sentence, DEFAULTS.weight_lexical)


def collect(service, dataset: Path, limit: int | None) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:  # type: ignore[no-untyped-def]
    """Per question: a (articles, 3) matrix of each list's best score (a list's floor where it misses the
    article, as `retrieve` does) and which of those articles is gold."""
    grouped = read_groups(dataset / "questions.jsonl")
    story_of = dict(zip(grouped.ids, grouped.groups, strict=True))
    lexical = service.lexical_index()
    depth = DEFAULTS.retrieval_depth
    scores, gold, stories = [], [], []
    for q in read_questions(dataset / "questions.jsonl", limit):
        if not q.answerable or not q.gold_ids:
            continue
        vector = service.embedder.embed([q.question])[0]
        lists = [
            (service.store.query_chunks(vector, depth, Filters()), False),
            (service.store.query_sentences(vector, depth, Filters()), False),
            (lexical.search(q.question, depth, Filters()), True),
        ]
        best: list[dict[str, float]] = []
        for hits, scale in lists:
            top = (max(h.score for h in hits) or 1.0) if scale and hits else 1.0
            per: dict[str, float] = {}
            for h in hits:
                per[h.article_id] = max(per.get(h.article_id, float("-inf")), h.score / top)
            best.append(per)
        ids = sorted(set().union(*best))
        matrix = np.array([[b.get(a, min(b.values()) if b else 0.0) for b in best] for a in ids], np.float64)
        scores.append(matrix.reshape(-1, 3))
        gold.append(np.array([a in q.gold_ids for a in ids]))
        stories.append(story_of[q.id])
    return scores, gold, stories


def rank_of_gold(scores: list[np.ndarray], gold: list[np.ndarray], weights: tuple[float, ...]) -> np.ndarray:
    """0-based rank of the first gold article per question (a large number when it is not retrieved)."""
    w = np.array(weights)
    out = np.full(len(scores), 10_000)
    for i, (m, g) in enumerate(zip(scores, gold, strict=True)):
        if g.any():
            fused = m @ w
            out[i] = int((fused > fused[g].max()).sum())  # ties count in the gold article's favour
    return out


def figures(ranks: np.ndarray) -> dict[str, float]:
    return {"hits@1": float((ranks < 1).mean()), "hits@5": float((ranks < 5).mean()),
            "mrr@10": float(np.where(ranks < 10, 1.0 / (ranks + 1), 0.0).mean())}


def main() -> None:
    from newsdesk.app import build_service
    from newsdesk.settings import Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--cv", type=int, default=5)
    args = parser.parse_args()
    scores, gold, stories = collect(build_service(Settings.from_env(store=args.store)), args.dataset, args.limit)
    ranks = {w: rank_of_gold(scores, gold, w) for w in dict.fromkeys([SHIPPED, *GRID])}
    fold = fold_of(stories, args.cv)

    def best(mask: np.ndarray) -> tuple[float, ...]:
        return max(GRID, key=lambda w: (figures(ranks[w][mask])["mrr@10"], w == SHIPPED))

    held_out = np.zeros(len(stories), np.int64)
    chosen: Counter[tuple[float, ...]] = Counter()
    for train, test in splits(fold):
        w = best(train)
        chosen[w] += 1
        held_out[test] = ranks[w][test]
    everything = np.ones(len(stories), bool)
    print(f"questions {len(stories)}, stories {len(set(stories))}, {args.cv} folds by story; grid of {len(GRID)}")
    print("(chunk, sentence, lexical) weights; figures hits@1 hits@5 mrr@10")
    for label, r in (("shipped " + str(SHIPPED), ranks[SHIPPED]), ("best in-sample " + str(best(everything)),
                     ranks[best(everything)]), ("cross-validated", held_out)):
        f = figures(r)
        print(f"{label:40} {f['hits@1']:.3f} {f['hits@5']:.3f} {f['mrr@10']:.3f}")
    print("chosen per fold:", ", ".join(f"{w} x{n}" for w, n in chosen.most_common()))


if __name__ == "__main__":
    main()
