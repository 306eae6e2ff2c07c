"""The chat page, the API docs page and their files, served from the package: no build step, no CDN."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
FILES = ("app.js", "style.css", "docs.js")  # what GET /web/{name} serves; nothing else from the folder
PAGES = {"/": "index.html", "/docs": "docs.html"}
# Scripts and styles from our own files only, data from our own API: an article's text can never run as code.
SECURITY = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
PAGE_CACHE = "no-cache"  # a browser keeps the page but asks each time (a 304 costs nothing): a deploy shows at once
FILE_CACHE = "public, max-age=31536000, immutable"  # the page names each file with its hash: a new file, a new URL


@dataclass(frozen=True)
class WebFile:
    body: str
    content_type: str
    etag: str  # quoted, as the header carries it
    version: str  # the ?v= the page asks for


@lru_cache(maxsize=16)
def web_file(name: str) -> WebFile | None:
    """A file of the page (app.js, style.css, docs.js), or None for any other name."""
    if name not in FILES:
        return None
    return _made(name, _read(name))


@lru_cache(maxsize=4)
def page(path: str) -> WebFile | None:
    """The page at `path` ("/" or "/docs"), naming each file it loads with that file's hash."""
    name = PAGES.get(path)
    if name is None:
        return None
    text = _read(name)
    for file in FILES:
        made = web_file(file)
        assert made is not None
        text = text.replace("{{v:" + file + "}}", made.version)
    return _made(name, text)


def _read(name: str) -> str:
    return resources.files("newsdesk.api").joinpath("web", name).read_text(encoding="utf-8")


def _made(name: str, text: str) -> WebFile:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return WebFile(text, TYPES["." + name.rpartition(".")[2]], f'"{digest}"', digest)
