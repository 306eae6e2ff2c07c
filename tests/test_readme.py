"""The README's examples run as written: its session and its "Using it" commands, with every setting documented."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import socket
import subprocess
from pathlib import Path

import pytest

from newsdesk.settings import PREFIX, Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()

pytestmark = [pytest.mark.model, pytest.mark.server]

# What varies from run to run and machine to machine: durations, timings and scores.
VOLATILE = [
    (re.compile(r"\d+\.\d s$", re.M), "<seconds> s"),
    (re.compile(r'("(?:index|embed|retrieve|evidence|total|score)": )[\d.]+'), r"\1<number>"),
]


def normalise(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text.strip()


def block(heading: str, language: str) -> str:
    section = README[README.index(heading):]
    start = section.index(f"```{language}\n") + len(language) + 4
    return section[start:section.index("```", start)]


def session_steps() -> list[tuple[str, str]]:
    """(command, expected output) pairs from the session's `$ ` lines."""
    steps: list[tuple[str, str]] = []
    for part in re.split(r"^\$ ", block("## A session", "text"), flags=re.M)[1:]:
        command, _, output = part.partition("\n")
        steps.append((command.split("   #")[0].strip(), output))
    return steps


def run(command: str, env: dict[str, str]) -> str:
    if command == "make demo":  # the install is done (make test did it); only the demo's own steps
        command = "make -s -o .venv/.installed -o .venv/.onnx-exported demo"
    result = subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{command!r} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    # The embedder a fresh machine starts with (no ONNX export yet), as `make demo` there uses it.
    return {**clean, "NEWSDESK_STORE": str(tmp_path / "store"), "HF_HUB_OFFLINE": "1",
            "NEWSDESK_EMBEDDER": "sentence-transformers"}


def test_the_session_runs_as_shown(env: dict[str, str]) -> None:
    steps = session_steps()
    assert [c for c, _ in steps][:2] == ["make demo", '.venv/bin/newsdesk ask "Who won the 2022 World Cup final?"']
    for command, expected in steps:
        assert normalise(run(command, env)) == normalise(expected), command


def test_the_using_it_commands_run(env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    lines = [line.split("  #")[0].strip() for line in block("## Using it", "bash").splitlines()]
    script = ["set -e", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for line in lines:
        if not line or "../shared" in line:  # eval's data sets live outside the repository
            continue
        line = line.replace("8080", port).replace("/tmp/newsdesk-wire", shlex.quote(str(tmp_path / "wire")))
        script.append(line)
        if line.endswith("&"):  # wait for the server before the next command talks to it
            script.append(f"for i in $(seq 1 900); do (echo > /dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; "
                          "sleep 0.2; done")
    output = run("bash -c " + shlex.quote("\n".join(script)), env)
    assert "added 6" in output and '"abstained"' in output and "articles 6" in output


def test_every_setting_is_documented() -> None:
    missing = [PREFIX + f.name.upper() for f in dataclasses.fields(Settings) if PREFIX + f.name.upper() not in README]
    assert missing == []
