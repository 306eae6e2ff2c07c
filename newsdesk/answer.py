"""Answer: choose a diverse set of evidence sentences and compose the extractive answer."""

from __future__ import annotations

from collections import Counter

from newsdesk.evidence import ScoredSentence
from newsdesk.models import Citation

ABSTAIN_TEXT = "The reporting in this collection does not cover that question, so I cannot answer it."


def choose(scored: list[ScoredSentence], k: int, per_article: int) -> list[ScoredSentence]:
    """The best `k` sentences, no repeats, at most `per_article` from one article while others can fill in."""
    chosen: list[ScoredSentence] = []
    seen_text: set[str] = set()
    per: Counter[str] = Counter()
    for limit in (per_article, k):  # a second pass fills up when too few articles are relevant
        for item in scored:
            s = item.stored.sentence
            key = " ".join(s.text.split()).casefold()
            if len(chosen) == k:
                return chosen
            if key in seen_text or per[s.article_id] >= limit:
                continue
            chosen.append(item)
            seen_text.add(key)
            per[s.article_id] += 1
    return chosen


def compose(citations: list[Citation]) -> str:
    """The cited sentences verbatim, each followed by its marker."""
    return " ".join(f"{c.sentence} [{c.n}]" for c in citations)
