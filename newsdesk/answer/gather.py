"""Gather evidence for what a question asks of its sources: each named outlet's (and date's) articles, the newest reporting."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace

import numpy as np

from newsdesk.answer.compose import assign, cover, lead_with_best, newest_relevant
from newsdesk.answer.evidence import (
    Evidence,
    QuestionTerms,
    ScoredSentence,
    Support,
    question_terms,
    score_sentences,
    support,
)
from newsdesk.answer.library import Found, Library
from newsdesk.answer.sources import Part, Plan, split_parts
from newsdesk.answer.timeline import DayRange, TimeAsk
from newsdesk.index.lexical import Lexical, sentence_terms, terms
from newsdesk.models import Article, Filters, Matrix, Query, StoredSentence
from newsdesk.ports import Embedder
from newsdesk.settings import DEFAULTS, Settings

# Evidence-score points a part's sentence gains when the whole question ranks its article in its top 10: of two
# articles from a part's outlet and day, the one about the question's subject answers it (0.5 and 1.0 measure the
# same on MultiHop-RAG dev, 2.0 costs inference questions).
RANKED_ARTICLE_BONUS = 1.0


@dataclass
class Gathered(Evidence):
    """Evidence for a question that names sources or times, with the sentences chosen for it."""

    plan: Plan = field(default_factory=lambda: Plan((), TimeAsk(), False, ""))
    picks: list[ScoredSentence] = field(default_factory=list)  # in answer order; the citations come from these


@dataclass(frozen=True)
class GatherConfig:
    """How widely gathering across articles looks, how many more sources it may quote and when a question in
    several parts is supported; the defaults are `Settings`' (see there)."""

    latest_pool: int = DEFAULTS.latest_pool
    extra_sources: int = DEFAULTS.extra_sources
    ranked_sources: int = DEFAULTS.ranked_sources
    part_articles: int = DEFAULTS.part_articles
    named_floor: float = DEFAULTS.named_floor
    multi_source_support: float = DEFAULTS.multi_source_support

    @classmethod
    def from_settings(cls, settings: Settings) -> GatherConfig:
        return cls(settings.latest_pool, settings.extra_sources, settings.ranked_sources, settings.part_articles,
                   settings.named_floor, settings.multi_source_support)


@dataclass(frozen=True)
class Limits:
    """How many sentences to quote (the request's k, the deployment's maximum, the cost of repeating an article)
    and the deployment's gathering settings."""

    k: int
    max_k: int
    repeat_cost: float
    gathering: GatherConfig = GatherConfig()


def gather(evidence: Evidence, query: Query, plan: Plan, lexical: Lexical, vector: Matrix, embedder: Embedder,
           library: Library, supported: Callable[[Support], bool], limits: Limits) -> Evidence:
    """Evidence widened to every source the question asks for, its sentences chosen, and support re-checked
    against what the question asks about (outlet names and words about reporting left out)."""
    if not (plan.mentions or plan.time.ordered or plan.ranges):
        return evidence
    started = time.perf_counter()
    content = question_terms(plan.content, lexical)
    parts = split_parts(query.question, plan, lambda text: len(terms(text))) if plan.mentions else []
    part_vectors: Matrix = np.zeros((0, 1), np.float32)
    if parts:
        part_vectors = embedder.embed([p.content or p.text for p in parts])
    # A question with one part is asked without the outlet it names (its vector is the part's).
    asked_vector = part_vectors[0] if len(parts) == 1 else vector
    gathering = limits.gathering
    found: Found = {}
    part_ranks: list[dict[str, int]] = [{} for _ in parts]
    if query.filters.empty:  # a request's own filters already say which sources may answer
        found = _in_ranges(query.question, vector, plan, library, gathering.part_articles)
        for i, (part, part_vector) in enumerate(zip(parts, part_vectors, strict=True)):
            got = _part_articles(part, part_vector, plan, library, gathering.part_articles)
            part_ranks[i] = {a.id: rank for rank, (a, _) in enumerate(got)}
            found.update({a.id: (a, v) for a, v in got})
    if plan.time.ordered:
        found.update({a.id: (a, v) for a, v in library.current(query.question, vector, query.filters, gathering.latest_pool)})
    new = {a: got for a, got in found.items() if a not in evidence.articles}
    articles = {**evidence.articles, **{a: art for a, (art, _) in new.items()}}
    # Scored again for what the question asks about: an outlet's name in a sentence ("the Valley Courier regrets
    # the error") is not an answer about that outlet's reporting.
    ranks = {a: i for i, a in enumerate(articles)}
    held = _reading_order([s.stored for s in evidence.scored], ranks)
    scored = score_sentences(content, asked_vector, held + (library.sentences_of(new) if new else []), ranks)
    if parts:
        rankings = _part_rankings(parts, part_vectors, part_ranks, scored, lexical)
        rankings = _favour_ranked(rankings, set(evidence.ranked_ids))
        first = lead_with_best(scored, articles, plan.outlets, assign(parts, rankings, articles, plan.outlets))
        wanted = min(limits.max_k, max(limits.k, len(parts)))
        limit = min(limits.max_k, wanted + gathering.extra_sources)
        # Once each part has its sentence, the other slots go to further articles the whole question ranks high.
        ranked = evidence.ranked_ids[:gathering.ranked_sources] if len(parts) > 1 else ()
        picks = cover(scored, articles, plan.outlets, content.weights, wanted, limit, limits.repeat_cost, first,
                      ranked=ranked)
    else:
        picks = _by_time(scored, articles, plan, content, limits)
    base = {f.name: getattr(evidence, f.name) for f in fields(Evidence)}
    base.update(scored=scored, articles=articles)
    several = len(parts) > 1
    if several:
        enough = _parts_supported(content, scored, picks, part_vectors) >= gathering.multi_source_support
    else:  # and a named outlet must have something on the subject, not just the collection
        enough = supported(_support(content, scored)) and all(p.similarity >= gathering.named_floor for p in picks[:1])
    base["supported"] = evidence.supported or enough
    evidence.timing["evidence"] = evidence.timing.get("evidence", 0.0) + (time.perf_counter() - started) * 1000.0
    return Gathered(**base, plan=plan, picks=picks)


