"""Request parsing shared by the endpoint, the CLI and Slack: a Query, or a 400-worthy message."""

from __future__ import annotations

from typing import Any

import pytest

from newsdesk.api.request_models import parse_day, parse_filters, parse_query
from newsdesk.errors import BadRequest
from newsdesk.models import Filters, Query


def test_minimal_body_gets_defaults() -> None:
    assert parse_query({"question": "What happened?"}, default_k=3) == Query("What happened?", k=3)


def test_full_body() -> None:
    query = parse_query({
        "question": "Who voted?", "k": 5, "answerer": "extractive",
        "filters": {"outlet": "  Harbor Gazette ", "published_after": "2024-03-01", "published_before": "2024-03-31"},
    })
    assert query == Query("Who voted?", k=5, answerer="extractive",
                          filters=Filters(outlet="Harbor Gazette", published_after=20240301, published_before=20240331))


def test_limits_come_from_the_caller() -> None:
    assert parse_query({"question": "q" * 20}, max_chars=20).question == "q" * 20
    with pytest.raises(BadRequest, match="longer than 19"):
        parse_query({"question": "q" * 20}, max_chars=19)
    assert parse_query({"question": "q", "k": 4}, max_k=4).k == 4
    with pytest.raises(BadRequest, match="from 1 to 3"):
        parse_query({"question": "q", "k": 4}, max_k=3)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("just a string", "JSON object"),
        (["question"], "JSON object"),
        (None, "JSON object"),
        ({}, "'question' is required"),
        ({"question": ""}, "'question' is required"),
        ({"question": " \n\t "}, "'question' is required"),
        ({"question": 42}, "'question' is required"),
        ({"question": "x" * 1001}, "longer than 1000"),
        ({"question": "q", "k": 0}, "'k' must be"),
        ({"question": "q", "k": 11}, "'k' must be"),
        ({"question": "q", "k": "3"}, "'k' must be"),
        ({"question": "q", "k": 2.0}, "'k' must be"),
        ({"question": "q", "k": True}, "'k' must be"),
        ({"question": "q", "k": None}, "'k' must be"),
        ({"question": "q", "answerer": "gpt"}, "'answerer'"),
        ({"question": "q", "top_k": 3}, "unknown field"),
        ({"question": "q", "filters": "Harbor Gazette"}, "'filters' must be an object"),
        ({"question": "q", "filters": {"source": "x"}}, "unknown filter"),
        ({"question": "q", "filters": {"outlet": ""}}, "'outlet'"),
        ({"question": "q", "filters": {"outlet": 7}}, "'outlet'"),
        ({"question": "q", "filters": {"outlet": "x" * 201}}, "'outlet'"),
        ({"question": "q", "filters": {"published_after": "yesterday"}}, "'published_after'"),
        ({"question": "q", "filters": {"published_before": "2024-13-01"}}, "'published_before'"),
        ({"question": "q", "filters": {"published_after": 20240301}}, "'published_after'"),
        ({"question": "q", "filters": {"published_after": "2024-03-10", "published_before": "2024-03-01"}}, "later than"),
    ],
)
def test_bad_requests_say_what_is_wrong(body: Any, words: str) -> None:
    with pytest.raises(BadRequest, match=words):
        parse_query(body)


def test_filters_and_days() -> None:
    assert parse_filters(None) == Filters() and parse_filters({}).empty
    same_day = parse_filters({"published_after": "2024-03-05", "published_before": "2024-03-05"})
    assert (same_day.published_after, same_day.published_before) == (20240305, 20240305)
    assert parse_day(None, "x") is None
    assert parse_day("2024-12-31", "x") == 20241231
