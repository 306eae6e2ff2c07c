"""Loading articles: every accepted format, ids, and a clear error for every bad input."""

from __future__ import annotations

import io
import json
import os
import pwd
import shutil
import tempfile
import tracemalloc
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from newsdesk.ingest.load import (
    MAX_ARTICLE_CHARS,
    MAX_HTML_BYTES,
    MAX_JSONL_LINE_BYTES,
    MAX_TEXT_BYTES,
    derive_id,
    load_paths,
)

from newsdesk.errors import ArticleError
from newsdesk.models import Article
from newsdesk.service import Service

# Written for these tests: PTB-like tokens, doubled spaces, a tab, a non-breaking space and
# a raw U+2028 inside the text, all of which must survive byte for byte.
ODD_TEXT = (
    "The council met on Tuesday , officials said .  `` We will not wait , '' the mayor said"
    " -LRB- twice -RRB- .\tA vote\u00a0follows on March 3.\u2028Critics were not convinced ."
)


def load(*paths: Path | str) -> list[Article | ArticleError]:
    return list(load_paths([str(p) for p in paths]))


def articles(items: list[Article | ArticleError]) -> list[Article]:
    return [i for i in items if isinstance(i, Article)]


def errors(items: list[Article | ArticleError]) -> list[ArticleError]:
    return [i for i in items if isinstance(i, ArticleError)]


def write_jsonl(path: Path, records: Sequence[Mapping[str, object] | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_markdown_front_matter_fills_every_field(tmp_path: Path) -> None:
    body = "# Ferry fares rise\n\nFares rise by a dollar in May.  Riders object.\n"
    (tmp_path / "fares.md").write_text(
        "---\ntitle: Ferry fares rise\nurl: https://example.test/fares\noutlet: Bay Post\n"
        "published_at: 2024-04-01\n---\n" + body,
        encoding="utf-8",
    )
    [article] = load(tmp_path / "fares.md")
    assert isinstance(article, Article)
    assert (article.title, article.url, article.outlet, article.published_at) == (
        "Ferry fares rise", "https://example.test/fares", "Bay Post", "2024-04-01",
    )
    assert article.text == body
    assert article.id == derive_id("https://example.test/fares", body)
    assert article.id.startswith("url-")


def test_txt_without_front_matter_is_kept_whole_and_hashed(tmp_path: Path) -> None:
    text = "A plain note about the harbor.  It has no metadata at all.\n"
    (tmp_path / "plain_note.txt").write_text(text, encoding="utf-8")
    [article] = load(tmp_path / "plain_note.txt")
    assert isinstance(article, Article)
    assert article.text == text
    assert article.id == derive_id(None, text) and article.id.startswith("sha-")
    assert article.title == "plain note"  # from the file name
    assert article.url is None and article.outlet is None and article.published_at is None


def test_crlf_text_keeps_its_line_endings(tmp_path: Path) -> None:
    raw = b"---\r\ntitle: Windows file\r\n---\r\nFirst line here.\r\nSecond line here.\r\n"
    (tmp_path / "win.txt").write_bytes(raw)
    [article] = load(tmp_path / "win.txt")
    assert isinstance(article, Article)
    assert article.title == "Windows file"
    assert article.text == "First line here.\r\nSecond line here.\r\n"


def test_html_text_and_metadata_come_from_trafilatura(tmp_path: Path) -> None:
    (tmp_path / "story.html").write_text(
        """<!doctype html><html><head><meta charset="utf-8"><title>Dock workers vote to strike</title>
        <meta property="og:url" content="https://dock-news.example/strike">
        <meta property="og:site_name" content="Dock News"><meta name="date" content="2024-05-02"></head>
        <body><nav><a href="/">Home</a> | <a href="/sports">Sports</a></nav><article>
        <h1>Dock workers vote to strike</h1>
        <p>Dock workers at the east terminal voted on Thursday to strike from Monday over pay and overtime rules.</p>
        <p>The union said 412 of its 450 members took part and that nine in ten backed the walkout.</p>
        </article><footer>Copyright Dock News</footer></body></html>""",
        encoding="utf-8",
    )
    [article] = load(tmp_path / "story.html")
    assert isinstance(article, Article)
    assert article.title == "Dock workers vote to strike"
    assert article.url == "https://dock-news.example/strike"
    assert article.outlet == "Dock News"
    assert article.published_at == "2024-05-02"
    assert "412 of its 450 members" in article.text
    assert "Sports" not in article.text and "Copyright" not in article.text and "<p>" not in article.text


def test_jsonl_keeps_id_maps_source_and_text_byte_for_byte(tmp_path: Path) -> None:
    record = {"id": "wire-0042", "title": "Council vote", "text": ODD_TEXT, "url": "https://wire.example/42",
              "published_at": "2024-03-02", "source": "Wire Service"}
    path = write_jsonl(tmp_path / "wire.jsonl", [record, {"id": 7, "text": "Second story text here."}])
    first, second = load(path)
    assert isinstance(first, Article) and isinstance(second, Article)
    assert first.id == "wire-0042"
    assert first.outlet == "Wire Service"
    assert first.text == ODD_TEXT  # the raw U+2028 did not split the line
    assert (first.title, first.url, first.published_at) == ("Council vote", "https://wire.example/42", "2024-03-02")
    assert second.id == "7"


def test_jsonl_without_id_derives_it_from_url_then_text(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "Story one.", "url": "https://x.example/1"}, {"text": "Story two."}])
    one, two = load(path)
    assert isinstance(one, Article) and isinstance(two, Article)
    assert one.id == derive_id("https://x.example/1", "Story one.")
    assert two.id == derive_id(None, "Story two.")
    # The same URL gives the same id even when the text is edited, so an edit replaces the old version.
    assert derive_id("https://x.example/1", "Edited story one.") == one.id


