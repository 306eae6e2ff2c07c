"""Fit the evidence-sentence weights (logistic regression) on a QA set, with two-fold cross-validation.

Usage: python bench/fit_evidence.py DATASET_DIR --store STORE   (STORE already holds DATASET_DIR's corpus)
Prints cited_has_answer@1/@3 for the current weights and for weights fitted on the other fold, then
the weights fitted on all questions. Label: the sentence contains a gold answer string.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsdesk.answer.compose import choose  # noqa: E402
from newsdesk.answer.evidence import FEATURES, WEIGHTS, ScoredSentence, features, question_terms  # noqa: E402
from newsdesk.eval.score import gold_form, normalise, read_questions  # noqa: E402
from newsdesk.models import Query  # noqa: E402
from newsdesk.service import AnswerConfig  # noqa: E402


def collect(service, questions):  # type: ignore[no-untyped-def]
    """Per question: candidate sentences, their feature rows and answer labels."""
    out = []
    for q in questions:
        golds = [g for g in (gold_form(a) for a in q.answers) if g and g not in {"yes", "no"}]
        if not golds:
            continue
        ev = service.find_evidence(Query(q.question))
        stored = [s.stored for s in ev.scored]
        stored.sort(key=lambda s: (s.sentence.article_id, s.sentence.index))
        ranks = {a: i for i, a in enumerate(ev.articles)}
        vector = service.embedder.embed([ev.question])[0]
        rows = features(question_terms(ev.question, service.lexical_index()), vector, stored, ranks)
        labels = np.array([any(g in normalise(s.sentence.text) for g in golds) for s in stored], np.float32)
        out.append((stored, rows, labels))
    return out


def fit(groups, l2: float = 1e-2, steps: int = 3000, lr: float = 0.5) -> np.ndarray:  # type: ignore[no-untyped-def]
    x = np.concatenate([g[1] for g in groups])
    y = np.concatenate([g[2] for g in groups])
    mean, std = x.mean(0), x.std(0) + 1e-6
    xs = (x - mean) / std
    w = np.zeros(x.shape[1], np.float64)
    b = 0.0
    pos_weight = (len(y) - y.sum()) / max(y.sum(), 1)  # balance the rare positives
    sample = np.where(y > 0, pos_weight, 1.0)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(xs @ w + b)))
        grad = (p - y) * sample
        w -= lr * (xs.T @ grad / len(y) + l2 * w)
        b -= lr * grad.mean()
    return (w / std).astype(np.float32)  # same ranking on raw features (the intercept does not rank)


def fit_listwise(groups, l2: float = 3e-2, steps: int = 400, lr: float = 0.5) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Softmax over each question's candidates, pushing probability onto the sentences with the answer."""
    usable = [(rows, labels) for _, rows, labels in groups if labels.any() and len(rows)]
    x_all = np.concatenate([r for r, _ in usable])
    mean, std = x_all.mean(0), x_all.std(0) + 1e-6
    w = np.zeros(x_all.shape[1], np.float64)
    for _ in range(steps):
        grad = np.zeros_like(w)
        for rows, labels in usable:
            xs = (rows - mean) / std
            z = xs @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            target = labels / labels.sum()
            grad += xs.T @ (p - target)
        w -= lr * (grad / len(usable) + l2 * w)
    return (w / std).astype(np.float32)


def cited(groups, weights: np.ndarray, k: int = 3) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """cited_has_answer@1/@k with the service's own citation choice (AnswerConfig's cap and repeat cost)."""
    config = AnswerConfig()
    at1 = at3 = 0
    for stored, rows, labels in groups:
        scores = rows @ weights
        order = np.argsort(-scores)
        ranked = [ScoredSentence(stored[i], float(scores[i]), float(rows[i, 0])) for i in order]
        chosen = choose(ranked, k, config.per_article, None, config.repeat_cost)
        hit = {id(s.stored) for s, lab in zip(ranked, labels[order], strict=True) if lab}
        at1 += bool(chosen) and id(chosen[0].stored) in hit
        at3 += any(id(c.stored) in hit for c in chosen)
    return at1 / len(groups), at3 / len(groups)


def main() -> None:
    from newsdesk.app import build_service
    from newsdesk.settings import Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--listwise", action="store_true", help="softmax over each question's candidates")
    args = parser.parse_args()
    service = build_service(Settings.from_env(store=args.store))
    groups = collect(service, read_questions(args.dataset / "questions.jsonl", args.limit))
    half = len(groups) // 2
    folds = [(groups[:half], groups[half:]), (groups[half:], groups[:half])]
    print(f"questions {len(groups)}")
    print("current weights      @1 {:.3f} @3 {:.3f}".format(*cited(groups, WEIGHTS)))
    fitter = fit_listwise if args.listwise else fit
    for i, (train, test) in enumerate(folds):
        w = fitter(train)
        print(f"fold {i}: current     @1 {{:.3f}} @3 {{:.3f}}".format(*cited(test, WEIGHTS)))
        print(f"fold {i}: fitted      @1 {{:.3f}} @3 {{:.3f}}".format(*cited(test, w)))
    w = fitter(groups)
    print("fitted on all:", ", ".join(f"{n}={v:.3f}" for n, v in zip(FEATURES, w, strict=True)))
    print("np.array([" + ", ".join(f"{v:.3f}" for v in w) + "], np.float32)")


if __name__ == "__main__":
    main()
