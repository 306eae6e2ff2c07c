"""The encoder training command end to end on a few hundred questions of our own: pause, resume, a loadable model."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from newsdesk.ingest.load import load_paths
from newsdesk.ingest.sentences import split_sentences

from newsdesk.adapters.encoders import EncoderModel
from newsdesk.models import Article
from newsdesk.training.squad_pairs import answer_sentence, make_examples, plan_batches, read_rows
from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.model


def cloze_rows(path: Path) -> int:
    """SQuAD-style rows from the sample articles: each sentence's longest word asked for, the article as context."""
    articles = [a for a in load_paths([str(EXAMPLES)]) if isinstance(a, Article)]
    rows = []
    for article in articles:
        for n, sentence in enumerate(split_sentences(article.id, article.text)):
            words = [w.strip(".,;:'\"()") for w in sentence.text.split()]
            for rank, word in enumerate(sorted({w for w in words if len(w) > 4}, key=len, reverse=True)[:8]):
                question = sentence.text.replace(word, "what", 1).rstrip(".") + "?"
                rows.append({"id": f"squad11-train/{article.id}/{n}/{rank}", "question": question,
                             "context": article.text, "answers": [word], "answerable": True, "source": "test"})
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(r) + "\n" for r in rows)
    return len(rows)


def test_examples_pair_each_question_with_its_answer_sentence(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl.gz"
    assert cloze_rows(data) >= 150
    examples = make_examples(read_rows(data), seed=1)
    assert len(examples) >= 150
    for e in examples[:50]:
        assert e.positive != e.negative and e.positive in next(r.context for r in read_rows(data) if r.question == e.question)
    plan = plan_batches(examples, 16, 2, seed=1)
    assert sum(len(b) for b in plan) >= 2 * len(examples) - 2 * 16  # both epochs, leftovers batched too
    assert plan == plan_batches(examples, 16, 2, seed=1)  # a resumed run replays exactly the same batches
    assert answer_sentence("One. Two three.", ("One.", "Two three."), ("three",)) == 1
    assert answer_sentence("One. Two three.", ("One.", "Two three."), ("One. Two",)) is None  # spans two sentences


def test_a_paused_run_resumes_and_leaves_a_model_that_loads(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl.gz"
    cloze_rows(data)
    out = tmp_path / "encoder"
    command = [sys.executable, str(ROOT / "bench" / "train_encoder.py"), "--data", str(data), "--questions", "96",
               "--batch-size", "16", "--checkpoint-every", "4", "--out", str(out), "--threads", "1"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    first = subprocess.run([*command, "--stop-after", "3"], capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "paused after batch 3" in first.stderr and (out / "checkpoint" / "progress.json").is_file()
    assert not (out / "model").exists()
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming at batch 3 of 6" in second.stderr and "ETA" in second.stderr
    assert not (out / "checkpoint").exists()
    record = json.loads((out / "model" / "newsdesk-training.json").read_text())
    assert record["batches"] == 6 and record["config"]["questions"] == 96
    assert (out / "model" / "model.safetensors").stat().st_size < 50_000_000  # half precision

    from newsdesk.adapters.st_embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(EncoderModel("trained", out / "model"))
    vectors = embedder.embed(["storm", "library"])
    assert vectors.shape == (2, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.model.max_seq_length == 256  # trained on 64 tokens, served on the base model's 256
