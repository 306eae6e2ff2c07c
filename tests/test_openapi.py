"""GET /openapi.json: a valid OpenAPI 3.1 document of every route, and what the routes really send fits it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from newsdesk.api.openapi import ROUTES, openapi_json
from newsdesk.api.request_models import MAX_HISTORY, ChatRequest
from newsdesk.service import Service
from tests.test_web_api import STORM, call


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi_json()
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any error
    served = json.loads(call(None, "/openapi.json")["body"])
    assert served == json.loads(json.dumps(document))


def test_every_route_is_documented_and_nothing_else() -> None:
    paths = openapi_json()["paths"]
    assert set(paths) == set(ROUTES)
    for path, methods in ROUTES.items():
        assert set(paths[path]) == {m.lower() for m in methods}, path


def test_the_request_schema_is_the_validating_model() -> None:
    schemas = openapi_json()["components"]["schemas"]
    request = schemas["ChatRequest"]
    own = ChatRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    assert request == {k: v for k, v in own.items() if k != "$defs"}
    assert schemas["Filters"] == own["$defs"]["Filters"]
    assert request["additionalProperties"] is False and request["required"] == ["question"]
    assert request["properties"]["history"]["maxItems"] == MAX_HISTORY
    parameters = {p["name"]: p for p in openapi_json()["paths"]["/articles"]["get"]["parameters"]}
    assert set(parameters) == {"q", "outlet", "after", "before", "page", "per_page"}
    assert parameters["per_page"]["schema"]["maximum"] == 100 and parameters["after"]["schema"]["anyOf"][0]["format"] == "date"


def check(response: dict[str, Any], path: str, method: str = "get") -> None:
    """The response's body against the schema the document gives for its path, method and status."""
    document = openapi_json()
    reply = document["paths"][path][method]["responses"][str(response["statusCode"])]
    schema = reply["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": document["components"]})
    errors = sorted(validator.iter_errors(json.loads(response["body"])), key=str)
    assert not errors, (path, response["statusCode"], errors[:3])


@pytest.mark.parametrize("conflict", [False, True])
def test_what_the_routes_send_fits_the_document(loaded_fake_service: Service, conflict: bool) -> None:
    answer = call(loaded_fake_service, "/chat", method="POST", body={"question": STORM, "k": 5 if conflict else 1})
    check(answer, "/chat", "post")
    body = json.loads(answer["body"])
    assert body.get("conflict", False) is conflict, body  # both shapes of an answer are checked
    check(call(loaded_fake_service, "/chat", method="POST", body={"question": ""}), "/chat", "post")
    check(call(loaded_fake_service, "/articles"), "/articles")
    check(call(loaded_fake_service, "/articles", "q=storm"), "/articles")
    check(call(loaded_fake_service, "/articles", "page=x"), "/articles")
    check(call(loaded_fake_service, "/articles/" + body["citations"][0]["article_id"]), "/articles/{id}")
    check(call(loaded_fake_service, "/articles/nope"), "/articles/{id}")
    check(call(loaded_fake_service, "/outlets"), "/outlets")
    check(call(loaded_fake_service, "/health"), "/health")
    check(call(None, "/health"), "/health")
