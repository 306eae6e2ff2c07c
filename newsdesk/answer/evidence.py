"""Select evidence: score every sentence of the top articles against the question with a linear model."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from newsdesk.index.lexical import LexicalIndex, sentence_profile, sentence_terms, terms
from newsdesk.index.lexical import clear_caches as lexical_caches_clear
from newsdesk.models import Article, Matrix, StoredSentence

MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tomorrow|tonight"
# Word sets and one small pattern instead of case-insensitive alternations (a sentence's date, number
# and name checks together: 29 -> 15 us).
DATE_WORDS = frozenset(f"{MONTHS}|{DAYS}|jan|feb|aug|sep|sept|oct|nov|dec".split("|"))
YEAR_OR_TIME = re.compile(r"\b(?:1[89]\d\d|20\d\d|\d+\s*(?:a\.m\.|p\.m\.|am|pm))\b")
NUMBER_WORDS = frozenset((
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "dozen",
    "dozens", "hundred", "hundreds", "thousand", "thousands", "million", "millions", "billion", "billions", "half",
))
PROPER = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")

FEATURES = (
    "dense", "overlap", "neighbour_dense", "answer_type", "position", "lede", "length",
    "article_prior", "rarest_match", "bigram", "novelty", "neighbour_overlap", "predicate_overlap",
)
# Fitted by bench/fit_evidence.py (logistic regression, label: the sentence holds a gold answer) on
# NewsQA dev with two-fold cross-validation; see docs/quality.md, "How the weights and the abstention threshold were chosen".
WEIGHTS = np.array(
    [6.381, 0.490, 2.261, -0.072, 0.624, 1.136, 1.044, 3.592, -0.480, 2.593, 0.670, 0.338, 0.999], np.float32
)


@dataclass(frozen=True)
class ScoredSentence:
    stored: StoredSentence
    score: float
    similarity: float  # cosine similarity of the sentence and the question


@dataclass(frozen=True)
class QuestionTerms:
    text: str
    terms: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    weights: dict[str, float]
    total: float
    rarest: float
    wants: str | None
    predicate: frozenset[str]  # terms of the question's lower-case words: what is asked about the names
    predicate_total: float


def question_terms(question: str, lexical: LexicalIndex) -> QuestionTerms:
    ordered = terms(question)
    weights = {t: lexical.weight(t) for t in ordered}
    return QuestionTerms(
        text=question,
        terms=frozenset(ordered),
        bigrams=frozenset(zip(ordered, ordered[1:], strict=False)),
        weights=weights,
        total=sum(weights.values()) or 1.0,
        rarest=max(weights.values(), default=1.0),
        wants=answer_type(question),
        predicate=(predicate := frozenset(terms(" ".join(w for w in question.split() if not w[:1].isupper())))),
        predicate_total=sum(weights.get(t, 0.0) for t in predicate) or 1.0,
    )


def features(
    q: QuestionTerms, vector: Matrix, sentences: list[StoredSentence], article_rank: dict[str, int]
) -> np.ndarray:
    """One row of FEATURES per sentence; sentences are grouped by article in reading order."""
    if not sentences:
        return np.zeros((0, len(FEATURES)), np.float32)
    dense = np.stack([s.vector for s in sentences]) @ np.asarray(vector, np.float32)
    rows = np.zeros((len(sentences), len(FEATURES)), np.float32)
    for i, stored in enumerate(sentences):
        s = stored.sentence
        s_terms, s_bigrams = sentence_profile(s.text)
        matched = q.terms & s_terms
        rows[i, 1] = sum(q.weights[t] for t in matched) / q.total
        rows[i, 3] = type_match(q.wants, s.text, q.text) if s_terms - q.terms else -1.0
        rows[i, 4] = 1.0 / (1.0 + s.index)
        rows[i, 5] = 1.0 if s.index < 3 else 0.0
        rows[i, 6] = min(len(s_terms), 30) / 30.0
        rows[i, 7] = 1.0 / (1.0 + article_rank.get(s.article_id, 10))
        rows[i, 8] = max((q.weights[t] for t in matched), default=0.0) / q.rarest
        rows[i, 9] = len(q.bigrams & s_bigrams) / len(q.bigrams) if q.bigrams else 0.0
        rows[i, 10] = len(s_terms - q.terms) / len(s_terms) if s_terms else 0.0
        rows[i, 12] = sum(q.weights[t] for t in matched & q.predicate) / q.predicate_total
    rows[:, 0] = dense
    # Neighbours: the sentence before and after in the same article.
    articles = [s.sentence.article_id for s in sentences]
    has_prev = np.array([0.0] + [float(a == b) for a, b in zip(articles, articles[1:], strict=False)], np.float32)
    has_next = np.append(has_prev[1:], 0.0).astype(np.float32)
    prev_dense, next_dense = np.roll(dense, 1) * has_prev, np.roll(dense, -1) * has_next
    count = has_prev + has_next
    rows[:, 2] = np.divide(prev_dense + next_dense, count, out=np.zeros_like(dense), where=count > 0)
    overlap = rows[:, 1]
    prev_overlap = np.where(has_prev > 0, np.roll(overlap, 1), 0.0)
    rows[:, 11] = np.maximum(prev_overlap, np.where(has_next > 0, np.roll(overlap, -1), 0.0))
    return rows


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
    """How well the reporting covers a question."""

    best_similarity: float  # the most similar evidence sentence (cosine)
    combined: float  # 2/3 best similarity + 1/3 IDF-weighted coverage of the question's words by the top article


def support(q: QuestionTerms, scored: list[ScoredSentence], top_article: str | None) -> Support:
    """Coverage catches questions about people or places the collection never mentions, even when
    some sentence is similar in topic; calibrated in docs/quality.md ("Abstention")."""
    if not scored:
        return Support(0.0, 0.0)
    best = max(s.similarity for s in scored)
    present: set[str] = set()
    for s in scored:
        if s.stored.sentence.article_id == top_article:
            present.update(sentence_terms(s.stored.sentence.text))
    coverage = sum(w for t, w in q.weights.items() if t in present) / q.total if q.weights else 0.0
    return Support(best, (2 * best + coverage) / 3)


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


def answer_type(question: str) -> str | None:
    q = question.casefold()
    if re.search(r"\b(when|what year|what date|what day|what time|how long ago)\b", q):
        return "date"
    if re.search(r"\b(how many|how much|how old|how long|what percent|what percentage|what number|what age)\b", q):
        return "number"
    if re.search(r"\b(who|whom|whose|where|which country|which city)\b", q):
        return "name"
    return None


def type_match(wants: str | None, sentence: str, question: str) -> float:
    if wants is None:
        return 0.0
    dates, numbers, names = _answer_kinds(sentence)
    if wants == "date":
        return float(dates)
    if wants == "number":
        return float(numbers)
    return 1.0 if names - _words(question) else 0.0


@lru_cache(maxsize=1024)
def _words(question: str) -> frozenset[str]:
    return frozenset(w.casefold() for w in re.findall(r"\w+", question))


def clear_caches() -> None:
    """Forget every per-sentence cache (for benchmarks of a first pass, as in a new container)."""
    _answer_kinds.cache_clear()
    lexical_caches_clear()


@lru_cache(maxsize=100_000)
def _answer_kinds(sentence: str) -> tuple[bool, bool, frozenset[str]]:
    """Whether a stored sentence has a date, a number, and which capitalised words (cached per sentence)."""
    lower = sentence.lower()
    words = set(re.findall(r"\w+", lower))
    digits = any(c.isdigit() for c in sentence)
    dates = bool(words & DATE_WORDS) or (digits and YEAR_OR_TIME.search(lower) is not None)
    return dates, digits or bool(words & NUMBER_WORDS), frozenset(m.casefold() for m in PROPER.findall(sentence))


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
