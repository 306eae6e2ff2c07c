"""API Gateway HTTP API (payload 2.0) in and out: routes, errors to status codes, JSON bodies, CORS, caching."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from newsdesk.api import pages
from newsdesk.api.gateway import Envelope, body_text, envelope, json_only, parse_json
from newsdesk.api.openapi import ROUTES, openapi_json, package_version
from newsdesk.api.request_models import (
    ArticleDetail,
    ArticleList,
    ArticleSummary,
    Health,
    OutletCount,
    OutletList,
    parse_article_query,
    parse_query,
)
from newsdesk.api.slack_events import check_slack_body
from newsdesk.errors import (
    BadRequest,
    ConfigError,
    GeneratorError,
    MethodNotAllowed,
    NewsdeskError,
    NotFound,
    StoreUnavailable,
)
from newsdesk.service import Service
from newsdesk.settings import DEFAULTS

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16_384
MAX_SLACK_BODY_BYTES = 1_000_000  # Slack's own payloads (message events with blocks) are far larger than a question
MAX_QUERY_CHARS = 4096
MAX_ID_CHARS = 1000
STATUS = {BadRequest: 400, NotFound: 404, MethodNotAllowed: 405, StoreUnavailable: 503, GeneratorError: 502, ConfigError: 500}
INTERNAL = "something went wrong on our side while answering; retry, or report request id {id}"
NO_ROUTE = "POST your question to /chat, open / in a browser, or see /docs"
DATA_CACHE = "private, no-cache"  # behind the chat's auth; an ETag makes asking again cheap
PREFLIGHT_HEADERS = "authorization, content-type, x-amz-date, x-amz-security-token, x-amz-content-sha256"
# bolt's own error replies, rewritten as ours: (code, message)
SLACK_ERRORS = {
    401: ("bad_signature", "the request is not signed with this app's signing secret, or its timestamp is over five "
                           "minutes old: only Slack can call this endpoint (check SLACK_SIGNING_SECRET)"),
    404: ("not_found", "this is not a Slack request the app handles: it answers Events API callbacks and /ask"),
}

Response = dict[str, Any]
GetService = Callable[[], Service]


class SlackEntry(Protocol):
    """The Slack app's Lambda adapter (newsdesk.adapters.slack_app.SlackEntry)."""

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]: ...