def test_folders_are_read_recursively_and_skip_other_files(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "top.txt").write_text("Top level story text.", encoding="utf-8")
    (tmp_path / "a" / "mid.md").write_text("Middle story text.", encoding="utf-8")
    write_jsonl(tmp_path / "a" / "b" / "deep.jsonl", [{"id": "deep-1", "text": "Deep story text."}])
    (tmp_path / "a" / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "a" / ".hidden.txt").write_text("Hidden text.", encoding="utf-8")
    items = load(tmp_path)
    assert not errors(items)
    assert sorted(a.text for a in articles(items)) == ["Deep story text.", "Middle story text.", "Top level story text."]


def test_stdin_reads_jsonl_or_a_single_text(monkeypatch: pytest.MonkeyPatch) -> None:
    jsonl = json.dumps({"id": "in-1", "text": ODD_TEXT}, ensure_ascii=False) + "\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(jsonl.encode("utf-8")), encoding="utf-8"))
    [article] = load("-")
    assert isinstance(article, Article) and article.id == "in-1" and article.text == ODD_TEXT

    text = "---\ntitle: Piped\n---\nA story piped in.\r\nSecond line.\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8"))
    [article] = load("-")
    assert isinstance(article, Article) and article.title == "Piped"
    assert article.text == "A story piped in.\r\nSecond line.\n"


@pytest.mark.parametrize(
    ("value", "stored"),
    [("2024-03-05", "2024-03-05"), ("2024-03-05T08:30:00Z", "2024-03-05T08:30:00Z"), ("2024-03-05 08:30", "2024-03-05 08:30")],
)
def test_good_published_at_is_kept(tmp_path: Path, value: str, stored: str) -> None:
    [article] = load(write_jsonl(tmp_path / "d.jsonl", [{"text": "Dated story.", "published_at": value}]))
    assert isinstance(article, Article) and article.published_at == stored
    assert article.published_day == 20240305


# -- bad input: one clear error naming the file (and line), the others still load ---------------------


