"""Fit the abstention weights and threshold with k-fold cross-validation by story, over three question sets at once.

Usage: python bench/fit_abstention.py --answerable DIR --answerable-store STORE --mixed DIR --mixed-store STORE
       [--cv 5] [--write]
The sets: ANSWERABLE on its own corpus (all answerable: keep answering >= 0.95), ANSWERABLE's questions on MIXED's
corpus (off topic: keep abstaining >= 0.90) and MIXED (answerable and unanswerable questions: balanced accuracy,
the figure to raise). The shipped weights are fitted on public data, never on an evaluation set:
bench/squad_fit_sets.py makes both sets from SQuAD train (MIXED's unanswerable questions are asked where their own
paragraph is left out and the rest of its article is present). NewsQA and SQuAD 2.0 dev only measure the result.
Each question's signals (newsdesk/answer/abstention.py SIGNALS) are computed once by the service's own code;
every weight vector of a small grid is then scored in numpy, its threshold the
one with the best SQuAD balanced accuracy that keeps both floors plus a margin (the held-out folds wobble by
about a point). Per fold, the best vector on the training folds is applied to the held-out fold (no story in
both). --write stores the in-sample fit and the figures in newsdesk/answer/abstention_weights.json; the
threshold goes into Settings.abstain_threshold by hand (tests/test_abstention.py checks they agree).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cv import fold_of, read_groups, splits  # noqa: E402

from newsdesk.answer.abstention import SIGNALS, WEIGHTS, WEIGHTS_FILE  # noqa: E402
from newsdesk.answer.evidence import question_terms, support  # noqa: E402
from newsdesk.eval.score import read_questions  # noqa: E402
from newsdesk.models import Query  # noqa: E402
from newsdesk.settings import DEFAULTS  # noqa: E402

ANSWER_FLOOR, OFF_TOPIC_FLOOR = 0.95, 0.90
FLOORS = [ANSWER_FLOOR, OFF_TOPIC_FLOOR]  # --answer-floor / --off-topic-floor
MARGIN = 0.01  # the floors are enforced this much higher on the data a fit sees
STEPS = np.round(np.arange(0.0, 1.01, 0.1), 2)
# similarity's weight is 1 (it sets the scale); coverage adds, the three "missing" signals subtract.
GRID = np.array(list(itertools.product([1.0], STEPS, -STEPS, -STEPS, -STEPS / 2)))


@dataclass(frozen=True)
class Signals:
    """One question set's signals, one row per question."""

    rows: np.ndarray  # questions x SIGNALS
    answerable: np.ndarray
    story: np.ndarray


def collect(service, dataset: Path, limit: int | None, answerable: bool | None = None) -> Signals:  # type: ignore[no-untyped-def]
    """Signals as the service computes them; `answerable=False` marks every question unanswerable (off topic)."""
    grouped = read_groups(dataset / "questions.jsonl")
    story_of = dict(zip(grouped.ids, grouped.groups, strict=True))
    lexical = service.lexical_index()
    rows, labels, stories = [], [], []
    for q in read_questions(dataset / "questions.jsonl", limit):
        ev = service.pipeline.evidence(Query(q.question))
        found = support(question_terms(ev.question, lexical), ev.scored, next(iter(ev.articles), None))
        rows.append(found.signals or (0.0,) * len(SIGNALS))
        labels.append(q.answerable if answerable is None else answerable)
        stories.append(story_of[q.id])
    return Signals(np.array(rows, np.float64), np.array(labels, bool), np.array(stories))


def scores(s: Signals, weights: np.ndarray) -> np.ndarray:
    return np.clip(s.rows @ weights, 0.0, 1.0)


def best_threshold(news: np.ndarray, off: np.ndarray, squad: np.ndarray, answerable: np.ndarray
                   ) -> tuple[float, float]:
    return _best_threshold(news, off, squad, answerable, FLOORS[0], FLOORS[1])


def _best_threshold(news: np.ndarray, off: np.ndarray, squad: np.ndarray, answerable: np.ndarray,
                    answer_floor: float, off_topic_floor: float) -> tuple[float, float]:
    """(SQuAD balanced accuracy, threshold) of the best threshold keeping both floors (plus MARGIN), or (-1, inf)."""
    ordered = np.sort(news)
    highest = ordered[int(np.floor(len(ordered) * (1 - answer_floor - MARGIN) + 1e-9))]  # answer at or above
    ordered = np.sort(off)
    must = int(np.ceil(len(ordered) * (off_topic_floor + MARGIN) - 1e-9))  # off-topic questions to abstain on
    lowest = ordered[must - 1] if must else -np.inf  # the threshold must be above this
    if lowest >= highest:
        return -1.0, float("inf")
    candidates = np.r_[np.unique(squad[(squad > lowest) & (squad <= highest)]), highest]
    yes, no = squad[answerable], squad[~answerable]
    balanced = ((yes[:, None] >= candidates).mean(0) + (no[:, None] < candidates).mean(0)) / 2
    best = int(np.argmax(balanced))
    return float(balanced[best]), float(candidates[best])