def respond(status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    """A Lambda proxy response with a JSON body."""
    text = json.dumps(body, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate echoed from a request: escape it rather than fail to send
        text = json.dumps(body)
    return {"statusCode": status, "headers": {"content-type": "application/json", "x-content-type-options": "nosniff",
                                              **(headers or {})}, "body": text}


def error_response(exc: NewsdeskError) -> Response:
    """The HTTP response for one of our errors (status from the one table)."""
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
    return _error(status, exc.code, str(exc))


def handle_chat(event: dict[str, Any], get_service: GetService, cors_origins: str = DEFAULTS.cors_origins) -> Response:
    """One API Gateway event in, one response out, for every route of the chat function: the page and its files,
    POST /chat and the archive around it. Client mistakes are JSON 4xx, never an exception."""
    request_id = _request_id(event)
    origin = ""
    try:
        request = envelope(event)
        origin = _header(event, "origin")
        route, param = _resolve(request, event)
        methods = ROUTES[route]
        method = "GET" if request.method == "HEAD" else request.method
        if method == "OPTIONS":
            response = _preflight(methods, origin, cors_origins)
        elif method in methods:
            response = _serve(route, param, event, get_service)
        else:
            raise MethodNotAllowed(f"{request.method[:20] or 'this method'!r} is not allowed on {route}: "
                                   f"use {' or '.join(methods)}")
    except NewsdeskError as exc:  # no log line here: the request line (observability.observed) carries its code
        response = error_response(exc)
    except Exception:  # a bug or an unexpected dependency failure: logged in full, never a traceback to the client
        log.exception("request_id=%s status=error code=internal_error", request_id)
        response = _error(500, "internal_error", INTERNAL.format(id=request_id))
    response["headers"].update(_cors(origin, cors_origins))
    return response


def _serve(route: str, param: str, event: Mapping[str, Any], get_service: GetService) -> Response:
    if route == "/chat":
        return _chat(event, get_service)
    if route in pages.PAGES or route == "/web/{name}":
        return _web(route, param, event)
    if route == "/openapi.json":
        return _cached(event, respond(200, openapi_json()), pages.PAGE_CACHE)
    service = get_service()
    if route == "/health":
        return _health(service)
    return _cached(event, respond(200, _archive(route, param, event, service)), DATA_CACHE)


def _web(route: str, param: str, event: Mapping[str, Any]) -> Response:
    """The page, the docs page, or a file they load (kept for good when asked for by its hash)."""
    if route in pages.PAGES:
        found = pages.page(route)
        assert found is not None
        return _static(event, found, pages.PAGE_CACHE, pages.SECURITY)
    file = pages.web_file(param)
    if file is None:
        raise NotFound(f"no file {param[:100]!r} here: the page loads {', '.join(pages.FILES)}")
    fresh = _query(event).get("v") == [file.version]
    return _static(event, file, pages.FILE_CACHE if fresh else pages.PAGE_CACHE, {})


def _archive(route: str, param: str, event: Mapping[str, Any], service: Service) -> dict[str, Any]:
    """GET /outlets, /articles and /articles/{id} as JSON, through the models openapi.json documents."""
    if route == "/outlets":
        return OutletList(outlets=[OutletCount(name=n, articles=c) for n, c in service.outlets().items()]).model_dump()
    if route == "/articles":
        found = service.list_articles(parse_article_query(_query(event), service.config.max_question_chars))
        return ArticleList(
            articles=[ArticleSummary(id=a.id, title=a.title, url=a.url, outlet=a.outlet, published_at=a.published_at,
                                     score=None if score is None else round(score, 4)) for a, score in found.articles],
            total=found.total, page=found.page, per_page=found.per_page, pages=found.pages).model_dump()
    article = service.article(_article_id(param))
    return ArticleDetail(id=article.id, title=article.title, url=article.url, outlet=article.outlet,
                         published_at=article.published_at, text=article.text).model_dump()


def _chat(event: Mapping[str, Any], get_service: GetService) -> Response:
    body = parse_json(body_text(event, MAX_BODY_BYTES))
    service = get_service()
    query = parse_query(body, service.config.citations, service.config.max_k, service.config.max_question_chars)
    answer = service.ask(query)
    return respond(200, answer.to_dict(), {"cache-control": "no-store"})


def _health(service: Service) -> Response:
    """200 only once the index is open and its lexical index loads: then questions can be answered."""
    revision = service.store.revision()
    articles = service.lexical_index().size
    health = Health(status="ok", version=package_version(), revision=revision, articles=articles)
    return respond(200, health.model_dump(mode="json"), {"cache-control": "no-store"})


def handle_slack(event: dict[str, Any], context: Any, get_entry: Callable[[], SlackEntry]) -> Response:
    """POST /slack/events: a well-formed event goes to the Slack app (which checks the signature), others get a 4xx."""
    request_id = _request_id(event)
    try:
        request = envelope(event)
        given = "/slack/events" if request.route.endswith(" /slack/events") else request.path
        if given.rstrip("/") != "/slack/events":
            raise NotFound(f"no route {given[:100] or '(empty)'!r}: Slack POSTs its events to /slack/events")
        if request.method != "POST":
            raise MethodNotAllowed(f"{request.method[:20] or 'this method'!r} is not allowed on /slack/events: use POST")
        raw = body_text(event, MAX_SLACK_BODY_BYTES)
        check_slack_body(raw, event.get("headers") or {})
        # A copy: bolt adds headers to what it gets, and re-invokes the function with it for lazy work.
        clean = {**event, "body": raw, "isBase64Encoded": False, "headers": dict(event.get("headers") or {})}
        json_only(clean)  # bolt serialises it for that re-invocation
        response = get_entry().handle(clean, context)
        return _slack_reply(response)
    except NewsdeskError as exc:  # the request line (observability.observed) carries its code
        return error_response(exc)
    except Exception:
        log.exception("request_id=%s slack status=error code=internal_error", request_id)
        return _error(500, "internal_error", INTERNAL.format(id=request_id))


# -- routing -------------------------------------------------------------------------------------
def _resolve(request: Envelope, event: Mapping[str, Any]) -> tuple[str, str]:
    """The route a request is for and its path parameter (an article id, a file name), or NotFound.

    API Gateway names the route it matched (routeKey); `newsdesk serve` and the $default route leave it to the
    path, which carries a stage prefix on a named stage."""
    named = request.route.partition(" ")[2]
    template = named.replace("{id+}", "{id}")
    if template in ROUTES:
        found = _match(request.path, anywhere=True) if "{" in template else None
        return template, _path_parameter(event) or (found[1] if found else "")
    found = _match(request.path) or _match(_without_stage(request.path, event))
    if found is None:
        raise NotFound(f"no route {request.path[:100] or '(empty)'!r}: {NO_ROUTE}")
    return found


def _match(path: str, anywhere: bool = False) -> tuple[str, str] | None:
    for prefix, route in (("/articles/", "/articles/{id}"), ("/web/", "/web/{name}")):
        at = path.find(prefix) if anywhere else (0 if path.startswith(prefix) else -1)
        if at >= 0 and len(path) > at + len(prefix):
            return route, unquote(path[at + len(prefix):])
    plain = path.rstrip("/") or "/"
    if plain in ROUTES and "{" not in plain:
        return plain, ""
    return None


def _without_stage(path: str, event: Mapping[str, Any]) -> str:
    context = event.get("requestContext")
    stage = context.get("stage") if isinstance(context, Mapping) else None
    if isinstance(stage, str) and stage and stage != "$default" and path.startswith(f"/{stage}/"):
        return path[len(stage) + 1:]
    return path


def _path_parameter(event: Mapping[str, Any]) -> str:
    given = event.get("pathParameters")
    if not isinstance(given, Mapping):
        return ""
    value = given.get("id") or given.get("name")
    return value if isinstance(value, str) else ""


def _article_id(param: str) -> str:
    if not param or len(param) > MAX_ID_CHARS or any(ord(ch) < 32 or 0xD800 <= ord(ch) < 0xE000 for ch in param):
        raise NotFound("no article with that id: GET /articles lists the archive")
    return param


def _query(event: Mapping[str, Any]) -> dict[str, list[str]]:
    """The query string's parameters, each with its values (blank ones left out, as a plain HTML form sends them)."""
    raw = event.get("rawQueryString")
    if raw is None:
        given = event.get("queryStringParameters")
        if given is not None and not isinstance(given, Mapping):
            raise BadRequest("malformed event: 'queryStringParameters' must be an object")
        pairs = [(k, v) for k, v in (given or {}).items() if isinstance(k, str) and isinstance(v, str)]
        return {k: [v] for k, v in pairs if v}
    if not isinstance(raw, str):
        raise BadRequest(f"malformed event: 'rawQueryString' must be a string, not {type(raw).__name__}")
    if len(raw) > MAX_QUERY_CHARS:
        raise BadRequest(f"the query string is longer than {MAX_QUERY_CHARS} characters: shorten it")
    try:
        return parse_qs(raw, keep_blank_values=False, max_num_fields=20)
    except ValueError:
        raise BadRequest("the query string has too many parameters: at most 20") from None


# -- headers -------------------------------------------------------------------------------------
def _header(event: Mapping[str, Any], name: str) -> str:
    headers = event.get("headers")
    value = headers.get(name) if isinstance(headers, Mapping) else None
    return value if isinstance(value, str) else ""


def _allowed(origin: str, cors_origins: str) -> str | None:
    """The value of access-control-allow-origin for a request from `origin`, or None for no CORS at all."""
    allowed = {o.strip().rstrip("/") for o in cors_origins.split(",") if o.strip()}
    if "*" in allowed:
        return "*"
    return origin if origin and origin.rstrip("/") in allowed else None


def _cors(origin: str, cors_origins: str) -> dict[str, str]:
    allow = _allowed(origin, cors_origins)
    if allow is None:
        return {}
    return {"access-control-allow-origin": allow, **({} if allow == "*" else {"vary": "origin"})}


def _preflight(methods: tuple[str, ...], origin: str, cors_origins: str) -> Response:
    """OPTIONS: the methods a route takes; with CORS headers when the origin may call."""
    allow = ", ".join((*methods, "HEAD", "OPTIONS") if "GET" in methods else (*methods, "OPTIONS"))
    headers = {"allow": allow}
    if _allowed(origin, cors_origins) is not None:
        headers.update({"access-control-allow-methods": allow, "access-control-allow-headers": PREFLIGHT_HEADERS,
                        "access-control-max-age": "600"})
    return {"statusCode": 204, "headers": headers, "body": ""}


def _static(event: Mapping[str, Any], file: pages.WebFile, cache: str, extra: Mapping[str, str]) -> Response:
    headers = {"content-type": file.content_type, "cache-control": cache, "etag": file.etag,
               "x-content-type-options": "nosniff", **extra}
    if file.etag in _header(event, "if-none-match"):
        return {"statusCode": 304, "headers": headers, "body": ""}
    return {"statusCode": 200, "headers": headers, "body": file.body}


def _cached(event: Mapping[str, Any], response: Response, cache: str) -> Response:
    """A JSON reply with an ETag of its body: asked again with If-None-Match, a 304 without the body."""
    etag = '"' + hashlib.sha256(response["body"].encode("utf-8")).hexdigest()[:16] + '"'
    response["headers"].update({"cache-control": cache, "etag": etag})
    if etag in _header(event, "if-none-match"):
        return {**response, "statusCode": 304, "body": ""}
    return response


def _slack_reply(response: Any) -> Response:
    """bolt's response as it is, except that errors become our JSON errors."""
    status = response.get("statusCode") if isinstance(response, Mapping) else None
    if not isinstance(status, int):
        raise TypeError(f"the Slack app returned {type(response).__name__}, not a Lambda response")
    if status < 400:
        return dict(response)
    code, message = SLACK_ERRORS.get(status, ("bad_request" if status < 500 else "internal_error",
                                              f"the Slack app refused the request ({status})"))
    return _error(status, code, message)


def _error(status: int, code: str, message: str) -> Response:
    return respond(status, {"error": {"code": code, "message": message}})


def _request_id(event: object) -> str:
    context = event.get("requestContext") if isinstance(event, Mapping) else None
    value = context.get("requestId") if isinstance(context, Mapping) else None
    return value[:100] if isinstance(value, str) and value else "-"
