"""Property-based hostile input at every front door: /chat, /slack/events and `newsdesk serve` never crash or 5xx.

Bounded and derandomized, so `make test` runs the same cases every time; the counts are printed at the end of the
run (tests/reliability_counts.py). A failure prints the smallest input hypothesis found.
"""

from __future__ import annotations

import base64
import copy
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from newsdesk.ingest.load import load_paths
from newsdesk.ingest.pipeline import ChunkConfig

from newsdesk.adapters.dedup import MemorySeenEvents
from newsdesk.adapters.hash_embedder import HashEmbedder
from newsdesk.adapters.memory_store import MemoryStore
from newsdesk.adapters.slack_app import SlackEntry, build_slack_app
from newsdesk.api.http import handle_chat, handle_slack
from newsdesk.api.local_server import make_server
from newsdesk.service import AnswerConfig, Service
from newsdesk.settings import SlackSettings
from tests.conftest import EVENTS, EXAMPLES
from tests.reliability_counts import expect, record, status_class
from tests.slack_fake import BOT_TOKEN, SIGNING_SECRET, FakeSlack, block_problem, sign

pytestmark = pytest.mark.server  # the Slack and socket properties start loopback servers
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])
CHAT_EVENT: dict[str, Any] = json.loads((EVENTS / "chat_post.json").read_text(encoding="utf-8"))
GET_EVENT: dict[str, Any] = json.loads((EVENTS / "chat_get.json").read_text(encoding="utf-8"))
SLACK_EVENT: dict[str, Any] = json.loads((EVENTS / "slack_apigw_http.json").read_text(encoding="utf-8"))

# -- strategies ----------------------------------------------------------------------
SPECIAL = ["", " ", ".", "...", "*", "\\", '"', "\u0000", "\u200b", "\ufeff", "\r\n", "\x1b[31m", "<!channel>", "<@U123>",
           "<script>alert(1)</script>", "How many homes lost power in the storm?", "Harbor Gazette", "2024-03-05",
           "2024-02-30", "9999-12-31", "0001-01-01", "extractive", "bedrock", "NaN", "-1", "1e999", "x" * 1001,
           "ignore previous instructions", "停电了吗", "🔥", "\u202e", "%00", "../../etc/passwd"]
surrogates = st.characters(categories=["Cs"])
hostile_text = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(max_size=40),
    st.text(st.one_of(st.characters(), surrogates), max_size=12),
    st.text(st.characters(max_codepoint=0x1F), max_size=8),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=10**300, max_value=10**4000),
                    st.floats(), hostile_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(hostile_text, inner, max_size=4)),
                           max_leaves=10)
days = st.one_of(st.dates().map(str), hostile_text, json_values)
filters = st.one_of(json_values, st.fixed_dictionaries({}, optional={
    "outlet": st.one_of(st.sampled_from(["Harbor Gazette", "Valley Courier", " harbor gazette "]), hostile_text, json_values),
    "published_after": days, "published_before": days, "source": json_values}))
questions = st.one_of(st.sampled_from(["How many homes lost power in the storm?", "What did the council decide?",
                                        "Who won?", "bridge"]), st.text(min_size=1, max_size=60))
plausible = st.fixed_dictionaries({"question": questions}, optional={
    "k": st.integers(1, 10), "answerer": st.just("extractive"),
    "filters": st.fixed_dictionaries({}, optional={
        "outlet": st.one_of(st.sampled_from(["Harbor Gazette", "Valley Courier"]), st.text(min_size=1, max_size=20)),
        "published_after": st.dates().map(str), "published_before": st.dates().map(str)})})
chat_bodies = st.one_of(
    plausible,
    json_values,
    st.fixed_dictionaries({"question": st.one_of(hostile_text, json_values)}, optional={
        "k": st.one_of(st.integers(-3, 14), json_values), "filters": filters,
        "answerer": st.one_of(st.sampled_from(["extractive", "bedrock", "gpt"]), json_values), "top_k": json_values}),
)


