"""Select evidence: score every sentence of the top articles against the question."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from newsdesk.lexical import LexicalIndex, terms
from newsdesk.models import Matrix, StoredSentence

MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tomorrow|tonight"
DATE = re.compile(rf"\b(?:{MONTHS}|{DAYS}|jan|feb|aug|sept?|oct|nov|dec|1[89]\d\d|20\d\d|\d+\s*(?:a\.m\.|p\.m\.|am|pm))\b", re.I)
NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?|millions?|billions?|half)\b", re.I)
PROPER = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")


@dataclass(frozen=True)
class EvidenceConfig:
    dense: float = 1.0
    lexical: float = 0.6
    neighbours: float = 0.15
    article_prior: float = 0.3
    answer_type: float = 0.08


@dataclass(frozen=True)
class ScoredSentence:
    stored: StoredSentence
    score: float
    support: float  # how directly the sentence addresses the question, for abstention


def score_sentences(
    question: str,
    vector: Matrix,
    sentences: list[StoredSentence],
    article_rank: dict[str, int],
    lexical: LexicalIndex,
    config: EvidenceConfig,
) -> list[ScoredSentence]:
    """Sentences best first."""
    if not sentences:
        return []
    matrix = np.stack([s.vector for s in sentences])
    dense = matrix @ np.asarray(vector, np.float32)
    context = _neighbour_mean(sentences, dense)
    q_terms = set(terms(question))
    total = sum(lexical.weight(t) for t in q_terms) or 1.0
    wants = _answer_type(question)
    out = []
    for i, stored in enumerate(sentences):
        s_terms = set(terms(stored.sentence.text))
        overlap = sum(lexical.weight(t) for t in q_terms & s_terms) / total
        prior = 1.0 / (1.0 + article_rank.get(stored.sentence.article_id, 10))
        bonus = _type_bonus(wants, stored.sentence.text, question) if s_terms - q_terms else -1.0
        support = 0.5 * float(dense[i]) + 0.5 * overlap
        score = (
            config.dense * float(dense[i])
            + config.lexical * overlap
            + config.neighbours * float(context[i])
            + config.article_prior * prior
            + config.answer_type * bonus
        )
        out.append(ScoredSentence(stored, score, support))
    out.sort(key=lambda s: -s.score)
    return out


def _neighbour_mean(sentences: list[StoredSentence], dense: np.ndarray) -> np.ndarray:
    out = np.zeros_like(dense)
    for i, s in enumerate(sentences):
        near = [
            dense[j]
            for j in (i - 1, i + 1)
            if 0 <= j < len(sentences) and sentences[j].sentence.article_id == s.sentence.article_id
        ]
        out[i] = float(np.mean(near)) if near else 0.0
    return out


def _answer_type(question: str) -> str | None:
    q = question.casefold()
    if re.search(r"\b(when|what year|what date|what day|what time|how long ago)\b", q):
        return "date"
    if re.search(r"\b(how many|how much|how old|how long|what percent|what percentage|what number|what age)\b", q):
        return "number"
    if re.search(r"\b(who|whom|whose|where|which country|which city)\b", q):
        return "name"
    return None


def _type_bonus(wants: str | None, sentence: str, question: str) -> float:
    if wants == "date":
        return 1.0 if DATE.search(sentence) else 0.0
    if wants == "number":
        return 1.0 if NUMBER.search(sentence) else 0.0
    if wants == "name":
        asked = {w.casefold() for w in re.findall(r"\w+", question)}
        return 1.0 if any(m.casefold() not in asked for m in PROPER.findall(sentence)) else 0.0
    return 0.0
