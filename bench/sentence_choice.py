"""In-story sentence choice: rank a question's gold-story sentences by an embedding model's cosine or the evidence scorer.

Usage: python bench/sentence_choice.py ../shared/eval/newsqa [--model FOLDER | --onnx DIR [--int8]] [--scorer evidence]
       [--limit N]
For each answerable question with extractive gold answers, the candidates are the sentences of its gold story
(split as ingest splits them); P@1 / P@3 = the top 1 / 3 hold a gold answer string (matched as `newsdesk eval`
matches). Retrieval is left out. --scorer cosine (the default) ranks by the model's cosine alone, so one line compares
two models' similarity; --scorer evidence ranks by the service's evidence scorer (newsdesk/answer/evidence.py with its
shipped weights, the gold story taken as the top article, IDF weights over the whole corpus.jsonl).
--model: a sentence-transformers folder (default: the packaged all-MiniLM-L6-v2); --onnx: an `export-onnx` folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsdesk.ingest.load import load_file  # noqa: E402
from newsdesk.ingest.sentences import split_sentences  # noqa: E402

from newsdesk.adapters.encoders import packaged_model_path  # noqa: E402
from newsdesk.answer import evidence  # noqa: E402
from newsdesk.eval.score import YES_NO, gold_form, normalise, read_questions, read_texts  # noqa: E402
from newsdesk.index.lexical import Lexical, LexicalIndex  # noqa: E402
from newsdesk.models import Article, Matrix, Sentence, StoredSentence  # noqa: E402

# A question, its vector, its gold story's sentences and their vectors -> sentence positions, best first.
Rank = Callable[[str, Matrix, Sequence[Sentence], Matrix], list[int]]


def cosine_rank(question: str, vector: Matrix, sentences: Sequence[Sentence], vectors: Matrix) -> list[int]:
    return [int(i) for i in np.argsort(-(vectors @ vector), kind="stable")]


def evidence_rank(lexical: Lexical, weights: np.ndarray = evidence.WEIGHTS) -> Rank:
    """The service's evidence scorer over one story, taken as the top article (rank 0)."""

    def rank(question: str, vector: Matrix, sentences: Sequence[Sentence], vectors: Matrix) -> list[int]:
        stored = [StoredSentence(s, "", v) for s, v in zip(sentences, vectors, strict=True)]
        top = {sentences[0].article_id: 0} if sentences else {}
        scored = evidence.score_sentences(evidence.question_terms(question, lexical), vector, stored, top, weights)
        return [s.stored.sentence.index for s in scored]

    return rank


def corpus_lexical(corpus: Path) -> LexicalIndex:
    """The lexical index over every article of a corpus.jsonl, read as ingest reads it: the service's IDF weights."""
    articles = [a for a in load_file(corpus) if isinstance(a, Article)]
    return LexicalIndex.build((a, a.fingerprint()) for a in articles)


def hits(asked: list[tuple[str, str, list[str]]], stories: dict[str, tuple[Sentence, ...]],
         vectors: dict[str, Matrix], question_vectors: Matrix, rank: Rank) -> tuple[int, int, int]:
    """(questions whose story holds an answer, top 1 holds one, top 3 hold one)."""
    top1 = top3 = total = 0
    for (question, story, golds), qv in zip(asked, question_vectors, strict=True):
        holds = [any(g in normalise(s.text) for g in golds) for s in stories[story]]
        if not any(holds):
            continue
        order = rank(question, qv, stories[story], vectors[story])
        total += 1
        top1 += holds[order[0]]
        top3 += any(holds[i] for i in order[:3])
    return total, top1, top3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--model", help="sentence-transformers model folder (default: the packaged model)")
    parser.add_argument("--onnx", type=Path, help="a `newsdesk export-onnx` folder")
    parser.add_argument("--int8", action="store_true", help="with --onnx: the int8 model")
    parser.add_argument("--scorer", choices=("cosine", "evidence"), default="cosine",
                        help="cosine alone, or the evidence scorer with its shipped weights")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    if args.onnx:
        from newsdesk.adapters.onnx_embedder import OnnxEmbedder

        embed = OnnxEmbedder(args.onnx, int8=args.int8).embed
    else:
        from newsdesk.adapters.encoders import EncoderModel
        from newsdesk.adapters.st_embedder import SentenceTransformerEmbedder

        folder = Path(args.model) if args.model else Path(packaged_model_path())
        embedder = SentenceTransformerEmbedder(EncoderModel(folder.name, folder))
        embedder.model.max_seq_length = 256  # a training checkpoint keeps its shorter training length
        embed = embedder.embed
    texts = read_texts(args.dataset / "corpus.jsonl")
    started = time.monotonic()
    rank = evidence_rank(corpus_lexical(args.dataset / "corpus.jsonl")) if args.scorer == "evidence" else cosine_rank
    asked: list[tuple[str, str, list[str]]] = []  # question, story id, gold answers
    for q in read_questions(args.dataset / "questions.jsonl", args.limit):
        golds = [g for g in (gold_form(a) for a in q.answers) if g and g not in YES_NO]
        if q.answerable and golds and q.gold_ids and q.gold_ids[0] in texts:
            asked.append((q.question, q.gold_ids[0], golds))
    stories = {story: split_sentences(story, texts[story]) for _, story, _ in asked}
    # Each story's sentences are embedded once, however many questions it has.
    flat = embed([s.text for sentences in stories.values() for s in sentences])
    bounds = np.cumsum([0, *(len(sentences) for sentences in stories.values())])
    vectors = {story: flat[a:b] for story, a, b in zip(stories, bounds[:-1], bounds[1:], strict=True)}
    total, top1, top3 = hits(asked, stories, vectors, embed([question for question, _, _ in asked]), rank)
    print(json.dumps({"questions": total, "p@1": round(top1 / total, 3), "p@3": round(top3 / total, 3),
                      "scorer": args.scorer, "model": args.model or str(args.onnx or "packaged"),
                      "seconds": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    main()
