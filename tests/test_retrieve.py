"""Fusing the dense and lexical lists into one article ranking."""

from __future__ import annotations

from typing import Any

import numpy as np

from newsdesk.answer.retrieve import RetrievalConfig, retrieve
from newsdesk.models import Filters, Hit


class Lists:
    """The store's dense lists and the lexical index's hits, as given (only what `retrieve` reads)."""

    def __init__(self, chunks: list[Hit], sentences: list[Hit], lexical: list[Hit]) -> None:
        self.chunks, self.sentences, self.lexical = chunks, sentences, lexical

    def query_dense(self, vector: Any, n: int, filters: Filters) -> tuple[list[Hit], list[Hit]]:
        return self.chunks[:n], self.sentences[:n]

    def search(self, question: str, k: int, filters: Filters) -> list[Hit]:
        return self.lexical[:k]


def hits(*scored: tuple[str, float]) -> list[Hit]:
    return [Hit(article, "v", i, score) for i, (article, score) in enumerate(scored)]


def ranked(lists: Lists, depth: int = 40) -> list[str]:
    config = RetrievalConfig(depth=depth, dense_chunk=0.5, dense_sentence=2.0, lexical=1.0)
    found = retrieve(lists, lists, "What did Zelensky propose?", np.zeros(4, np.float32), Filters(), config)  # type: ignore[arg-type]
    return [r.article_id for r in found]


def test_the_only_article_with_the_questions_rare_word_is_not_levelled_with_the_rest() -> None:
    # A small newsroom: one story names Zelensky; another is a little closer in the dense lists.
    dense = Lists(hits(("bridge", 0.26), ("soldiers", 0.09), ("transit", 0.13)),
                  hits(("soldiers", 0.37), ("bridge", 0.33), ("transit", 0.20)),
                  hits(("soldiers", 1.26)))
    # BM25 listed every article sharing a word (fewer than its depth): the others share none and score 0.
    assert ranked(dense)[0] == "soldiers"


def test_a_full_lexical_list_gives_missing_articles_its_lowest_score() -> None:
    lexical = hits(*((f"a{i}", 10.0 - i * 0.1) for i in range(40)))
    lists = Lists(hits(("b", 0.5), ("a0", 0.3)), hits(("b", 0.5), ("a0", 0.3)), lexical)
    # "b" is missing from a list cut at its depth: it may hold the question's words, so it keeps the list's floor
    assert ranked(lists)[0] == "b"
    assert ranked(lists, depth=41)[0] == "a0"  # the same list, now shorter than its depth: "b" has none of them
