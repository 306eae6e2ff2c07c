"""Cite: turn chosen sentences into citations, keeping only those found verbatim in their article."""

from __future__ import annotations

import logging

from newsdesk.answer.evidence import ScoredSentence
from newsdesk.models import Article, Citation

log = logging.getLogger(__name__)


def verified(article: Article | None, sentence: str, start: int, end: int) -> bool:
    """Whether the sentence stands verbatim at its offsets in its article."""
    return article is not None and 0 <= start < end <= len(article.text) and article.text[start:end] == sentence


def make_citations(chosen: list[ScoredSentence], articles: dict[str, Article]) -> tuple[list[Citation], int]:
    """Numbered citations for the sentences that check out, and how many were dropped."""
    citations: list[Citation] = []
    dropped = 0
    for scored in chosen:
        s = scored.stored.sentence
        article = articles.get(s.article_id)
        if article is None or not verified(article, s.text, s.start, s.end):
            dropped += 1
            log.warning("citation dropped article_id=%s start=%d end=%d", s.article_id, s.start, s.end)
            continue
        citations.append(
            Citation(
                n=len(citations) + 1,
                article_id=article.id,
                title=article.title,
                url=article.url,
                outlet=article.outlet,
                published_at=article.published_at,
                sentence=s.text,
                start=s.start,
                end=s.end,
                score=scored.score,
            )
        )
    return citations, dropped
