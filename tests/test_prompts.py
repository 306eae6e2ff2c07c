"""Every prompt template renders with sample inputs; a missing, unknown or malformed variable fails loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.answer.prompts import PROMPTS_DIR, load, names, parse
from newsdesk.errors import ConfigError

SAMPLES = {
    "question": "How many homes lost power?",
    "sources": '[S1] (Harbor Gazette, 2024-03-06) "Tuesday\'s storm cut power to 9,500 homes."',
    "cannot_answer": "The sources do not answer this question.",
    "max_sentences": 5,
    "label": "S1",
    "outlet": "Harbor Gazette",
    "published_at": "2024-03-06",
    "sentence": "Tuesday's storm cut power to 9,500 homes.",
}


def test_the_prompts_folder_holds_the_answer_and_system_templates() -> None:
    assert {"answer", "system", "source"} <= set(names())


@pytest.mark.parametrize("name", names())
def test_every_template_renders_with_sample_inputs(name: str) -> None:
    template = load(name)
    assert template.variables, f"{name} takes no variables"
    values = {v: SAMPLES[v] for v in template.variables}
    text = template.render(**values)
    for value in values.values():
        assert str(value) in text
    assert "{" not in text.replace(SAMPLES["sources"], "")


@pytest.mark.parametrize("name", names())
def test_every_template_fails_on_a_missing_variable(name: str) -> None:
    template = load(name)
    values = {v: SAMPLES[v] for v in template.variables}
    dropped = sorted(values)[0]
    del values[dropped]
    with pytest.raises(ConfigError, match=f"missing.*{dropped}"):
        template.render(**values)


def test_an_unknown_variable_fails() -> None:
    template = load("answer")
    with pytest.raises(ConfigError, match="unknown.*'tone'"):
        template.render(**{v: SAMPLES[v] for v in template.variables}, tone="chatty")


def test_braces_in_values_are_kept_as_text() -> None:
    text = parse("t", "Q: {question}").render(question="what is {secret}?")
    assert text == "Q: what is {secret}?"


@pytest.mark.parametrize("bad", ["{0}", "{}", "{question!r}", "{question:>10}", "{q.attr}", "unclosed {question"])
def test_a_malformed_field_fails_when_parsed(bad: str) -> None:
    with pytest.raises(ConfigError, match="prompt 't'"):
        parse("t", bad)


def test_a_missing_prompt_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing"):
        load("nope", tmp_path)


def test_prompt_files_live_in_the_project_prompts_folder() -> None:
    assert PROMPTS_DIR.name == "prompts" and (PROMPTS_DIR / "answer.txt").is_file()
