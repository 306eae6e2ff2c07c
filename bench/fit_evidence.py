"""Fit the evidence-sentence weights with k-fold cross-validation by story, and measure each feature.

Usage: python bench/fit_evidence.py DATASET_DIR --store STORE [--cv 5] [--drop-one] [--write]
STORE already holds DATASET_DIR's corpus. Each question's candidate sentences and feature rows are
computed once through the service and cached (--cache, default /tmp); refits then run in numpy/scipy.
Prints cited_has_answer@1/@3 (the service's own citation choice, on the questions it answers) for the
shipped weights, for weights fitted on all questions (in-sample) and for weights fitted without the
question's story (cross-validated); --drop-one adds each feature's cross-validated contribution;
--write stores the weights fitted on all questions and the figures in newsdesk/answer/evidence_weights.json.
Label: the sentence contains a gold answer string.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cv import fold_of, read_groups, splits  # noqa: E402

from newsdesk.answer.compose import choose  # noqa: E402
from newsdesk.answer.evidence import FEATURES, WEIGHTS, WEIGHTS_FILE, ScoredSentence, features, question_terms  # noqa: E402
from newsdesk.eval.score import YES_NO, gold_form, normalise, read_questions  # noqa: E402
from newsdesk.models import Query, Sentence, StoredSentence  # noqa: E402
from newsdesk.settings import DEFAULTS  # noqa: E402


@dataclass(frozen=True)
class Candidates:
    """Every question's candidate sentences: feature rows, labels and what the citation choice needs."""

    features: tuple[str, ...]
    story: np.ndarray  # (Q,) str
    supported: np.ndarray  # (Q,) bool: the service answers it (abstention as shipped)
    offsets: np.ndarray  # (Q+1,) row range of each question
    rows: np.ndarray  # (N, F) float32
    labels: np.ndarray  # (N,) bool
    article: np.ndarray  # (N,) int32: the article's rank among the evidence articles
    index: np.ndarray  # (N,) int32: sentence number in its article
    key: np.ndarray  # (N,) int64: hash of the sentence's normalised text (repeats are cited once)

    def save(self, path: Path) -> None:
        np.savez(path, features=np.array(self.features), **{k: getattr(self, k) for k in (
            "story", "supported", "offsets", "rows", "labels", "article", "index", "key")})

    @classmethod
    def load(cls, path: Path) -> Candidates:
        with np.load(path, allow_pickle=False) as z:
            return cls(tuple(str(f) for f in z["features"]), *(z[k] for k in (
                "story", "supported", "offsets", "rows", "labels", "article", "index", "key")))

    def question(self, i: int) -> slice:
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def columns(self, names: list[str]) -> Candidates:
        keep = [self.features.index(n) for n in names]
        return Candidates(tuple(names), self.story, self.supported, self.offsets, self.rows[:, keep], self.labels,
                          self.article, self.index, self.key)


def collect(service, dataset: Path, limit: int | None) -> Candidates:  # type: ignore[no-untyped-def]
    """Run retrieval once per question with a gold answer (yes/no left out, as in the eval)."""
    grouped = read_groups(dataset / "questions.jsonl")
    story_of = dict(zip(grouped.ids, grouped.groups, strict=True))
    lexical = service.lexical_index()
    stories, supported, offsets, rows, labels, article, index, key = [], [], [0], [], [], [], [], []
    for q in read_questions(dataset / "questions.jsonl", limit):
        golds = [g for g in (gold_form(a) for a in q.answers) if g]
        if not q.answerable or not golds or all(g in YES_NO for g in golds):
            continue
        ev = service.pipeline.evidence(Query(q.question))
        ranks = {a: i for i, a in enumerate(ev.articles)}
        stored = sorted((s.stored for s in ev.scored), key=lambda s: (ranks[s.sentence.article_id], s.sentence.index))
        vector = service.embedder.embed([ev.question])[0]
        rows.append(features(question_terms(ev.question, lexical), vector, stored, ranks))
        labels.append([any(g in normalise(s.sentence.text) for g in golds) for s in stored])
        article.append([ranks[s.sentence.article_id] for s in stored])
        index.append([s.sentence.index for s in stored])
        key.append([_text_key(s.sentence.text) for s in stored])
        stories.append(story_of[q.id])
        supported.append(ev.supported)
        offsets.append(offsets[-1] + len(stored))
    return Candidates(
        FEATURES, np.array(stories), np.array(supported, bool), np.array(offsets, np.int64),
        np.concatenate(rows).astype(np.float32), np.concatenate(labels).astype(bool),
        np.concatenate(article).astype(np.int32), np.concatenate(index).astype(np.int32),
        np.concatenate(key).astype(np.int64),
    )


