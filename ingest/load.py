"""Read articles from .txt/.md/.html/.jsonl files, folders and stdin into `Article`s."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import yaml

from newsdesk.errors import ArticleError
from newsdesk.models import Article

TEXT_TYPES = {".txt", ".md", ".markdown"}
HTML_TYPES = {".html", ".htm"}
JSONL_TYPES = {".jsonl"}
SUPPORTED = TEXT_TYPES | HTML_TYPES | JSONL_TYPES
# About 35,000 words, 19 times NewsQA's longest story: a longer "article" is many glued together (an export that
# lost its line breaks), which would be embedded for minutes as one and answered from as one.
MAX_ARTICLE_CHARS = 200_000
# Read no more than this before deciding: UTF-8 spends at most 4 bytes a character, front matter is small.
MAX_TEXT_BYTES = 4 * MAX_ARTICLE_CHARS + 65_536
MAX_HTML_BYTES = 10_000_000  # a page's markup dwarfs its text; the text extracted still has MAX_ARTICLE_CHARS
MAX_JSONL_LINE_BYTES = 16_000_000  # a longer line is skipped unread and reported (never held in memory)
TOO_LONG_HINT = (f"an article may have at most {MAX_ARTICLE_CHARS:,} characters (about 35,000 words): if this holds "
                 "several articles, give each its own file or JSONL line")

# Front matter: the keys an article has, and the names people often give them.
FRONT_MATTER_KEYS = ("title", "url", "outlet", "source", "published_at", "id")
FRONT_MATTER_ALIASES = {"date": "published_at", "published": "published_at", "publisher": "outlet", "link": "url",
                        "headline": "title"}

Loaded = Article | ArticleError
log = logging.getLogger(__name__)


def load_paths(paths: Iterable[str]) -> Iterator[Loaded]:
    """Every article found under `paths` ('-' is stdin), or an error for each bad one."""
    for raw in paths:
        if raw == "-":
            yield from load_stdin()
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            for file in files:
                if file.suffix.lower() in SUPPORTED:
                    yield from load_file(file)
                else:  # not a failed article (a folder may hold images, notes...), but never skipped silently
                    log.warning("skipped %s: unsupported file type %s (supported: %s)", file, file.suffix or "(none)",
                                ", ".join(sorted(SUPPORTED)))
        elif path.exists():
            yield from load_file(path)
        else:
            yield ArticleError("no such file or folder", str(path))


def load_stdin() -> Iterator[Loaded]:
    """Articles from stdin: JSONL if it starts with `{`, else one text article."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        text = sys.stdin.read()
        yield from parse_jsonl(text, "<stdin>") if text.lstrip().startswith("{") else [parse_text(text, "<stdin>")]
        return
    # Bytes, not text mode: text mode would turn CRLF into LF and the offsets would no longer match.
    head: list[bytes] = []
    while line := stream.readline(MAX_JSONL_LINE_BYTES + 1):
        head.append(line)
        if line.strip(BLANK):  # past the byte order mark and blank lines
            break
    if b"".join(head).lstrip(BLANK).startswith(b"{"):
        yield from parse_jsonl(_jsonl_lines(stream, head), "<stdin>")
    else:
        raw = b"".join(head)
        raw += stream.read(max(0, MAX_TEXT_BYTES + 1 - len(raw)))
        if len(raw) > MAX_TEXT_BYTES:
            yield ArticleError(f"stdin holds more than {MAX_TEXT_BYTES:,} bytes of text: {TOO_LONG_HINT}", "<stdin>")
            return
        yield parse_text(raw.decode("utf-8-sig"), "<stdin>")