def assert_one_error(items: list[Article | ArticleError], where: str, *words: str) -> ArticleError:
    [error] = errors(items)
    message = str(error)
    assert message.startswith(where + ": "), message
    for word in words:
        assert word in message, message
    return error


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("{not json", ("invalid JSON",)),
        ('{"title": "no text here"}', ("missing", "'text'")),
        ('{"text": "   \\n  "}', ("empty",)),
        ('{"text": 42}', ("'text' must be a string",)),
        ('["a", "list"]', ("JSON object",)),
        ('{"text": "Fine.", "published_at": "March 5th"}', ("published_at", "March 5th")),
        ('{"text": "Fine.", "published_at": "20240305"}', ("published_at",)),
        ('{"text": "Fine.", "published_at": "2024-02-30"}', ("published_at",)),
        ('{"text": "Fine.", "published_at": "2024-03-05garbage"}', ("published_at",)),
        ('{"text": "Fine.", "title": ["a", "list"]}', ("'title' must be a string",)),
    ],
)
def test_bad_jsonl_line_names_file_and_line(tmp_path: Path, line: str, words: tuple[str, ...]) -> None:
    records: list[Mapping[str, object] | str] = [{"id": "good-1", "text": "Good one."}, line]
    records.append({"id": "good-2", "text": "Good two."})
    path = write_jsonl(tmp_path / "mixed.jsonl", records)
    items = load(path)
    error = assert_one_error(items, f"{path}:2", *words)
    assert error.source == str(path) and error.line == 2
    assert [a.id for a in articles(items)] == ["good-1", "good-2"]


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.txt", "", ("empty",)),
        ("only_meta.md", "---\ntitle: Nothing below\n---\n\n", ("empty",)),
        ("unclosed.md", "---\ntitle: Never closed\nbody text\n", ("no closing ---",)),
        ("badyaml.md", "---\ntitle: [unclosed\n---\nBody.\n", ("front matter",)),
        ("baddate.md", "---\npublished_at: yesterday\n---\nBody text here.\n", ("published_at", "yesterday")),
        ("notes.docx", "Some text.", ("unsupported file type .docx",)),
        ("empty.html", "<html><head><title>Nothing</title></head><body></body></html>", ("no article text",)),
    ],
)
def test_bad_file_names_the_file(tmp_path: Path, name: str, content: str, words: tuple[str, ...]) -> None:
    (tmp_path / "good.txt").write_text("A good story.", encoding="utf-8")
    bad = tmp_path / name
    bad.write_text(content, encoding="utf-8")
    items = load(tmp_path / "good.txt", bad)
    assert_one_error(items, str(bad), *words)
    assert [a.text for a in articles(items)] == ["A good story."]


def test_an_undecodable_file_names_the_file(tmp_path: Path) -> None:
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Caf\u00e9 story.".encode("latin-1"))
    assert_one_error(load(latin), str(latin), "cannot read file", "UnicodeDecodeError")