def _in_ranges(text: str, vector: Matrix, plan: Plan, library: Library, n: int) -> Found:
    """The best `n` articles within each date range a question gives (when it names no outlet to hang them on)."""
    found: Found = {}
    for days in plan.ranges:
        if days.first >= 10000:  # a range without a year cannot be a store filter: it only orders
            found.update({a.id: (a, v) for a, v in library.current(text, vector, _filters(None, days), n)})
    return found


def _part_articles(part: Part, vector: Matrix, plan: Plan, library: Library, n: int) -> list[tuple[Article, str]]:
    """The best `n` articles for one part: from its outlet on its day, else from its outlet at any date."""
    text = part.content or part.text
    got = library.current(text, vector, _part_filters(part, plan), n)
    mention = part.mention
    if mention is not None and mention.days is not None and len(got) < n:
        seen = {a.id for a, _ in got}
        more = library.current(text, vector, Filters(outlet=mention.outlet), n)
        got += [(a, v) for a, v in more if a.id not in seen]
    return got


def _filters(outlet: str | None, days: DayRange) -> Filters:
    return Filters(outlet=outlet, published_after=days.first, published_before=days.last)


def _part_filters(part: Part, plan: Plan) -> Filters:
    """Where a part's articles may come from: its outlet (and day), else the one outlet the question names."""
    mention = part.mention
    if mention is not None and mention.days is not None and mention.days.first >= 10000:
        return _filters(mention.outlet, mention.days)
    if mention is not None:
        return Filters(outlet=mention.outlet)
    return Filters(outlet=plan.outlets[0]) if len(plan.outlets) == 1 else Filters()


def _part_rankings(parts: list[Part], vectors: Matrix, part_ranks: list[dict[str, int]], scored: list[ScoredSentence],
                   lexical: Lexical) -> list[list[ScoredSentence]]:
    """Every gathered sentence scored against each part alone (the evidence model, the part as the question);
    the items are the question-wide ones, so citations show the question's scores."""
    order = {a: i for i, a in enumerate(dict.fromkeys(s.stored.sentence.article_id for s in scored))}
    reading = _reading_order([s.stored for s in scored], order)
    overall = {(s.stored.sentence.article_id, s.stored.sentence.index): s for s in scored}
    rankings = []
    for part, part_vector, ranks in zip(parts, vectors, part_ranks, strict=True):
        ranked = score_sentences(question_terms(part.content or part.text, lexical), part_vector, reading, ranks)
        rankings.append([replace(overall[(r.stored.sentence.article_id, r.stored.sentence.index)], score=r.score)
                         for r in ranked])
    return rankings


def _favour_ranked(rankings: list[list[ScoredSentence]], top: set[str]) -> list[list[ScoredSentence]]:
    """Each part's sentences with `RANKED_ARTICLE_BONUS` added where the whole question ranks the article high."""
    return [sorted((replace(s, score=s.score + RANKED_ARTICLE_BONUS) if s.stored.sentence.article_id in top else s
                    for s in ranking), key=lambda s: -s.score) for ranking in rankings]


def _reading_order(sentences: list[StoredSentence], ranks: dict[str, int]) -> list[StoredSentence]:
    """Sentences grouped by article (in rank order) and in reading order within each, as scoring expects."""
    return sorted(sentences, key=lambda st: (ranks[st.sentence.article_id], st.sentence.index))


def _by_time(scored: list[ScoredSentence], articles: dict[str, Article], plan: Plan, content: QuestionTerms,
             limits: Limits) -> list[ScoredSentence]:
    """For questions that name times but no sources: the newest relevant reports, or those in the dates given."""
    in_range = [s for s in scored if _fits(plan.ranges, articles[s.stored.sentence.article_id].published_day)]
    preferred = in_range or scored
    if plan.time.ordered:
        return newest_relevant(preferred, articles, plan.time, limits.k)
    return cover(preferred, articles, [], content.weights, limits.k, limits.k, limits.repeat_cost)


def _fits(ranges: tuple[DayRange, ...], day: int | None) -> bool:
    return all(r.contains(day) for r in ranges)


def _support(content: QuestionTerms, scored: list[ScoredSentence]) -> Support:
    """Support for what the question asks about (outlet names and words about reporting left out)."""
    return support(content, scored, scored[0].stored.sentence.article_id if scored else None)


def _parts_supported(content: QuestionTerms, scored: list[ScoredSentence], picks: list[ScoredSentence],
                     part_vectors: Matrix) -> float:
    """Support for a question in several parts: (2 x the parts' mean best similarity + the share of the question's
    words the quoted articles hold) / 3, which must reach `multi_source_support`; one sentence answers one part, so
    no single sentence is close to the whole question."""
    if not scored or not picks:
        return 0.0
    similarity = float((np.stack([s.stored.vector for s in scored]) @ part_vectors.T).max(axis=0).mean())
    quoted = {p.stored.sentence.article_id for p in picks}
    present = {t for s in scored if s.stored.sentence.article_id in quoted for t in sentence_terms(s.stored.sentence.text)}
    coverage = sum(w for t, w in content.weights.items() if t in present) / content.total if content.weights else 0.0
    return (2 * similarity + coverage) / 3
