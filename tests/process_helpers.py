"""Real `newsdesk` processes for the multi-process tests: generated stories, the CLI as a subprocess, store views."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

WORDS = ("council", "bridge", "ferry", "storm", "power", "harbor", "mayor", "vote", "budget", "school", "river", "road",
         "fire", "police", "market", "library", "clinic", "airport", "tunnel", "pier")


def stories(prefix: str, count: int, sentences: int = 12, edit: str = "") -> list[dict[str, Any]]:
    """`count` distinct stories for outlet `<prefix> Times`; `edit` changes one sentence of each (a new version)."""
    out = []
    for i in range(count):
        rnd = random.Random(f"{prefix}-{i}")
        lines = []
        for j in range(sentences):
            a, b, c, d = rnd.sample(WORDS, 4)
            lines.append(f"The {a} near {prefix} {i} saw {j} reports about the {b}, the {c} and the {d}.")
        if edit:
            lines[0] = f"The {edit} near {prefix} {i} changed everything for the town."
        out.append({"id": f"{prefix}-{i}", "title": f"{prefix} story {i}", "source": f"{prefix} Times",
                    "published_at": f"2024-03-{1 + i % 28:02d}", "text": " ".join(lines)})
    return out


def write_stories(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def cli_env(store: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    return {**env, "NEWSDESK_STORE": str(store), "NEWSDESK_EMBEDDER": "hash", "NEWSDESK_ABSTAIN_THRESHOLD": "0",
            "NEWSDESK_SNAPSHOT_DIR": str(store.parent / "reader-copies"), **extra}


def newsdesk(store: Path, *args: str, **extra: str) -> subprocess.Popen[str]:
    """`newsdesk ARGS...` as its own process on `store` (hash embedder)."""
    return subprocess.Popen([sys.executable, "-m", "newsdesk.cli", *args], cwd=ROOT, env=cli_env(store, **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(store: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    process = newsdesk(store, *args, **extra)
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def snapshot(store: Path) -> dict[str, Any]:
    """What must match between two stores: stats, article versions, every row id, and consistency."""
    from newsdesk.adapters.chroma_store import ChromaStore, connect

    opened = ChromaStore(connect(path=store), folder=store)
    try:
        stats = opened.stats()
        check = opened.check()
        rows = {name: sorted(collection.get(include=[])["ids"])
                for name, collection in (("chunks", opened._chunks), ("sentences", opened._sentences))}
        return {"stats": stats, "articles": {a.id: v for a, v in opened.iter_articles()}, "rows": rows,
                "orphans": check.orphans, "missing": check.missing}
    finally:
        opened.client.close()


def answers(store: Path, questions: list[tuple[str, dict[str, str]]]) -> list[dict[str, Any]]:
    """Each question's JSON answer (timing left out), asked in this process as `newsdesk ask` would."""
    from newsdesk.api.request_models import parse_query
    from newsdesk.app import build_service
    from newsdesk.settings import Settings

    service = build_service(Settings(store=store, embedder="hash", abstain_threshold=0.0))
    try:
        out = []
        for question, filters in questions:
            body = service.ask(parse_query({"question": question, "filters": filters or None})).to_dict()
            body.pop("timing_ms")
            out.append(body)
        return out
    finally:
        service.store.client.close()  # type: ignore[attr-defined]
