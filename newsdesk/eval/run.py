"""Wire `newsdesk eval`: build the service on a fresh (or given) store, ingest, ask, score."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from newsdesk.errors import ConfigError
from newsdesk.eval.score import read_questions, read_texts, run, score
from newsdesk.settings import Settings


def run_eval(dataset: Path, corpus: Path | None, store: Path | None, out: Path | None, limit: int | None,
             answerer: str | None, progress: bool = True) -> dict[str, Any]:
    """Ingest a QA set's corpus, ask its questions and return the scores."""
    from tqdm import tqdm

    from newsdesk.app import build_service
    from newsdesk.ingest.load import load_paths

    corpus = corpus or dataset / "corpus.jsonl"
    questions_path = dataset / "questions.jsonl"
    for needed in (corpus, questions_path):
        if not needed.exists():
            raise ConfigError(f"{needed} is missing: DATASET_DIR must hold corpus.jsonl and questions.jsonl")
    with tempfile.TemporaryDirectory(prefix="newsdesk-eval-") as tmp:
        service = build_service(Settings.from_env(store=store or Path(tmp), answerer=answerer))
        report = service.ingest(load_paths([str(corpus)]))
        questions = read_questions(questions_path, limit)
        service.lexical_index()  # built once before timing, as a warm container has it
        started = time.perf_counter()
        records = []
        bar = tqdm(total=len(questions), unit="q", disable=not progress or not sys.stderr.isatty(), file=sys.stderr)
        for record in run(questions, service.ask):
            records.append(record)
            bar.update(1)
        bar.close()
        if out:
            out.write_text("".join(r.to_json() + "\n" for r in records), encoding="utf-8")
        summary = score(questions, records, read_texts(corpus))
    if corpus != dataset / "corpus.jsonl":  # questions asked against reporting that does not cover them
        summary["off_topic_abstain_rate"] = 1 - summary["answer_rate"] if summary["answer_rate"] is not None else None
    summary["ingest_seconds"] = round(report.seconds, 1)
    summary["ingest_failed"] = report.failed
    summary["answer_seconds"] = round(time.perf_counter() - started, 1)
    summary["fitted"] = fitted_figures(dataset.name)
    return summary


def fitted_figures(dataset: str) -> dict[str, Any]:
    """What the shipped weights scored when they were fitted, in-sample and cross-validated (folds split by story),
    to read beside this run's figures: the evidence weights' on this set (None when they were not fitted on it), and
    the abstention weights' over the sets they were fitted on together."""
    from newsdesk.answer import abstention, evidence
    from newsdesk.answer.fitted import recorded_figures

    return {"evidence_weights": recorded_figures(evidence.WEIGHTS_FILE).get(dataset),
            "abstention_weights": recorded_figures(abstention.WEIGHTS_FILE) or None}