@pytest.mark.parametrize("name", ["locked.txt", "locked.jsonl"])
def test_an_unreadable_file_names_the_file(name: str) -> None:
    # As root (CI) permissions do not stop reads, so the reading is done by a child process that has given up root
    # for nobody's uid: the file really is unreadable to the code under test.
    folder = Path(tempfile.mkdtemp(prefix="newsdesk-locked-"))
    try:
        folder.chmod(0o755)
        locked = folder / name
        locked.write_text('{"text": "Secret story."}' if name.endswith(".jsonl") else "Secret story.", encoding="utf-8")
        locked.chmod(0)
        messages = _load_as_nobody(locked) if os.geteuid() == 0 else [str(i) for i in load(locked)]
        assert messages == [f"{locked}: cannot read file (PermissionError: [Errno 13] Permission denied: '{locked}')"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _load_as_nobody(path: Path) -> list[str]:
    """What load() gives for `path` in a forked child running as nobody (a fork keeps the imports root made)."""
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's coverage is not collected
        code = 1
        try:
            os.close(read_end)
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            assert not os.access(path, os.R_OK)
            os.write(write_end, json.dumps([str(item) for item in load(path)]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        reply = pipe.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child running as nobody failed"
    return json.loads(reply)  # type: ignore[no-any-return]


def test_a_file_removed_after_its_folder_was_listed_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("The first story is here.", encoding="utf-8")
    gone = tmp_path / "b.txt"
    gone.write_text("The second story was deleted meanwhile.", encoding="utf-8")
    (tmp_path / "c.txt").write_text("The third story is here.", encoding="utf-8")
    items = load_paths([str(tmp_path)])
    first = next(items)  # the folder is listed before its first file is read
    gone.unlink()
    rest = list(items)
    assert isinstance(first, Article) and first.text == "The first story is here."
    assert_one_error(rest, str(gone), "cannot read file", "FileNotFoundError")
    assert [a.text for a in articles(rest)] == ["The third story is here."]


def test_missing_path_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    assert_one_error(load(missing), str(missing), "no such file")


def test_bad_article_stores_nothing_and_others_are_ingested(tmp_path: Path, fake_service: Service) -> None:
    path = write_jsonl(
        tmp_path / "batch.jsonl",
        [{"id": "ok-1", "text": "The first story is fine."}, {"id": "bad-1", "title": "No text"},
         '{"id": "bad-2", "text": ', {"id": "ok-2", "text": "The second story is fine too."}],
    )
    report = fake_service.ingest(load_paths([str(path)]))
    assert (report.added, report.failed) == (2, 2)
    assert [e.split(": ")[0] for e in report.errors] == [f"{path}:2", f"{path}:3"]
    assert sorted(report.article_ids) == ["ok-1", "ok-2"]
    assert fake_service.store.version_of("bad-1") is None and fake_service.store.version_of("bad-2") is None
    assert fake_service.stats().articles == 2


def test_duplicate_id_in_a_jsonl_file_names_both_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "dup.jsonl", [{"id": "x", "text": "First version."}, {"id": "y", "text": "Other."},
                                               {"id": "x", "text": "Second version."}])
    items = load(path)
    assert_one_error(items, f"{path}:3", "duplicate id 'x'", "line 1")
    assert [a.text for a in articles(items)] == ["First version.", "Other."]


def test_duplicate_ids_across_files_are_ingested_once_and_settle(tmp_path: Path, fake_service: Service) -> None:
    one = write_jsonl(tmp_path / "one.jsonl", [{"id": "x", "text": "First version of the story."}])
    two = write_jsonl(tmp_path / "two.jsonl", [{"id": "x", "text": "Second version of the story."}])
    first = fake_service.ingest(load_paths([str(one), str(two)]))
    assert (first.added, first.failed) == (1, 1)
    assert "duplicate article id 'x'" in first.errors[0]
    assert fake_service.store.articles(["x"])["x"][0].text == "First version of the story."
    again = fake_service.ingest(load_paths([str(one), str(two)]))
    assert (again.added, again.updated, again.unchanged, again.failed) == (0, 0, 1, 1)


# -- everyday files: front matter as people write it, headlines, long files -------------------------------


def test_common_front_matter_names_are_read_and_others_are_named_in_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "story.md"
    path.write_text("---\ntitle: Ferry fares rise\ndate: 2024-04-01\npublisher: Bay Post\nauthor: Jo Reyes\n"
                    "link: https://example.test/fares\ntags: [ferry]\n---\nFares rise by a dollar in May.\n",
                    encoding="utf-8")
    with caplog.at_level("WARNING", logger="newsdesk.ingest.load"):
        [article] = load(path)
    assert isinstance(article, Article)
    assert (article.published_at, article.outlet, article.url) == ("2024-04-01", "Bay Post", "https://example.test/fares")
    [warning] = caplog.messages
    assert warning.startswith(f"{path}: ignored front matter 'author', 'tags': "), warning
    assert "title, url, outlet, source, published_at, id" in warning and "date as published_at" in warning


def test_a_field_given_twice_keeps_its_own_name_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "twice.md"
    path.write_text("---\ndate: 2024-01-01\npublished_at: 2024-04-01\nsource: Bay Post\n---\nBody text here.\n",
                    encoding="utf-8")
    with caplog.at_level("WARNING", logger="newsdesk.ingest.load"):
        [article] = load(path)
    assert isinstance(article, Article) and article.published_at == "2024-04-01" and article.outlet == "Bay Post"
    assert "ignored front matter 'date' ('published_at' is given too)" in caplog.text


def test_a_bad_date_names_the_key_it_was_given_as(tmp_path: Path) -> None:
    path = tmp_path / "baddate.md"
    path.write_text("---\ndate: March 5th\n---\nBody text here.\n", encoding="utf-8")
    assert_one_error(load(path), str(path), "'date' (read as published_at) must be an ISO date", "'March 5th'")


def test_front_matter_the_loader_knows_gives_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="newsdesk.ingest.load"):
        items = load(Path(__file__).parent.parent / "examples" / "articles")
    assert not errors(items) and len(articles(items)) == 6
    assert not caplog.messages, caplog.messages


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Harbor ferry adds early sailings\n\nThe ferry adds two sailings.\n", "Harbor ferry adds early sailings"),
        ("Will the bridge reopen by summer?\nInspectors say it might.\n", "Will the bridge reopen by summer?"),
        ("# Storm cuts power\n\nThe storm cut power.\n", "Storm cuts power"),
        ("The ferry adds two sailings.\nIt starts in May.\n", "ferry notes"),  # a sentence, not a headline
        ("Harbor ferry adds early sailings\n", "ferry notes"),  # the whole text is one line: no title to take
        ("x" * 201 + "\nMore text.\n", "ferry notes"),  # too long for a headline
    ],
)
def test_a_txt_takes_its_headline_from_the_first_line(tmp_path: Path, text: str, title: str) -> None:
    path = tmp_path / "ferry-notes.txt"
    path.write_text(text, encoding="utf-8")
    [article] = load(path)
    assert isinstance(article, Article) and article.title == title and article.text == text


