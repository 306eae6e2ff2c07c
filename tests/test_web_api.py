"""The HTTP API around the page: the page and its files, /articles, /outlets, /health, follow-ups, CORS, caching,
the same routes through `newsdesk serve`, and the CLI's list, delete by URL and duplicate reports."""

from __future__ import annotations

import copy
import json
import re
import socket
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from newsdesk.api import pages
from newsdesk.api.http import handle_chat
from newsdesk.api.local_server import make_server
from newsdesk.api.request_models import parse_query
from newsdesk.cli import cli
from newsdesk.errors import BadRequest, StoreUnavailable
from newsdesk.service import Service
from newsdesk.settings import Settings
from tests.conftest import EVENTS, EXAMPLES, ROOT

BASE: dict[str, Any] = json.loads((EVENTS / "chat_get.json").read_text(encoding="utf-8"))
STORM = "How many homes lost power in the storm?"


def call(service: Service | None, path: str, query: str = "", method: str = "GET", body: Any = None,
         cors: str = "*", **headers: str) -> dict[str, Any]:
    event = copy.deepcopy(BASE)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["rawQueryString"] = query
    event["requestContext"]["http"]["method"] = method
    event["headers"].update(headers)
    if body is not None:
        event["body"] = json.dumps(body)

    def get_service() -> Service:
        if service is None:
            raise StoreUnavailable("no index at /nowhere: run `newsdesk ingest` first")
        return service

    return handle_chat(event, get_service, cors)


def get(service: Service | None, path: str, query: str = "", **headers: str) -> tuple[int, Any]:
    response = call(service, path, query, **headers)
    body = response["body"]
    return response["statusCode"], json.loads(body) if body and body[0] == "{" else body


