"""Parse a question request (HTTP body, CLI options, Slack text) into a `Query`, or say what is wrong."""

from __future__ import annotations

from datetime import date
from typing import Any

from newsdesk.errors import BadRequest
from newsdesk.models import Filters, Query
from newsdesk.settings import DEFAULTS

FILTER_KEYS = {"outlet", "published_after", "published_before"}
REQUEST_KEYS = {"question", "k", "filters", "answerer"}


def parse_query(body: Any, default_k: int = DEFAULTS.citations, max_k: int = DEFAULTS.max_k,
                max_chars: int = DEFAULTS.max_question_chars) -> Query:
    """The `Query` a request body asks for, or BadRequest saying which field to fix."""
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object like {"question": "..."}')
    unknown = set(body) - REQUEST_KEYS
    if unknown:
        raise BadRequest(f"unknown field(s) {sorted(unknown)}: allowed are {sorted(REQUEST_KEYS)}")
    question = body.get("question")
    if not isinstance(question, str) or not question.strip():
        raise BadRequest("'question' is required and must be a non-empty string")
    if len(question) > max_chars:
        raise BadRequest(f"'question' is longer than {max_chars} characters: shorten it")
    k = body.get("k", default_k)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= max_k:
        raise BadRequest(f"'k' must be an integer from 1 to {max_k}")
    answerer = body.get("answerer")
    if answerer is not None and answerer not in {"extractive", "bedrock"}:
        raise BadRequest("'answerer' must be 'extractive' or 'bedrock'")
    return Query(question=question, k=k, filters=parse_filters(body.get("filters")), answerer=answerer)


def parse_filters(raw: Any) -> Filters:
    if raw is None:
        return Filters()
    if not isinstance(raw, dict):
        raise BadRequest("'filters' must be an object with outlet, published_after or published_before")
    unknown = set(raw) - FILTER_KEYS
    if unknown:
        raise BadRequest(f"unknown filter(s) {sorted(unknown)}: allowed are {sorted(FILTER_KEYS)}")
    outlet = raw.get("outlet")
    if outlet is not None and (not isinstance(outlet, str) or not outlet.strip() or len(outlet) > 200):
        raise BadRequest("filter 'outlet' must be a non-empty string of at most 200 characters")
    after = parse_day(raw.get("published_after"), "published_after")
    before = parse_day(raw.get("published_before"), "published_before")
    if after is not None and before is not None and after > before:
        raise BadRequest("filter 'published_after' is later than 'published_before'")
    return Filters(outlet=outlet.strip() if outlet else None, published_after=after, published_before=before)


def parse_day(value: Any, name: str) -> int | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"filter '{name}' must be a date like 2024-03-05") from None
    return day.year * 10000 + day.month * 100 + day.day