def fit(sets: tuple[Signals, Signals, Signals], masks: tuple[np.ndarray, ...]) -> tuple[np.ndarray, float, float]:
    """The grid's best (weights, threshold, SQuAD balanced accuracy) over the masked questions; ties go to the
    grid's first (smallest) weights."""
    news, off, squad = (s.rows[m] for s, m in zip(sets, masks, strict=True))
    answerable = sets[2].answerable[masks[2]]
    best: tuple[np.ndarray, float, float] = (GRID[0], float("inf"), -1.0)
    for weights in GRID:
        balanced, threshold = best_threshold(*(np.clip(r @ weights, 0.0, 1.0) for r in (news, off, squad)), answerable)
        if balanced > best[2] + 1e-9:
            best = (weights, threshold, balanced)
    return best


def main() -> None:
    from newsdesk.app import build_service
    from newsdesk.settings import Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--answerable", type=Path, required=True, help="a set whose questions are all answerable")
    parser.add_argument("--answerable-store", type=Path, required=True, help="an index of its corpus")
    parser.add_argument("--mixed", type=Path, required=True, help="a set with unanswerable questions, other topics")
    parser.add_argument("--mixed-store", type=Path, required=True, help="an index of its corpus")
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--answer-floor", type=float, default=ANSWER_FLOOR, help="least answer rate on ANSWERABLE")
    parser.add_argument("--off-topic-floor", type=float, default=OFF_TOPIC_FLOOR, help="least off-topic abstain rate")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--write", action="store_true", help=f"store the in-sample fit in {WEIGHTS_FILE.name}")
    args = parser.parse_args()
    FLOORS[:] = [args.answer_floor, args.off_topic_floor]
    news_service = build_service(Settings.from_env(store=args.answerable_store))
    squad_service = build_service(Settings.from_env(store=args.mixed_store))
    sets = (collect(news_service, args.answerable, args.limit),
            collect(squad_service, args.answerable, args.limit, False),
            collect(squad_service, args.mixed, args.limit))
    folds = [fold_of(list(s.story), args.cv) for s in sets]
    weights, threshold, _ = fit(sets, tuple(np.ones(len(s.story), bool) for s in sets))
    answered = [np.zeros(len(s.story), bool) for s in sets]
    chosen = []
    for f in range(args.cv):
        train = tuple(splits(fold)[f][0] for fold in folds)
        w, t, _ = fit(sets, train)
        chosen.append((w[1:].tolist(), round(t, 3)))
        for s, fold, out in zip(sets, folds, answered, strict=True):
            out[fold == f] = (scores(s, w) >= t)[fold == f]
    squad = sets[2]
    print(f"questions: {args.answerable.name} {len(sets[0].story)}, off-topic {len(sets[1].story)}, "
          f"{args.mixed.name} {len(squad.story)} ({int((~squad.answerable).sum())} unanswerable); {args.cv} folds by story")
    print(f"signals {SIGNALS}")
    print("answer rate | off-topic abstain | mixed answer / abstain / balanced")
    shipped = [scores(s, WEIGHTS) >= DEFAULTS.abstain_threshold for s in sets]
    fitted = [scores(s, weights) >= threshold for s in sets]
    print(f"{'shipped':16} {WEIGHTS.tolist()} >= {DEFAULTS.abstain_threshold}: {_line(*shipped, squad)[0]}")
    print(f"{'in-sample best':16} {weights.tolist()} >= {threshold:.3f}: {_line(*fitted, squad)[0]}")
    print(f"{'cross-validated':16} per fold: {_line(*answered, squad)[0]}")
    print("chosen per fold (coverage, negation, number, type; threshold):", chosen)
    if args.write:
        figures = {"folds": args.cv, "sets": {"answerable": args.answerable.name, "mixed": args.mixed.name},
                   "floors": {"answer": FLOORS[0], "off_topic": FLOORS[1]},
                   "in_sample": _line(*fitted, squad)[1], "cross_validated": _line(*answered, squad)[1]}
        if not np.isfinite(threshold):
            raise SystemExit("no weights keep both floors: nothing written (lower --answer-floor or --off-topic-floor)")
        WEIGHTS_FILE.write_text(json.dumps({"signals": list(SIGNALS), "weights": [round(float(w), 4) for w in weights],
                                            "threshold": round(threshold, 3), "figures": figures}, indent=1) + "\n",
                                encoding="utf-8")
        print(f"wrote {WEIGHTS_FILE}; set Settings.abstain_threshold to {round(threshold, 3)}")


def _line(news: np.ndarray, off: np.ndarray, squad: np.ndarray, s: Signals) -> tuple[str, dict[str, float]]:
    answer, abstain = float(squad[s.answerable].mean()), float((~squad[~s.answerable]).mean())
    figures = {"answer_rate": float(news.mean()), "off_topic_abstain_rate": float((~off).mean()),
               "mixed_answer_rate": answer, "mixed_abstain_rate": abstain, "mixed_balanced": (answer + abstain) / 2}
    return " | ".join(f"{v:.3f}" for v in figures.values()), {k: round(v, 4) for k, v in figures.items()}


if __name__ == "__main__":
    main()