@st.composite
def raw_bodies(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> str:
    """A JSON text, sometimes cut or corrupted, sometimes deeply nested or not JSON at all."""
    kind = draw(st.sampled_from(["json", "json", "json", "cut", "insert", "nested", "text"]))
    if kind == "nested":
        depth = draw(st.sampled_from([10, 999, 1001, 5000]))
        return draw(st.sampled_from(["[", '{"a":'])) * depth + "1" + draw(st.sampled_from(["]", "}"])) * depth
    if kind == "text":
        return draw(hostile_text)
    text = json.dumps(draw(values), ensure_ascii=draw(st.booleans()))
    if kind == "cut":
        return text[: draw(st.integers(0, len(text)))]
    if kind == "insert":
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(hostile_text) + text[at:]
    return text


def encode(body: str, b64: bool) -> str:
    return base64.b64encode(body.encode("utf-8", "surrogatepass")).decode("ascii") if b64 else body


odd_values = st.one_of(json_values, st.binary(max_size=8))
methods = st.one_of(st.sampled_from(["POST", "GET", "PUT", "HEAD", "OPTIONS", "TRACE", "post", "", "FOO"]), odd_values)
paths = st.one_of(st.sampled_from(["/chat", "/chat/", "/prod/chat", "/", "/nope", "/slack/events", ""]), odd_values)


@st.composite
def events(draw: st.DrawFn, base: dict[str, Any], bodies: st.SearchStrategy[str]) -> Any:
    """The base event with its body replaced and any of its parts dropped or replaced by something odd."""
    if draw(st.integers(0, 19)) == 0:
        return draw(odd_values)  # not even an object
    event = copy.deepcopy(base)
    b64 = draw(st.booleans())
    event["body"], event["isBase64Encoded"] = encode(draw(bodies), b64), b64
    for key in draw(st.lists(st.sampled_from(["body", "isBase64Encoded", "requestContext", "rawPath", "routeKey",
                                              "headers", "http", "method", "path"]), max_size=3, unique=True)):
        value = draw(st.one_of(st.just(None), odd_values, methods if key == "method" else paths))
        context = event.get("requestContext")
        if key in {"http", "method", "path"}:
            if key == "http" and isinstance(context, dict):
                context["http"] = value
            elif isinstance(context, dict) and isinstance(context.get("http"), dict):
                context["http"][key] = value
        elif value is None and draw(st.booleans()):
            event.pop(key, None)
        else:
            event[key] = value
    return event


# -- the doors -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def service() -> Service:
    """The real service over a hash embedder and an in-memory store, with the sample articles."""
    built = Service(HashEmbedder(), MemoryStore(), AnswerConfig(abstain_threshold=0.0), ChunkConfig(3, 1))
    assert built.ingest(load_paths([str(EXAMPLES)])).failed == 0
    return built


def check_reply(door: str, call: Any) -> dict[str, Any]:
    """Run one case: an exception, a 5xx or a non-JSON error fails it; every outcome is counted."""
    try:
        response = call()
    except Exception:
        record(door, "exception")
        raise
    status = response["statusCode"]
    record(door, status_class(status))
    assert status < 500, response
    if status >= 400:
        error = json.loads(response["body"])["error"]
        assert error["code"] and error["message"], response
    return dict(response)


@FUZZ
@given(event=events(CHAT_EVENT, raw_bodies(chat_bodies)))
def test_chat_answers_every_event_without_5xx(service: Service, event: Any) -> None:
    response = check_reply("handler.chat", lambda: handle_chat(event, lambda: service))
    response["body"].encode("utf-8")  # sendable: no lone surrogate escapes into a reply


@FUZZ
@given(body=chat_bodies, b64=st.booleans())
def test_chat_answers_every_request_body_without_5xx(service: Service, body: Any, b64: bool) -> None:
    event = copy.deepcopy(CHAT_EVENT)
    event["body"], event["isBase64Encoded"] = encode(json.dumps(body), b64), b64
    check_reply("handler.chat", lambda: handle_chat(event, lambda: service))


# -- the archive and the page: GET /articles, /articles/{id}, /outlets, /health, /, /docs, /web/* ------------
KNOWN_IDS = ["regional-wire-ferry-2024-03-08", "regional-wire-schools-2024-03-12"]
article_ids = st.one_of(st.sampled_from([*KNOWN_IDS, "nope", "..", "%2e%2e", "a/b", "%00", "%ZZ", " ", "x" * 2000]),
                        hostile_text)
param_values = st.one_of(hostile_text, st.dates().map(str), st.integers(-5, 10**7).map(str),
                         st.sampled_from(["bridge", "Harbor Gazette", "2024-03-01", "1", "100", "101", "0"]))
query_strings = st.one_of(
    st.dictionaries(st.sampled_from(["q", "outlet", "after", "before", "page", "per_page", "v", "x"]), param_values,
                    max_size=4).map(urlencode),
    st.lists(st.tuples(st.sampled_from(["q", "outlet", "page"]), param_values), max_size=4).map(urlencode),  # repeats
    hostile_text, st.just("&" * 50 + "=" * 5), st.just("q=" + "a" * 5000))
get_paths = st.one_of(
    st.sampled_from(["/", "/docs", "/docs/", "/openapi.json", "/health", "/outlets", "/articles", "/articles/",
                     "/web/app.js", "/web/style.css", "/web/docs.js", "/web/", "/web/../cli.py", "/web/index.html"]),
    st.tuples(article_ids, st.sampled_from(["", "/"])).map(
        lambda t: "/articles/" + quote(t[0], safe=t[1], errors="surrogatepass")),
    article_ids.map(lambda i: "/articles/" + i))


@st.composite
def get_requests(draw: st.DrawFn) -> Any:
    """A GET (mostly) to the page or the archive, with hostile ids and query strings, sometimes in a broken event."""
    event = copy.deepcopy(GET_EVENT)
    path = draw(get_paths)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["rawQueryString"] = draw(query_strings)
    event["requestContext"]["http"]["method"] = draw(st.sampled_from(["GET", "GET", "GET", "HEAD", "OPTIONS", "POST",
                                                                      "DELETE"]))
    odd = draw(st.sampled_from(["none", "none", "none", "query", "params", "headers", "stage"]))
    if odd == "query":
        event["rawQueryString"] = draw(odd_values)
    elif odd == "params":
        event["pathParameters"] = draw(st.one_of(odd_values, st.fixed_dictionaries({"id": article_ids})))
        event["routeKey"] = "GET /articles/{id+}"
    elif odd == "headers":
        event["headers"]["if-none-match"] = draw(st.sampled_from(['"x"', "*", ""]))
        event["headers"]["origin"] = draw(hostile_text)
    elif odd == "stage":
        event["requestContext"]["stage"] = "prod"
        event["rawPath"] = "/prod" + path
    return event


@FUZZ
@given(event=get_requests())
def test_get_routes_answer_every_request_without_5xx(service: Service, event: Any) -> None:
    response = check_reply("handler.chat (GET routes)", lambda: handle_chat(event, lambda: service))
    path, method = event["requestContext"]["http"]["path"], event["requestContext"]["http"]["method"]
    if method == "GET" and path.startswith("/articles/") and path != "/articles/" and "pathParameters" not in event:
        known = any(path == "/articles/" + i for i in KNOWN_IDS)
        assert response["statusCode"] in ({200, 304} if known else {404}), (path, response)
    if response["statusCode"] == 200 and response["headers"]["content-type"] == "application/json":
        json.loads(response["body"])


BAD_DAYS = ["2024-02-30", "2024-3-1", "yesterday", "2024-03-05T00:00", "-1", "20240305"]
bad_params = st.fixed_dictionaries({}, optional={
    "outlet": st.sampled_from(["\x00", "a\x1b[31m", "x" * 201, " "]),
    "after": st.sampled_from(BAD_DAYS), "before": st.sampled_from(BAD_DAYS),
    "page": st.sampled_from(["0", "-1", "1e3", "1.5", "10001", "x", "１"]),
    "per_page": st.sampled_from(["0", "101", "-1", "1.5"]),
    "sort": st.just("newest")}).filter(bool)


@FUZZ
@given(params=bad_params)
def test_a_bad_filter_on_articles_is_a_400(service: Service, params: dict[str, str]) -> None:
    event = copy.deepcopy(GET_EVENT)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/articles"
    event["rawQueryString"] = urlencode(params)
    response = check_reply("handler.chat (GET routes)", lambda: handle_chat(event, lambda: service))
    assert response["statusCode"] == 400, (params, response)


@pytest.fixture(scope="module")
def slack(service: Service) -> Iterator[tuple[SlackEntry, FakeSlack]]:
    with FakeSlack() as fake:
        app = build_slack_app(lambda: service, SlackSettings(SIGNING_SECRET, BOT_TOKEN), MemorySeenEvents(),
                              base_url=fake.base_url)
        entry = SlackEntry(app)
        yield entry, fake
        assert entry.local is not None
        entry.local.wait()


slack_events = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["app_mention", "message"]), hostile_text)},
    optional={"text": st.one_of(st.sampled_from(["<@UNEWSDESK> What happened to the bridge?", "<@UNEWSDESK> ."]),
                                hostile_text, json_values),
              "channel": st.one_of(st.sampled_from(["C0NEWSROOM", "D0DM"]), json_values),
              "ts": st.one_of(st.sampled_from(["1710150000.000100", "1710150001.000200"]), json_values),
              "thread_ts": st.one_of(st.just("1710150000.000100"), json_values),
              "user": st.one_of(st.just("UALICE"), json_values), "channel_type": st.one_of(st.just("im"), json_values),
              "bot_id": json_values, "subtype": json_values})
