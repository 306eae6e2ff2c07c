"""Sentence features for evidence scoring: how each candidate sentence matches the question, one row per sentence.

Kept to the eleven that earn their place under cross-validation by story (bench/fit_evidence.py --drop-one;
docs/quality.md, "Evidence features"); each is cheap (cached per sentence, or a pass over the rows).
"""

from __future__ import annotations

import math
from collections import Counter
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
# Words that ask for the newest report or a figure ("the latest figure for the fire's size"), or stand for any event
# ("When did it happen?"), not what it is about: the reporting that answers need not use them, so they count for
# neither overlap nor coverage. ("Number" and "total" stay: "a number of what?" asks about the thing counted, and
# the answer often names it.)
ANSWER_FORM = frozenset(terms("latest newest recent current updated figure figures estimate happen happened "
                              "happens occur occurred occurs"))


@dataclass(frozen=True)
class QuestionTerms:
    text: str
    terms: frozenset[str]
    weights: dict[str, float]  # IDF over the collection's articles
    total: float
    predicate: frozenset[str]  # terms of the question's lower-case words
    predicate_total: float


def question_terms(question: str, lexical: Lexical) -> QuestionTerms:
    ordered = [t for t in terms(question) if t not in ANSWER_FORM]
    weights = {t: lexical.weight(t) for t in ordered}
    predicate = frozenset(terms(" ".join(w for w in question.split() if not w[:1].isupper()))) - ANSWER_FORM
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
    """One row of FEATURES per sentence; sentences are grouped by article in reading order.

    Built a column at a time from plain lists: a question scores ~170 sentences, and item assignments into the
    array cost more than the arithmetic."""
    rows = np.zeros((len(sentences), len(FEATURES)), np.float32)
    if not sentences:
        return rows
    c = COL
    dense = np.stack([s.vector for s in sentences]) @ np.asarray(vector, np.float32)
    rows[:, c["dense"]] = dense
    texts = [s.sentence.text for s in sentences]
    profiles = [sentence_term_set(text) for text in texts]
    matched = [q.terms & profile for profile in profiles]
    weights, predicate = q.weights, q.predicate
    rows[:, c["overlap"]] = np.array([sum(weights[t] for t in m) for m in matched], np.float64) / q.total
    rows[:, c["predicate_overlap"]] = np.array([sum(weights[t] for t in m & predicate) for m in matched],
                                               np.float64) / q.predicate_total
    rows[:, c["lede"]] = [s.sentence.index < 3 for s in sentences]
    rows[:, c["length"]] = np.minimum([len(profile) for profile in profiles], 30) / 30.0
    rows[:, c["article_prior"]] = [1.0 / (1.0 + article_rank.get(s.sentence.article_id, 10)) for s in sentences]
    measure = asked_measure(q.text)  # sharper than the kind when the question asks for one
    kind = None if measure else asked_kind(q.text)
    if measure is not None:
        rows[:, c["type_found"]] = [gives_measure(measure, text) for text in texts]
    elif kind is not None:
        asked = question_words(q.text)
        rows[:, c["type_found"]] = [gives(kind, text, asked) for text in texts]
    # Neighbours: the sentence before and after in the same article.
    articles = [s.sentence.article_id for s in sentences]
    same = np.array([a == b for a, b in zip(articles, articles[1:], strict=False)], bool)
    overlap = rows[:, c["overlap"]]
    rows[1:, c["prev_overlap"]] = np.where(same, overlap[:-1], 0.0)
    rows[:-1, c["next_overlap"]] = np.where(same, overlap[1:], 0.0)
    start = 0
    for end in [*(np.flatnonzero(~same) + 1).tolist(), len(sentences)]:  # one article at a time
        rows[start:end, c["article_dense"]] = dense[start:end].max()
        rows[start:end, c["local_overlap"]] = _local_overlap(q, matched[start:end])
        start = end
    return rows


def _local_overlap(q: QuestionTerms, matched: list[frozenset[str]]) -> list[float]:
    """Overlap weighted by how rare each question word is among this article's sentences (`matched`: each one's
    question words): the story's subject recurs all through it, the detail asked about does not."""
    n = len(matched)
    counts = Counter(t for m in matched for t in m)
    local = {t: math.log((n + 1) / (1 + counts[t])) for t in q.terms}
    total = sum(local.values()) or 1.0
    return [sum(local[t] for t in m) / total for m in matched]
