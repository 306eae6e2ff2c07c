"""The `newsdesk` command as a user runs it: summaries, exit codes, messages, and the endpoint's JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from newsdesk.answer.compose import ABSTAIN_TEXT
from newsdesk.api.http import handle_chat
from newsdesk.app import build_service
from newsdesk.cli import cli
from newsdesk.models import Filters, Query
from newsdesk.settings import Settings
from tests.conftest import EVENTS, EXAMPLES

SUMMARY = re.compile(r"^added (\d+), updated (\d+), unchanged (\d+), failed (\d+), chunks (\d+), \d+\.\d s$")
STORM_Q = "How many homes lost power in the storm?"


@pytest.fixture
def run(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Run `newsdesk ARGS...` against a fresh store; the hash embedder keeps these tests fast.

    Abstention is off: its thresholds are calibrated for the real model, not the hash embedder."""
    store = tmp_path / "store"
    env = {"NEWSDESK_STORE": str(store), "NEWSDESK_EMBEDDER": "hash", "NEWSDESK_ABSTAIN_THRESHOLD": "0"}

    def invoke(*args: str, input: str | None = None, **extra_env: str) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, env={**env, **extra_env}, catch_exceptions=False)

    invoke.store = store  # type: ignore[attr-defined]
    return invoke


def summary(result: Result) -> tuple[int, ...]:
    line = result.stdout.strip().splitlines()[-1]
    match = SUMMARY.match(line)
    assert match, line
    return tuple(int(x) for x in match.groups())


def test_ingest_prints_a_summary_and_a_second_run_is_unchanged(run: Any) -> None:
    first = run("ingest", str(EXAMPLES))
    assert first.exit_code == 0, first.output
    added, updated, unchanged, failed, chunks = summary(first)
    assert (added, updated, unchanged, failed) == (6, 0, 0, 0) and chunks > 0
    stats = run("stats").stdout

    second = run("ingest", str(EXAMPLES))
    assert second.exit_code == 0
    assert summary(second) == (0, 0, 6, 0, 0)
    assert run("stats").stdout == stats
    assert stats.startswith(f"articles 6, chunks {chunks}, sentences ")
    assert "  Harbor Gazette: 2\n" in stats and "  Regional Wire: 2\n" in stats


