"""The HTTP API's requests and replies as pydantic models; a request (body, query string, CLI options) becomes a
`Query` or an `ArticleSearch`, or a 400. openapi.py documents the API from these same models."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from newsdesk import models
from newsdesk.errors import BadRequest
from newsdesk.index.archive import ArticleSearch
from newsdesk.settings import DEFAULTS

MAX_OUTLET_CHARS = 200
MAX_HISTORY = 3  # earlier questions a follow-up may carry (the Slack bot reads as many from a thread)
PER_PAGE, MAX_PER_PAGE, MAX_PAGE = 20, 100, 10_000
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)


@dataclass(frozen=True)
class Limits:
    """A deployment's bounds on a request (from its settings), passed to validation as context."""

    default_k: int = DEFAULTS.citations
    max_k: int = DEFAULTS.max_k
    max_chars: int = DEFAULTS.max_question_chars


class Filters(BaseModel):
    """Restrict which articles may answer; every filter is optional and they combine with AND."""

    model_config = STRICT

    outlet: str | None = Field(None, min_length=1, max_length=MAX_OUTLET_CHARS, examples=["Harbor Gazette"],
                               description="Only articles from this outlet (case-insensitive, surrounding spaces ignored).")
    published_after: date | None = Field(None, description="Only articles published on or after this day (YYYY-MM-DD).")
    published_before: date | None = Field(None, description="Only articles published on or before this day (YYYY-MM-DD).")

    @field_validator("outlet")
    @classmethod
    def _outlet(cls, value: str | None) -> str | None:
        return _outlet_name(value)

    @field_validator("published_after", "published_before", mode="before")
    @classmethod
    def _day(cls, value: object, info: ValidationInfo) -> object:
        """JSON has no date type: a day is a string like 2024-03-05 (a number or a datetime is refused)."""
        return value if value is None or isinstance(value, date) else _to_day(value, str(info.field_name))

    @model_validator(mode="after")
    def _ordered(self) -> Filters:
        if self.published_after and self.published_before and self.published_after > self.published_before:
            raise ValueError("filter 'published_after' is later than 'published_before': swap them")
        return self


class ChatRequest(BaseModel):
    """POST /chat: a question about the news, and optionally how many sentences to cite and which articles to use."""

    model_config = STRICT

    question: str = Field(min_length=1, examples=["How many homes lost power in the storm?"],
                          description=f"The question, in words (at most NEWSDESK_MAX_QUESTION_CHARS characters, "
                                      f"default {DEFAULTS.max_question_chars}).")
    k: int = Field(DEFAULTS.citations, ge=1, description=f"How many sentences to cite, 1 to NEWSDESK_MAX_K "
                                                         f"(default {DEFAULTS.max_k}); default NEWSDESK_CITATIONS.")
    filters: Filters | None = Field(None, description="Only answer from articles that match these filters.")
    answerer: Literal["extractive", "bedrock"] | None = Field(
        None, description="Who writes the answer; only where the deployment allows the choice.")
    history: list[str] = Field(
        default_factory=list, max_length=MAX_HISTORY, examples=[["How many homes lost power in the storm?"]],
        description=f"Earlier questions of this conversation, oldest first (at most {MAX_HISTORY}). A question "
                    "with its own subject is answered as if asked alone; a follow-up such as 'and how many were "
                    "injured?' or 'when was it restored?' takes its subject from them (see resolved_question).")

    @field_validator("question")
    @classmethod
    def _question(cls, value: str, info: ValidationInfo) -> str:
        limits = _limits(info)
        if not value.strip():
            raise ValueError("'question' is required and must be a non-empty string")
        if len(value) > limits.max_chars:
            raise ValueError(f"'question' is longer than {limits.max_chars} characters: shorten it")
        return value

    @field_validator("k")
    @classmethod
    def _k(cls, value: int, info: ValidationInfo) -> int:
        if value > _limits(info).max_k:
            raise ValueError
        return value

    @field_validator("history")
    @classmethod
    def _history(cls, value: list[str], info: ValidationInfo) -> list[str]:
        limit = _limits(info).max_chars
        if any(len(earlier) > limit for earlier in value):
            raise ValueError(f"each question in 'history' must be at most {limit} characters")
        return value


