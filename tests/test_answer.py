"""Choosing which evidence sentences to cite."""

from __future__ import annotations

import numpy as np

from newsdesk.answer.compose import choose
from newsdesk.answer.evidence import ScoredSentence
from newsdesk.answer.extractive import bearing
from newsdesk.models import Sentence, StoredSentence


def scored(article: str, index: int, score: float, text: str | None = None) -> ScoredSentence:
    sentence = Sentence(article, index, index * 100, index * 100 + 10, text or f"{article} sentence {index}.")
    return ScoredSentence(StoredSentence(sentence, "v1", np.zeros(3, np.float32)), score, 0.5)


def picked(items: list[ScoredSentence]) -> list[tuple[str, int]]:
    return [(i.stored.sentence.article_id, i.stored.sentence.index) for i in items]


def test_a_nearly_as_good_sentence_from_another_article_wins_over_a_second_from_the_same() -> None:
    ranked = [scored("a", 0, 10.0), scored("a", 1, 9.5), scored("b", 0, 9.2)]
    assert picked(choose(ranked, 3, per_article=3, repeat_cost=1.0)) == [("a", 0), ("b", 0), ("a", 1)]


def test_a_clearly_better_second_sentence_from_the_same_article_still_comes_second() -> None:
    ranked = [scored("a", 0, 10.0), scored("a", 1, 9.9), scored("b", 0, 7.0)]
    assert picked(choose(ranked, 3, per_article=3, repeat_cost=1.0)) == [("a", 0), ("a", 1), ("b", 0)]


def test_the_cap_per_article_holds_while_other_articles_can_fill_in() -> None:
    ranked = [scored("a", i, 10.0 - i * 0.1) for i in range(5)] + [scored("b", 0, 1.0)]
    assert picked(choose(ranked, 3, per_article=2)) == [("a", 0), ("a", 1), ("b", 0)]


def test_one_relevant_article_fills_every_slot_when_there_is_no_other() -> None:
    ranked = [scored("a", i, 10.0 - i) for i in range(4)]
    assert picked(choose(ranked, 4, per_article=2, repeat_cost=1.0)) == [("a", 0), ("a", 1), ("a", 2), ("a", 3)]


def test_the_same_words_are_never_quoted_twice() -> None:
    ranked = [scored("a", 0, 10.0, "Power is back."), scored("b", 0, 9.0, "Power  is back."), scored("b", 1, 8.0)]
    assert picked(choose(ranked, 2, per_article=3)) == [("a", 0), ("b", 1)]


def test_sentences_given_first_stay_first() -> None:
    ranked = [scored("a", 0, 10.0), scored("b", 0, 5.0)]
    assert picked(choose(ranked, 2, per_article=1, first=[ranked[1]])) == [("b", 0), ("a", 0)]


def test_sentences_far_below_the_best_are_not_cited_to_fill_k() -> None:
    ranked = [scored("a", 0, 20.0), scored("b", 0, 13.0), scored("c", 0, 11.0)]
    assert picked(bearing(ranked, 1, frozenset(), margin=8.0)) == [("a", 0), ("b", 0)]
    assert picked(bearing(ranked[2:], 1, frozenset(), margin=8.0)) == [("c", 0)]  # the best is always cited
    assert picked(bearing(ranked, 2, frozenset(), margin=1.0)) == [("a", 0), ("b", 0)]  # so is each named outlet's


def test_a_figure_answer_cites_only_sentences_giving_the_asked_figure() -> None:
    ranked = [scored("a", 0, 20.0, "The fire has burned 12,100 acres."), scored("a", 1, 19.0, "Crews dug lines."),
              scored("b", 0, 18.0, "It had burned 11,800 acres by Tuesday.")]
    assert picked(bearing(ranked, 1, frozenset({"acre"}), margin=8.0)) == [("a", 0), ("b", 0)]
    # when the best sentence gives no such figure, nothing is left out for lacking one
    assert len(bearing(ranked[1:], 1, frozenset({"acre"}), margin=8.0)) == 2
