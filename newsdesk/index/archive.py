"""The archive as a list: articles found by words, outlet and day a page at a time; outlets; texts already indexed."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from newsdesk.index.lexical import Lexical
from newsdesk.ingest.load import Loaded
from newsdesk.models import Article, Filters
from newsdesk.ports import VectorStore

PROBE_CHARS = 2000  # how much of a new article's text looks for an indexed copy (a copy ranks first on it)
CANDIDATES = 3


@dataclass(frozen=True)
class ArticleSearch:
    """Which articles to list: words (best match first) or none (newest first), filters, and a page."""

    words: str | None = None
    filters: Filters = field(default_factory=Filters)
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class ArticlePage:
    """One page of a search: each article with its match score (None without words), and the total found."""

    articles: tuple[tuple[Article, float | None], ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return -(-self.total // self.per_page)


def search_articles(lexical: Lexical, store: VectorStore, search: ArticleSearch) -> ArticlePage:
    """Through the lexical index of the current revision, which knows every article's outlet and day."""
    order: list[tuple[str, float | None]]
    if search.words:
        order = [(hit.article_id, hit.score) for hit in lexical.search(search.words, lexical.size, search.filters)]
    else:
        rows = [(hit.article_id, day) for hit, (outlet, day) in zip(lexical.hits, lexical.meta, strict=True)
                if search.filters.allows(outlet, day)]
        rows.sort(key=lambda row: (row[1] is None, -(row[1] or 0), row[0]))  # newest first, undated last
        order = [(article_id, None) for article_id, _ in rows]
    start = (search.page - 1) * search.per_page
    chosen = order[start : start + search.per_page]
    found = store.articles([article_id for article_id, _ in chosen])
    listed = tuple((found[a][0], score) for a, score in chosen if a in found)  # one deleted since: left out
    return ArticlePage(listed, len(order), search.page, search.per_page)


def outlet_counts(lexical: Lexical) -> dict[str, int]:
    """Articles per outlet name (articles without an outlet are not counted)."""
    return dict(sorted(Counter(outlet for outlet, _ in lexical.meta if outlet).items(), key=lambda kv: kv[0].casefold()))


def text_key(text: str) -> str:
    """Equal for texts that differ only in spacing and line breaks."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8", "surrogatepass")).hexdigest()


class DuplicateTexts:
    """Finds an article whose text is already indexed, or came earlier in this run, under another id."""

    def __init__(self, store: VectorStore, lexical: Lexical) -> None:
        self.store, self.lexical = store, lexical
        self._run: dict[str, str] = {}  # text key -> the first id in this run

    def original_of(self, article: Article) -> str | None:
        """The id the same text is kept under, or None when the article is new (or is that article)."""
        key = text_key(article.text)
        earlier = self._run.get(key)
        if earlier is not None and earlier != article.id:
            return earlier
        if self.lexical.size:
            hits = self.lexical.search(article.text[:PROBE_CHARS], CANDIDATES, Filters())
            others = [hit.article_id for hit in hits if hit.article_id != article.id]
            for other, (existing, _) in self.store.articles(others).items():
                if text_key(existing.text) == key:
                    return other
        self._run.setdefault(key, article.id)
        return None

    def skip(self, items: Iterable[Loaded], found: list[str]) -> Iterator[Loaded]:
        """`items` without the duplicates, each named in `found`."""
        for item in items:
            original = self.original_of(item) if isinstance(item, Article) else None
            if original is None:
                yield item
                continue
            where = f" ({item.url})" if item.url else ""
            found.append(f"{item.id}{where}: the same text as indexed article {original!r}, not added again "
                         f"(to keep it under this id instead, `newsdesk delete {original}` first)")
