"""bench/sentence_choice.py's scorers: IDF from the whole corpus, the evidence scorer's order, P@1 / P@3 counts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from newsdesk.ingest.sentences import split_sentences

from newsdesk.adapters.hash_embedder import HashEmbedder
from newsdesk.answer.sentence_features import FEATURES
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from sentence_choice import corpus_lexical, cosine_rank, evidence_rank, hits  # noqa: E402

STORY = ("The mayor opened the new bridge on Monday. Engineers said the bridge cost 40 million dollars. "
         "The mayor thanked the river workers. Traffic on the old ferry fell by half.")


def _corpus(tmp_path: Path) -> Path:
    rows = [{"id": "a", "text": STORY}, {"id": "b", "text": "The mayor spoke about schools."},
            {"id": "c", "text": "The mayor visited a farm."}, {"id": "bad", "text": " "}]
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _only(feature: str) -> np.ndarray:
    weights = np.zeros(len(FEATURES), np.float32)
    weights[FEATURES.index(feature)] = 1.0
    return weights


def test_idf_weights_come_from_every_loadable_article(tmp_path: Path) -> None:
    lexical = corpus_lexical(_corpus(tmp_path))
    assert lexical.size == 3  # the empty article fails to load, as in ingest
    assert lexical.weight("bridg") > lexical.weight("mayor")  # stemmed terms: in one article against all three


def test_evidence_rank_orders_the_storys_sentences_by_the_given_weights(tmp_path: Path) -> None:
    lexical, embedder = corpus_lexical(_corpus(tmp_path)), HashEmbedder()
    sentences = split_sentences("a", STORY)
    vectors = embedder.embed([s.text for s in sentences])
    question = "How much did the mayor's bridge cost?"
    vector = embedder.embed([question])[0]
    by_dense = evidence_rank(lexical, _only("dense"))(question, vector, sentences, vectors)
    assert by_dense == cosine_rank(question, vector, sentences, vectors)
    assert sorted(by_dense) == list(range(len(sentences)))
    # "bridge" and "cost" outweigh "mayor", which every article has: the sentence with the figure comes first.
    assert evidence_rank(lexical, _only("overlap"))(question, vector, sentences, vectors)[0] == 1
    # The story is the top article, so article_prior is the same for every sentence: reading order.
    assert evidence_rank(lexical, _only("article_prior"))(question, vector, sentences, vectors) == [0, 1, 2, 3]


def test_hits_count_the_questions_whose_story_holds_an_answer() -> None:
    sentences = split_sentences("a", STORY)
    stories, vectors = {"a": sentences}, {"a": np.zeros((len(sentences), 2), np.float32)}
    asked = [("q1", "a", ["40 million"]), ("q2", "a", ["ferry"]), ("q3", "a", ["not in the story"])]
    orders = {"q1": [1, 0, 2, 3], "q2": [0, 1, 3, 2]}
    total, top1, top3 = hits(asked, stories, vectors, np.zeros((3, 2), np.float32), lambda q, *_: orders[q])
    assert (total, top1, top3) == (2, 1, 2)
