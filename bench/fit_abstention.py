"""Choose the abstention thresholds with k-fold cross-validation by story, over three question sets at once.

Usage: python bench/fit_abstention.py --newsqa DIR --newsqa-store STORE --squad DIR --squad-store STORE [--cv 5]
The sets: NewsQA on its own stories (all answerable: keep answering >= 0.95), NewsQA on the SQuAD
paragraphs (off topic: keep abstaining >= 0.90) and SQuAD 2.0 (about half unanswerable: balanced
accuracy, the figure to raise). Each question's support signals are computed once; every threshold pair
of the grid is then scored in numpy. Per fold, the pair that keeps both floors on the training folds and
has the best SQuAD balanced accuracy there is applied to the held-out fold (no story in both).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cv import fold_of, read_groups, splits  # noqa: E402

from newsdesk.answer.evidence import question_terms, support  # noqa: E402
from newsdesk.eval.score import read_questions  # noqa: E402
from newsdesk.models import Query  # noqa: E402
from newsdesk.settings import DEFAULTS  # noqa: E402

SIMILAR = np.round(np.arange(0.40, 0.701, 0.02), 2)
COMBINED = np.round(np.arange(0.40, 0.801, 0.02), 2)
ANSWER_FLOOR, OFF_TOPIC_FLOOR = 0.95, 0.90


@dataclass(frozen=True)
class Signals:
    """One question set's support signals, one row per question."""

    similarity: np.ndarray
    combined: np.ndarray
    answerable: np.ndarray
    story: np.ndarray

    def answers(self, similar_enough: float, threshold: float) -> np.ndarray:
        return (self.similarity >= similar_enough) | (self.combined >= threshold)


def collect(service, dataset: Path, limit: int | None) -> Signals:  # type: ignore[no-untyped-def]
    grouped = read_groups(dataset / "questions.jsonl")
    story_of = dict(zip(grouped.ids, grouped.groups, strict=True))
    lexical = service.lexical_index()
    rows = []
    for q in read_questions(dataset / "questions.jsonl", limit):
        ev = service.find_evidence(Query(q.question))
        found = support(question_terms(ev.question, lexical), ev.scored, next(iter(ev.articles), None))
        rows.append((found.best_similarity, found.combined, q.answerable, story_of[q.id]))
    sim, comb, ans, story = zip(*rows, strict=True)
    return Signals(np.array(sim), np.array(comb), np.array(ans, bool), np.array(story))


def rates(s: Signals, pair: tuple[float, float], mask: np.ndarray | None = None) -> tuple[float, float]:
    """(answer rate on answerable, abstain rate on unanswerable) over the masked questions."""
    mask = np.ones(len(s.story), bool) if mask is None else mask
    answered = s.answers(*pair)
    yes, no = mask & s.answerable, mask & ~s.answerable
    return (float(answered[yes].mean()) if yes.any() else float("nan"),
            float((~answered[no]).mean()) if no.any() else float("nan"))


def choose_pair(news: Signals, off: Signals, squad: Signals, masks: tuple[np.ndarray, np.ndarray, np.ndarray]
                ) -> tuple[float, float]:
    """The grid pair with the best SQuAD balanced accuracy that keeps both floors; ties go to the shipped pair's
    neighbourhood (smallest change)."""
    best, best_key = (DEFAULTS.similar_enough, DEFAULTS.abstain_threshold), (-1.0, 0.0)
    for pair in itertools.product(SIMILAR, COMBINED):
        pair = (float(pair[0]), float(pair[1]))
        if rates(news, pair, masks[0])[0] < ANSWER_FLOOR or rates(off, pair, masks[1])[1] < OFF_TOPIC_FLOOR:
            continue
        balanced = sum(rates(squad, pair, masks[2])) / 2
        key = (round(balanced, 6), -abs(pair[0] - DEFAULTS.similar_enough) - abs(pair[1] - DEFAULTS.abstain_threshold))
        if key > best_key:
            best, best_key = pair, key
    return best


def main() -> None:
    from newsdesk.app import build_service
    from newsdesk.settings import Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--newsqa", type=Path, required=True)
    parser.add_argument("--newsqa-store", type=Path, required=True)
    parser.add_argument("--squad", type=Path, required=True)
    parser.add_argument("--squad-store", type=Path, required=True)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    news_service = build_service(Settings.from_env(store=args.newsqa_store))
    squad_service = build_service(Settings.from_env(store=args.squad_store))
    news = collect(news_service, args.newsqa, args.limit)
    off = Signals(*(np.asarray(a) for a in _off_topic(collect(squad_service, args.newsqa, args.limit))))
    squad = collect(squad_service, args.squad, args.limit)
    folds = [fold_of(list(s.story), args.cv) for s in (news, off, squad)]
    everything = tuple(np.ones(len(s.story), bool) for s in (news, off, squad))
    in_sample = choose_pair(news, off, squad, everything)
    answered = [np.zeros(len(s.story), bool) for s in (news, off, squad)]
    chosen = []
    for f in range(args.cv):
        train = tuple(splits(fold)[f][0] for fold in folds)
        pair = choose_pair(news, off, squad, train)
        chosen.append(pair)
        for s, fold, out in zip((news, off, squad), folds, answered, strict=True):
            out[fold == f] = s.answers(*pair)[fold == f]
    print(f"questions: NewsQA {len(news.story)}, off-topic {len(off.story)}, SQuAD 2.0 {len(squad.story)} "
          f"({int((~squad.answerable).sum())} unanswerable); {args.cv} folds by story")
    print("(similar_enough, abstain_threshold): NewsQA answer rate | off-topic abstain | SQuAD answer / abstain / balanced")
    for label, pair in (("shipped", (DEFAULTS.similar_enough, DEFAULTS.abstain_threshold)), ("in-sample best", in_sample)):
        print(f"{label:16} {pair}: " + _line(news.answers(*pair), off.answers(*pair), squad.answers(*pair), squad))
    print(f"{'cross-validated':16} {'per fold':12}: " + _line(*answered, squad))
    print("chosen per fold:", chosen)


def _off_topic(s: Signals) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """NewsQA questions asked of the SQuAD paragraphs: none is answerable there."""
    return s.similarity, s.combined, np.zeros(len(s.story), bool), s.story


def _line(news: np.ndarray, off: np.ndarray, squad: np.ndarray, s: Signals) -> str:
    answer, abstain = squad[s.answerable].mean(), (~squad[~s.answerable]).mean()
    return (f"{news.mean():.3f} | {(~off).mean():.3f} | {answer:.3f} / {abstain:.3f} / {(answer + abstain) / 2:.3f}")


if __name__ == "__main__":
    main()