# -- the page and its files ----------------------------------------------------------------------
def test_the_page_is_served_with_its_files_and_a_strict_policy(loaded_fake_service: Service) -> None:
    response = call(None, "/")  # the page never needs the index
    headers = response["headers"]
    assert response["statusCode"] == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in headers["content-security-policy"] and "default-src 'none'" in headers[
        "content-security-policy"]
    assert headers["cache-control"] == "no-cache" and headers["x-content-type-options"] == "nosniff"
    html = response["body"]
    assert "<script>" not in html and " style=" not in html and "http" not in html.split("<body>")[0]  # no inline code, no CDN
    for name in ("app.js", "style.css"):
        version = re.search(rf'web/{re.escape(name)}\?v=([0-9a-f]+)"', html)
        assert version, name
        file = call(None, f"/web/{name}", f"v={version.group(1)}")
        assert file["statusCode"] == 200 and file["headers"]["cache-control"] == pages.FILE_CACHE
        assert file["body"] == (ROOT / "newsdesk" / "api" / "web" / name).read_text(encoding="utf-8")
        stale = call(None, f"/web/{name}", "v=old")  # an old page's URL: served, but not kept for good
        assert stale["statusCode"] == 200 and stale["headers"]["cache-control"] == "no-cache"
    again = call(None, "/", **{"if-none-match": headers["etag"]})
    assert again["statusCode"] == 304 and again["body"] == ""
    scripts = (ROOT / "newsdesk/api/web/app.js").read_text() + (ROOT / "newsdesk/api/web/docs.js").read_text()
    assert not re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|document\.write|eval\(", scripts)  # text nodes only


@pytest.mark.parametrize("name", ["index.html", "../http.py", "..%2Fhttp.py", "docs.html", "", "APP.JS"])
def test_only_the_page_files_are_served(name: str) -> None:
    status, body = get(None, "/web/" + name)
    assert status == 404 and body["error"]["code"] == "not_found"


def test_the_docs_page_and_head_requests() -> None:
    docs = call(None, "/docs")
    assert docs["statusCode"] == 200 and "web/docs.js?v=" in docs["body"]
    assert call(None, "/", method="HEAD")["statusCode"] == 200


# -- health ---------------------------------------------------------------------------------------
def test_health_says_version_revision_and_articles(loaded_fake_service: Service) -> None:
    status, body = get(loaded_fake_service, "/health")
    assert status == 200
    assert body == {"status": "ok", "version": body["version"], "revision": loaded_fake_service.store.revision(),
                    "articles": 6}
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", body["version"])
    status, body = get(None, "/health")  # no index: not healthy
    assert status == 503 and body["error"]["code"] == "store_unavailable"


# -- the archive ----------------------------------------------------------------------------------
def test_outlets(loaded_fake_service: Service) -> None:
    status, body = get(loaded_fake_service, "/outlets")
    assert status == 200
    assert body["outlets"] == [{"name": "Harbor Gazette", "articles": 2}, {"name": "Port Alder Radio", "articles": 1},
                               {"name": "Regional Wire", "articles": 2}, {"name": "Valley Courier", "articles": 1}]


def test_articles_newest_first_with_pages(loaded_fake_service: Service) -> None:
    status, body = get(loaded_fake_service, "/articles")
    assert status == 200 and body["total"] == 6 and body["pages"] == 1
    days = [a["published_at"] for a in body["articles"]]
    assert days == sorted(days, reverse=True)
    assert set(body["articles"][0]) == {"id", "title", "url", "outlet", "published_at", "score"}
    pages_ = [get(loaded_fake_service, "/articles", f"per_page=4&page={n}")[1] for n in (1, 2, 3)]
    assert [len(p["articles"]) for p in pages_] == [4, 2, 0] and pages_[0]["pages"] == 2
    assert [a["id"] for p in pages_ for a in p["articles"]] == [a["id"] for a in body["articles"]]


def test_articles_search_and_filters(loaded_fake_service: Service) -> None:
    _, found = get(loaded_fake_service, "/articles", "q=ferry+sailings")
    assert found["articles"][0]["id"] == "regional-wire-ferry-2024-03-08"
    scores = [a["score"] for a in found["articles"]]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    _, harbor = get(loaded_fake_service, "/articles", "outlet=harbor+gazette+")
    assert {a["outlet"] for a in harbor["articles"]} == {"Harbor Gazette"} and harbor["total"] == 2
    _, march = get(loaded_fake_service, "/articles", "after=2024-03-06&before=2024-03-08")
    assert march["total"] and all("2024-03-06" <= a["published_at"][:10] <= "2024-03-08" for a in march["articles"])
    _, both = get(loaded_fake_service, "/articles", "q=storm&outlet=Valley%20Courier")
    assert [a["outlet"] for a in both["articles"]] == ["Valley Courier"]
    _, blank = get(loaded_fake_service, "/articles", "q=&outlet=&after=")  # an HTML form's empty fields
    assert blank["total"] == 6
    _, none = get(loaded_fake_service, "/articles", "q=zeppelin")
    assert none == {"articles": [], "total": 0, "page": 1, "per_page": 20, "pages": 0}


@pytest.mark.parametrize(("query", "words"), [
    ("after=2024-02-30", "'after' must be a date"),
    ("before=yesterday", "'before' must be a date"),
    ("after=2024-03-09&before=2024-03-01", "swap them"),
    ("outlet=%00x", "control character"),
    ("page=0", "'page' must be a whole number"),
    ("page=-1", "'page'"),
    ("per_page=101", "'per_page' must be a whole number from 1 to 100"),
    ("page=1&page=2", "repeated: 'page'"),
    ("sort=new", "unknown parameter 'sort'"),
    ("q=...", "'q' has no words"),
    ("q=" + "a" * 1001, "'q'"),
    ("&".join(f"x{i}=1" for i in range(30)), "too many parameters"),
])
def test_bad_archive_queries_are_a_400_that_says_what_to_fix(loaded_fake_service: Service, query: str, words: str) -> None:
    status, body = get(loaded_fake_service, "/articles", query)
    assert status == 400 and body["error"]["code"] == "bad_request"
    assert words in body["error"]["message"], body


def test_an_article_by_id_and_the_citations_offsets(loaded_fake_service: Service) -> None:
    answer = json.loads(call(loaded_fake_service, "/chat", method="POST", body={"question": STORM})["body"])
    for citation in answer["citations"]:
        status, article = get(loaded_fake_service, "/articles/" + urllib.parse.quote(citation["article_id"], safe=""))
        assert status == 200 and article["id"] == citation["article_id"]
        assert article["text"][citation["start"]:citation["end"]] == citation["sentence"]
        assert set(article) == {"id", "title", "url", "outlet", "published_at", "text"}
    status, body = get(loaded_fake_service, "/articles/no-such-article")
    assert status == 404 and "no article with id 'no-such-article'" in body["error"]["message"]


def test_odd_ids_are_found_or_404(fake_service: Service) -> None:
    from newsdesk.models import Article

    odd = ["a/b c", "100%", "ünïcode", "x?y#z"]
    fake_service.ingest([Article(id=i, text=f"Article {n} about the harbor ferry and its {n} boats.") for n, i in enumerate(odd)])
    for article_id in odd:
        status, body = get(fake_service, "/articles/" + urllib.parse.quote(article_id, safe=""))
        assert status == 200 and body["id"] == article_id
    # API Gateway's greedy route hands the id over decoded in pathParameters
    event = copy.deepcopy(BASE) | {"routeKey": "GET /articles/{id+}", "pathParameters": {"id": "a/b c"}}
    event["rawPath"] = "/articles/a/b%20c"
    assert json.loads(handle_chat(event, lambda: fake_service)["body"])["id"] == "a/b c"
    for path in ("/articles/%00", "/articles/" + "x" * 1001, "/articles/%ff"):
        assert get(fake_service, path)[0] == 404


def test_a_stage_prefix_is_understood(loaded_fake_service: Service) -> None:
    event = copy.deepcopy(BASE)
    event["rawPath"] = "/prod/outlets"
    event["requestContext"]["stage"] = "prod"
    assert handle_chat(event, lambda: loaded_fake_service)["statusCode"] == 200


# -- follow-ups -----------------------------------------------------------------------------------
def test_history_becomes_the_query_context() -> None:
    query = parse_query({"question": "And how many were injured?", "history": ["What happened in the storm?", " "]})
    assert query.context == ("What happened in the storm?",)
    for history, words in ((["a", "b", "c", "d"], "at most 3"), ([1], "'history'"), ("storm", "'history'"),
                           (["x" * 1001], "at most 1000 characters")):
        with pytest.raises(BadRequest, match=words):
            parse_query({"question": "and then?", "history": history})


def test_a_follow_up_takes_only_its_subject_from_the_conversation(loaded_fake_service: Service) -> None:
    """A question with its own subject is answered as if asked alone, whatever came before; one that points back
    ("when was it restored?") is searched with the earlier question's subject, and the JSON says how it was taken."""
    def asked(body: dict[str, Any]) -> dict[str, Any]:
        response = call(loaded_fake_service, "/chat", method="POST", body=body)
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])

    def cited(answer: dict[str, Any]) -> list[tuple[str, int]]:
        return [(c["article_id"], c["start"]) for c in answer["citations"]]

    library = "How much did the library renovation cost?"
    alone, after_storm = asked({"question": library}), asked({"question": library, "history": [STORM]})
    assert cited(after_storm) == cited(alone) and "url-c0d46b3dc2fe172f" in {a for a, _ in cited(alone)}
    assert "resolved_question" not in after_storm
    follow_up = asked({"question": "When was it restored?", "history": [STORM]})
    storm_ids = {"url-c1ebc9ba790dabc6", "url-e6c63618a48770f5"}
    assert {a for a, _ in cited(follow_up)} & storm_ids
    assert follow_up["resolved_question"].startswith("When was it restored? (") and "storm" in follow_up["resolved_question"]