def load_file(path: Path) -> Iterator[Loaded]:
    """Articles from one file, by its type."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        yield ArticleError(f"unsupported file type {suffix or '(none)'}: use one of {', '.join(sorted(SUPPORTED))}", str(path))
        return
    if suffix in JSONL_TYPES:
        yield from _load_jsonl_file(path)
        return
    limit = MAX_HTML_BYTES if suffix in HTML_TYPES else MAX_TEXT_BYTES
    try:
        # Decoded from bytes so line endings stay as given (read_text would normalise CRLF to LF).
        with path.open("rb") as file:
            data = file.read(limit + 1)  # bounded: a 2 GB file is refused, not read
        raw = data.decode("utf-8-sig") if len(data) <= limit else None
    except (OSError, UnicodeDecodeError) as exc:
        yield ArticleError(f"cannot read file ({exc.__class__.__name__}: {exc})", str(path))
        return
    if raw is None:
        yield ArticleError(f"the file has {_size(path, limit)} bytes, more than one article can take: {TOO_LONG_HINT}",
                           str(path))
    elif suffix in HTML_TYPES:
        yield parse_html(raw, str(path))
    else:
        yield parse_text(raw, str(path), default_title=path.stem.replace("-", " ").replace("_", " "))


def _size(path: Path, read: int) -> str:
    try:
        return f"{path.stat().st_size:,}"
    except OSError:
        return f"more than {read:,}"


def _load_jsonl_file(path: Path) -> Iterator[Loaded]:
    """A JSONL file a line at a time, so neither a long file nor one huge line sits in memory whole."""
    try:
        with path.open("rb") as file:
            yield from parse_jsonl(_jsonl_lines(file), str(path))
    except OSError as exc:
        yield ArticleError(f"cannot read file ({exc.__class__.__name__}: {exc})", str(path))


def _jsonl_lines(file: BinaryIO, head: Iterable[bytes] = ()) -> Iterator[str]:
    """The lines of `head` (already read), then of `file`, without their breaks and decoded: JSONL is read a line
    at a time, so a long stream never sits in memory whole. A bad byte becomes a lone surrogate, which fails only
    its own line; a line over MAX_JSONL_LINE_BYTES is skipped unread and comes out as TOO_LONG_LINE."""
    given = iter(head)
    for number in itertools.count():
        line = next(given, None) or file.readline(MAX_JSONL_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_JSONL_LINE_BYTES:
            while not line.endswith(b"\n") and (line := file.readline(1 << 20)):  # the rest of it, a MB at a time
                pass
            yield TOO_LONG_LINE
            continue
        yield line.decode("utf-8-sig" if number == 0 else "utf-8", "surrogateescape").removesuffix("\n")


TOO_LONG_LINE = "\x00too long"  # never valid JSON, so never mistaken for a record
BLANK = b"\xef\xbb\xbf \t\r\n"  # a byte order mark and white space, as bytes.strip() takes them


def parse_jsonl(raw: str | Iterable[str], source: str) -> Iterator[Loaded]:
    """`raw`: the whole text, or its lines without their line breaks."""
    first_line: dict[str, int] = {}
    # split("\n"), not splitlines(): JSON strings may hold raw U+2028/U+0085, which splitlines() breaks on.
    for number, line in enumerate(raw.split("\n") if isinstance(raw, str) else raw, start=1):
        if not line.strip():
            continue
        if line is TOO_LONG_LINE:
            yield ArticleError(f"the line is longer than {MAX_JSONL_LINE_BYTES:,} bytes: {TOO_LONG_HINT}", source, number)
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            # json's messages may end in "at" ("Unterminated string starting at"): the column completes them.
            yield ArticleError(f"invalid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})", source, number)
            continue
        if not isinstance(record, dict):
            yield ArticleError("each line must be a JSON object", source, number)
            continue
        item = _checked(record, source, number)
        if isinstance(item, Article) and item.id in first_line:
            item = ArticleError(f"duplicate id {item.id!r} (first on line {first_line[item.id]}): give each article its own id",
                                source, number)
        elif isinstance(item, Article):
            first_line[item.id] = number
        yield item


def parse_text(raw: str, source: str, default_title: str | None = None) -> Loaded:
    """One article from text with optional YAML front matter; without a title in it, the Markdown heading or
    headline on the first line, else `default_title`."""
    meta, body = split_front_matter(raw)
    if isinstance(meta, ArticleError):
        return ArticleError(str(meta), source)
    record, given_as = _front_matter_fields(meta, source)
    if record.get("title") is None:
        record["title"] = _first_line_title(body) or default_title
    record["text"] = body
    return _checked(record, source, None, given_as)


def _front_matter_fields(meta: dict[str, object], source: str) -> tuple[dict[str, object], dict[str, str]]:
    """The article's fields from front matter, with common aliases (date, publisher, link...) read as the field
    they name; every key not used is named in one warning. Also returns field -> the key it was given as."""
    record: dict[str, object] = {}
    given_as: dict[str, str] = {}
    ignored: list[str] = []
    for key in sorted(meta, key=lambda k: k.lower() not in FRONT_MATTER_KEYS):  # the fields' own names win
        name = key.lower()
        field = name if name in FRONT_MATTER_KEYS else FRONT_MATTER_ALIASES.get(name)
        field = "outlet" if field == "source" else field
        if field is None:
            ignored.append(repr(key))
        elif field in record:
            ignored.append(f"{key!r} ({given_as[field]!r} is given too)")
        else:
            record[field], given_as[field] = meta[key], key
    if ignored:
        aliases = ", ".join(f"{alias} as {field}" for alias, field in FRONT_MATTER_ALIASES.items())
        log.warning("%s: ignored front matter %s: an article has %s (also read: %s)", source, ", ".join(ignored),
                    ", ".join(FRONT_MATTER_KEYS), aliases)
    return record, given_as


def parse_html(raw: str, source: str) -> Loaded:
    """One article from HTML, extracted by trafilatura."""
    import trafilatura  # heavy import, only when HTML is ingested

    doc = trafilatura.bare_extraction(raw, with_metadata=True, favor_recall=True)
    if doc is None or isinstance(doc, dict) or not (doc.text or "").strip():  # a dict only with as_dict=True
        return ArticleError("no article text found in the HTML", source)
    record: dict[str, object] = {
        "text": doc.text, "title": doc.title, "url": doc.url, "published_at": doc.date, "source": doc.sitename,
    }
    return _checked(record, source, None)


def split_front_matter(raw: str) -> tuple[dict[str, object] | ArticleError, str]:
    """`---`-delimited YAML front matter and the body after it (the body is kept byte for byte)."""
    if not raw.startswith("---"):
        return {}, raw
    lines = raw.split("\n")
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            try:
                meta = yaml.safe_load("\n".join(lines[1:i])) or {}
            except yaml.YAMLError as exc:
                return ArticleError(f"front matter is not valid YAML: {exc}"), raw
            if not isinstance(meta, dict):
                return ArticleError("front matter must be key: value lines"), raw
            return {str(k): v for k, v in meta.items()}, "\n".join(lines[i + 1 :]).lstrip("\r\n")
    return ArticleError("front matter starts with --- but has no closing ---"), raw


HEADLINE_MAX_CHARS = 200


def _first_line_title(body: str) -> str | None:
    """A Markdown heading on the first line, or a headline: a short first line, not ending like a sentence,
    with text after it. A first line that is a whole sentence or the whole text is not a title."""
    lines = iter(body.splitlines())
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("#"):
        return first.lstrip("# ").strip() or None
    rest = any(line.strip() for line in lines)
    if (rest and len(first) <= HEADLINE_MAX_CHARS and not first.endswith((".", ",", ";", ":"))
            and any(ch.isalpha() for ch in first)):
        return first
    return None


def _checked(record: dict[str, object], source: str, line: int | None, given_as: dict[str, str] | None = None,
             ) -> Loaded:
    """Validate a raw record into an Article, naming the field to fix (as it was given) when it is wrong."""
    def named(field: str) -> str:
        key = (given_as or {}).get(field, field)
        return repr(field) if key == field else f"{key!r} (read as {field})"

    text = record.get("text")
    if text is None:
        return ArticleError("missing the 'text' field", source, line)
    if not isinstance(text, str):
        return ArticleError("'text' must be a string", source, line)
    if not text.strip():
        return ArticleError("the article text is empty", source, line)
    if len(text) > MAX_ARTICLE_CHARS:
        return ArticleError(f"the article text is {len(text):,} characters long: {TOO_LONG_HINT}", source, line)
    fields: dict[str, str | None] = {}
    for name in ("id", "title", "url", "published_at", "source", "outlet"):
        value = record.get(name)
        if isinstance(value, date):
            value = value.isoformat()
        if value is not None and not isinstance(value, str | int):
            return ArticleError(f"{named(name)} must be a string", source, line)
        fields[name] = str(value).strip() if value is not None and str(value).strip() else None
    for name, value in (("text", text), *fields.items()):
        if value is not None and (at := _surrogate_at(value)) is not None:
            return ArticleError(f"'{name}' holds an unpaired surrogate (\\u{ord(value[at]):04x}) at character {at}: "
                                "the text is not valid Unicode; fix how it was encoded", source, line)
    if fields["url"] is not None and not is_web_url(fields["url"]):
        fields["url"] = None  # javascript:, data: and the like are never shown as links; the article still counts
    published = fields["published_at"]
    if published is not None and not _is_iso_date(published):
        return ArticleError(f"{named('published_at')} must be an ISO date like 2024-03-05, got {published!r}",
                            source, line)
    return Article(
        id=fields["id"] or derive_id(fields["url"], text),
        text=text,
        title=fields["title"],
        url=fields["url"],
        outlet=fields["source"] or fields["outlet"],
        published_at=published,
    )


def derive_id(url: str | None, text: str) -> str:
    """A stable id: from the URL when there is one, otherwise from the text."""
    if url:
        return "url-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return "sha-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def is_web_url(url: str) -> bool:
    """Only absolute http(s) URLs are kept as an article's link."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)


def _surrogate_at(text: str) -> int | None:
    """The position of the first unpaired UTF-16 surrogate (from a bad \\ud800 escape), which no encoder accepts."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _is_iso_date(value: str) -> bool:
    """YYYY-MM-DD, optionally with an ISO time; filters compare the first ten characters as a day."""
    if not ISO_DAY.match(value):
        return False
    try:
        if len(value) == 10:
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
