"""In-story sentence choice: rank a question's gold-story sentences by an embedding model's cosine alone.

Usage: python bench/sentence_choice.py ../shared/eval/newsqa [--model FOLDER | --onnx DIR [--int8]] [--limit N]
For each answerable question with extractive gold answers, the candidates are the sentences of its gold story
(split as ingest splits them); P@1 / P@3 = the top 1 / 3 hold a gold answer string (matched as `newsdesk eval`
matches). Retrieval and every other feature are left out, so one line compares two models' similarity.
--model: a sentence-transformers folder (default: the packaged all-MiniLM-L6-v2); --onnx: an `export-onnx` folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsdesk.ingest.sentences import split_sentences  # noqa: E402

from newsdesk.adapters.encoders import packaged_model_path  # noqa: E402
from newsdesk.eval.score import YES_NO, gold_form, normalise, read_questions, read_texts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--model", help="sentence-transformers model folder (default: the packaged model)")
    parser.add_argument("--onnx", type=Path, help="a `newsdesk export-onnx` folder")
    parser.add_argument("--int8", action="store_true", help="with --onnx: the int8 model")
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
    asked: list[tuple[str, str, list[str]]] = []  # question, story id, gold answers
    for q in read_questions(args.dataset / "questions.jsonl", args.limit):
        golds = [g for g in (gold_form(a) for a in q.answers) if g and g not in YES_NO]
        if q.answerable and golds and q.gold_ids and q.gold_ids[0] in texts:
            asked.append((q.question, q.gold_ids[0], golds))
    stories = {story: [s.text for s in split_sentences(story, texts[story])] for _, story, _ in asked}
    # Each story's sentences are embedded once, however many questions it has.
    flat = [(story, text) for story, sentences in stories.items() for text in sentences]
    vectors = embed([text for _, text in flat])
    rows: dict[str, list[int]] = {}
    for i, (story, _) in enumerate(flat):
        rows.setdefault(story, []).append(i)
    question_vectors = embed([question for question, _, _ in asked])
    top1 = top3 = total = 0
    for (_, story, golds), qv in zip(asked, question_vectors, strict=True):
        holds = [any(g in normalise(s) for g in golds) for s in stories[story]]
        if not any(holds):
            continue
        order = np.argsort(-(vectors[rows[story]] @ qv), kind="stable")
        total += 1
        top1 += holds[order[0]]
        top3 += any(holds[i] for i in order[:3])
    print(json.dumps({"questions": total, "p@1": round(top1 / total, 3), "p@3": round(top3 / total, 3),
                      "model": args.model or str(args.onnx or "packaged"), "seconds": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    main()
