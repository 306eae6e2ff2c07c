"""Hostile article content at ingest (issue 12, "Found" 4, 7, 8): one bad article never stops the run."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from newsdesk.ingest.load import load_paths
from newsdesk.ingest.sentences import split_sentences

from newsdesk.errors import ArticleError
from newsdesk.models import Article
from newsdesk.service import Service
from newsdesk.settings import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_lone_surrogate_fails_only_its_article(tmp_path: Path, fake_service: Service) -> None:
    # json.dumps writes the lone surrogate as the escape \ud800, which json.loads turns back into one.
    path = write_jsonl(tmp_path / "mixed.jsonl", [
        json.dumps({"id": "good-1", "text": "The ferry resumed service on Monday."}),
        json.dumps({"id": "bad-1", "text": "Broken \ud800 text."}),
        json.dumps({"id": "bad-2", "text": "Fine text.", "title": "Broken \udfff title"}),
        json.dumps({"id": "good-2", "text": "The council approved the budget."}),
    ])
    items = list(load_paths([str(path)]))
    bad = [i for i in items if isinstance(i, ArticleError)]
    assert [e.line for e in bad] == [2, 3]
    assert all("surrogate" in str(e) and str(path) in str(e) for e in bad)
    assert "'text'" in str(bad[0]) and "'title'" in str(bad[1])
    report = fake_service.ingest(items)
    assert (report.added, report.failed) == (2, 2)


def test_the_fingerprint_of_a_broken_article_never_raises() -> None:
    article = Article(id="x", text="Broken \ud800 text.", title="\udc00")
    assert article.fingerprint() != Article(id="x", text="Broken \udc00 text.", title="\udc00").fingerprint()


def test_cli_ingest_reports_the_broken_article_and_the_summary(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from newsdesk.cli import cli

    path = write_jsonl(tmp_path / "mixed.jsonl", [
        json.dumps({"id": "good-1", "text": "The ferry resumed service on Monday."}),
        json.dumps({"id": "bad-1", "text": "Broken \ud800 text."}),
    ])
    env = {"NEWSDESK_STORE": str(tmp_path / "store"), "NEWSDESK_EMBEDDER": "hash"}
    result = CliRunner().invoke(cli, ["ingest", str(path)], env=env, catch_exceptions=False)
    assert result.exit_code == 1
    assert "mixed.jsonl:2" in result.stderr and "surrogate" in result.stderr
    assert result.stdout.startswith("added 1, updated 0, unchanged 0, failed 1")


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("javascript:alert(document.cookie)", None),
        ("JavaScript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox", None),
        ("ftp://files.example/story", None),
        ("//news.example/story", None),
        ("https://", None),
        ("news.example/story", None),
        ("https://news.example/story?id=1", "https://news.example/story?id=1"),
        ("HTTP://news.example/story", "HTTP://news.example/story"),
    ],
)
def test_only_http_urls_are_kept_as_links(tmp_path: Path, url: str, kept: str | None) -> None:
    path = write_jsonl(tmp_path / "one.jsonl", [json.dumps({"id": "a", "text": "A story.", "url": url})])
    [article] = list(load_paths([str(path)]))
    assert isinstance(article, Article)
    assert article.url == kept


def test_a_dropped_url_still_ingests(tmp_path: Path, fake_service: Service) -> None:
    path = write_jsonl(tmp_path / "one.jsonl", [json.dumps({"text": "The bridge reopened.", "url": "javascript:x()"})])
    report = fake_service.ingest(load_paths([str(path)]))
    assert (report.added, report.failed) == (1, 0)
    [article_id] = report.article_ids
    assert fake_service.store.articles([article_id])[article_id][0].url is None


def check_spans(text: str, limit: int) -> list[str]:
    sentences = split_sentences("a", text, max_chars=limit)
    for s in sentences:
        assert text[s.start : s.end] == s.text
        assert 0 < len(s.text) <= limit and s.text == s.text.strip()
    # nothing but whitespace is lost between consecutive sentences
    covered = "".join(text[a.end : b.start] for a, b in zip(sentences, sentences[1:], strict=False))
    assert covered.strip() == ""
    assert [s.index for s in sentences] == list(range(len(sentences)))
    return [s.text for s in sentences]


def test_a_run_without_full_stops_is_split_within_the_bound() -> None:
    text = " ".join(f"word{i}" for i in range(20_000))  # ~128 KB, no sentence break
    pieces = check_spans(text, DEFAULTS.max_sentence_chars)
    assert len(pieces) > 100 and "".join(pieces).replace(" ", "") == text.replace(" ", "")


def test_long_runs_are_split_at_clauses_first() -> None:
    clause = "the council said it would consider the matter again next week"
    text = "; ".join([clause] * 40) + "."
    pieces = check_spans(text, 300)
    assert all(p.endswith((";", ".")) for p in pieces), pieces


def test_a_single_huge_token_is_cut_hard_but_exactly() -> None:
    text = "Start. " + "x" * 2_500 + " end."
    pieces = check_spans(text, 1000)
    assert pieces[0].startswith("Start.") and max(len(p) for p in pieces) == 1000


def test_short_sentences_are_unchanged_by_the_bound() -> None:
    text = "The storm hit on Tuesday. Power returned on Friday; crews worked all night."
    assert split_sentences("a", text) == split_sentences("a", text, max_chars=10_000)


def test_the_bound_is_a_setting() -> None:
    from newsdesk.settings import Settings

    assert Settings.from_env({"NEWSDESK_MAX_SENTENCE_CHARS": "500"}).max_sentence_chars == 500
    with pytest.raises(Exception, match="MAX_SENTENCE_CHARS"):
        Settings(max_sentence_chars=10)


def test_an_unsupported_file_in_a_folder_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "story.txt").write_text("The ferry resumed service.", encoding="utf-8")
    (tmp_path / "notes.xyz").write_text("Not an article.", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        items = list(load_paths([str(tmp_path)]))
    assert [type(i) for i in items] == [Article]
    assert any("notes.xyz" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)


def test_cli_says_which_files_it_skipped(tmp_path: Path) -> None:
    """Skipped files are not failed articles (exit 0), but the user is told about each one on stderr."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "story.txt").write_text("The ferry resumed service.", encoding="utf-8")
    (folder / "notes.xyz").write_text("Not an article.", encoding="utf-8")
    env = {**os.environ, "NEWSDESK_STORE": str(tmp_path / "store"), "NEWSDESK_EMBEDDER": "hash"}
    done = subprocess.run([sys.executable, "-m", "newsdesk.cli", "ingest", str(folder)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "notes.xyz" in done.stderr and "skipped" in done.stderr
    assert "added 1" in done.stdout
