"""`kill -9` at chosen points of a real `newsdesk ingest`, then the same ingest again: nothing lost, nothing left over."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from newsdesk.adapters.chroma_store import ChromaStore, connect
from newsdesk.index.lock import read_revision
from tests.conftest import ROOT
from tests.process_helpers import answers, cli_env, run, snapshot, stories, write_stories

pytestmark = pytest.mark.server

# Runs `newsdesk ingest` with one call wrapped so that its KILL_NTH-th call SIGKILLs the process: before the call,
# or (with KILL_DELAY) from a timer while the call runs. Deterministic, and nothing of it is in the product.
KILLER = r"""
import os, signal, sys, threading
point, nth, delay = os.environ["KILL_AT"], int(os.environ["KILL_NTH"]), os.environ.get("KILL_DELAY")
calls = 0

def hit():
    global calls
    calls += 1
    if calls != nth:
        return
    if delay:
        threading.Timer(float(delay), os.kill, (os.getpid(), signal.SIGKILL)).start()
    else:
        os.kill(os.getpid(), signal.SIGKILL)

def wrap(owner, name):
    real = getattr(owner, name)
    def wrapped(*args, **kwargs):
        hit()
        return real(*args, **kwargs)
    setattr(owner, name, wrapped)

from newsdesk.adapters import chroma_store
if point == "write_many":
    wrap(chroma_store.ChromaStore, "write_many")
elif point == "derived":
    from newsdesk.index import derived
    wrap(derived.DerivedData, "_load_or_build")
elif point == "publish":
    from newsdesk.index import lock
    wrap(lock, "write_revision")
else:  # "<collection>.<method>" of the store's Chroma collections
    wanted, method = point.split(".")
    real_collection = chroma_store.ChromaStore._collection
    def _collection(self, name):
        got = real_collection(self, name)
        if name == "newsdesk_" + wanted:
            wrap(got, method)
        return got
    chroma_store.ChromaStore._collection = _collection

from newsdesk.cli import main
sys.argv = ["newsdesk", *sys.argv[1:]]
main()
"""

# The 16 articles of the edits file are written in batches of 4 (BATCH): the third batch holds updated articles.
BATCH = {"NEWSDESK_INGEST_BATCH_ARTICLES": "4"}
POINTS = [
    pytest.param("write_many", 3, None, id="between-batches"),
    pytest.param("articles.upsert", 3, None, id="rows-written-article-rows-not"),
    pytest.param("chunks.delete", 3, None, id="article-rows-written-old-rows-not-removed"),
    pytest.param("chunks.upsert", 2, "0.002", id="inside-a-chroma-upsert"),  # sentences live in part files
    pytest.param("derived", 1, None, id="building-derived-data"),
    pytest.param("publish", 1, None, id="before-the-revision-is-published"),
]
QUESTIONS = [("What did the reports say about the ferry?", {}),
             ("What changed everything for the town?", {"outlet": "alpha Times"}),
             ("What happened near the harbor?", {"outlet": "beta Times"}),
             ("What did the police report?", {"published_after": "2024-03-03", "published_before": "2024-03-08"})]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store holding the first versions, the file of edits and new stories, and a clean ingest of it."""
    root = tmp_path_factory.mktemp("kill")
    first = write_stories(root / "first.jsonl", stories("alpha", 10))
    edits = write_stories(root / "edits.jsonl", stories("alpha", 10, edit="flood") + stories("beta", 6))
    base = root / "base"
    assert run(base, "ingest", str(first), **BATCH).returncode == 0
    clean = root / "clean"
    shutil.copytree(base, clean)
    done = run(clean, "ingest", str(edits), **BATCH)
    assert done.returncode == 0 and done.stdout.startswith("added 6, updated 10, unchanged 0, failed 0"), done
    return {"base": base, "edits": edits, "clean": snapshot(clean), "answers": answers(clean, QUESTIONS)}


@pytest.mark.parametrize(("point", "nth", "delay"), POINTS)
def test_a_killed_ingest_rerun_equals_a_clean_one(setup: dict[str, Any], tmp_path: Path, point: str, nth: int,
                                                  delay: str | None) -> None:
    store = tmp_path / "store"
    shutil.copytree(setup["base"], store)
    env = cli_env(store, KILL_AT=point, KILL_NTH=str(nth), **BATCH, **({"KILL_DELAY": delay} if delay else {}))
    killed = subprocess.run([sys.executable, "-c", KILLER, "ingest", str(setup["edits"])], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr

    rerun = run(store, "ingest", str(setup["edits"]), **BATCH)
    assert rerun.returncode == 0, rerun.stderr
    assert ", failed 0," in rerun.stdout, rerun.stdout

    assert snapshot(store) == setup["clean"]  # stats, article versions, every row id; no orphan or missing rows
    assert answers(store, QUESTIONS) == setup["answers"]
    checked = run(store, "stats", "--check")
    assert checked.returncode == 0 and "0 orphan, 0 missing" in checked.stdout
    opened = ChromaStore(connect(path=store), folder=store)
    try:
        assert read_revision(store) == opened.revision()  # the rerun published what it finished
    finally:
        opened.client.close()