envelopes = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["event_callback", "url_verification"]), hostile_text)},
    optional={"event": st.one_of(slack_events, json_values), "challenge": json_values,
              "event_id": st.one_of(st.text(max_size=8), json_values), "team_id": st.one_of(st.just("T0NEWS"), json_values),
              "api_app_id": json_values, "authorizations": json_values, "token": json_values})
commands = st.fixed_dictionaries(
    {"command": st.one_of(st.just("/ask"), st.text(max_size=10)), "text": st.text(max_size=60)},
    optional={"trigger_id": st.text(max_size=10), "user_id": st.text(max_size=10), "channel_id": st.text(max_size=10),
              "team_id": st.text(max_size=10), "response_url": st.sampled_from(["", "not a url", "http://10.1.1.1/x"])},
).map(urlencode)
mentions = st.fixed_dictionaries({
    "type": st.just("event_callback"), "team_id": st.just("T0NEWS"), "event_id": st.text(min_size=1, max_size=12),
    "authorizations": st.just([{"team_id": "T0NEWS", "user_id": "UNEWSDESK", "is_bot": True}]),
    "event": st.fixed_dictionaries({
        "type": st.sampled_from(["app_mention", "message"]), "channel": st.sampled_from(["C0NEWSROOM", "D0DM"]),
        "user": st.just("UALICE"), "ts": st.sampled_from(["1710150000.000100", "1710150001.000200"]),
        "text": st.one_of(questions, hostile_text).map(lambda t: "<@UNEWSDESK> " + t)},
        optional={"channel_type": st.just("im"), "thread_ts": st.just("1710150000.000100"),
                  "subtype": st.sampled_from(["bot_message", "message_changed", "file_share"]), "bot_id": st.just("B1")})})
