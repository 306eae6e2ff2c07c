"""Value types shared by every stage: our own frozen dataclasses, never a library's objects."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float32]


@dataclass(frozen=True)
class Article:
    """One news article exactly as given; offsets index into `text`."""

    id: str
    text: str
    title: str | None = None
    url: str | None = None
    outlet: str | None = None
    published_at: str | None = None  # ISO date (YYYY-MM-DD) or datetime

    def fingerprint(self, salt: str = "") -> str:
        """Content hash over text and provenance; `salt` folds in how it was indexed."""
        payload = json.dumps(
            [self.id, self.text, self.title, self.url, self.outlet, self.published_at, salt],
            ensure_ascii=False,
        )
        # surrogatepass: a lone surrogate (rejected at load) must not crash a whole ingest run here
        return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def published_day(self) -> int | None:
        """The publication date as YYYYMMDD, comparable by range filters."""
        return day_number(self.published_at)


def day_number(iso: str | None) -> int | None:
    """'2024-03-05...' -> 20240305; None when there is no parseable date."""
    if not iso or len(iso) < 10:
        return None
    digits = iso[:10].replace("-", "")
    return int(digits) if digits.isdigit() and len(digits) == 8 else None


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article: `article.text[start:end] == text`."""

    article_id: str
    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Chunk:
    """Consecutive sentences of one article, with each sentence's offsets."""

    article_id: str
    index: int
    sentence_spans: tuple[tuple[int, int], ...]
    text: str

    @property
    def start(self) -> int:
        return self.sentence_spans[0][0]

    @property
    def end(self) -> int:
        return self.sentence_spans[-1][1]


@dataclass(frozen=True)
class IndexedArticle:
    """Everything the store keeps for one article version."""

    article: Article
    version: str
    sentences: tuple[Sentence, ...]
    sentence_vectors: Matrix
    chunks: tuple[Chunk, ...]
    chunk_vectors: Matrix
    article_vector: Matrix


@dataclass(frozen=True)
class Filters:
    """Optional restrictions on which articles may answer."""

    outlet: str | None = None
    published_after: int | None = None  # YYYYMMDD, inclusive
    published_before: int | None = None  # YYYYMMDD, inclusive

    def allows(self, outlet: str | None, day: int | None) -> bool:
        """Whether an article with this outlet and day passes the filters."""
        if self.outlet and (outlet or "").casefold() != self.outlet.casefold():
            return False
        if self.published_after is not None and (day is None or day < self.published_after):
            return False
        if self.published_before is not None and (day is None or day > self.published_before):
            return False
        return True

    @property
    def empty(self) -> bool:
        return self.outlet is None and self.published_after is None and self.published_before is None


@dataclass(frozen=True)
class Hit:
    """A retrieved unit (chunk or sentence) with the version it was indexed under (or its first 16 characters)."""

    article_id: str
    version: str
    index: int
    score: float


def is_version(current: str, seen: str) -> bool:
    """Whether a hit's version (full, or the 16-character prefix that row ids carry) is the current one."""
    return current == seen or (len(seen) >= 16 and current.startswith(seen))


@dataclass(frozen=True)
class StoredSentence:
    """A stored sentence with its vector, for evidence scoring."""

    sentence: Sentence
    version: str
    vector: Matrix


@dataclass(frozen=True)
class Query:
    """A question and how to answer it."""

    question: str
    k: int = 3
    filters: Filters = field(default_factory=Filters)
    answerer: str | None = None
    context: tuple[str, ...] = ()  # earlier questions of a conversation


@dataclass(frozen=True)
class Citation:
    """One quoted source sentence, checkable against its article."""

    n: int
    article_id: str
    title: str | None
    url: str | None
    outlet: str | None
    published_at: str | None
    sentence: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, object]:
        """The citation as the JSON object the API returns."""
        return {
            "n": self.n,
            "article_id": self.article_id,
            "title": self.title,
            "url": self.url,
            "outlet": self.outlet,
            "published_at": self.published_at,
            "sentence": self.sentence,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class Claim:
    """One article's figure for something, in its cited sentence's own words."""

    n: int  # the citation that holds it
    value: str  # verbatim from that sentence, e.g. "about 12,000 homes"
    article_id: str
    outlet: str | None
    published_at: str | None

    def to_dict(self) -> dict[str, object]:
        return {"n": self.n, "value": self.value, "article_id": self.article_id, "outlet": self.outlet,
                "published_at": self.published_at}


@dataclass(frozen=True)
class ClaimGroup:
    """Articles' differing figures for the same thing, newest first."""

    about: str  # what the figures count ("homes", "deaths", "$")
    claims: tuple[Claim, ...]
    # "updated": the newest dated report revises earlier ones (it is the current figure); "differ": reports of the
    # same day (or undated) disagree.
    kind: str = "differ"

    def to_dict(self) -> dict[str, object]:
        return {"about": self.about, "kind": self.kind, "claims": [c.to_dict() for c in self.claims]}


@dataclass(frozen=True)
class GroundingProblem:
    """Why a generated statement was not shown: a stable code and the words that failed."""

    reason: str  # "no_verified_source", "number_not_in_source", "name_not_in_source", "negation_added", ...
    detail: str  # e.g. 'the figure "3,000" is not in the cited sentences'

    def to_dict(self) -> dict[str, object]:
        return {"reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class DroppedStatement:
    """A generated sentence removed before the answer was shown, with every reason found."""

    statement: str
    problems: tuple[GroundingProblem, ...]

    def to_dict(self) -> dict[str, object]:
        return {"statement": self.statement, "reasons": [p.to_dict() for p in self.problems]}


@dataclass(frozen=True)
class Answer:
    """What every front door shows a user."""

    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...]
    ranked_article_ids: tuple[str, ...] = ()
    dropped_citations: int = 0
    timing_ms: dict[str, float] = field(default_factory=dict)
    answerer: str = "extractive"
    fallback: str | None = None
    unsupported: tuple[str, ...] = ()
    conflict: bool = False  # cited articles give different figures for the same thing
    conflict_note: str | None = None  # says so, newest first, from the cited sentences and their metadata
    claims: tuple[ClaimGroup, ...] = ()
    dropped_statements: tuple[DroppedStatement, ...] = ()  # each removed generated sentence and why
    resolved_question: str | None = None  # a follow-up as it was taken: what the conversation filled in

    def to_dict(self) -> dict[str, object]:
        """The answer as the JSON object the API returns."""
        body: dict[str, object] = {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "answerer": self.answerer,
            "timing_ms": {k: round(v, 2) for k, v in self.timing_ms.items()},
        }
        if self.resolved_question:
            body["resolved_question"] = self.resolved_question
        if self.fallback:
            body["fallback"] = self.fallback
        if self.unsupported:
            body["unsupported"] = list(self.unsupported)
        if self.dropped_statements:
            body["dropped_statements"] = [d.to_dict() for d in self.dropped_statements]
        if self.dropped_citations:
            body["dropped_citations"] = self.dropped_citations
        if self.conflict:
            body.update(conflict=True, conflict_note=self.conflict_note, claims=[g.to_dict() for g in self.claims])
        return body


@dataclass(frozen=True)
class StoreStats:
    """Counts of what the index holds: articles, chunks, sentences, articles per outlet."""
    articles: int
    chunks: int
    sentences: int
    outlets: dict[str, int]