class ArticleQuery(BaseModel):
    """GET /articles: a page of the archive, searched by words and filtered by outlet and publication day."""

    model_config = STRICT

    q: str | None = Field(None, min_length=1, max_length=DEFAULTS.max_question_chars, examples=["bridge closure"],
                          description="Words to look for in titles and texts, best match first; "
                                      "without them the newest articles come first.")
    outlet: str | None = Field(None, min_length=1, max_length=MAX_OUTLET_CHARS, examples=["Harbor Gazette"],
                               description="Only articles from this outlet (case-insensitive).")
    after: date | None = Field(None, description="Only articles published on or after this day (YYYY-MM-DD).")
    before: date | None = Field(None, description="Only articles published on or before this day (YYYY-MM-DD).")
    page: int = Field(1, ge=1, le=MAX_PAGE, description="Which page, from 1.")
    per_page: int = Field(PER_PAGE, ge=1, le=MAX_PER_PAGE, description="Articles per page.")

    @field_validator("q")
    @classmethod
    def _words(cls, value: str | None) -> str | None:
        if value is not None and not any(ch.isalnum() for ch in value):
            raise ValueError("'q' has no words: search for words, for example q=bridge")
        return value

    @field_validator("outlet")
    @classmethod
    def _outlet(cls, value: str | None) -> str | None:
        return _outlet_name(value, "'outlet'")

    @field_validator("after", "before", mode="before")
    @classmethod
    def _day(cls, value: object, info: ValidationInfo) -> object:
        return value if value is None or isinstance(value, date) else _to_day(value, str(info.field_name))

    @field_validator("page", "per_page", mode="before")
    @classmethod
    def _count(cls, value: object) -> object:
        """Query strings are text: digits become a number, anything else stays text and is refused."""
        return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 6 else value

    @model_validator(mode="after")
    def _ordered(self) -> ArticleQuery:
        if self.after and self.before and self.after > self.before:
            raise ValueError("'after' is later than 'before': swap them")
        return self


class Citation(BaseModel):
    """One quoted sentence: `sentence` is exactly characters `start` to `end` of the article's text."""

    n: int = Field(description="The [n] marker in the answer.")
    article_id: str
    title: str | None
    url: str | None = Field(description="The article's http(s) link, if it has one.")
    outlet: str | None
    published_at: str | None
    sentence: str
    start: int
    end: int
    score: float


class Claim(BaseModel):
    """One article's figure, verbatim from its cited sentence [n]."""

    n: int
    value: str = Field(examples=["about 12,000 homes"])
    article_id: str
    outlet: str | None
    published_at: str | None


class ClaimGroup(BaseModel):
    """Articles that give different figures for the same thing, newest first."""

    about: str = Field(examples=["homes"])
    claims: list[Claim]


class GroundingProblem(BaseModel):
    """One reason a generated statement was left out."""

    reason: str = Field(examples=["number_not_in_source"], description=(
        "no_verified_source, number_not_in_source, date_not_in_source, name_not_in_source, negation_added, "
        "negation_dropped or unrelated_to_source."))
    detail: str = Field(examples=['the figure "3,000" is not in the cited sentences'])


class DroppedStatement(BaseModel):
    """A generated sentence left out of the answer, with every reason found."""

    statement: str
    reasons: list[GroundingProblem]


class ChatResponse(BaseModel):
    """An answer made of verified, cited sentences, or an abstention (`abstained`, no citations)."""

    question: str
    answer: str = Field(description="The answer text with [n] markers for its citations.")
    abstained: bool
    citations: list[Citation]
    answerer: str
    timing_ms: dict[str, float]
    resolved_question: str | None = Field(
        None, description="A follow-up as it was taken: the question with what the conversation filled in, e.g. "
                          "'And how many were evacuated? (Cedar Ridge Fire)'. Absent when the question stood alone.")
    fallback: str | None = Field(None, description="Why the requested answerer fell back to the extractive one.")
    unsupported: list[str] | None = Field(None, description="Generated sentences removed because no source supports them.")
    dropped_statements: list[DroppedStatement] | None = Field(
        None, description="The same sentences with why each was removed: no verified source, or a figure, name or "
                          "negation its cited sentences do not give. The answer text says how many were left out.")
    dropped_citations: int | None = None
    conflict: bool | None = Field(None, description="The cited articles give different figures for the same thing.")
    conflict_note: str | None = Field(None, description="Says so in words, newest report first.")
    claims: list[ClaimGroup] | None = Field(None, description="The differing figures, grouped by what they count.")


