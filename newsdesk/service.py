"""The service every front door calls: ask, ingest, delete, stats."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from newsdesk.answer.cite import make_citations
from newsdesk.answer.compose import ABSTAIN_TEXT, best_per_outlet, choose, compose
from newsdesk.answer.conflicts import resolve
from newsdesk.answer.evidence import Evidence, Support, named_outlets, question_terms, score_sentences, support
from newsdesk.answer.gather import Found, GatherConfig, Gathered, Limits, gather
from newsdesk.answer.generative import generate_answer
from newsdesk.answer.retrieve import RetrievalConfig, retrieve
from newsdesk.answer.sources import plan_sources
from newsdesk.errors import BadRequest, NotFound
from newsdesk.index.archive import ArticlePage, ArticleSearch, DuplicateTexts, outlet_counts, search_articles
from newsdesk.index.derived import DerivedData
from newsdesk.index.lexical import Lexical
from newsdesk.index.lock import FolderWriter
from newsdesk.ingest.load import Loaded
from newsdesk.ingest.pipeline import ChunkConfig, Ingestor, IngestReport
from newsdesk.models import Answer, Article, Filters, Matrix, Query, StoredSentence, StoreStats, is_version
from newsdesk.ports import Embedder, Generator, VectorStore
from newsdesk.settings import DEFAULTS, Settings

log = logging.getLogger(__name__)


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
            revision_check_seconds=settings.revision_check_seconds,
            cached_articles=settings.cached_articles,
            retrieval=RetrievalConfig.from_settings(settings),
            gathering=GatherConfig.from_settings(settings),
        )


class Service:
    """The service every front door calls: ask, ingest, delete, stats."""
    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore,
        config: AnswerConfig | None = None,
        chunking: ChunkConfig | None = None,
        generators: dict[str, Generator] | None = None,
        default_answerer: str = "extractive",
        allow_answerer_override: bool = False,
        writer: FolderWriter | None = None,
    ) -> None:
        """`writer`: the folder lock every write holds, where other processes may share the index."""
        self.embedder = embedder
        self.store = store
        self.config = config or AnswerConfig()
        self.chunking = chunking or ChunkConfig()
        self.generators = generators or {}
        self.default_answerer = default_answerer
        self.allow_answerer_override = allow_answerer_override
        self.writer = writer
        self.derived = DerivedData(store, self.config.revision_check_seconds)
        self._sentence_cache: OrderedDict[tuple[str, str], list[StoredSentence]] = OrderedDict()

    # -- ingest -----------------------------------------------------------------
    def ingest(self, items: Iterable[Loaded], progress: Callable[[int], None] | None = None) -> IngestReport:
        """Ingest loaded articles (unchanged ones are skipped) and refresh the derived data."""
        with self._writing() as behind:
            duplicates: list[str] = []  # the same text under another id is reported, not stored twice
            fresh = DuplicateTexts(self.store, self.lexical_index()).skip(items, duplicates)
            report = Ingestor(self.embedder, self.store, self.chunking).run(fresh, progress)
            report.duplicates.extend(duplicates)
            if report.added or report.updated or behind:
                self._after_write()
        return report

    def delete(self, article_id: str) -> bool:
        """Delete an article by id; False when it was not stored."""
        with self._writing() as behind:
            removed = self.store.delete(article_id)
            if removed or behind:
                self._after_write()
        return removed

    @contextmanager
    def _writing(self) -> Iterator[bool]:
        """One write from start to derived data, alone on the index; yields whether derived data lags the store
        (a writer died before finishing it)."""
        if self.writer is None:
            yield False
            return
        with self.writer.session() as behind:
            yield behind

    def stats(self) -> StoreStats:
        """Counts of what the index holds."""
        return self.store.stats()

    # -- the archive --------------------------------------------------------------
    def article(self, article_id: str) -> Article:
        found = self.store.articles([article_id]).get(article_id)
        if found is None:
            raise NotFound(f"no article with id {article_id[:200]!r}: GET /articles lists the archive")
        return found[0]

    def list_articles(self, search: ArticleSearch) -> ArticlePage:
        return search_articles(self.lexical_index(), self.store, search)

    def outlets(self) -> dict[str, int]:
        return outlet_counts(self.lexical_index())

    def ids_for_url(self, url: str) -> list[str]:
        """The ids of the articles whose link is `url` (a trailing slash aside)."""
        wanted = url.strip().rstrip("/")
        return sorted(article.id for article, _ in self.store.iter_articles()
                      if article.url and article.url.rstrip("/") == wanted)

    # -- answer -----------------------------------------------------------------
    def find_evidence(self, query: Query) -> Evidence:
        """Retrieve and score evidence sentences for a question (shared by every answerer)."""
        question = self._checked(query)
        timing: dict[str, float] = {}
        started = time.perf_counter()
        lexical = self.lexical_index()  # built on first use: the first question of a process pays for it
        timing["index"] = _ms(started)
        mark = time.perf_counter()
        search_text = " ".join((*query.context, question))
        vector = self.embedder.embed([search_text])[0]
        timing["embed"] = _ms(mark)

        mark = time.perf_counter()
        for attempt in range(2):
            ranked = retrieve(self.store, lexical, search_text, vector, query.filters, self.config.retrieval)
            top = ranked[: max(10, self.config.evidence_articles)]
            found = self.store.articles([r.article_id for r in top])
            # A hit from an older version, or from an article being deleted, is not shown.
            current = [r for r in top if r.article_id in found and is_version(found[r.article_id][1], r.version)]
            if attempt or not any(r.article_id in found for r in top if r not in current):
                break
            # Hits of another version of an article that is there: the index changed under this question
            # (a reader swapped in a newer copy, or a write is landing). Once more, on what is there now.
            log.info("index changed during a question, retrieving again")
            lexical = self.lexical_index()
        timing["retrieve"] = _ms(mark)

        mark = time.perf_counter()
        evidence_ids = [r.article_id for r in current[: self.config.evidence_articles]]
        outlets = named_outlets(question, lexical.outlets) if query.filters.outlet is None else []
        for outlet in outlets:  # a question naming several outlets needs each one's reporting
            if not any((found[a][0].outlet or "").casefold() == outlet.casefold() for a in evidence_ids):
                extra = self._best_from(outlet, lexical, search_text, vector, query.filters)
                if extra is not None and extra[0].id not in found:
                    found[extra[0].id] = extra
                    evidence_ids.append(extra[0].id)
        sentences = self._sentences({a: found[a][1] for a in evidence_ids}, {a: found[a][0] for a in evidence_ids})
        ranks = {a: i for i, a in enumerate(evidence_ids)}
        asked = question_terms(search_text, lexical)  # shared by scoring and support
        scored = score_sentences(asked, vector, sentences, ranks)
        timing["evidence"] = _ms(mark)
        evidence = Evidence(
            question=question,
            scored=scored,
            articles={a: found[a][0] for a in evidence_ids},
            ranked_ids=tuple(r.article_id for r in current[:10]),
            timing=timing,
            started=started,
            supported=self._supported(support(asked, scored, next(iter(evidence_ids), None))),
            per_article=1 if len(outlets) > 1 else self.config.per_article,
            outlets=outlets[: self.config.max_k] if len(outlets) > 1 else [],
        )
        plan = plan_sources(question, tuple(lexical.outlets))  # the sources and times it asks for, if any
        return gather(evidence, query, plan, asked, lexical, vector, self, self._supported,
                      Limits(query.k, self.config.max_k, self.config.repeat_cost, self.config.gathering))

    def current(self, text: str, vector: Matrix, filters: Filters, n: int) -> list[tuple[Article, str]]:
        """The best `n` current articles for a search (gathering asks for each source a question names)."""
        ranked = retrieve(self.store, self.lexical_index(), text, vector, filters, self.config.retrieval)[: n + 2]
        found = self.store.articles([r.article_id for r in ranked])
        return [found[r.article_id] for r in ranked
                if r.article_id in found and is_version(found[r.article_id][1], r.version)][:n]

    def sentences_of(self, found: Found) -> list[StoredSentence]:
        return self._sentences({a: v for a, (_, v) in found.items()}, {a: art for a, (art, _) in found.items()})

    def _best_from(self, outlet: str, lexical: Lexical, text: str, vector: Matrix,
                   filters: Filters) -> tuple[Article, str] | None:
        """The best current article of one outlet for this question."""
        only = replace(filters, outlet=outlet)
        for ranked in retrieve(self.store, lexical, text, vector, only, self.config.retrieval)[:3]:
            got = self.store.articles([ranked.article_id]).get(ranked.article_id)
            if got is not None and is_version(got[1], ranked.version):
                return got
        return None

    def ask(self, query: Query) -> Answer:
        """Answer a question with cited sentences, or abstain."""
        evidence = self.find_evidence(query)
        answerer = query.answerer or self.default_answerer
        if not evidence.ranked_ids and _filtered(query.filters):  # the filters leave nothing to look at
            evidence.timing["total"] = _ms(evidence.started)
            return Answer(evidence.question, no_match_text(query.filters), True, (), timing_ms=evidence.timing)
        if evidence.supported and answerer != "extractive":
            return self._generative(answerer, query, evidence)
        return self.extractive(query, evidence)

    def extractive(self, query: Query, evidence: Evidence) -> Answer:
        """The default answer: the best evidence sentences, quoted verbatim and verified."""
        timing = evidence.timing
        if not evidence.supported:
            timing["total"] = _ms(evidence.started)
            return Answer(evidence.question, ABSTAIN_TEXT, True, (), evidence.ranked_ids, timing_ms=timing)
        first = best_per_outlet(evidence.scored, evidence.outlets, evidence.articles)
        chosen = evidence.picks if isinstance(evidence, Gathered) and evidence.picks else choose(
            evidence.scored, max(query.k, len(first)), evidence.per_article, first, self.config.repeat_cost)
        citations, dropped = make_citations(chosen, evidence.articles)
        timing["total"] = _ms(evidence.started)
        if not citations:
            return Answer(evidence.question, ABSTAIN_TEXT, True, (), evidence.ranked_ids, dropped, timing)
        citations, claims, note = resolve(citations)  # differing figures: said so, newest first
        return Answer(evidence.question, compose(citations), False, tuple(citations), evidence.ranked_ids, dropped,
                      timing, conflict=bool(claims), conflict_note=note, claims=claims)

    def _generative(self, answerer: str, query: Query, evidence: Evidence) -> Answer:
        """Answer hook for generators (Bedrock): they write prose over evidence, verified in code."""
        generator = self.generators.get(answerer)
        if generator is None:
            raise BadRequest(
                f"the {answerer!r} answerer is not enabled on this deployment: use 'extractive' "
                "(operators enable it with NEWSDESK_BEDROCK_MODEL_ID and NEWSDESK_ANSWERER=bedrock, "
                "or NEWSDESK_ALLOW_ANSWERER_OVERRIDE=true for per-request choice)"
            )
        return generate_answer(generator, query, evidence, lambda: self.extractive(query, evidence))

    def _supported(self, found: Support) -> bool:
        """Answer when the support score reaches the threshold (or one sentence is as close as `similar_enough`)."""
        return found.score >= self.config.abstain_threshold or found.best_similarity >= self.config.similar_enough

    def _checked(self, query: Query) -> str:
        question = " ".join(query.question.split())
        if not question:
            raise BadRequest("the question is empty: send a question about the news")
        for text in (question, *query.context):  # a lone surrogate (bad \ud800 escape) breaks the tokenizer
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise BadRequest(f"the question contains an unpaired surrogate at character {exc.start}: "
                                 "send valid Unicode text") from None
        if not any(ch.isalnum() for ch in question):  # ".", "\u200b", "...": nothing to search for
            raise BadRequest("the question has no words: ask about the news in words, for example "
                             "'How many homes lost power in the storm?'")
        if len(question) > self.config.max_question_chars:
            raise BadRequest(f"the question is longer than {self.config.max_question_chars} characters: shorten it")
        if not 1 <= query.k <= self.config.max_k:
            raise BadRequest(f"k must be between 1 and {self.config.max_k}")
        if sum(len(c) for c in query.context) > 4 * self.config.max_question_chars:
            raise BadRequest("the conversation context is too long: start a new thread")
        chosen = query.answerer or self.default_answerer
        # Generators are only built where requests may pick them (see app.build_generators).
        if chosen != self.default_answerer and not (self.allow_answerer_override or chosen in self.generators):
            raise BadRequest(
                f"the {chosen!r} answerer is not enabled on this deployment, which answers with "
                f"{self.default_answerer!r}: leave out 'answerer' (operators: NEWSDESK_ALLOW_ANSWERER_OVERRIDE)"
            )
        return question

    def _sentences(self, versions: dict[str, str], articles: dict[str, Article]) -> list[StoredSentence]:
        """Stored sentences with vectors, cached per article version (a version never changes)."""
        missing = {a: v for a, v in versions.items() if (a, v) not in self._sentence_cache}
        if missing:
            fetched: dict[tuple[str, str], list[StoredSentence]] = {}
            for article_id, version in list(missing.items()):
                kept = self.derived.vectors.get(articles[article_id], version) if self.derived.vectors else None
                if kept is not None:
                    fetched[(article_id, version)] = kept
                    del missing[article_id]
            fetched.update({key: [] for key in missing.items()})
            for stored in self.store.sentences(missing) if missing else []:
                fetched[(stored.sentence.article_id, stored.version)].append(stored)
            for key, rows in fetched.items():
                self._sentence_cache[key] = rows
                self._sentence_cache.move_to_end(key)
            while len(self._sentence_cache) > self.config.cached_articles:
                self._sentence_cache.popitem(last=False)
        out: list[StoredSentence] = []
        for key in versions.items():
            self._sentence_cache.move_to_end(key)
            out.extend(self._sentence_cache[key])
        return out

    def lexical_index(self) -> Lexical:
        """The lexical index of the store's current revision (the first question of a process builds or loads it)."""
        return self.derived.lexical()

    def _after_write(self) -> None:
        self.derived.refresh()


def _filtered(filters: Filters) -> bool:
    return filters.outlet is not None or filters.published_after is not None or filters.published_before is not None


def no_match_text(filters: Filters) -> str:
    """The answer when the filters leave no article at all (the abstention would blame the question)."""
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
