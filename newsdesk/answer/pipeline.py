"""A question's way through Newsdesk, stage by stage: check and resolve -> plan -> retrieve -> read -> score ->
gather across parts -> choose, cite, resolve figures, compose (or generate)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from newsdesk.answer.candidates import add_named_outlets, keep_named, read_sentences, retrieve_current
from newsdesk.answer.evidence import Evidence, Support, question_terms, score_sentences, support
from newsdesk.answer.extractive import CitationRules, extractive_answer, no_match
from newsdesk.answer.gather import GatherConfig, Limits, gather
from newsdesk.answer.generative import generate_answer
from newsdesk.answer.library import Library
from newsdesk.answer.question import QuestionLimits, check_question, resolve
from newsdesk.answer.retrieve import RetrievalConfig
from newsdesk.answer.sources import plan_sources
from newsdesk.errors import BadRequest
from newsdesk.models import Answer, Query
from newsdesk.ports import Embedder, Generator
from newsdesk.settings import DEFAULTS, Settings


@dataclass(frozen=True)
class AnswerConfig:
    """How questions are answered; the defaults are the settings object's (see `Settings`)."""

    abstain_threshold: float = DEFAULTS.abstain_threshold
    similar_enough: float = DEFAULTS.similar_enough
    citations: int = DEFAULTS.citations
    max_k: int = DEFAULTS.max_k
    max_question_chars: int = DEFAULTS.max_question_chars
    evidence_articles: int = DEFAULTS.evidence_articles
    per_article: int = DEFAULTS.per_article
    repeat_cost: float = DEFAULTS.repeat_cost
    citation_margin: float = DEFAULTS.citation_margin
    revision_check_seconds: float = DEFAULTS.revision_check_seconds
    cached_articles: int = DEFAULTS.cached_articles
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    gathering: GatherConfig = field(default_factory=GatherConfig)

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerConfig:
        """The answer settings out of the settings object."""
        return cls(
            abstain_threshold=settings.abstain_threshold,
            similar_enough=settings.similar_enough,
            citations=settings.citations,
            max_k=settings.max_k,
            max_question_chars=settings.max_question_chars,
            evidence_articles=settings.evidence_articles,
            per_article=settings.per_article,
            repeat_cost=settings.repeat_cost,
            citation_margin=settings.citation_margin,
            revision_check_seconds=settings.revision_check_seconds,
            cached_articles=settings.cached_articles,
            retrieval=RetrievalConfig.from_settings(settings),
            gathering=GatherConfig.from_settings(settings),
        )

    @property
    def citing(self) -> CitationRules:
        return CitationRules(self.repeat_cost, self.max_k, self.citation_margin)

    def supports(self, found: Support) -> bool:
        """Answer when the support score reaches the threshold (or one sentence is as close as `similar_enough`)."""
        return found.score >= self.abstain_threshold or found.best_similarity >= self.similar_enough


class QuestionPipeline:
    """Answers questions from a `Library` (the index as a question sees it) with an embedder and, optionally,
    generators; holds no state of its own beyond what it is built with."""

    def __init__(self, embedder: Embedder, library: Library, config: AnswerConfig,
                 generators: dict[str, Generator] | None = None, default_answerer: str = "extractive",
                 allow_answerer_override: bool = False) -> None:
        self.embedder = embedder
        self.library = library
        self.config = config
        self.generators = generators or {}
        self.default_answerer = default_answerer
        self.allow_answerer_override = allow_answerer_override
        self.limits = QuestionLimits(config.max_question_chars, config.max_k)

    def answer(self, query: Query) -> Answer:
        """Answer a question with cited sentences, or abstain."""
        evidence = self.evidence(query)
        answerer = query.answerer or self.default_answerer
        unmatched = no_match(query, evidence)
        if unmatched is not None:
            return unmatched
        if evidence.supported and answerer != "extractive":
            generator = self._generator(answerer)
            answer = generate_answer(generator, query, evidence,
                                     lambda: extractive_answer(query, evidence, self.config.citing))
        else:
            answer = extractive_answer(query, evidence, self.config.citing)
        return replace(answer, resolved_question=evidence.resolved_question)

    def evidence(self, query: Query) -> Evidence:
        """The scored evidence for a question, gathered across the sources and times it names (every answerer's input)."""
        question = check_question(query, self.limits)
        self._check_answerer(query)
        resolved = resolve(query, question)
        timing: dict[str, float] = {}
        started = time.perf_counter()
        lexical = self.library.lexical()  # built on first use: the first question of a process pays for it
        timing["index"] = _ms(started)
        mark = time.perf_counter()
        vector = self.embedder.embed([resolved.search_text])[0]
        timing["embed"] = _ms(mark)

        mark = time.perf_counter()
        retrieved = retrieve_current(self.library, lexical, question, resolved.search_text, vector, query.filters,
                                     self.config.evidence_articles)
        timing["retrieve"] = _ms(mark)

        mark = time.perf_counter()
        retrieved = add_named_outlets(retrieved, self.library, question, resolved.search_text, vector, query.filters)
        retrieved = keep_named(retrieved, resolved.names)
        lexical = retrieved.lexical
        sentences = read_sentences(self.library, retrieved)
        ranks = {a: i for i, a in enumerate(retrieved.evidence_ids)}
        asked = question_terms(resolved.search_text, lexical)  # shared by scoring and support
        scored = score_sentences(asked, vector, sentences, ranks)
        timing["evidence"] = _ms(mark)
        several = len(retrieved.outlets) > 1
        evidence = Evidence(
            question=question,
            scored=scored,
            articles={a: retrieved.found[a][0] for a in retrieved.evidence_ids},
            ranked_ids=retrieved.ranked_ids,
            timing=timing,
            started=started,
            supported=self.config.supports(support(asked, scored, next(iter(retrieved.evidence_ids), None))),
            per_article=1 if several else self.config.per_article,
            outlets=retrieved.outlets[: self.config.max_k] if several else [],
            resolved_question=resolved.shown,
        )
        plan = plan_sources(question, tuple(lexical.outlets))  # the sources and times it asks for, if any
        limits = Limits(query.k, self.config.max_k, self.config.repeat_cost, self.config.gathering)
        return gather(evidence, query, plan, lexical, vector, self.embedder, self.library, self.config.supports, limits)

    def _check_answerer(self, query: Query) -> None:
        chosen = query.answerer or self.default_answerer
        # Generators are only built where requests may pick them (see app.build_generators).
        if chosen != self.default_answerer and not (self.allow_answerer_override or chosen in self.generators):
            raise BadRequest(
                f"the {chosen!r} answerer is not enabled on this deployment, which answers with "
                f"{self.default_answerer!r}: leave out 'answerer' (operators: NEWSDESK_ALLOW_ANSWERER_OVERRIDE)"
            )

    def _generator(self, answerer: str) -> Generator:
        generator = self.generators.get(answerer)
        if generator is None:
            raise BadRequest(
                f"the {answerer!r} answerer is not enabled on this deployment: use 'extractive' "
                "(operators enable it with NEWSDESK_BEDROCK_MODEL_ID and NEWSDESK_ANSWERER=bedrock, "
                "or NEWSDESK_ALLOW_ANSWERER_OVERRIDE=true for per-request choice)"
            )
        return generator


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0
