"""Answer: choose a diverse set of evidence sentences and compose the extractive answer."""

from __future__ import annotations

from collections import Counter

from newsdesk.answer.conflicts import related
from newsdesk.answer.evidence import ScoredSentence
from newsdesk.answer.figures import figure_units
from newsdesk.answer.sources import Part, SourceAsk
from newsdesk.answer.timeline import TimeAsk, newest_first
from newsdesk.index.lexical import sentence_terms
from newsdesk.models import Article, Citation

ABSTAIN_TEXT = "The reporting in this collection does not cover that question, so I cannot answer it."
COVER_WEIGHT = 4.0  # evidence-score units per whole question's worth of words a sentence adds
EXTRA_GAIN = 0.1  # a sentence past k must add this share of the question's words
PART_CANDIDATES = 20  # best sentences looked at for each part of a question
RELEVANT_MARGIN = 2.0  # an article answers "about as well" when its best sentence is this close to the best


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


def assign(parts: list[Part], rankings: list[list[ScoredSentence]], articles: dict[str, Article],
           outlets: list[str]) -> list[ScoredSentence]:
    """One sentence for each part of a question, from a different article where possible, best matches first.

    `rankings[i]` holds the sentences scored against part i alone. A part that names an outlet takes only that
    outlet's sentences (and, when it gives a date, that day's articles if there are any); other parts take the
    named outlets' sentences while those have any."""
    candidates: list[tuple[float, int, ScoredSentence]] = []
    for i, (part, ranking) in enumerate(zip(parts, rankings, strict=True)):
        fitting = [s for s in ranking if _asked_by(part.mention, articles[s.stored.sentence.article_id])]
        if part.mention is None:
            fitting = _named_outlets_only(fitting, articles, outlets)
        days = part.mention.days if part.mention else None
        dated = [s for s in fitting if days and days.contains(articles[s.stored.sentence.article_id].published_day)]
        candidates.extend((s.score, i, s) for s in (dated or fitting)[:PART_CANDIDATES])
    candidates.sort(key=lambda c: -c[0])
    picked: dict[int, ScoredSentence] = {}
    for distinct in (True, False):  # a second pass lets a part share an article when none other answers it
        used = {s.stored.sentence.article_id for s in picked.values()}
        taken = {_key(s) for s in picked.values()}
        for _, i, item in candidates:
            if i in picked or _key(item) in taken or (distinct and item.stored.sentence.article_id in used):
                continue
            picked[i] = item
            used.add(item.stored.sentence.article_id)
            taken.add(_key(item))
    return [picked[i] for i in sorted(picked)]


def lead_with_best(scored: list[ScoredSentence], articles: dict[str, Article], outlets: list[str],
                   picks: list[ScoredSentence]) -> list[ScoredSentence]:
    """The sentence that best answers the whole question first (it names what the parts have in common: "Which
    company ...?"), then the parts' sentences in the question's order."""
    allowed = _named_outlets_only(scored, articles, outlets)
    if not allowed:
        return picks
    best = allowed[0]
    return [best, *(p for p in picks if _key(p) != _key(best))]


def cover(scored: list[ScoredSentence], articles: dict[str, Article], outlets: list[str], weights: dict[str, float],
          k: int, limit: int, repeat_cost: float, first: list[ScoredSentence] | None = None,
          gain_weight: float = COVER_WEIGHT, ranked: tuple[str, ...] = ()) -> list[ScoredSentence]:
    """`first`, then the sentences that add most of what the question asks and is not yet quoted, up to `k`.

    A sentence's value is its evidence score plus `gain_weight` times the share of the question's (IDF-weighted)
    words it adds, less `repeat_cost` for each sentence already taken from its article. Only the named outlets
    answer while they have something to say. Past `k` (up to `limit`), a sentence is added only from an article
    not yet quoted that adds a real share of the question.

    `ranked` (for a question in several parts, once `first` has answered each part): the articles the whole
    question ranks best. Up to `k` a slot goes to one of them not yet quoted while there is one, rather than to a
    second sentence of a quoted article or to an article only a part's own search found; past `k` they may add a
    sentence without adding new words (the question's words are mostly quoted by then, its sources are not).
    """
    allowed = _named_outlets_only(scored, articles, outlets)
    top = set(ranked)
    left = dict(weights)
    total = sum(weights.values()) or 1.0
    chosen: list[ScoredSentence] = []
    per: Counter[str] = Counter()
    seen: set[str] = set()

    def take(item: ScoredSentence) -> None:
        chosen.append(item)
        seen.add(_key(item))
        per[item.stored.sentence.article_id] += 1
        for term in sentence_terms(item.stored.sentence.text):
            left.pop(term, None)

    def gain(item: ScoredSentence) -> float:
        return sum(left.get(t, 0.0) for t in set(sentence_terms(item.stored.sentence.text))) / total

    for item in (first or [])[:limit]:
        take(item)
    while len(chosen) < limit:
        pool = [s for s in allowed if _key(s) not in seen]
        unquoted = [s for s in pool if per[s.stored.sentence.article_id] == 0]
        if len(chosen) >= k:
            pool = [s for s in unquoted if s.stored.sentence.article_id in top or gain(s) >= EXTRA_GAIN]
        else:
            pool = [s for s in unquoted if s.stored.sentence.article_id in top] or pool
        best = max(pool, key=lambda s: s.score + gain_weight * gain(s) - repeat_cost * per[s.stored.sentence.article_id],
                   default=None)
        if best is None:
            break
        take(best)
    return chosen


def newest_relevant(scored: list[ScoredSentence], articles: dict[str, Article], time: TimeAsk, k: int,
                    margin: float = RELEVANT_MARGIN) -> list[ScoredSentence]:
    """For "latest" and "what changed" questions: one sentence from each article that answers, newest article
    first (undated ones last: never the newest); for "what changed", the earliest report comes second so both
    ends are quoted.

    An article answers with its best sentence when that scores within `margin` of the best one; and when the best
    sentence gives a figure, with its best sentence that gives a figure for the same thing about the same event
    ("rose to 19" and "killed 19 people" and "12 people died"), however worded."""
    if not scored:
        return []
    top = scored[0]
    units = figure_units(top.stored.sentence.text)
    best: dict[str, ScoredSentence] = {}
    for item in scored:
        article_id = item.stored.sentence.article_id
        if article_id in best:
            continue
        close = item.score >= top.score - margin
        same_figure = bool(units & figure_units(item.stored.sentence.text)) and related(
            top.stored.sentence.text, item.stored.sentence.text)
        if close or same_figure:
            best[article_id] = item
    ordered = newest_first(best.values(), lambda item: articles[item.stored.sentence.article_id].published_at)
    dated = [item for item in ordered if articles[item.stored.sentence.article_id].published_day is not None]
    if time.change and len(dated) > 2:
        ordered.remove(dated[-1])
        ordered.insert(1, dated[-1])
    return ordered[:k]


def _named_outlets_only(scored: list[ScoredSentence], articles: dict[str, Article], outlets: list[str]) -> list[ScoredSentence]:
    wanted = {o.casefold() for o in outlets}
    named = [s for s in scored if (articles[s.stored.sentence.article_id].outlet or "").casefold() in wanted]
    return named or scored


def _asked_by(mention: SourceAsk | None, article: Article) -> bool:
    return mention is None or mention.outlet is None or (article.outlet or "").casefold() == mention.outlet.casefold()
