"""Abstention: the signals that the best evidence lacks what a question asks, their weights and the threshold."""

from __future__ import annotations

import json
import time

import numpy as np

from newsdesk.adapters.hash_embedder import HashEmbedder
from newsdesk.adapters.memory_store import MemoryStore
from newsdesk.answer.abstention import SIGNALS, WEIGHTS, WEIGHTS_FILE, score, signals
from newsdesk.answer.evidence import ScoredSentence, Support, support
from newsdesk.answer.sentence_features import QuestionTerms
from newsdesk.models import Sentence, StoredSentence
from newsdesk.service import AnswerConfig, Service
from newsdesk.settings import DEFAULTS

SAID = "The council approved the budget in 2019 after a long debate, the mayor said."
OTHER = "Residents lined up outside the hall before the vote."


def values(question: str, best: list[str], article: list[str] | None = None) -> dict[str, float]:
    return dict(zip(SIGNALS, signals(question, 0.7, 0.8, best, best if article is None else article), strict=True))


def test_a_question_the_evidence_holds_raises_no_signal() -> None:
    got = values("When did the council approve the budget?", [SAID, OTHER])
    assert got["negation_unmatched"] == got["number_missing"] == got["type_missing"] == 0.0
    assert (got["similarity"], got["coverage"]) == (0.7, 0.8)


def test_a_negation_the_best_sentences_do_not_share_is_a_signal() -> None:
    assert values("What did the council not approve?", [SAID, OTHER])["negation_unmatched"] == 1.0
    assert values("What did the council not approve?", [SAID, "The council did not approve the tax."])[
        "negation_unmatched"] == 0.0


def test_a_number_missing_from_the_top_article_is_a_signal() -> None:
    assert values("What did the council approve in 2018?", [SAID])["number_missing"] == 1.0
    assert values("What did the council approve in 2019?", [OTHER], [OTHER, SAID])["number_missing"] == 0.0


def test_an_answer_of_the_asked_type_missing_from_the_best_sentences_is_a_signal() -> None:
    assert values("When did residents line up?", [OTHER])["type_missing"] == 1.0
    assert values("What did residents do?", [OTHER])["type_missing"] == 0.0  # no type asked


def test_the_score_is_clipped_so_threshold_zero_answers_and_above_one_abstains() -> None:
    assert score(np.array([0.1, 0.0, 1.0, 1.0, 1.0])) == 0.0
    assert score(np.array([1.0, 1.0, 0.0, 0.0, 0.0])) == 1.0


def test_the_shipped_threshold_is_the_fitted_one_and_the_file_holds_its_figures() -> None:
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert data["threshold"] == DEFAULTS.abstain_threshold
    assert np.allclose(WEIGHTS, data["weights"]) and WEIGHTS[0] == 1.0
    cross = data["figures"]["cross_validated"]
    assert set(cross) >= {"answer_rate", "off_topic_abstain_rate", "mixed_balanced"}
    assert "newsqa" not in json.dumps(data["figures"]["sets"])  # fitted on public data, never on an evaluation set


def _scored(article: str, index: int, text: str, similarity: float) -> ScoredSentence:
    sentence = Sentence(article, index, 0, len(text), text)
    return ScoredSentence(StoredSentence(sentence, "v1", np.zeros(3, np.float32)), 10.0 - index, similarity)


def _terms(text: str, weights: dict[str, float]) -> QuestionTerms:
    return QuestionTerms(text, frozenset(weights), weights, sum(weights.values()), frozenset(weights),
                         sum(weights.values()))


def test_support_reads_coverage_from_the_top_article_only_and_is_cheap() -> None:
    scored = [_scored("a", 0, SAID, 0.8), _scored("b", 1, "Budget talks in the capital.", 0.6)]
    asked = _terms("Who approved the budget?", {"approv": 1.0, "budget": 1.0})
    found = support(asked, scored, "b")
    assert found.best_similarity == 0.8 and found.signals[1] == 0.5  # "budget" only
    assert support(asked, [], None) == Support(0.0, 0.0)
    started = time.perf_counter()
    for _ in range(200):
        support(asked, scored, "a")
    assert (time.perf_counter() - started) / 200 < 0.002  # a few hundred microseconds at most on a busy machine


def test_the_service_abstains_on_a_low_score_unless_one_sentence_is_similar_enough() -> None:
    service = Service(HashEmbedder(), MemoryStore(), AnswerConfig(abstain_threshold=0.5, similar_enough=0.9))
    assert not service.config.supports(Support(0.3, 0.4))
    assert service.config.supports(Support(0.3, 0.5))
    assert service.config.supports(Support(0.95, 0.1))

