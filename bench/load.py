"""Load on `newsdesk serve`: N concurrent clients for a fixed time, without and then with `newsdesk ingest` running.

    .venv/bin/python bench/load.py                       # 8 clients, 20 s a phase, hash embedder, examples/articles
    .venv/bin/python bench/load.py --clients 16 --seconds 60 --embedder onnx

Each client posts questions (a third of them filtered) one after another; a request is an error unless it gets a
200 with a JSON answer. During the second phase a writer ingests edited copies of the articles in a loop, so the
server keeps swapping in new revisions of the index. Exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS: list[dict[str, Any]] = [
    {"question": "How many homes lost power in the storm?"},
    {"question": "What did the council decide about the bridge?", "filters": {"outlet": "Harbor Gazette"}},
    {"question": "When do the early ferry sailings leave?"},
    {"question": "How much did the library renovation cost?"},
    {"question": "What happened after the storm?", "filters": {"published_after": "2024-03-05"}},
    {"question": "Why was the Old Mill Bridge closed?"},
]


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ingests: int = 0
    seconds: float = 0.0

    def row(self) -> str:
        done = sorted(self.latencies) or [float("nan")]
        p95 = done[min(len(done) - 1, int(0.95 * len(done)))]
        rate = len(self.latencies) / self.seconds if self.seconds else 0.0
        return (f"{self.name:<22}{len(self.latencies) + len(self.errors):>9}{len(self.errors):>8}"
                f"{statistics.median(done):>9.1f}{p95:>9.1f}{done[-1]:>9.1f}{rate:>8.1f}{self.ingests:>9}")


def ask(port: int, body: dict[str, Any]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/chat", json.dumps(body).encode(), {"content-type": "application/json"})
        response = conn.getresponse()
        payload = json.loads(response.read())
        if response.status != 200 or "answer" not in payload:
            raise RuntimeError(f"HTTP {response.status}: {str(payload)[:200]}")
    finally:
        conn.close()


def clients(port: int, count: int, seconds: float, phase: Phase) -> None:
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop(n: int) -> None:
        i = n
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                ask(port, QUESTIONS[i % len(QUESTIONS)])
                with lock:
                    phase.latencies.append((time.perf_counter() - started) * 1000)
            except Exception as exc:  # noqa: BLE001 - every failure is counted, whatever it is
                with lock:
                    phase.errors.append(repr(exc)[:200])
            i += 1

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.monotonic() - started


def edited_copies(articles: Path, folder: Path, extra: int) -> list[Path]:
    """Two versions of the articles (plus `extra` generated stories), to ingest in turn: each run changes them all."""
    from newsdesk.ingest.load import load_paths

    from newsdesk.models import Article

    loaded = [a for a in load_paths([str(articles)]) if isinstance(a, Article)]
    files = []
    for version in (1, 2):
        path = folder / f"edit{version}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for a in loaded:
                record = {"id": a.id, "title": a.title, "url": a.url, "source": a.outlet, "published_at": a.published_at,
                          "text": f"{a.text}\nUpdate {version}: the desk checked this story again."}
                out.write(json.dumps({k: v for k, v in record.items() if v is not None}) + "\n")
            for i in range(extra):
                text = " ".join(f"Filler story {i} sentence {j} mentions the harbor, version {version}." for j in range(8))
                out.write(json.dumps({"id": f"filler-{i}", "source": "Filler Times", "text": text}) + "\n")
        files.append(path)
    return files


def newsdesk(env: dict[str, str], *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "newsdesk.cli", *args], cwd=ROOT, env=env, text=True, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase")
    parser.add_argument("--articles", type=Path, default=ROOT / "examples" / "articles")
    parser.add_argument("--extra", type=int, default=40, help="generated stories added to each concurrent ingest")
    parser.add_argument("--embedder", default="hash", choices=["hash", "onnx", "sentence-transformers"])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsdesk-load-"))
    store, port = work / "store", free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}, "NEWSDESK_STORE": str(store),
           "NEWSDESK_EMBEDDER": args.embedder, "NEWSDESK_SNAPSHOT_DIR": str(work / "copies"), "HF_HUB_OFFLINE": "1"}
    if args.embedder == "onnx" and os.environ.get("NEWSDESK_ONNX_DIR"):
        env["NEWSDESK_ONNX_DIR"] = os.environ["NEWSDESK_ONNX_DIR"]
    server = None
    try:
        files = edited_copies(args.articles, work, args.extra)
        subprocess.run([sys.executable, "-m", "newsdesk.cli", "ingest", str(files[0])], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        server = newsdesk(env, "serve", "--port", str(port), stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while True:
            try:
                ask(port, QUESTIONS[0])
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("newsdesk serve did not start") from None
                time.sleep(0.2)

        quiet, busy = Phase("no ingest"), Phase("with ingest running")
        clients(port, args.clients, args.seconds, quiet)
        stop = threading.Event()

        def writer() -> None:
            turn = 1
            while not stop.is_set():
                done = newsdesk(env, "ingest", str(files[turn % 2]), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                _, err = done.communicate()
                if done.returncode:
                    busy.errors.append(f"ingest exit {done.returncode}: {err[-200:]}")
                else:
                    busy.ingests += 1
                turn += 1

        ingesting = threading.Thread(target=writer)
        ingesting.start()
        clients(port, args.clients, args.seconds, busy)
        stop.set()
        ingesting.join()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)

    print(f"{args.clients} clients x {args.seconds:.0f} s per phase against newsdesk serve "
          f"({args.embedder} embedder, {args.articles} + {args.extra} generated stories)")
    print(f"{'phase':<22}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'req/s':>8}{'ingests':>9}")
    for phase in (quiet, busy):
        print(phase.row())
        for error in sorted(set(phase.errors))[:5]:
            print(f"  error: {error}")
    return 1 if quiet.errors or busy.errors else 0


if __name__ == "__main__":
    sys.exit(main())