class ArticleSummary(BaseModel):
    id: str
    title: str | None
    url: str | None = Field(description="The article's http(s) link, if it has one.")
    outlet: str | None
    published_at: str | None
    score: float | None = Field(None, description="How well it matches 'q' (BM25); absent without 'q'.")


class ArticleList(BaseModel):
    """One page of articles, best match (with 'q') or newest first."""

    articles: list[ArticleSummary]
    total: int = Field(description="Articles that match, on every page.")
    page: int
    per_page: int
    pages: int


class ArticleDetail(BaseModel):
    """An article as indexed: citations' `start` and `end` are offsets into `text`."""

    id: str
    title: str | None
    url: str | None
    outlet: str | None
    published_at: str | None
    text: str


class OutletCount(BaseModel):
    name: str
    articles: int


class OutletList(BaseModel):
    """Every outlet in the index, by name, for the outlet filter."""

    outlets: list[OutletCount]


class Health(BaseModel):
    """The deployment answers and its index is loaded."""

    status: Literal["ok"]
    version: str = Field(description="Newsdesk's version.")
    revision: str = Field(description="The index revision being served; it changes whenever articles change.")
    articles: int = Field(description="Articles in that revision.")


class ErrorDetail(BaseModel):
    code: str = Field(examples=["bad_request"], description="Stable and machine-readable.")
    message: str = Field(description="What is wrong and what to do about it.")


class Error(BaseModel):
    """Every 4xx and 5xx reply."""

    error: ErrorDetail


def parse_query(body: Any, default_k: int = DEFAULTS.citations, max_k: int = DEFAULTS.max_k,
                max_chars: int = DEFAULTS.max_question_chars) -> models.Query:
    """The `Query` a request body asks for, or BadRequest saying which fields to fix."""
    limits = Limits(default_k, max_k, max_chars)
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object like {"question": "..."}')
    try:
        request = ChatRequest.model_validate(body, context=limits)
    except ValidationError as exc:
        raise BadRequest(describe(exc, limits)) from None
    return models.Query(
        question=request.question,
        k=request.k if "k" in request.model_fields_set else default_k,
        filters=_filters(request.filters),
        answerer=request.answerer,
        context=tuple(earlier for earlier in request.history if earlier.strip()),
    )


def parse_article_query(params: Mapping[str, Sequence[str]], max_chars: int = DEFAULTS.max_question_chars,
                        ) -> ArticleSearch:
    """The search a query string (each name with its values) asks for, or BadRequest naming what to fix."""
    repeated = sorted(_shown(name) for name, values in params.items() if len(values) > 1)
    if repeated:
        raise BadRequest(f"give each parameter once (repeated: {', '.join(repeated[:5])})")
    raw = {name: values[0] for name, values in params.items() if values}
    try:
        query = ArticleQuery.model_validate(raw)
    except ValidationError as exc:
        raise BadRequest(_describe_params(exc)) from None
    if query.q is not None and len(query.q) > max_chars:
        raise BadRequest(f"'q' is longer than {max_chars} characters: shorten it")
    filters = models.Filters(outlet=query.outlet, published_after=_day_number(query.after),
                             published_before=_day_number(query.before))
    return ArticleSearch(words=query.q, filters=filters, page=query.page, per_page=query.per_page)


def parse_filters(raw: Any) -> models.Filters:
    """Filters from a JSON object (or None), or BadRequest naming the filter to fix."""
    if raw is None:
        return models.Filters()
    if not isinstance(raw, dict):
        raise BadRequest(_hint(("filters",), Limits()))
    try:
        return _filters(Filters.model_validate(raw))
    except ValidationError as exc:
        raise BadRequest(describe(exc, Limits(), under=("filters",))) from None


