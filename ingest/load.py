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
from urllib.parse import urlsplit

import yaml

from newsdesk.errors import ArticleError
from newsdesk.models import Article

TEXT_TYPES = {".txt", ".md", ".markdown"}
HTML_TYPES = {".html", ".htm"}
JSONL_TYPES = {".jsonl"}
SUPPORTED = TEXT_TYPES | HTML_TYPES | JSONL_TYPES
MAX_ARTICLE_CHARS = 2_000_000

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
    for line in stream:
        head.append(line)
        if line.strip(b"\xef\xbb\xbf \t\r\n"):  # past the byte order mark and blank lines
            break
    if b"".join(head).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        # JSONL is read a line at a time, so a long stream never sits in memory whole. A bad byte becomes a
        # lone surrogate, which fails only its own line.
        lines = (line.decode("utf-8-sig" if n == 0 else "utf-8", "surrogateescape").removesuffix("\n")
                 for n, line in enumerate(itertools.chain(head, stream)))
        yield from parse_jsonl(lines, "<stdin>")
    else:
        yield parse_text((b"".join(head) + stream.read()).decode("utf-8-sig"), "<stdin>")


def load_file(path: Path) -> Iterator[Loaded]:
    """Articles from one file, by its type."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        yield ArticleError(f"unsupported file type {suffix or '(none)'}: use one of {', '.join(sorted(SUPPORTED))}", str(path))
        return
    try:
        # Decoded from bytes so line endings stay as given (read_text would normalise CRLF to LF).
        raw = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        yield ArticleError(f"cannot read file ({exc.__class__.__name__}: {exc})", str(path))
        return
    if suffix in JSONL_TYPES:
        yield from parse_jsonl(raw, str(path))
    elif suffix in HTML_TYPES:
        yield parse_html(raw, str(path))
    else:
        yield parse_text(raw, str(path), default_title=path.stem.replace("-", " ").replace("_", " "))


def parse_jsonl(raw: str | Iterable[str], source: str) -> Iterator[Loaded]:
    """`raw`: the whole text, or its lines without their line breaks."""
    first_line: dict[str, int] = {}
    # split("\n"), not splitlines(): JSON strings may hold raw U+2028/U+0085, which splitlines() breaks on.
    for number, line in enumerate(raw.split("\n") if isinstance(raw, str) else raw, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield ArticleError(f"invalid JSON ({exc.msg} at column {exc.colno})", source, number)
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
    """One article from text with optional YAML front matter."""
    meta, body = split_front_matter(raw)
    if isinstance(meta, ArticleError):
        return ArticleError(str(meta), source)
    if "title" not in meta:
        meta["title"] = _markdown_title(body) or default_title
    meta["text"] = body
    return _checked(meta, source, None)


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


def _markdown_title(body: str) -> str | None:
    for line in body.splitlines():
        if line.strip():
            return line.lstrip("# ").strip() if line.startswith("#") else None
    return None


def _checked(record: dict[str, object], source: str, line: int | None) -> Loaded:
    """Validate a raw record into an Article, naming the field to fix when it is wrong."""
    text = record.get("text")
    if text is None:
        return ArticleError("missing the 'text' field", source, line)
    if not isinstance(text, str):
        return ArticleError("'text' must be a string", source, line)
    if not text.strip():
        return ArticleError("the article text is empty", source, line)
    if len(text) > MAX_ARTICLE_CHARS:
        return ArticleError(f"the article is longer than {MAX_ARTICLE_CHARS:,} characters", source, line)
    fields: dict[str, str | None] = {}
    for name in ("id", "title", "url", "published_at", "source", "outlet"):
        value = record.get(name)
        if isinstance(value, date):
            value = value.isoformat()
        if value is not None and not isinstance(value, str | int):
            return ArticleError(f"'{name}' must be a string", source, line)
        fields[name] = str(value).strip() if value is not None and str(value).strip() else None
    for name, value in (("text", text), *fields.items()):
        if value is not None and (at := _surrogate_at(value)) is not None:
            return ArticleError(f"'{name}' holds an unpaired surrogate (\\u{ord(value[at]):04x}) at character {at}: "
                                "the text is not valid Unicode; fix how it was encoded", source, line)
    if fields["url"] is not None and not is_web_url(fields["url"]):
        fields["url"] = None  # javascript:, data: and the like are never shown as links; the article still counts
    published = fields["published_at"]
    if published is not None and not _is_iso_date(published):
        return ArticleError(f"'published_at' must be an ISO date like 2024-03-05, got {published!r}", source, line)
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
