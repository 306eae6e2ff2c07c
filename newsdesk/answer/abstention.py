"""Abstention signals: whether the best evidence holds the specific thing a question asks, and their fitted weights."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from newsdesk.answer import fitted
from newsdesk.answer.answer_types import MONTHS, asked_kind, gives, question_words

SIGNALS = (
    "similarity",  # cosine similarity of the most similar evidence sentence
    "coverage",  # IDF-weighted share of the question's words found in the top article
    "negation_unmatched",  # the question says not/never/didn't ("not only" is none) and none of the best three does
    "number_missing",  # a number in the question (a year, a count; not a publication date) is nowhere in the top article
    "type_missing",  # the question asks for a date, number, person, place or name; none of the best three gives one
)
# Fitted by bench/fit_abstention.py (grid over the weights, threshold chosen under the answer-rate floors, 5-fold
# cross-validation by story over NewsQA, NewsQA-against-SQuAD and SQuAD 2.0); the file holds the figures too.
WEIGHTS_FILE = Path(__file__).with_name("abstention_weights.json")
BEST = 3  # sentences read as "the best evidence"
NEGATION = re.compile(r"\b(?:not(?!\s+only\b)|never|no|none|nor|without|cannot|fail(?:ed|s)?|\w+n't)\b", re.I)
NUMBER = re.compile(r"\d+")
# When a story was published (a timestamp, a clock time, "October 1st"): metadata the text need not repeat.
PUBLISHED = re.compile(rf"\d{{4}}-\d\d-\d\d(?:T[\d:.]+(?:[+-]\d\d:?\d\d|Z)?)?|\b\d{{1,2}}:\d\d(?::\d\d)?\b"
                       rf"|\b(?:{MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\b",
                       re.I)


def load_weights(path: Path = WEIGHTS_FILE) -> np.ndarray:
    return fitted.load_weights(path, "signals", SIGNALS, "python bench/fit_abstention.py ... --write", np.float64)


WEIGHTS = load_weights()


def signals(question: str, similarity: float, coverage: float, best: Sequence[str], article: Sequence[str]
            ) -> np.ndarray:
    """SIGNALS for one question: `best` are the best evidence sentences (best first), `article` the top article's."""
    best = best[:BEST]
    negated = NEGATION.search(question) is not None and not any(NEGATION.search(s) for s in best)
    numbers = set(NUMBER.findall(PUBLISHED.sub(" ", question)))
    if numbers:
        numbers -= {n for s in article for n in NUMBER.findall(s)}
    kind = asked_kind(question)
    asked = question_words(question)
    untyped = kind is not None and not any(gives(kind, s, asked) for s in best)
    return np.array([similarity, coverage, float(negated), float(bool(numbers)), float(untyped)])


def score(values: np.ndarray, weights: np.ndarray = WEIGHTS) -> float:
    """The weighted signals, clipped to [0, 1]: answer at `abstain_threshold` or above (0 answers everything,
    above 1 nothing)."""
    return float(min(1.0, max(0.0, float(values @ weights))))
