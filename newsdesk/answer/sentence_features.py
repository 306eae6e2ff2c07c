"""Sentence features for evidence scoring: how each candidate sentence matches the question, one row per sentence.

Kept to the eleven that earn their place under cross-validation by story (bench/fit_evidence.py --drop-one;
docs/quality.md, "Evidence features"); each is cheap (cached per sentence, or a pass over the rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from newsdesk.answer.answer_types import asked_kind, asked_measure, gives, gives_measure, question_words
from newsdesk.index.lexical import Lexical, sentence_term_set, terms
from newsdesk.models import Matrix, StoredSentence

FEATURES = (
    "dense",  # cosine similarity of sentence and question
    "overlap",  # IDF-weighted share of the question's words in the sentence
    "predicate_overlap",  # the same for the question's lower-case words (what is asked about the names)
    "local_overlap",  # the same, weighted by how rare each word is among the article's own sentences
    "prev_overlap",  # overlap of the sentence before: the answer often follows the sentence that restates the question
    "next_overlap",  # and of the sentence after ("..., police said. The suspect, 24, ...")
    "type_found",  # the question asks for a measure (money, age, ...), date, number, person, place or name; the sentence has it
    "lede",  # one of the story's first three sentences
    "length",  # content words, up to 30
    "article_prior",  # 1 / (1 + the article's retrieval rank)
    "article_dense",  # the article's best sentence similarity
)
COL = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class QuestionTerms:
    text: str
    terms: frozenset[str]
    weights: dict[str, float]  # IDF over the collection's articles
    total: float
    predicate: frozenset[str]  # terms of the question's lower-case words
    predicate_total: float


def question_terms(question: str, lexical: Lexical) -> QuestionTerms:
    ordered = terms(question)
    weights = {t: lexical.weight(t) for t in ordered}
    predicate = frozenset(terms(" ".join(w for w in question.split() if not w[:1].isupper())))
    return QuestionTerms(
        text=question,
        terms=frozenset(ordered),
        weights=weights,
        total=sum(weights.values()) or 1.0,
        predicate=predicate,
        predicate_total=sum(weights.get(t, 0.0) for t in predicate) or 1.0,
    )


def features(q: QuestionTerms, vector: Matrix, sentences: list[StoredSentence], article_rank: dict[str, int]
             ) -> np.ndarray:
    """One row of FEATURES per sentence; sentences are grouped by article in reading order."""
    rows = np.zeros((len(sentences), len(FEATURES)), np.float32)
    if not sentences:
        return rows
    c = COL
    dense = np.stack([s.vector for s in sentences]) @ np.asarray(vector, np.float32)
    rows[:, c["dense"]] = dense
    measure = asked_measure(q.text)  # sharper than the kind when the question asks for one
    kind = None if measure else asked_kind(q.text)
    asked = question_words(q.text)
    profiles = []
    for i, stored in enumerate(sentences):
        s = stored.sentence
        s_terms = sentence_term_set(s.text)
        profiles.append(s_terms)
        matched = q.terms & s_terms
        rows[i, c["overlap"]] = sum(q.weights[t] for t in matched) / q.total
        rows[i, c["predicate_overlap"]] = sum(q.weights[t] for t in matched & q.predicate) / q.predicate_total
        rows[i, c["lede"]] = 1.0 if s.index < 3 else 0.0
        rows[i, c["length"]] = min(len(s_terms), 30) / 30.0
        rows[i, c["article_prior"]] = 1.0 / (1.0 + article_rank.get(s.article_id, 10))
        if measure is not None:
            rows[i, c["type_found"]] = float(gives_measure(measure, s.text))
        elif kind is not None:
            rows[i, c["type_found"]] = float(gives(kind, s.text, asked))
    # Neighbours: the sentence before and after in the same article.
    articles = [s.sentence.article_id for s in sentences]
    same = np.array([a == b for a, b in zip(articles, articles[1:], strict=False)], bool)
    overlap = rows[:, c["overlap"]]
    rows[1:, c["prev_overlap"]] = np.where(same, overlap[:-1], 0.0)
    rows[:-1, c["next_overlap"]] = np.where(same, overlap[1:], 0.0)
    start = 0
    for end in [*(np.flatnonzero(~same) + 1).tolist(), len(sentences)]:  # one article at a time
        rows[start:end, c["article_dense"]] = dense[start:end].max()
        _local_overlap(q, profiles[start:end], rows[start:end])
        start = end
    return rows


def _local_overlap(q: QuestionTerms, profiles: list[frozenset[str]], rows: np.ndarray) -> None:
    """Overlap weighted by how rare each question word is among this article's sentences: the story's subject
    recurs all through it, the detail asked about does not."""
    n = len(profiles)
    local = {t: math.log((n + 1) / (1 + sum(t in p for p in profiles))) for t in q.terms}
    total = sum(local.values()) or 1.0
    for row, profile in zip(rows, profiles, strict=True):
        row[COL["local_overlap"]] = sum(local[t] for t in q.terms & profile) / total
