"""The package builds without setuptools' warnings (which `make` printed as pages a newcomer took for errors) and
ships the chat page's files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGE_FILES = ("index.html", "app.js", "style.css", "docs.html", "docs.js")


def test_the_wheel_builds_without_warnings_and_holds_the_page(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know the package's files")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    source = tmp_path / "source"  # a copy: an in-tree build would write build/ and *.egg-info into the checkout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir", "-q",
         "-w", str(tmp_path / "wheel"), str(source)],
        capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    said = built.stdout + built.stderr
    assert "Warning" not in said and "warning" not in said, said
    [wheel] = (tmp_path / "wheel").glob("newsdesk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"newsdesk/api/web/{name}" for name in PAGE_FILES} <= names, sorted(n for n in names if "/web/" in n)
    # the shipped encoder travels in the wheel (the Lambda image installs it that way)
    assert {"newsdesk/encoder/model.safetensors", "newsdesk/encoder/MODEL_CARD.md",
            "newsdesk/encoder/1_Pooling/config.json", "newsdesk/encoder/tokenizer.json"} <= names
