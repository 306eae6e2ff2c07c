"""The fitted evidence weights: loaded from their JSON file, checked against the features, folds split by story."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from newsdesk.answer import evidence
from newsdesk.answer.sentence_features import FEATURES
from newsdesk.errors import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from cv import fold_of, splits  # noqa: E402


def test_shipped_weights_match_the_features_and_carry_cross_validated_figures() -> None:
    data = json.loads(evidence.WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert tuple(data["features"]) == FEATURES and evidence.WEIGHTS.shape == (len(FEATURES),)
    assert data["fitted_on"] == "squad-train-answerable" and set(data["figures"]) == {data["fitted_on"]}
    figures = data["figures"][data["fitted_on"]]  # fitted on public data: no evaluation set's figures
    assert figures["folds"] >= 2
    assert set(figures["in_sample"]) == set(figures["cross_validated"])


def test_weights_for_other_features_are_refused_with_how_to_refit(tmp_path: Path) -> None:
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({"features": ["dense", "retired"], "weights": [1.0, 2.0]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="fit_evidence.py"):
        evidence._load_weights(path)


def test_folds_never_split_a_story_and_are_balanced() -> None:
    groups = [f"story-{i % 37}" for i in range(400)]
    fold = fold_of(groups, k=5)
    for story in set(groups):
        assert len({int(f) for f, g in zip(fold, groups, strict=True) if g == story}) == 1
    sizes = np.bincount(fold)
    assert len(sizes) == 5 and sizes.max() - sizes.min() <= max(groups.count(g) for g in groups)
    for train, test in splits(fold):
        assert not (train & test).any() and (train | test).all()


def test_eval_reports_the_fitted_figures_beside_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from newsdesk.answer import abstention
    from newsdesk.cli import cli

    monkeypatch.setenv("NEWSDESK_EMBEDDER", "hash")
    article = {"id": "storm", "title": "Storm", "text": "The storm cut power to 9,500 homes on Tuesday. Crews worked."}
    question = {"id": "q1", "question": "How many homes lost power?", "answers": ["9,500"], "evidence": []}
    recorded = json.loads(evidence.WEIGHTS_FILE.read_text(encoding="utf-8"))["figures"]
    fitted_on = json.loads(evidence.WEIGHTS_FILE.read_text(encoding="utf-8"))["fitted_on"]
    for name, expected in ((fitted_on, recorded[fitted_on]), ("newsqa", None)):
        dataset = tmp_path / name
        dataset.mkdir()
        (dataset / "corpus.jsonl").write_text(json.dumps(article) + "\n", encoding="utf-8")
        (dataset / "questions.jsonl").write_text(json.dumps(question) + "\n", encoding="utf-8")
        result = CliRunner().invoke(cli, ["eval", str(dataset), "--json"])
        assert result.exit_code == 0, result.output
        fitted = json.loads(result.output.strip().splitlines()[-1])["fitted"]
        assert fitted["evidence_weights"] == expected  # a set the weights were never fitted on has no such figures
        stored = json.loads(abstention.WEIGHTS_FILE.read_text(encoding="utf-8"))["figures"]
        assert fitted["abstention_weights"] == stored and "cross_validated" in stored
    shown = CliRunner().invoke(cli, ["eval", str(tmp_path / fitted_on)])
    assert shown.exit_code == 0 and '"cross_validated": {"cited_has_answer@1"' in shown.output