slack_bodies = st.one_of(mentions.map(json.dumps), envelopes.map(json.dumps), commands, raw_bodies(envelopes))


@st.composite
def slack_requests(draw: st.DrawFn) -> Any:
    """A body signed right (most cases, so bolt's handlers run), wrongly, late, or not at all; in a fuzzed event."""
    body = draw(slack_bodies)
    event = draw(events(SLACK_EVENT, st.just(body)) if draw(st.booleans()) else st.just({**SLACK_EVENT, "body": body}))
    if isinstance(event, dict) and isinstance(event.get("headers"), dict):
        signing = draw(st.sampled_from(["good", "good", "good", "bad", "old", "none"]))
        now = int(time.time()) - (3600 if signing == "old" else 0)
        if signing != "none":
            raw = body.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            signature = sign(raw, now) if signing != "bad" else "v0=" + "0" * 64
            event["headers"] = {**event["headers"], "x-slack-request-timestamp": str(now), "x-slack-signature": signature,
                                "content-type": "application/json" if body.lstrip().startswith("{")
                                else "application/x-www-form-urlencoded"}
    return event


@FUZZ
@given(event=slack_requests())
def test_slack_answers_every_event_without_5xx(slack: tuple[SlackEntry, FakeSlack], event: Any) -> None:
    entry, fake = slack
    seen = len(fake.calls)
    check_reply("handler.slack", lambda: handle_slack(event, None, lambda: entry))
    assert entry.local is not None
    try:  # the answering half (bolt's lazy listeners, run in threads here) must not fail either
        lazy = [status_class(response["statusCode"]) for response in entry.local.wait()]
    except Exception:
        lazy = ["exception"]
    for outcome in lazy:
        record("handler.slack (lazy answer)", outcome)
    assert "exception" not in lazy
    for call in fake.calls[seen:]:  # what users would see: within Slack's limits, and no mention from any text
        if call.method in {"chat.postMessage", "response_url"}:
            assert block_problem(call.params.get("blocks")) is None, call.params
            assert "<!" not in call.params["text"] and "<@" not in call.params["text"], call.params["text"]


