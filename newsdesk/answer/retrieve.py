"""Retrieve: dense (chunks and sentences in Chroma) and lexical (article BM25) scores fused per article."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from newsdesk.index.lexical import Lexical
from newsdesk.models import Filters, Hit, Matrix
from newsdesk.ports import VectorStore
from newsdesk.settings import DEFAULTS, Settings

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="newsdesk-retrieve")


@dataclass(frozen=True)
class RankedArticle:
    article_id: str
    version: str
    score: float


@dataclass(frozen=True)
class RetrievalConfig:
    """Weights of each list's per-article best score (BM25 scaled by the list's top score).

    Chosen on NewsQA dev by a grid search over weighted rank and score fusion (docs/quality.md, "How the weights
    and the abstention threshold were chosen"); score fusion beat reciprocal-rank fusion by about 0.01 MRR.
    """

    depth: int = DEFAULTS.retrieval_depth  # hits taken from each list
    dense_chunk: float = DEFAULTS.weight_dense_chunk
    dense_sentence: float = DEFAULTS.weight_dense_sentence
    lexical: float = DEFAULTS.weight_lexical

    @classmethod
    def from_settings(cls, settings: Settings) -> RetrievalConfig:
        return cls(settings.retrieval_depth, settings.weight_dense_chunk, settings.weight_dense_sentence,
                   settings.weight_lexical)


def retrieve(
    store: VectorStore,
    lexical: Lexical,
    question: str,
    vector: Matrix,
    filters: Filters,
    config: RetrievalConfig,
) -> list[RankedArticle]:
    """Articles ranked by a weighted sum of their best score in each list (missing: the list's lowest; missing from
    a lexical list shorter than its depth, which holds every article with a question word: 0)."""
    # The vector search runs while BM25 scores: Chroma releases the GIL as it searches.
    dense = _POOL.submit(_dense, store, vector, config, filters)
    lexical_hits = lexical.search(question, config.depth, filters) if config.lexical else []
    chunks, sentences = dense.result()
    lists = [
        (chunks, config.dense_chunk, False),
        (sentences, config.dense_sentence, False),
        (lexical_hits, config.lexical, True),
    ]
    per_list: list[tuple[dict[str, float], float, float]] = []
    versions: dict[str, str] = {}
    for hits, weight, scale in lists:
        if not hits or not weight:
            continue
        top = max(h.score for h in hits) if scale else 1.0
        best = _best_per_article(hits, top or 1.0)
        complete = scale and len(hits) < config.depth  # BM25 listed every article sharing a word with the question
        per_list.append((best, weight, 0.0 if complete else min(best.values())))
        for hit in hits:
            versions.setdefault(hit.article_id, hit.version)
    scores: dict[str, float] = defaultdict(float)
    for article_id in versions:
        for best, weight, floor in per_list:
            scores[article_id] += weight * best.get(article_id, floor)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    return [RankedArticle(a, versions[a], s) for a, s in ranked]


def _dense(store: VectorStore, vector: Matrix, config: RetrievalConfig, filters: Filters
           ) -> tuple[list[Hit], list[Hit]]:
    """Chunk and sentence hits (one search where the store can), only the lists that carry weight."""
    if config.dense_chunk and config.dense_sentence:
        return store.query_dense(vector, config.depth, filters)
    if config.dense_chunk:
        return store.query_chunks(vector, config.depth, filters), []
    if config.dense_sentence:
        return [], store.query_sentences(vector, config.depth, filters)
    return [], []


def _best_per_article(hits: list[Hit], scale: float) -> dict[str, float]:
    best: dict[str, float] = {}
    for hit in hits:
        value = hit.score / scale
        if value > best.get(hit.article_id, float("-inf")):
            best[hit.article_id] = value
    return best