def _text_key(text: str) -> int:
    """The citation choice treats sentences with the same normalised text as one."""
    return int.from_bytes(hashlib.blake2b(" ".join(text.split()).casefold().encode(), digest_size=7).digest(), "big")


def fit(c: Candidates, train: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    """Class-balanced logistic regression on the training questions' rows (L-BFGS on standardised features)."""
    mask = np.repeat(train, np.diff(c.offsets))
    x, y = c.rows[mask].astype(np.float64), c.labels[mask].astype(np.float64)
    mean, std = x.mean(0), x.std(0) + 1e-6
    xs = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    sample = np.where(y > 0, (len(y) - y.sum()) / max(y.sum(), 1.0), 1.0)
    sample /= sample.mean()

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = xs @ w
        p = 1 / (1 + np.exp(-z))
        nll = np.logaddexp(0, z) - y * z
        reg = 0.5 * l2 * (w[:-1] @ w[:-1])
        grad = xs.T @ ((p - y) * sample) / len(y)
        grad[:-1] += l2 * w[:-1]
        return float((nll * sample).mean() + reg), grad

    w = minimize(loss, np.zeros(xs.shape[1]), jac=True, method="L-BFGS-B").x
    return (w[:-1] / std).astype(np.float32)  # the same ranking on raw features (the intercept does not rank)


def fit_listwise(c: Candidates, train: np.ndarray, l2: float = 1e-2, l1: float = 0.0) -> np.ndarray:
    """Softmax over each training question's candidates, pushing probability onto the sentences with an answer
    (what cited@1 counts); questions with no such candidate are left out."""
    usable = [i for i in np.flatnonzero(train) if c.labels[c.question(i)].any()]
    rows_of = np.concatenate([np.arange(c.offsets[i], c.offsets[i + 1]) for i in usable])
    group = np.repeat(np.arange(len(usable)), [c.offsets[i + 1] - c.offsets[i] for i in usable])
    x = c.rows[rows_of].astype(np.float64)
    y = c.labels[rows_of].astype(np.float64)
    mean, std = x.mean(0), x.std(0) + 1e-6
    xs = (x - mean) / std
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    n = len(usable)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = xs @ w
        e = np.exp(z - np.maximum.reduceat(z, starts)[group])
        total, good = np.add.reduceat(e, starts), np.add.reduceat(e * y, starts)
        value = float((np.log(total) - np.log(good)).sum() / n + 0.5 * l2 * (w @ w))
        d = e / total[group] - e * y / good[group]
        return value, xs.T @ d / n + l2 * w

    if not l1:
        w = minimize(loss, np.zeros(xs.shape[1]), jac=True, method="L-BFGS-B").x
        return (w / std).astype(np.float32)
    m = xs.shape[1]

    def split_loss(v: np.ndarray) -> tuple[float, np.ndarray]:  # w = v+ - v-, both >= 0: an L1 penalty that zeroes weights
        value, grad = loss(v[:m] - v[m:])
        return value + l1 * float(v.sum()), np.concatenate([grad + l1, -grad + l1])

    v = minimize(split_loss, np.zeros(2 * m), jac=True, method="L-BFGS-B", bounds=[(0, None)] * (2 * m)).x
    w = v[:m] - v[m:]
    w[np.abs(w) < 1e-4] = 0.0
    return (w / std).astype(np.float32)


Fitter = Callable[[Candidates, np.ndarray, float], np.ndarray]
REPEAT_COSTS = (0.25, 0.5, 0.75, 1.0, 1.5)
MIN_SEVERAL = 0.55  # most answers should still show a second story (docs/design.md, "Answer")
FITTERS: dict[str, Fitter] = {"listwise": fit_listwise, "pointwise": fit}


class Scorer:
    """cited_has_answer@1/@3 with the service's own citation choice (its cap per article and repeat cost)."""

    def __init__(self, c: Candidates, repeat_cost: float = DEFAULTS.repeat_cost) -> None:
        self.c = c
        self.repeat_cost = repeat_cost
        self.cited = 0
        self.sentences = [
            StoredSentence(Sentence(str(a), int(i), 0, 0, str(k)), "", np.zeros(0, np.float32))
            for a, i, k in zip(c.article, c.index, c.key, strict=True)
        ]

    def hits(self, weights: np.ndarray, questions: np.ndarray, repeat_cost: float | None = None,
             margin: float = float("inf")) -> np.ndarray:
        """(3, Q) booleans for the questions asked about: the top citation holds an answer, any of the top 3 does,
        the citations come from more than one story; past the first, citations scoring more than `margin` below it
        are left out (Settings.citation_margin). `self.cited` counts the citations."""
        cost = self.repeat_cost if repeat_cost is None else repeat_cost
        self.cited = 0
        out = np.zeros((3, len(questions)), bool)
        scores = self.c.rows @ weights
        for i in np.flatnonzero(questions):
            part = self.c.question(i)
            ranked = [ScoredSentence(s, float(v), 0.0) for s, v in zip(self.sentences[part], scores[part], strict=True)]
            by_id = {id(s.stored): bool(lab) for s, lab in zip(ranked, self.c.labels[part], strict=True)}
            chosen = choose(ranked, DEFAULTS.citations, DEFAULTS.per_article, None, cost)
            chosen = chosen[:1] + [s for s in chosen[1:] if s.score >= chosen[0].score - margin]
            self.cited += len(chosen)
            out[0, i] = bool(chosen) and by_id[id(chosen[0].stored)]
            out[1, i] = any(by_id[id(s.stored)] for s in chosen)
            out[2, i] = len({s.stored.sentence.article_id for s in chosen}) > 1
        return out


@dataclass(frozen=True)
class Figures:
    at1: float
    at3: float
    several_stories: float  # share of answers quoting more than one story

    @classmethod
    def of(cls, hit: np.ndarray, asked: np.ndarray) -> Figures:
        return cls(*(float(row[asked].mean()) for row in hit))

    def __str__(self) -> str:
        return f"@1 {self.at1:.3f}  @3 {self.at3:.3f}  (answers quoting several stories {self.several_stories:.2f})"


def evaluate(scorer: Scorer, weights: np.ndarray) -> Figures:
    return Figures.of(scorer.hits(weights, scorer.c.supported), scorer.c.supported)


Folds = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def fold_weights(c: Candidates, fold: np.ndarray, l2: float, fitter: Fitter) -> Folds:
    """(train mask, test mask, weights fitted on train) per fold: no story in both."""
    return [(train, test, fitter(c, train, l2)) for train, test in splits(fold)]


def cross_validate(scorer: Scorer, folds: Folds, repeat_cost: float | None = None) -> Figures:
    """Each question scored by the weights fitted without its story."""
    hit = np.zeros((3, len(scorer.c.story)), bool)
    for _, test, weights in folds:
        asked = test & scorer.c.supported
        hit[:, asked] = scorer.hits(weights, asked, repeat_cost)[:, asked]
    return Figures.of(hit, scorer.c.supported)


def choose_repeat_cost(scorer: Scorer, folds: Folds) -> tuple[Figures, list[float]]:
    """Per fold, the repeat cost with the best @3 on the training questions among those that still quote several
    stories in at least MIN_SEVERAL of answers, applied to the held-out fold."""
    hit = np.zeros((3, len(scorer.c.story)), bool)
    chosen = []
    for train, test, weights in folds:
        asked = train & scorer.c.supported
        trials = {cost: Figures.of(scorer.hits(weights, asked, cost), asked) for cost in REPEAT_COSTS}
        fine = [cost for cost, f in trials.items() if f.several_stories >= MIN_SEVERAL] or [max(REPEAT_COSTS)]
        cost = max(fine, key=lambda k: (trials[k].at3, -abs(k - DEFAULTS.repeat_cost)))
        chosen.append(cost)
        held = test & scorer.c.supported
        hit[:, held] = scorer.hits(weights, held, cost)[:, held]
    return Figures.of(hit, scorer.c.supported), chosen


def main() -> None:
    from newsdesk.app import build_service
    from newsdesk.settings import Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--cv", type=int, default=5, help="folds (split by story)")
    parser.add_argument("--seed", type=int, default=18, help="how stories are dealt to folds")
    parser.add_argument("--l2", type=float, default=1e-2)
    parser.add_argument("--objective", choices=sorted(FITTERS), default="listwise",
                        help="listwise: softmax over each question's candidates; pointwise: class-balanced logistic")
    parser.add_argument("--cache", type=Path, help="candidate cache (.npz); default /tmp/newsdesk-fit-DATASET.npz")
    parser.add_argument("--refresh", action="store_true", help="recompute the cache")
    parser.add_argument("--repeat-cost", action="store_true", help="choose the citation repeat cost by cross-validation")
    parser.add_argument("--citation-margin", action="store_true",
                        help="@3 and citations per answer, shipped weights, for each citation margin")
    parser.add_argument("--drop-one", action="store_true", help="cross-validate without each feature in turn")
    parser.add_argument("--features", help="comma-separated subset of the features to fit (default: all)")
    parser.add_argument("--write", action="store_true", help=f"store the all-question fit and figures in {WEIGHTS_FILE.name}")
    args = parser.parse_args()

    cache = args.cache or Path(f"/tmp/newsdesk-fit-{args.dataset.name}{'-' + str(args.limit) if args.limit else ''}.npz")
    c = Candidates.load(cache) if cache.exists() and not args.refresh else None
    if c is None or c.features != FEATURES:
        started = time.perf_counter()
        c = collect(build_service(Settings.from_env(store=args.store)), args.dataset, args.limit)
        c.save(cache)
        print(f"collected {len(c.story)} questions in {time.perf_counter() - started:.0f} s -> {cache}")
    names = args.features.split(",") if args.features else list(FEATURES)
    c = c.columns(names)
    fold = fold_of(list(c.story), args.cv, args.seed)
    scorer = Scorer(c)
    oracle = np.array([c.labels[c.question(i)].any() for i in range(len(c.story))])[c.supported].mean()
    print(f"questions {len(c.story)} (answered {int(c.supported.sum())}), stories {len(set(c.story))}, "
          f"{args.cv} folds by story; a candidate holds an answer for {oracle:.3f}")
    if tuple(names) == FEATURES:
        print(f"shipped weights          {evaluate(scorer, WEIGHTS)}")
    fitter = FITTERS[args.objective]
    in_sample_w = fitter(c, np.ones(len(c.story), bool), args.l2)
    folds = fold_weights(c, fold, args.l2, fitter)
    in_sample, cross = evaluate(scorer, in_sample_w), cross_validate(scorer, folds)
    print(f"fitted, in-sample        {in_sample}")
    print(f"fitted, cross-validated  {cross}")
    if args.repeat_cost:
        figures, chosen = choose_repeat_cost(scorer, folds)
        print(f"repeat cost chosen per fold {chosen} (cross-validated): {figures}")
    if args.citation_margin:
        print("\ncitation margin (shipped weights): @3, citations per answer")
        answered = max(1, int(c.supported.sum()))
        for margin in (2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, float("inf")):
            at3 = Figures.of(scorer.hits(WEIGHTS, c.supported, margin=margin), c.supported).at3
            print(f"  {margin:>5}  @3 {at3:.4f}  citations {scorer.cited / answered:.2f}")
    if args.drop_one:
        print("\ncross-validated without each feature (change against all features):")
        for name in names:
            part = c.columns([n for n in names if n != name])
            without = cross_validate(Scorer(part), fold_weights(part, fold, args.l2, fitter))
            print(f"  - {name:22} {without.at1:.3f} {without.at3:.3f}   "
                  f"({without.at1 - cross.at1:+.3f} / {without.at3 - cross.at3:+.3f})")
    print("\nweights fitted on all questions:", ", ".join(f"{n}={v:.3f}" for n, v in zip(names, in_sample_w, strict=True)))
    if args.write:
        write(names, in_sample_w, args.dataset.name, in_sample, cross, args.cv)
        print(f"wrote {WEIGHTS_FILE}")


def write(names: list[str], weights: np.ndarray, dataset: str, in_sample: Figures, cross: Figures, k: int) -> None:
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8")) if WEIGHTS_FILE.exists() else {}
    data["features"] = names
    data["weights"] = [round(float(v), 4) for v in weights]
    data["fitted_on"] = dataset
    data["figures"] = {}  # figures of an earlier fit on another set no longer describe these weights
    data["figures"][dataset] = {
        "folds": k,
        "in_sample": _figures(in_sample),
        "cross_validated": _figures(cross),
    }
    WEIGHTS_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _figures(f: Figures) -> dict[str, float]:
    return {"cited_has_answer@1": round(f.at1, 4), "cited_has_answer@3": round(f.at3, 4)}


if __name__ == "__main__":
    main()