def test_an_unterminated_json_string_reads_as_one_sentence(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "cut.jsonl", ['{"text": "cut off'])
    assert_one_error(load(path), f"{path}:1", "invalid JSON (Unterminated string starting at column 10)")


def test_a_long_single_line_file_is_refused_at_once_with_what_to_do(tmp_path: Path) -> None:
    sentence = "The council said on Tuesday that the bridge would stay closed. "
    path = tmp_path / "one-line.txt"
    path.write_text(sentence * (MAX_ARTICLE_CHARS // len(sentence) + 1), encoding="utf-8")
    assert "\n" not in path.read_text(encoding="utf-8")
    assert_one_error(load(path), str(path), f"the article text is {path.stat().st_size:,} characters long",
                     f"at most {MAX_ARTICLE_CHARS:,} characters", "its own file or JSONL line")
    just_under = tmp_path / "long.txt"
    just_under.write_text((sentence * (MAX_ARTICLE_CHARS // len(sentence) + 1))[:MAX_ARTICLE_CHARS], encoding="utf-8")
    [article] = load(just_under)
    assert isinstance(article, Article) and len(article.text) == MAX_ARTICLE_CHARS


def load_with_peak(path: Path) -> tuple[list[Article | ArticleError], int]:
    """What loading `path` gives, and the most memory Python held meanwhile (bytes)."""
    tracemalloc.start()
    try:
        items = load(path)
        return items, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ["huge.txt", "huge.html"])
def test_a_huge_file_is_refused_without_being_read(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with path.open("wb") as file:
        file.truncate(2_000_000_000)  # 2 GB, sparse: costs no disk, but reading it whole would take 2 GB of memory
    items, peak = load_with_peak(path)
    assert_one_error(items, str(path), "the file has 2,000,000,000 bytes, more than one article can take",
                     f"at most {MAX_ARTICLE_CHARS:,} characters")
    assert peak < 3 * MAX_HTML_BYTES, peak


def test_a_huge_jsonl_line_fails_alone_without_being_held(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    with path.open("wb") as file:
        file.write(b'{"id": "before", "text": "The story before."}\n')
        file.write(b'{"id": "huge", "text": "' + b"a" * (MAX_JSONL_LINE_BYTES + 10) + b'"}\n')
        file.write(b'{"id": "after", "text": "The story after."}\n')
    items, peak = load_with_peak(path)
    assert_one_error(items, f"{path}:2", f"the line is longer than {MAX_JSONL_LINE_BYTES:,} bytes")
    assert [a.id for a in articles(items)] == ["before", "after"]
    assert peak < 2.5 * MAX_JSONL_LINE_BYTES, peak


def test_a_bad_byte_in_a_jsonl_file_fails_only_its_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"id": "a", "text": "One."}\n{"id": "b", "text": "Bad \xff."}\n{"id": "c", "text": "Two."}\n')
    items = load(path)
    assert_one_error(items, f"{path}:2", "unpaired surrogate", "fix how it was encoded")
    assert [a.id for a in articles(items)] == ["a", "c"]


def test_too_much_text_on_stdin_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = b"Headline\n" + b"word " * (MAX_TEXT_BYTES // 5 + 1)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    assert_one_error(load("-"), "<stdin>", f"stdin holds more than {MAX_TEXT_BYTES:,} bytes of text")
