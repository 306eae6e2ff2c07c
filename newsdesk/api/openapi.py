"""The API's OpenAPI 3.1 document, generated from the pydantic models the routes validate and reply with."""

from __future__ import annotations

from functools import lru_cache
from importlib import metadata
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from newsdesk.api.request_models import (
    MAX_HISTORY,
    ArticleDetail,
    ArticleList,
    ArticleQuery,
    ChatRequest,
    ChatResponse,
    Error,
    Health,
    OutletList,
)

# Every route the chat function serves, with its methods (HEAD and OPTIONS come with them).
ROUTES: dict[str, tuple[str, ...]] = {
    "/": ("GET",),
    "/docs": ("GET",),
    "/web/{name}": ("GET",),
    "/openapi.json": ("GET",),
    "/health": ("GET",),
    "/chat": ("POST",),
    "/articles": ("GET",),
    "/articles/{id}": ("GET",),
    "/outlets": ("GET",),
}
REF = "#/components/schemas/{model}"
ERRORS = {
    "400": "The request is malformed; the message says what to fix.",
    "404": "No such route or article.",
    "405": "The route takes another method.",
    "429": "Too many requests (API Gateway's throttle): wait a moment and retry.",
    "500": "A bug on our side; the message carries the request id.",
    "503": "The index cannot be loaded or reached right now.",
}
DESCRIPTION = (
    "Questions about curated news, answered with sentences quoted verbatim from the articles, each checked at its "
    "character offsets. The page at / uses these routes. Behind API Gateway, POST /chat, /articles and /outlets "
    "take the deployment's auth (a bearer token with AuthMode=jwt, SigV4 with iam); the page, /docs, /openapi.json "
    "and /health are open. Errors are JSON: {\"error\": {\"code\", \"message\"}}."
)


def package_version() -> str:
    try:
        return metadata.version("newsdesk")
    except metadata.PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=1)
def openapi_json() -> dict[str, Any]:
    models: list[type[BaseModel]] = [ChatRequest, ChatResponse, Error, ArticleList, ArticleDetail, OutletList, Health]
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schemas = top.get("$defs", {})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Newsdesk", "version": package_version(), "description": DESCRIPTION},
        "paths": _paths(),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                           "description": "With AuthMode=jwt: a token from the deployment's issuer."}},
        },
    }


def _paths() -> dict[str, Any]:
    auth: list[dict[str, list[str]]] = [{"bearer": []}, {}]  # required where the deployment has auth; none locally
    return {
        "/": {"get": _page("The chat page: ask, read the answer, open each cited article at the quoted sentence.")},
        "/docs": {"get": _page("This document as a readable page.")},
        "/web/{name}": {"get": {
            "summary": "A file of the page (app.js, style.css, docs.js); cached for good when ?v= is its hash.",
            "parameters": [_parameter("name", "path", {"type": "string", "enum": ["app.js", "style.css", "docs.js"]},
                                      "The file.")],
            "responses": {"200": {"description": "The file."}, "404": _error_ref("404")}}},
        "/openapi.json": {"get": {"summary": "This document.",
                                  "responses": {"200": {"description": "OpenAPI 3.1",
                                                        "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        "/health": {"get": {
            "summary": "Version, index revision and article count; 200 only when the index loads.",
            "responses": {"200": _json_ref("Health", "The deployment can answer."), "503": _error_ref("503")}}},
        "/chat": {"post": {
            "summary": "Answer a question from the articles, citing the sentences it quotes.",
            "description": f"Follow-up questions: send the conversation's earlier questions in 'history' "
                           f"(at most {MAX_HISTORY}, oldest first).",
            "security": auth,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": _ref("ChatRequest")}}}},
            "responses": {"200": _json_ref("ChatResponse", "An answer, or an abstention."),
                          **_errors("400", "429", "500", "503"),
                          "502": _error_ref("500", "A generator failed where no fallback was possible.")}}},
        "/articles": {"get": {
            "summary": "List and search the archive: by words (best first) or newest first, filtered, a page at a time.",
            "security": auth,
            "parameters": _query_parameters(),
            "responses": {"200": _json_ref("ArticleList", "A page of articles."), **_errors("400", "429", "503")}}},
        "/articles/{id}": {"get": {
            "summary": "One article's text and metadata; citations' offsets index into its text.",
            "security": auth,
            "parameters": [_parameter("id", "path", {"type": "string"}, "The article id (URL-encoded).")],
            "responses": {"200": _json_ref("ArticleDetail", "The article."), **_errors("404", "429", "503")}}},
        "/outlets": {"get": {
            "summary": "Every outlet with its number of articles.",
            "security": auth,
            "responses": {"200": _json_ref("OutletList", "The outlets, by name."), **_errors("429", "503")}}},
    }


def _query_parameters() -> list[dict[str, Any]]:
    schema = ArticleQuery.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    return [_parameter(name, "query", {k: v for k, v in field.items() if k not in {"title", "description"}},
                       field.get("description", ""), name in required)
            for name, field in schema["properties"].items()]


def _parameter(name: str, where: str, schema: dict[str, Any], description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            "description": description}


def _page(summary: str) -> dict[str, Any]:
    return {"summary": summary, "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}}}


def _ref(model: str) -> str:
    return REF.format(model=model)


def _json_ref(model: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _ref(model)}}}}


def _error_ref(status: str, description: str | None = None) -> dict[str, Any]:
    return _json_ref("Error", description or ERRORS[status])


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: _error_ref(status) for status in statuses}