def test_bad_input_exits_1_naming_the_file_and_keeps_the_rest(run: Any, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.md").write_text("---\ntitle: Good\n---\nThe good story is here.\n", encoding="utf-8")
    bad_jsonl = folder / "wire.jsonl"
    bad_jsonl.write_text('{"id": "w1", "text": "Wire story one."}\n{"id": "w2", "text": \n{"id": "w3"}\n', encoding="utf-8")
    docx = tmp_path / "notes.docx"
    docx.write_text("not supported", encoding="utf-8")
    result = run("ingest", str(folder), str(docx))
    assert result.exit_code == 1
    assert f"error: {bad_jsonl}:2: invalid JSON" in result.stderr
    assert f"error: {bad_jsonl}:3: missing the 'text' field" in result.stderr
    assert f"error: {docx}: unsupported file type .docx" in result.stderr
    assert summary(result)[:4] == (2, 0, 0, 3)
    assert run("stats").stdout.startswith("articles 2,")
    assert "w2" not in run("stats", "--json").stdout

    missing = run("ingest", str(tmp_path / "nowhere.txt"))
    assert missing.exit_code == 1 and f"{tmp_path / 'nowhere.txt'}: no such file" in missing.stderr


def test_ingest_from_stdin(run: Any) -> None:
    record = {"id": "piped-1", "title": "Piped", "source": "Pipe News",
              "text": "The ferry will run on Sundays , the agency said .  Fares stay the same ."}
    result = run("ingest", "-", input=json.dumps(record) + "\n")
    assert result.exit_code == 0 and summary(result)[0] == 1
    answer = json.loads(run("ask", "--json", "Will the ferry run on Sundays?").stdout)
    assert answer["citations"][0]["article_id"] == "piped-1"
    assert answer["citations"][0]["sentence"] == "The ferry will run on Sundays , the agency said ."


@pytest.mark.parametrize(
    ("event_name", "options"),
    [("chat_post", []),
     ("chat_post_filters", ["-k", "2", "--outlet", "valley courier", "--after", "2024-03-01", "--before", "2024-03-05"])],
)
def test_ask_json_is_the_endpoint_json(run: Any, event_name: str, options: list[str]) -> None:
    run("ingest", str(EXAMPLES))
    cli_body = json.loads(run("ask", "--json", *options, STORM_Q).stdout)
    service = build_service(Settings(store=run.store, embedder="hash", abstain_threshold=0.0))
    event = json.loads((EVENTS / f"{event_name}.json").read_text(encoding="utf-8"))
    api_body = json.loads(handle_chat(event, lambda: service)["body"])
    assert cli_body.pop("timing_ms").keys() == api_body.pop("timing_ms").keys()
    assert cli_body == api_body
    assert cli_body["citations"]


def test_ask_prints_the_answer_and_its_sources(run: Any) -> None:
    run("ingest", str(EXAMPLES))
    result = run("ask", "When will the council vote on the bridge repair contract?")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "The city council will vote on March 12" in lines[0] and "[1]" in lines[0]
    assert "  [1] Old Mill Bridge closed after inspectors find cracks (Harbor Gazette, 2024-03-04)" in lines
    assert any("https://harbor-gazette.example/2024/03/04/old-mill-bridge-closed" in line for line in lines)


@pytest.mark.parametrize(
    ("options", "words"),
    [(["--after", "yesterday"], "Invalid value for '--after': 'yesterday' is not a date like 2024-03-05"),
     (["--before", "2024-02-30"], "Invalid value for '--before': '2024-02-30' is not a date"),
     (["--after", "2024-03-09", "--before", "2024-03-01"], "--after 2024-03-09 is later than --before 2024-03-01"),
     (["-k", "0"], "Invalid value for '-k': must be at least 1, got 0"),
     (["-k", "11"], "Invalid value for '-k': must be from 1 to 10, got 11"),
     (["-k", "three"], "Invalid value for '-k'"),
     (["--outlet", " "], "Invalid value for '--outlet': must name an outlet")],
)
def test_ask_with_bad_options_exits_2_naming_the_flag(run: Any, options: list[str], words: str) -> None:
    run("ingest", str(EXAMPLES / "regional-wire.jsonl"))
    result = run("ask", *options, STORM_Q)
    assert result.exit_code == 2
    assert words in result.stderr
    assert "published_" not in result.stderr and "'k' must" not in result.stderr  # not the API's field names


def test_a_folder_without_an_index_is_named_and_left_alone(run: Any, tmp_path: Path) -> None:
    elsewhere = tmp_path / "photos"
    elsewhere.mkdir()
    (elsewhere / "cat.jpg").write_bytes(b"\xff\xd8")
    for args in (("ask", "--store", str(elsewhere), STORM_Q), ("ask", "--json", STORM_Q), ("stats",),
                 ("stats", "--store", str(elsewhere)), ("delete", "some-id"), ("serve", "--port", "0")):
        result = run(*args)
        where = elsewhere if str(elsewhere) in args else run.store
        assert result.exit_code == 1, args
        assert result.stderr.strip() == f"error: no index at {where}: run `newsdesk ingest ARTICLES --store {where}` first"
        assert result.stdout == ""
    assert [p.name for p in elsewhere.iterdir()] == ["cat.jpg"]  # nothing created there
    assert not run.store.exists()


def test_a_filter_that_matches_no_article_says_so(run: Any) -> None:
    run("ingest", str(EXAMPLES))
    result = run("ask", "--outlet", "Daily Planet", STORM_Q)
    assert result.exit_code == 0
    assert result.stdout.strip() == "No article matches the filters (from outlet 'Daily Planet'): loosen or remove them."
    body = json.loads(run("ask", "--json", "--after", "2030-01-01", "--outlet", "harbor gazette", STORM_Q).stdout)
    assert body["abstained"] is True and body["citations"] == []
    assert body["answer"] == ("No article matches the filters (from outlet 'harbor gazette', published on or after "
                              "2030-01-01): loosen or remove them.")
    # With an article to look at, an unanswerable question still gets the usual abstention.
    empty = build_service(Settings(store=run.store, embedder="hash", abstain_threshold=2.0, similar_enough=2.0))
    assert empty.ask(Query(STORM_Q, filters=Filters(outlet="Harbor Gazette"))).text == ABSTAIN_TEXT


def test_ask_on_an_empty_index_abstains(run: Any) -> None:
    record = {"id": "gone", "text": "A story that is deleted again."}
    run("ingest", "-", input=json.dumps(record) + "\n")
    assert run("delete", "gone").exit_code == 0
    result = run("ask", STORM_Q)
    assert result.exit_code == 0 and result.stdout.strip() == ABSTAIN_TEXT
    body = json.loads(run("ask", "--json", STORM_Q).stdout)
    assert body["abstained"] is True and body["citations"] == []
    assert run("stats").stdout.strip() == "articles 0, chunks 0, sentences 0"


def test_stats_check_finds_orphan_rows(run: Any) -> None:
    from newsdesk.adapters.chroma_store import ChromaStore, connect

    run("ingest", str(EXAMPLES))
    clean = json.loads(run("stats", "--check", "--json").stdout)
    assert clean["check"] == {"rows": clean["chunks"] + clean["sentences"], "orphans": [], "missing": []}
    store = ChromaStore(connect(path=run.store), folder=run.store)
    store._sentences.upsert(ids=["ghost:0123456789abcdef:s0"], embeddings=[[0.0] * 384],
                            metadatas=[{"article_id": "ghost", "version": "0123456789abcdef"}])
    store.client.close()
    result = run("stats", "--check")
    assert result.exit_code == 1
    assert "check: " in result.stdout and "1 orphan, 0 missing" in result.stdout
    assert "  ghost:0123456789abcdef:s0" in result.stdout


def test_delete(run: Any) -> None:
    run("ingest", str(EXAMPLES))
    result = run("delete", "regional-wire-ferry-2024-03-08")
    assert result.exit_code == 0 and result.stdout.strip() == "deleted regional-wire-ferry-2024-03-08"
    stats = json.loads(run("stats", "--json").stdout)
    assert stats["articles"] == 5 and stats["outlets"]["Regional Wire"] == 1
    body = json.loads(run("ask", "--json", "-k", "10", "When do the early ferry sailings leave?").stdout)
    assert "regional-wire-ferry-2024-03-08" not in {c["article_id"] for c in body["citations"]}

    again = run("delete", "regional-wire-ferry-2024-03-08")
    assert again.exit_code == 1 and "no article with id 'regional-wire-ferry-2024-03-08'" in again.stderr


def test_store_option_wins_over_the_environment(run: Any, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert run("ingest", "--store", str(other), str(EXAMPLES / "regional-wire.jsonl")).exit_code == 0
    assert run("stats", "--store", str(other)).stdout.startswith("articles 2,")
    assert "no index at" in run("stats").stderr


def test_bad_setting_exits_2_naming_the_variable(run: Any) -> None:
    result = run("stats", NEWSDESK_CHUNK_OVERLAP="9")
    assert result.exit_code == 2 and "NEWSDESK_CHUNK_OVERLAP" in result.stderr


def test_help_has_worked_examples(run: Any) -> None:
    result = run("--help")
    assert result.exit_code == 0 and "newsdesk ingest examples/articles/" in result.stdout
    for command in ("ingest", "ask", "delete", "stats", "serve"):
        assert command in result.stdout


@pytest.mark.parametrize(("command", "option"), [("ask", "--answerer"), ("eval", "--answerer"), ("stats", "--json"),
                                                 ("serve", "--host")])
def test_options_say_what_they_do(run: Any, command: str, option: str) -> None:
    [param] = [p for p in cli.commands[command].params if option in p.opts]  # type: ignore[attr-defined]
    assert getattr(param, "help", None), f"newsdesk {command} {option} has no help text"
    options = run(command, "--help").stdout.split("\nOptions:\n", 1)[1]
    assert param.help.split()[0] in options.split(option, 1)[1].split("\n  -")[0]  # type: ignore[attr-defined]


def test_ingest_help_keeps_its_examples_apart_from_the_paragraph(run: Any) -> None:
    shown = run("ingest", "--help").stdout
    paragraph, _, examples = shown.partition("\n\n  Examples:\n")
    assert examples.startswith("    newsdesk ingest examples/articles/\n"), shown
    assert "newsdesk ingest" not in paragraph.split("Usage:", 1)[1].split("\n", 1)[1], shown


@pytest.mark.model
def test_demo_with_the_real_model(clean_env: pytest.MonkeyPatch, examples_store: Path) -> None:
    """What `make demo` shows: re-ingesting the samples changes nothing, and the storm question is answered."""
    env = {"NEWSDESK_STORE": str(examples_store)}
    runner = CliRunner()
    ingest = runner.invoke(cli, ["ingest", str(EXAMPLES)], env=env, catch_exceptions=False)
    assert ingest.exit_code == 0 and summary(ingest) == (0, 0, 6, 0, 0)
    ask = runner.invoke(cli, ["ask", STORM_Q], env=env, catch_exceptions=False)
    assert ask.exit_code == 0
    assert "9,500" in ask.stdout and "12,000" in ask.stdout and "[1]" in ask.stdout
    assert "Valley Courier, 2024-03-05" in ask.stdout and "Harbor Gazette, 2024-03-06" in ask.stdout
