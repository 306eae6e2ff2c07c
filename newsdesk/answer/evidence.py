"""Select evidence: score every sentence of the top articles against the question with a linear model."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from newsdesk.answer import abstention
from newsdesk.answer.answer_types import clear_caches as answer_types_caches_clear
from newsdesk.answer.figures import figure_units
from newsdesk.answer.fitted import load_weights
from newsdesk.answer.sentence_features import FEATURES, QuestionTerms, features
from newsdesk.answer.sentence_features import question_terms as question_terms  # callers take it from here
from newsdesk.index.lexical import clear_caches as lexical_caches_clear
from newsdesk.index.lexical import sentence_terms
from newsdesk.models import Article, Matrix, StoredSentence

# Fitted by bench/fit_evidence.py (softmax over each question's candidates, label: the sentence holds a gold
# answer) with 5-fold cross-validation by story; the file also holds the in-sample and cross-validated figures.
WEIGHTS_FILE = Path(__file__).with_name("evidence_weights.json")


def _load_weights(path: Path = WEIGHTS_FILE) -> np.ndarray:
    return load_weights(path, "features", FEATURES, "python bench/fit_evidence.py DATASET --store STORE --write")


WEIGHTS = _load_weights()


@dataclass(frozen=True)
class ScoredSentence:
    stored: StoredSentence
    score: float
    similarity: float  # cosine similarity of the sentence and the question


def score_sentences(
    q: QuestionTerms,
    vector: Matrix,
    sentences: list[StoredSentence],
    article_rank: dict[str, int],
    weights: np.ndarray = WEIGHTS,
) -> list[ScoredSentence]:
    """Sentences best first."""
    rows = features(q, vector, sentences, article_rank)
    scores = rows @ weights
    out = [ScoredSentence(s, float(scores[i]), float(rows[i, 0])) for i, s in enumerate(sentences)]
    out.sort(key=lambda s: -s.score)
    return out


@dataclass(frozen=True)
class Support:
    """How well the evidence covers a question: the signals of newsdesk/answer/abstention.py and their score."""

    best_similarity: float  # the most similar evidence sentence (cosine)
    score: float  # the weighted signals, clipped to [0, 1]: the service answers at Settings.abstain_threshold
    signals: tuple[float, ...] = ()  # abstention.SIGNALS, for benchmarks and logs


def support(q: QuestionTerms, scored: list[ScoredSentence], top_article: str | None) -> Support:
    """Similarity and coverage catch questions the collection does not report on; the other signals catch a
    question on the subject that asks for something the best evidence does not hold (a negation, a number, an
    answer of the asked type); weighed in docs/quality.md ("Abstention")."""
    if not scored:
        return Support(0.0, 0.0)
    best = max(s.similarity for s in scored)
    article = [s.stored.sentence.text for s in scored if s.stored.sentence.article_id == top_article]
    present = {t for text in article for t in sentence_terms(text)}
    coverage = sum(w for t, w in q.weights.items() if t in present) / q.total if q.weights else 0.0
    values = abstention.signals(q.text, best, coverage, [s.stored.sentence.text for s in scored[:abstention.BEST]],
                                article)
    return Support(best, abstention.score(values), tuple(float(v) for v in values))


def named_outlets(question: str, outlets: Iterable[str]) -> list[str]:
    """The outlets a question names ("Does 'The Verge' agree with TechCrunch ..."), in the question's order.

    Longer names win where names overlap ("The Age" over "Age")."""
    taken: list[tuple[int, int]] = []
    found = []
    for outlet in sorted(outlets, key=len, reverse=True):
        match = re.search(rf"(?<!\w){re.escape(outlet)}(?!\w)", question, re.I)
        if match and not any(match.start() < end and start < match.end() for start, end in taken):
            taken.append(match.span())
            found.append((match.start(), outlet))
    return [o for _, o in sorted(found)]


def clear_caches() -> None:
    """Forget every per-sentence cache (for benchmarks of a first pass, as in a new container)."""
    answer_types_caches_clear()
    lexical_caches_clear()
    figure_units.cache_clear()


@dataclass
class Evidence:
    """Scored evidence for one question, before any answer is composed."""

    question: str
    scored: list[ScoredSentence]
    articles: dict[str, Article]
    ranked_ids: tuple[str, ...]
    timing: dict[str, float]
    started: float
    supported: bool  # False: nothing relevant enough, so every answerer abstains
    per_article: int = 3  # most sentences to cite from one article
    outlets: list[str] = field(default_factory=list)  # outlets the question names: cite each
    resolved_question: str | None = None  # a follow-up as it was taken, with what the conversation filled in
