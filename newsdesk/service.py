"""The service every front door calls: ask, ingest, delete, stats."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from ingest.load import Loaded
from ingest.pipeline import ChunkConfig, Ingestor, IngestReport
from newsdesk.answer import ABSTAIN_TEXT, best_per_outlet, choose, compose
from newsdesk.cite import make_citations
from newsdesk.errors import BadRequest
from newsdesk.evidence import ScoredSentence, Support, named_outlets, question_terms, score_sentences, support
from newsdesk.lexical import LexicalIndex
from newsdesk.models import Answer, Article, Filters, Matrix, Query, StoredSentence, StoreStats, is_version
from newsdesk.ports import Embedder, Generator, VectorStore
from newsdesk.retrieve import RetrievalConfig, retrieve
from newsdesk.sentence_vectors import SentenceVectors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerConfig:
    abstain_threshold: float = 0.55
    similar_enough: float = 0.50
    citations: int = 3
    max_k: int = 10
    max_question_chars: int = 1000
    evidence_articles: int = 5
    per_article: int = 3
    # A second sentence from the same article must beat the best other article's by this much
    # (evidence-score units); chosen on NewsQA dev, README "Citation choice".
    repeat_cost: float = 1.0
    revision_check_seconds: float = 2.0
    cached_articles: int = 2000  # sentence vectors kept in memory, by article version (~60 KB each)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)


@dataclass
class Evidence:
    """Scored evidence for one question, before any answer is composed."""

    question: str
    scored: list[ScoredSentence]
    articles: dict[str, Article]
    ranked_ids: tuple[str, ...]
    timing: dict[str, float]
    started: float
    supported: bool  # False: nothing relevant enough, so every answerer abstains
    per_article: int = 3  # most sentences to cite from one article
    outlets: list[str] = field(default_factory=list)  # outlets the question names: cite each


class Service:
    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore,
        config: AnswerConfig | None = None,
        chunking: ChunkConfig | None = None,
        generators: dict[str, Generator] | None = None,
        default_answerer: str = "extractive",
        allow_answerer_override: bool = False,
    ) -> None:
        self.embedder = embedder
        self.store = store
        self.config = config or AnswerConfig()
        self.chunking = chunking or ChunkConfig()
        self.generators = generators or {}
        self.default_answerer = default_answerer
        self.allow_answerer_override = allow_answerer_override
        self._lexical: LexicalIndex | None = None
        self._vectors: SentenceVectors | None = None
        self._sentence_cache: OrderedDict[tuple[str, str], list[StoredSentence]] = OrderedDict()
        self._revision: str | None = None
        self._checked_at = 0.0

    # -- ingest -----------------------------------------------------------------
    def ingest(self, items: Iterable[Loaded], progress: Callable[[int], None] | None = None) -> IngestReport:
        report = Ingestor(self.embedder, self.store, self.chunking).run(items, progress)
        if report.added or report.updated:
            self._after_write()
        return report

    def delete(self, article_id: str) -> bool:
        removed = self.store.delete(article_id)
        if removed:
            self._after_write()
        return removed

    def stats(self) -> StoreStats:
        return self.store.stats()

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
        ranked = retrieve(self.store, lexical, search_text, vector, query.filters, self.config.retrieval)
        top = ranked[: max(10, self.config.evidence_articles)]
        found = self.store.articles([r.article_id for r in top])
        # A hit from an older version, or from an article being deleted, is not shown.
        current = [r for r in top if r.article_id in found and is_version(found[r.article_id][1], r.version)]
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
        return Evidence(
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

    def _best_from(self, outlet: str, lexical: LexicalIndex, text: str, vector: Matrix,
                   filters: Filters) -> tuple[Article, str] | None:
        """The best current article of one outlet for this question."""
        only = replace(filters, outlet=outlet)
        for ranked in retrieve(self.store, lexical, text, vector, only, self.config.retrieval)[:3]:
            got = self.store.articles([ranked.article_id]).get(ranked.article_id)
            if got is not None and is_version(got[1], ranked.version):
                return got
        return None

    def ask(self, query: Query) -> Answer:
        evidence = self.find_evidence(query)
        answerer = query.answerer or self.default_answerer
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
        chosen = choose(evidence.scored, max(query.k, len(first)), evidence.per_article, first,
                        self.config.repeat_cost)
        citations, dropped = make_citations(chosen, evidence.articles)
        timing["total"] = _ms(evidence.started)
        if not citations:
            return Answer(evidence.question, ABSTAIN_TEXT, True, (), evidence.ranked_ids, dropped, timing)
        text = compose(citations)
        return Answer(evidence.question, text, False, tuple(citations), evidence.ranked_ids, dropped, timing)

    def _generative(self, answerer: str, query: Query, evidence: Evidence) -> Answer:
        """Answer hook for generators (Bedrock): they write prose over evidence, verified in code."""
        from newsdesk.generative import generate_answer

        generator = self.generators.get(answerer)
        if generator is None:
            raise BadRequest(
                f"the {answerer!r} answerer is not enabled on this deployment: use 'extractive' "
                "(operators enable it with NEWSDESK_BEDROCK_MODEL_ID and NEWSDESK_ANSWERER=bedrock, "
                "or NEWSDESK_ALLOW_ANSWERER_OVERRIDE=true for per-request choice)"
            )
        return generate_answer(generator, query, evidence, lambda: self.extractive(query, evidence))

    def _supported(self, found: Support) -> bool:
        """Answer when one sentence is close to the question, or similarity and word coverage together are."""
        return found.best_similarity >= self.config.similar_enough or found.combined >= self.config.abstain_threshold

    def _checked(self, query: Query) -> str:
        question = " ".join(query.question.split())
        if not question:
            raise BadRequest("the question is empty: send a question about the news")
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
                kept = self._vectors.get(articles[article_id], version) if self._vectors else None
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

    def lexical_index(self) -> LexicalIndex:
        """Built on first use and rebuilt when the store's revision changes (checked every few seconds)."""
        now = time.monotonic()
        if self._lexical is not None and now - self._checked_at < self.config.revision_check_seconds:
            return self._lexical
        self._checked_at = now
        revision = self.store.revision()
        if self._lexical is None or revision != self._revision:
            self._lexical, self._vectors = self._derived(revision)
            self._revision = revision
        return self._lexical

    def _derived(self, revision: str) -> tuple[LexicalIndex, SentenceVectors | None]:
        """The lexical index and sentence vectors saved beside the store for this revision, else new ones
        (saved for the next process, and so carried by snapshots)."""
        started = time.perf_counter()
        folder = self.store.cache_dir()
        lexical = LexicalIndex.load(folder, revision) if folder else None
        vectors = SentenceVectors.load(folder) if folder else None
        if lexical is not None and (folder is None or (vectors is not None and vectors.revision == revision)):
            log.info("lexical index loaded articles=%d ms=%.0f", lexical.size, _ms(started))
            return lexical, vectors
        rows = list(self.store.iter_articles())
        if lexical is None:
            lexical = LexicalIndex(rows)
            log.info("lexical index built articles=%d ms=%.0f", lexical.size, _ms(started))
            if folder:
                self._save(lambda: lexical.save(folder, revision), folder)
        if folder:
            started = time.perf_counter()
            vectors = SentenceVectors.build(self.store, rows, revision, previous=vectors)
            log.info("sentence vectors built rows=%d ms=%.0f", len(vectors.vectors), _ms(started))
            self._save(lambda: vectors.save(folder), folder)
        return lexical, vectors

    @staticmethod
    def _save(action: Callable[[], None], folder: object) -> None:
        try:
            action()
        except OSError as exc:  # a read-only index still answers; it just rebuilds next time
            log.warning("derived data not saved folder=%s error=%s", folder, exc)

    def _after_write(self) -> None:
        """Build (and save) the derived data now, so the index folder and its snapshots carry it."""
        self._checked_at = 0.0
        self.lexical_index()


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0
