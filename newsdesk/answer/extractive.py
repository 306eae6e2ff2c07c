"""The extractive answer: choose the best evidence sentences, cite them verbatim, note differing figures, compose."""

from __future__ import annotations

import time
from dataclasses import dataclass

from newsdesk.answer.cite import make_citations
from newsdesk.answer.compose import ABSTAIN_TEXT, best_per_outlet, choose, compose
from newsdesk.answer.conflicts import resolve, same_event
from newsdesk.answer.evidence import Evidence, ScoredSentence
from newsdesk.answer.figures import asked_units, figure_units
from newsdesk.answer.gather import Gathered
from newsdesk.answer.question import names
from newsdesk.models import Answer, Filters, Query
from newsdesk.settings import DEFAULTS


@dataclass(frozen=True)
class CitationRules:
    """How many sentences an answer quotes and which (Settings: repeat_cost, max_k, citation_margin)."""

    repeat_cost: float = DEFAULTS.repeat_cost
    max_k: int = DEFAULTS.max_k
    margin: float = DEFAULTS.citation_margin


def extractive_answer(query: Query, evidence: Evidence, rules: CitationRules) -> Answer:
    """The best evidence sentences, quoted verbatim and verified at their offsets; an abstention when unsupported."""
    timing = evidence.timing
    if not evidence.supported:
        timing["total"] = _ms(evidence.started)
        return Answer(evidence.question, ABSTAIN_TEXT, True, (), evidence.ranked_ids, timing_ms=timing)
    first = best_per_outlet(evidence.scored, evidence.outlets, evidence.articles)
    if isinstance(evidence, Gathered) and evidence.picks:  # a question in parts quotes each part
        chosen = evidence.picks
    else:
        chosen = choose(evidence.scored, max(query.k, len(first)), evidence.per_article, first, rules.repeat_cost)
        chosen = bearing(chosen, len(first), asked_units(evidence.resolved_question or evidence.question),
                         rules.margin)
    named = evidence.outlets or isinstance(evidence, Gathered) and (evidence.plan.outlets or evidence.plan.ranges)
    if query.filters.empty and not named:  # a question about one outlet's report, or one day's, keeps to it
        chosen = with_newest_figure(chosen, evidence, rules.max_k)
    citations, dropped = make_citations(chosen, evidence.articles)
    timing["total"] = _ms(evidence.started)
    if not citations:
        return Answer(evidence.question, ABSTAIN_TEXT, True, (), evidence.ranked_ids, dropped, timing)
    # differing figures of what was asked (a follow-up asks what the conversation filled in too)
    citations, claims, note = resolve(citations, evidence.resolved_question or evidence.question)
    return Answer(evidence.question, compose(citations), False, tuple(citations), evidence.ranked_ids, dropped,
                  timing, conflict=bool(claims), conflict_note=note, claims=claims)


def bearing(chosen: list[ScoredSentence], kept: int, units: frozenset[str], margin: float) -> list[ScoredSentence]:
    """The chosen sentences that bear on the question, rather than padding to k: the first `kept` (the best, and
    each named outlet's) always; past them, none scoring more than `margin` below the best; and when the question
    asks for a figure the best sentence gives, none that gives no figure of that kind."""
    if not chosen:
        return chosen
    top = chosen[0]
    figure = bool(units & figure_units(top.stored.sentence.text))
    return chosen[: max(kept, 1)] + [
        item for item in chosen[max(kept, 1):]
        if item.score >= top.score - margin
        and (not figure or units & figure_units(item.stored.sentence.text))]


def with_newest_figure(chosen: list[ScoredSentence], evidence: Evidence, max_k: int) -> list[ScoredSentence]:
    """For a question that asks for a figure ("how many acres", "how many died"): the newest dated evidence sentence
    giving that figure about the same event as the first citation is always quoted, past k (up to `max_k`): an
    answer about a changing count must not leave out its latest report. Undated reports never count as newest."""
    asked = evidence.resolved_question or evidence.question
    units = asked_units(asked)
    if not chosen or not units:
        return chosen
    top = chosen[0].stored.sentence.text
    named = tuple(names(asked))

    def day(item: ScoredSentence) -> int | None:
        return evidence.articles[item.stored.sentence.article_id].published_day

    def title(item: ScoredSentence) -> str:
        return evidence.articles[item.stored.sentence.article_id].title or ""

    giving = [item for item in evidence.scored if day(item) is not None
              and units & figure_units(item.stored.sentence.text)
              and (item.stored.sentence.text == top or same_event(top, item.stored.sentence.text, named, (
                  title(chosen[0]), title(item))))]
    if not giving:
        return chosen
    newest = max(giving, key=lambda item: (day(item) or 0, item.score))
    held = {(c.stored.sentence.article_id, c.stored.sentence.index) for c in chosen}
    if (newest.stored.sentence.article_id, newest.stored.sentence.index) in held:
        return chosen
    if len(chosen) >= max_k:
        chosen = chosen[: max_k - 1]
    return [*chosen, newest]


def no_match(query: Query, evidence: Evidence) -> Answer | None:
    """The answer when the request's filters leave no article at all (an abstention would blame the question)."""
    if evidence.ranked_ids or query.filters.empty:
        return None
    evidence.timing["total"] = _ms(evidence.started)
    return Answer(evidence.question, no_match_text(query.filters), True, (), timing_ms=evidence.timing)


def no_match_text(filters: Filters) -> str:
    """Which filters matched nothing, and what to do."""
    parts = [f"from outlet {filters.outlet!r}"] if filters.outlet else []
    if filters.published_after is not None:
        parts.append(f"published on or after {_day(filters.published_after)}")
    if filters.published_before is not None:
        parts.append(f"published on or before {_day(filters.published_before)}")
    return f"No article matches the filters ({', '.join(parts)}): loosen or remove them."


def _day(day: int) -> str:
    return f"{day // 10000:04d}-{day // 100 % 100:02d}-{day % 100:02d}"


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0
