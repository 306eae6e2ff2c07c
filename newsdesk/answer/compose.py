"""Answer: choose a diverse set of evidence sentences and compose the extractive answer."""

from __future__ import annotations

from collections import Counter

from newsdesk.answer.evidence import ScoredSentence
from newsdesk.models import Article, Citation

ABSTAIN_TEXT = "The reporting in this collection does not cover that question, so I cannot answer it."


def choose(scored: list[ScoredSentence], k: int, per_article: int,
           first: list[ScoredSentence] | None = None, repeat_cost: float = 0.0) -> list[ScoredSentence]:
    """The best `k` sentences after `first`, no repeats.

    Each sentence already taken from an article lowers that article's next sentence by `repeat_cost`
    (in evidence-score units), so a nearly-as-good sentence from another article wins, but a clearly
    better second sentence from the same article still does. At most `per_article` from one article
    while others can fill in; a second pass fills up when too few articles are relevant.
    """
    chosen: list[ScoredSentence] = list(first or [])[:k]
    seen_text = {_key(item) for item in chosen}
    per: Counter[str] = Counter(item.stored.sentence.article_id for item in chosen)
    ranked = sorted(((item, _key(item)) for item in scored), key=lambda pair: -pair[0].score)
    for limit in (per_article, k):
        while len(chosen) < k:
            picked = _next_best(ranked, seen_text, per, limit, repeat_cost)
            if picked is None:
                break
            item, key = picked
            chosen.append(item)
            seen_text.add(key)
            per[item.stored.sentence.article_id] += 1
    return chosen


def _next_best(ranked: list[tuple[ScoredSentence, str]], seen_text: set[str], per: Counter[str], limit: int,
               repeat_cost: float) -> tuple[ScoredSentence, str] | None:
    """The allowed sentence with the best score after the repeat cost; `ranked` is best first."""
    best: tuple[ScoredSentence, str] | None = None
    best_value = float("-inf")
    for item, key in ranked:
        if item.score <= best_value:
            break  # the cost only lowers scores: nothing further down can win
        taken = per[item.stored.sentence.article_id]
        if key in seen_text or taken >= limit:
            continue
        value = item.score - repeat_cost * taken
        if value > best_value:
            best, best_value = (item, key), value
    return best


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