def parse_day(value: Any, name: str) -> int | None:
    """A YYYY-MM-DD string as the YYYYMMDD number filters compare, or BadRequest."""
    try:
        return None if value is None else _day_number(_to_day(value, name))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def describe(exc: ValidationError, limits: Limits, under: tuple[str, ...] = ()) -> str:
    """pydantic's errors as one message that names each field to fix (unknown fields first: often a typo)."""
    errors = exc.errors(include_url=False, include_input=False)
    unknown = [tuple(map(str, (*under, *e["loc"]))) for e in errors if e["type"] == "extra_forbidden"]
    messages = []
    for parent, allowed, kind in (((), ChatRequest.model_fields, "field"), (("filters",), Filters.model_fields, "filter")):
        names = [_shown(loc[-1]) for loc in unknown if loc[:-1] == parent]
        if names:
            messages.append(f"unknown {kind}(s) [{', '.join(sorted(names))}]: allowed are {sorted(allowed)}")
    for error in errors:
        if error["type"] == "extra_forbidden":
            continue
        loc = tuple(map(str, (*under, *error["loc"])))
        reason = error.get("ctx", {}).get("error")
        if error["type"] == "string_unicode":  # a lone UTF-16 surrogate (JSON escape like \ud800): no encoder takes it
            message = f"{_name(loc)} contains an unpaired surrogate (a lone \\ud800-\\udfff escape): send valid Unicode text"
        elif isinstance(reason, ValueError) and str(reason):
            message = str(reason)
        else:
            message = _hint(loc, limits)
        if message not in messages:
            messages.append(message)
    return "; ".join(messages[:5])


def _describe_params(exc: ValidationError) -> str:
    """pydantic's errors about a query string as one message naming each parameter to fix."""
    messages = []
    for error in exc.errors(include_url=False, include_input=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        reason = error.get("ctx", {}).get("error")
        if error["type"] == "extra_forbidden":
            message = f"unknown parameter {_shown(name)}: allowed are {sorted(ArticleQuery.model_fields)}"
        elif isinstance(reason, ValueError) and str(reason):
            message = str(reason)
        elif name in {"page", "per_page"}:
            top = MAX_PAGE if name == "page" else MAX_PER_PAGE
            message = f"'{name}' must be a whole number from 1 to {top}"
        elif name == "q":
            message = f"'q' must be words, at most {DEFAULTS.max_question_chars} characters"
        elif name == "outlet":
            message = f"'outlet' must be an outlet's name, at most {MAX_OUTLET_CHARS} characters"
        else:
            message = f"'{name}' must be a date like 2024-03-05"
        if error["type"] == "string_unicode":
            message = f"{_shown(name)} is not valid Unicode text"
        if message not in messages:
            messages.append(message)
    return "; ".join(messages[:5])


def _name(loc: tuple[str, ...]) -> str:
    if not loc:
        return "a field name"
    return f"filter {loc[-1]!r}" if loc[0] == "filters" and len(loc) > 1 else repr(loc[0])


def _hint(loc: tuple[str, ...], limits: Limits) -> str:
    """What a valid value of the field at `loc` looks like."""
    field = loc[-1] if loc else ""
    if loc == ("question",):
        return "'question' is required and must be a non-empty string"
    if loc == ("k",):
        return f"'k' must be an integer from 1 to {limits.max_k}"
    if loc == ("answerer",):
        return "'answerer' must be 'extractive' or 'bedrock'"
    if loc[:1] == ("history",):
        return f"'history' must be a list of at most {MAX_HISTORY} earlier questions (strings)"
    if loc == ("filters",):
        return "'filters' must be an object with outlet, published_after or published_before"
    if loc == ("filters", "outlet"):
        return f"filter 'outlet' must be a non-empty string of at most {MAX_OUTLET_CHARS} characters"
    if field in {"published_after", "published_before"}:
        return f"filter '{field}' must be a date like 2024-03-05"
    return 'the body must be a JSON object like {"question": "..."}'


def _outlet_name(value: str | None, name: str = "filter 'outlet'") -> str | None:
    if value is None:
        return None
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value):
        raise ValueError(f"{name} contains a control character: send the outlet's name as plain text")
    if not value.strip():
        raise ValueError(f"{name} must be a non-empty string of at most {MAX_OUTLET_CHARS} characters")
    return value.strip()


def _to_day(value: object, name: str) -> date:
    if isinstance(value, str) and ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"filter '{name}' must be a date like 2024-03-05")


def _shown(name: str) -> str:
    """A field name fit to quote back: escaped (repr) and cut short."""
    return repr(name if len(name) <= 40 else name[:40] + "…")


def _limits(info: ValidationInfo) -> Limits:
    return info.context if isinstance(info.context, Limits) else Limits()


def _filters(given: Filters | None) -> models.Filters:
    if given is None:
        return models.Filters()
    return models.Filters(outlet=given.outlet, published_after=_day_number(given.published_after),
                          published_before=_day_number(given.published_before))


def _day_number(day: date | None) -> int | None:
    return None if day is None else day.year * 10000 + day.month * 100 + day.day