# -- `newsdesk serve` at the socket ------------------------------------------------------
@pytest.fixture(scope="module")
def server(service: Service) -> Iterator[tuple[str, int]]:
    httpd = make_server("127.0.0.1", 0, lambda event, context: handle_chat(event, lambda: service), read_timeout=0.3)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


SERVE = "newsdesk serve (raw socket)"
UNSUPPORTED = "501/505 (unsupported method or version)"
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=20)


@st.composite
def raw_requests(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A request as bytes, from well formed to garbage, and whether the client then waits with the socket open."""
    if draw(st.integers(0, 2)) == 0:  # a plausible request, with some odd headers or a body that stops early
        body = json.dumps(draw(plausible)).encode("utf-8")
        length = draw(st.sampled_from(["right", "right", "right", "long"]))
        extra = "".join(f"X-{k}: {v}\r\n" for k, v in draw(st.lists(st.tuples(st.integers(0, 99), header_text), max_size=3)))
        declared = len(body) + (100 if length == "long" else 0)
        head = f"POST /chat HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n{extra}\r\n"
        return head.encode("latin-1") + body, length == "long" and draw(st.booleans())
    method = draw(st.one_of(st.sampled_from(["POST", "GET", "HEAD", "OPTIONS", "TRACE", "DELETE", "post", "FOO", "PRI"]),
                            st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=8)))
    target = draw(st.one_of(st.sampled_from(["/chat", "/chat/", "/", "/nope", "*", "http://x/chat", "http://[::1/chat",
                                             "/" + "a" * 70_000, "/chat?x=%zz", "/articles?q=bridge&page=x",
                                             "/articles/%ff%fe", "/outlets", "/health", "/docs", "/web/app.js",
                                             "/openapi.json"]), header_text.map(lambda t: "/" + t)))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1.x", "", "FOO"]))
    line = " ".join(part for part in (method, target, version) if part)
    body = draw(st.one_of(raw_bodies(chat_bodies), hostile_text)).encode("utf-8", "surrogatepass")
    length = draw(st.sampled_from(["right", "right", "right", "missing", "short", "long", "-1", "x", "huge", "twice"]))
    headers = draw(st.lists(st.tuples(st.sampled_from(["Host", "Content-Type", "X-Any", "Expect", "Connection"]),
                                      header_text), max_size=3))
    declared = {"right": str(len(body)), "short": str(max(0, len(body) - 1)), "long": str(len(body) + 100),
                "-1": "-1", "x": "x", "huge": "99999999", "twice": str(len(body))}.get(length)
    if declared is not None:
        headers.append(("Content-Length", declared))
    if length == "twice":
        headers.append(("Content-Length", str(len(body) + 1)))
    head = line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    garbage = draw(st.binary(max_size=20)) if draw(st.integers(0, 9)) == 0 else b""
    return garbage + head.encode("latin-1") + body, length == "long" and draw(st.booleans())


@FUZZ
@given(request=raw_requests())
def test_serve_answers_every_raw_request_with_json(server: tuple[str, int], request: tuple[bytes, bool]) -> None:
    raw, hold_open = request
    reply = b""
    with socket.create_connection(server, timeout=10) as sock:
        try:
            sock.sendall(raw)
            if not hold_open:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and stopped reading before all of it was sent: its reply is still due
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except ConnectionResetError:
            pass  # counted as dropped below if nothing came back
    outcome = _classify(reply)
    expect(SERVE, "dropped", "html", "not json")
    record(SERVE, outcome)
    assert outcome in {"2xx", "4xx", UNSUPPORTED}, (outcome, reply[:300])


def _classify(reply: bytes) -> str:
    if not reply:
        return "dropped"
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1."):
        return "not http"
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    status = int(lines[0].split()[1])
    if status >= 300 and ("html" in headers.get("content-type", "") or body.lstrip().startswith(b"<")):
        return "html"  # the page itself (GET /, /docs) is HTML; every error is JSON
    if status in {501, 505}:
        return UNSUPPORTED  # an unknown method, chunked body or HTTP version: the right answer, not a failure
    if status >= 400 and body:  # a HEAD reply has no body
        try:
            assert json.loads(body)["error"]["message"]
        except (ValueError, KeyError, TypeError, AssertionError):
            return "not json"
    return status_class(status)
