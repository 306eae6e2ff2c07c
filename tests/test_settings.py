"""Settings: the one reader of NEWSDESK_* variables, typed and validated with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.errors import ConfigError
from newsdesk.settings import Settings


def test_defaults_without_any_variable() -> None:
    s = Settings.from_env({})
    assert s == Settings()
    assert s.store == Path(".newsdesk")
    assert (s.embedder, s.chunk_sentences, s.chunk_overlap, s.citations, s.max_k, s.max_question_chars) == (
        "auto", 5, 1, 3, 10, 1000,
    )
    assert s.chroma_url is None and s.answerer == "extractive"


def test_variables_are_parsed_to_their_types() -> None:
    s = Settings.from_env({
        "NEWSDESK_STORE": "/data/index", "NEWSDESK_CHUNK_SENTENCES": "4", "NEWSDESK_CHUNK_OVERLAP": "2",
        "NEWSDESK_ABSTAIN_THRESHOLD": "0.5", "NEWSDESK_EMBEDDER": "hash", "NEWSDESK_CHROMA_URL": "http://127.0.0.1:8000",
        "NEWSDESK_ALLOW_ANSWERER_OVERRIDE": "yes", "NEWSDESK_CITATIONS": "5", "OTHER_VARIABLE": "ignored",
    })
    assert s.store == Path("/data/index")
    assert (s.chunk_sentences, s.chunk_overlap, s.abstain_threshold) == (4, 2, 0.5)
    assert s.embedder == "hash" and s.chroma_url == "http://127.0.0.1:8000"
    assert s.allow_answerer_override is True and s.citations == 5


def test_empty_variables_mean_the_default() -> None:
    assert Settings.from_env({"NEWSDESK_STORE": "", "NEWSDESK_CHUNK_SENTENCES": ""}) == Settings()


def test_overrides_win_over_the_environment_but_none_does_not() -> None:
    env = {"NEWSDESK_STORE": "/from/env", "NEWSDESK_CITATIONS": "2"}
    s = Settings.from_env(env, store=Path("/from/option"), citations=None)
    assert s.store == Path("/from/option") and s.citations == 2


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_MAX_K", "7")
    assert Settings.from_env().max_k == 7


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"NEWSDESK_CHUNK_SENTENCES": "five"}, ["NEWSDESK_CHUNK_SENTENCES", "'five'"]),
        ({"NEWSDESK_ABSTAIN_THRESHOLD": "high"}, ["NEWSDESK_ABSTAIN_THRESHOLD"]),
        ({"NEWSDESK_ALLOW_ANSWERER_OVERRIDE": "maybe"}, ["NEWSDESK_ALLOW_ANSWERER_OVERRIDE"]),
        ({"NEWSDESK_CHUNK_SENTENCES": "0"}, ["NEWSDESK_CHUNK_SENTENCES"]),
        ({"NEWSDESK_CHUNK_SENTENCES": "3", "NEWSDESK_CHUNK_OVERLAP": "3"}, ["NEWSDESK_CHUNK_OVERLAP"]),
        ({"NEWSDESK_CHUNK_OVERLAP": "-1"}, ["NEWSDESK_CHUNK_OVERLAP"]),
        ({"NEWSDESK_EMBEDDER": "word2vec"}, ["NEWSDESK_EMBEDDER", "word2vec"]),
        ({"NEWSDESK_ANSWERER": "oracle"}, ["NEWSDESK_ANSWERER"]),
        ({"NEWSDESK_ANSWERER": "bedrock"}, ["NEWSDESK_BEDROCK_MODEL_ID"]),
        ({"NEWSDESK_CITATIONS": "11"}, ["NEWSDESK_CITATIONS"]),
        ({"NEWSDESK_CITATIONS": "0"}, ["NEWSDESK_CITATIONS"]),
    ],
)
def test_bad_values_fail_at_start_naming_the_variable(env: dict[str, str], names: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    for name in names:
        assert name in str(caught.value)