# -- CORS -----------------------------------------------------------------------------------------
def test_cors_follows_the_setting(loaded_fake_service: Service) -> None:
    site, other = "https://desk.example.org", "https://evil.example"
    assert call(None, "/", origin=site)["headers"]["access-control-allow-origin"] == "*"
    listed = f"{site}, https://other.example"
    allowed = call(None, "/", cors=listed, origin=site)["headers"]
    assert allowed["access-control-allow-origin"] == site and allowed["vary"] == "origin"
    assert "access-control-allow-origin" not in call(None, "/", cors=listed, origin=other)["headers"]
    assert "access-control-allow-origin" not in call(None, "/", cors="", origin=site)["headers"]
    error = call(None, "/nope", cors=listed, origin=site)  # errors carry it too, or the browser hides the message
    assert error["statusCode"] == 404 and error["headers"]["access-control-allow-origin"] == site
    assert Settings.from_env({"NEWSDESK_CORS_ORIGINS": listed}).cors_origins == listed
    assert Settings().cors_origins == "*"


@pytest.mark.parametrize(("path", "allow"), [("/chat", "POST, OPTIONS"), ("/articles", "GET, HEAD, OPTIONS"),
                                             ("/articles/x", "GET, HEAD, OPTIONS"), ("/", "GET, HEAD, OPTIONS")])
