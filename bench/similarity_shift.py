"""How far a new encoder moves cosine similarity, to carry a threshold chosen for the old one across.

Usage: python bench/similarity_shift.py DATASET --old MODEL --new MODEL [--limit N]
For each answerable question of DATASET (corpus.jsonl + questions.jsonl, as `newsdesk eval` reads them; use a
public training set such as build/squad-fit/squad-train-answerable, never an evaluation set), the best cosine
similarity between the question and a sentence of its gold document, under each model. Prints the quartiles of
each and of the paired difference (new - old): a threshold on similarity chosen for the old model moves by the
median difference (Settings.multi_source_support weighs similarity 2/3, so it moves by 2/3 of it).
MODEL: a sentence-transformers folder or a known name (`newsdesk-qa`, `all-MiniLM-L6-v2`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsdesk.ingest.sentences import split_sentences  # noqa: E402

from newsdesk.eval.score import read_questions, read_texts  # noqa: E402


def best_similarities(model: str, asked: list[tuple[str, str]], texts: dict[str, str]) -> np.ndarray:
    """Each (question, document id)'s best question-sentence cosine under `model`."""
    from newsdesk.adapters.encoders import encoder_model
    from newsdesk.adapters.st_embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(encoder_model(model))
    docs = sorted({doc for _, doc in asked})
    sentences = {doc: [s.text for s in split_sentences(doc, texts[doc])] for doc in docs}
    flat = [(doc, text) for doc in docs for text in sentences[doc]]
    vectors = embedder.embed([text for _, text in flat])
    rows: dict[str, list[int]] = {}
    for i, (doc, _) in enumerate(flat):
        rows.setdefault(doc, []).append(i)
    questions = embedder.embed([q for q, _ in asked])
    return np.array([float((vectors[rows[doc]] @ qv).max()) for (_, doc), qv in zip(asked, questions, strict=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--old", required=True)
    parser.add_argument("--new", required=True)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    texts = read_texts(args.dataset / "corpus.jsonl")
    asked = [(q.question, q.gold_ids[0]) for q in read_questions(args.dataset / "questions.jsonl", args.limit)
             if q.answerable and q.gold_ids and q.gold_ids[0] in texts]
    old = best_similarities(args.old, asked, texts)
    new = best_similarities(args.new, asked, texts)

    def quartiles(values: np.ndarray) -> list[float]:
        return [round(float(v), 3) for v in np.quantile(values, [0.25, 0.5, 0.75])]

    print(json.dumps({"questions": len(asked), "old": args.old, "new": args.new, "old_quartiles": quartiles(old),
                      "new_quartiles": quartiles(new), "shift_quartiles": quartiles(new - old),
                      "median_shift": round(float(np.median(new - old)), 3)}))


if __name__ == "__main__":
    main()
