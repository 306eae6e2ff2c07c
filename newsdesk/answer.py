"""Answer: choose a diverse set of evidence sentences and compose the extractive answer."""

from __future__ import annotations

from collections import Counter

from newsdesk.evidence import ScoredSentence
from newsdesk.models import Article, Citation

ABSTAIN_TEXT = "The reporting in this collection does not cover that question, so I cannot answer it."


def choose(scored: list[ScoredSentence], k: int, per_article: int,
           first: list[ScoredSentence] | None = None) -> list[ScoredSentence]:
    """The best `k` sentences after `first`, no repeats, at most `per_article` from one article while
    others can fill in."""
    chosen: list[ScoredSentence] = list(first or [])[:k]
    seen_text = {_key(item) for item in chosen}
    per: Counter[str] = Counter(item.stored.sentence.article_id for item in chosen)
    for limit in (per_article, k):  # a second pass fills up when too few articles are relevant
        for item in scored:
            if len(chosen) >= k:
                return chosen
            article_id = item.stored.sentence.article_id
            if _key(item) in seen_text or per[article_id] >= limit:
                continue
            chosen.append(item)
            seen_text.add(_key(item))
            per[article_id] += 1
    return chosen


def best_per_outlet(scored: list[ScoredSentence], outlets: list[str], articles: dict[str, Article]) -> list[ScoredSentence]:
    """The best sentence from each named outlet, so a comparison quotes every side."""
    picks = []
    for outlet in outlets:
        for item in scored:
            article = articles.get(item.stored.sentence.article_id)
            if article is not None and (article.outlet or "").casefold() == outlet.casefold() and item not in picks:
                picks.append(item)
                break
    return picks


def _key(item: ScoredSentence) -> str:
    return " ".join(item.stored.sentence.text.split()).casefold()


def compose(citations: list[Citation]) -> str:
    """The cited sentences verbatim, each followed by its marker."""
    return " ".join(f"{c.sentence} [{c.n}]" for c in citations)