def test_preflight(path: str, allow: str) -> None:
    site = "https://desk.example.org"
    response = call(None, path, method="OPTIONS", cors=site, origin=site, **{"access-control-request-method": "POST"})
    assert response["statusCode"] == 204 and response["body"] == ""
    headers = response["headers"]
    assert headers["allow"] == allow and headers["access-control-allow-methods"] == allow
    assert headers["access-control-allow-origin"] == site and "authorization" in headers["access-control-allow-headers"]
    refused = call(None, path, method="OPTIONS", cors=site, origin="https://evil.example")["headers"]
    assert "access-control-allow-origin" not in refused and "access-control-allow-methods" not in refused
    assert call(None, "/nope", method="OPTIONS")["statusCode"] == 404


def test_wrong_methods_name_the_right_one(loaded_fake_service: Service) -> None:
    for path, method, right in (("/articles", "POST", "GET"), ("/", "DELETE", "GET"), ("/chat", "GET", "POST")):
        response = call(loaded_fake_service, path, method=method)
        assert response["statusCode"] == 405 and f"use {right}" in json.loads(response["body"])["error"]["message"]


# -- through `newsdesk serve` ---------------------------------------------------------------------
@pytest.fixture
def served(loaded_fake_service: Service) -> Iterator[tuple[str, int]]:
    httpd = make_server("127.0.0.1", 0, lambda event, context: handle_chat(event, lambda: loaded_fake_service))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def exchange(server: tuple[str, int], raw: str) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(raw.encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.server
def test_the_local_server_serves_every_route(served: tuple[str, int]) -> None:
    status, headers, body = exchange(served, "OPTIONS /chat HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:3000\r\n"
                                             "Access-Control-Request-Method: POST\r\n\r\n")
    assert status == 204 and headers["access-control-allow-origin"] == "*" and body == b""
    status, headers, body = exchange(served, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and headers["content-type"].startswith("text/html") and b"Newsdesk" in body
    assert int(headers["content-length"]) == len(body)
    status, headers, body = exchange(served, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and body == b""
    status, _, body = exchange(served, "GET /articles?q=ferry&per_page=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and json.loads(body)["articles"][0]["id"] == "regional-wire-ferry-2024-03-08"
    status, _, body = exchange(served, "GET /articles/regional-wire-ferry-2024-03-08 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and "ferry" in json.loads(body)["text"]
    status, _, body = exchange(served, "GET /articles?after=2024-13-01 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 400 and "'after' must be a date" in json.loads(body)["error"]["message"]


# -- the CLI: list, delete by URL, duplicates, serve ----------------------------------------------
@pytest.fixture
def run(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    store = tmp_path / "store"
    env = {"NEWSDESK_STORE": str(store), "NEWSDESK_EMBEDDER": "hash", "NEWSDESK_ABSTAIN_THRESHOLD": "0"}

    def invoke(*args: str, **extra: str) -> Result:
        return CliRunner().invoke(cli, list(args), env={**env, **extra}, catch_exceptions=False)

    invoke.store = store  # type: ignore[attr-defined]
    return invoke


def test_list_is_the_archive_search(run: Any, loaded_fake_service: Service) -> None:
    assert run("ingest", str(EXAMPLES)).exit_code == 0
    listed = run("list", "--json")
    assert listed.exit_code == 0
    api = json.loads(call(loaded_fake_service, "/articles")["body"])
    assert json.loads(listed.stdout) == api
    text = run("list", "ferry", "--outlet", "Regional Wire", "--per-page", "1").stdout
    assert "North shore ferry adds early sailings" in text and "regional-wire-ferry-2024-03-08" in text
    assert "article(s), showing 1-1 (page 1 of" in text
    bad = run("list", "--per-page", "500")
    assert bad.exit_code == 2 and "'per_page'" in bad.stderr
    assert run("list", "--after", "2024-02-30").exit_code == 2


def test_delete_by_url(run: Any) -> None:
    assert run("ingest", str(EXAMPLES)).exit_code == 0
    url = "https://harbor-gazette.example/2024/03/06/storm-power-cuts"
    result = run("delete", url + "/")
    assert result.exit_code == 0 and result.stdout.startswith("deleted url-")
    assert url not in run("list", "--json").stdout
    again = run("delete", url)
    assert again.exit_code == 1 and "no article with the URL" in again.stderr


def test_the_same_text_under_another_id_is_a_duplicate(run: Any, tmp_path: Path) -> None:
    assert run("ingest", str(EXAMPLES)).exit_code == 0
    original = (EXAMPLES / "harbor-gazette-storm-outage.txt").read_text(encoding="utf-8")
    copy_ = tmp_path / "copy.txt"  # the same story, re-posted at another URL, with other line breaks
    copy_.write_text(original.replace("storm-power-cuts", "storm-power-cuts-repost").replace("\n\n", "\n\n\n"),
                     encoding="utf-8")
    result = run("ingest", str(copy_))
    assert result.exit_code == 0, result.output
    assert "added 0," in result.stdout and "duplicates 1," in result.stdout
    assert "duplicate: url-" in result.stderr and "same text as indexed article 'url-" in result.stderr
    assert json.loads(run("stats", "--json").stdout)["articles"] == 6
    twice = tmp_path / "twice.jsonl"  # two new copies in one run: the first is added, the second reported
    twice.write_text("".join(json.dumps({"id": i, "text": "A brand new story about the pier and its lights."}) + "\n"
                             for i in ("pier-1", "pier-2")), encoding="utf-8")
    report = json.loads(run("ingest", "--json", str(twice)).stdout)
    assert report["added"] == 1 and len(report["duplicates"]) == 1 and report["duplicates"][0].startswith("pier-2:")
    assert "unchanged 1," in run("ingest", str(twice)).stdout  # pier-1 is unchanged, pier-2 still a duplicate


@pytest.mark.server
def test_serve_warms_up_before_it_says_it_is_serving(run: Any, tmp_path: Path) -> None:
    assert run("ingest", str(EXAMPLES)).exit_code == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"NEWSDESK_EMBEDDER": "hash", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin",
           "NEWSDESK_SNAPSHOT_DIR": str(tmp_path / "copies")}
    process = subprocess.Popen([sys.executable, "-m", "newsdesk.cli", "-v", "serve", "--port", str(port),
                                "--store", str(run.store)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        before = []
        for line in process.stderr:
            if line.startswith("serving "):
                break
            before.append(line)
        assert line == f"serving http://127.0.0.1:{port}/ (the chat page; POST /chat for the API; Ctrl-C to stop)\n"
        # the port is bound before it says so: this connects at once
        assert any("lexical index" in b for b in before), before  # loaded before it said so
        status, _, body = exchange(("127.0.0.1", port), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 200 and json.loads(body)["articles"] == 6
    finally:
        process.terminate()
        process.communicate(timeout=30)
