"""Retrieve: dense (chunks and sentences in Chroma) and lexical (BM25) results fused by rank per article."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from newsdesk.lexical import LexicalIndex
from newsdesk.models import Filters, Hit, Matrix
from newsdesk.ports import VectorStore

RRF_K = 60


@dataclass(frozen=True)
class RankedArticle:
    article_id: str
    version: str
    score: float


@dataclass(frozen=True)
class RetrievalConfig:
    depth: int = 40  # hits taken from each list
    dense_chunk_weight: float = 1.0
    dense_sentence_weight: float = 1.0
    lexical_weight: float = 1.0


def retrieve(
    store: VectorStore,
    lexical: LexicalIndex,
    question: str,
    vector: Matrix,
    filters: Filters,
    config: RetrievalConfig,
) -> list[RankedArticle]:
    """Articles ranked by weighted reciprocal-rank fusion of their best hit in each list."""
    lists = [
        (store.query_chunks(vector, config.depth, filters), config.dense_chunk_weight),
        (store.query_sentences(vector, config.depth, filters), config.dense_sentence_weight),
        (lexical.search(question, config.depth, filters), config.lexical_weight),
    ]
    scores: dict[str, float] = defaultdict(float)
    versions: dict[str, str] = {}
    for hits, weight in lists:
        for rank, hit in enumerate(_best_per_article(hits)):
            scores[hit.article_id] += weight / (RRF_K + rank + 1)
            versions.setdefault(hit.article_id, hit.version)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    return [RankedArticle(a, versions[a], s) for a, s in ranked]


def _best_per_article(hits: list[Hit]) -> list[Hit]:
    seen: set[str] = set()
    out = []
    for hit in hits:
        if hit.article_id not in seen:
            seen.add(hit.article_id)
            out.append(hit)
    return out
