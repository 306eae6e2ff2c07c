"""Ingest speed next to the LangChain tutorial peer, and memory on a long generated stream.

    .venv/bin/python bench/ingest.py ../shared/eval/newsqa/corpus.jsonl --limit 150   # the 150-story slice
    .venv/bin/python bench/ingest.py ../shared/eval/newsqa/corpus.jsonl               # all 781 stories
    .venv/bin/python bench/ingest.py --stream 100000 --embedder hash                  # memory, 100,000 lines

Speed: each side is a whole new process, as a user runs it (imports and model load included), writing the
same stories into a fresh store; the clock runs from spawn to exit. The peer is bench/peer_langchain.py
--ingest-only (RecursiveCharacterTextSplitter(1000, 200), HuggingFaceEmbeddings on the same packaged
all-MiniLM-L6-v2, langchain-chroma, batches of 256 chunks). Newsdesk is `newsdesk ingest FILE --store DIR`
with the default settings (every NEWSDESK_* variable removed; --env adds some back for experiments).
With --repeat the two alternate, so a busy machine slows both alike; medians are printed.

Stream: a JSONL stream of synthetic articles, generated on the fly and piped into `newsdesk ingest -`.
The child's resident memory is sampled from /proc while it runs; its peak comes from wait4's rusage.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PEAK_LIMIT_MB = 1536


def clean_env(extra: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(item.split("=", 1) for item in extra)  # type: ignore[misc]
    return {**env, "HF_HUB_OFFLINE": "1"}


def run_child(argv: list[str], env: dict[str, str], stdin: Any = None, log: Path | None = None,
              feed: Any = None) -> dict[str, Any]:
    """Spawn, wait, and return wall seconds, CPU seconds, peak RSS (MB), stdout and RSS samples [(s, MB, fed)]."""
    err = log.open("w") if log else subprocess.DEVNULL
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=err)
    samples: list[tuple[float, float, int, float, float]] = []
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(child.stdout.read() if child.stdout else b""), daemon=True)
    reader.start()
    feeder = threading.Thread(target=feed, args=(child,), daemon=True) if feed else None
    if feeder:
        feeder.start()
    fed = getattr(feed, "fed", lambda: 0)
    while True:  # wait4, not poll(): its rusage holds the child's own peak RSS
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        total, anon, mapped = rss(child.pid)
        samples.append((time.perf_counter() - started, total, fed(), anon, mapped))
        time.sleep(0.5)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    if feeder:
        feeder.join()
    if log:
        err.close()  # type: ignore[union-attr]
    return {"seconds": wall, "peak_mb": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime,
            "stdout": b"".join(out).decode(), "samples": samples,
            "returncode": child.returncode}


def rss(pid: int) -> tuple[float, float, float]:
    """Resident MB of the process (VmRSS), of its own memory (RssAnon) and of files it maps (RssFile: libraries,
    part files); zeros once it has gone."""
    fields = {"VmRSS:": 0.0, "RssAnon:": 0.0, "RssFile:": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":")[0] + ":"
            if key in fields:
                fields[key] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return fields["VmRSS:"], fields["RssAnon:"], fields["RssFile:"]


def rss_mb(pid: int) -> float:
    return rss(pid)[0]


# -- speed: Newsdesk next to the peer ------------------------------------------------------------
def slice_corpus(corpus: Path, limit: int | None, into: Path) -> tuple[Path, int]:
    lines = [line for line in corpus.open(encoding="utf-8") if line.strip()]
    chosen = lines[:limit] if limit else lines
    path = into / "stories.jsonl"  # a temporary slice for the run, deleted at the end
    path.write_text("".join(chosen), encoding="utf-8")
    return path, len(chosen)


def time_peer(stories: Path, store: Path, env: dict[str, str], log: Path) -> dict[str, Any]:
    got = run_child([sys.executable, "bench/peer_langchain.py", str(stories), "--ingest-only", "--store", str(store)],
                    env, log=log)
    if got["returncode"]:
        raise SystemExit(f"the peer failed:\n{log.read_text()[-3000:]}")
    return got


def time_newsdesk(stories: Path, store: Path, env: dict[str, str], log: Path) -> dict[str, Any]:
    got = run_child([str(BIN / "newsdesk"), "ingest", str(stories), "--store", str(store), "--json"], env, log=log)
    if got["returncode"]:
        raise SystemExit(f"newsdesk ingest failed:\n{log.read_text()[-3000:]}")
    report = json.loads(got["stdout"].strip().splitlines()[-1])
    got["report"] = report
    return got


def speed(opts: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        stories, n = slice_corpus(opts.corpus, opts.limit, work)
        env = clean_env(opts.env)
        print(f"{n} stories from {opts.corpus}; {opts.repeat} alternating run(s) each; fresh stores", flush=True)
        peer_s: list[float] = []
        ours_s: list[float] = []
        for run in range(opts.repeat):
            for side in (("newsdesk", "peer") if run % 2 else ("peer", "newsdesk")):
                store = work / f"{side}-{run}"
                if side == "peer":
                    if opts.skip_peer:
                        continue
                    got = time_peer(stories, store, clean_env([]), work / "peer.log")
                    peer_s.append(got["seconds"])
                    detail = f"ingest only {json.loads(got['stdout'].strip().splitlines()[-1])['ingest_seconds']:.1f} s"
                else:
                    got = time_newsdesk(stories, store, env, work / "newsdesk.log")
                    ours_s.append(got["seconds"])
                    r = got["report"]
                    detail = (f"added {r['added']}, failed {r['failed']}, chunks {r['chunks']}, "
                              f"summary {r['seconds']:.1f} s")
                print(f"  run {run + 1} {side:9} {got['seconds']:7.1f} s  {n / got['seconds']:5.2f} articles/s  "
                      f"cpu {got['cpu']:6.1f} s  peak {got['peak_mb']:5.0f} MB  ({detail})", flush=True)
                shutil.rmtree(store, ignore_errors=True)
        ours = statistics.median(ours_s)
        print(f"newsdesk ingest: {ours:.1f} s, {n / ours:.2f} articles/s (median of {len(ours_s)})")
        if peer_s:
            peer = statistics.median(peer_s)
            print(f"LangChain peer:  {peer:.1f} s, {n / peer:.2f} articles/s (median of {len(peer_s)})")
            print(f"ratio: {peer / ours:.2f}x the peer's articles/s (target >= 2.0)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- memory: a long generated stream -------------------------------------------------------------
SYLLABLES = ["ka", "lo", "mi", "ren", "to", "sa", "vi", "dor", "an", "el", "ru", "po", "nex", "ta", "gu", "bri"]
OUTLETS = ["Harbor Gazette", "Valley Courier", "Regional Wire", "Port Alder Radio"]


def synthetic_lines(count: int, sentences: int, seed: int = 15) -> Iterator[bytes]:
    """`count` JSONL articles of made-up words (about `sentences` sentences each), the same for a seed."""
    rng = random.Random(seed)
    words = ["".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(3000)]
    for i in range(count):
        body = " ".join(
            " ".join(rng.choices(words, k=rng.randint(6, 22))).capitalize() + "."
            for _ in range(max(1, sentences + rng.randint(-2, 2)))
        )
        record = {"id": f"stream-{i}", "title": " ".join(rng.choices(words, k=5)).capitalize(), "text": body,
                  "source": OUTLETS[i % len(OUTLETS)], "published_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"}
        yield (json.dumps(record) + "\n").encode()


class Feeder:
    """Writes the generated stream into the child's stdin, showing progress and an ETA on a terminal."""

    def __init__(self, lines: int, sentences: int) -> None:
        self.lines, self.sentences, self.count = lines, sentences, 0
        self.tty = sys.stderr.isatty()

    def fed(self) -> int:
        return self.count

    def __call__(self, child: subprocess.Popen[bytes]) -> None:
        assert child.stdin is not None
        started = shown = time.perf_counter()
        try:
            for line in synthetic_lines(self.lines, self.sentences):
                child.stdin.write(line)
                self.count += 1
                now = time.perf_counter()
                if self.tty and now - shown >= 1.0:
                    shown = now
                    rate = self.count / (now - started)
                    eta = (self.lines - self.count) / rate if rate else 0.0
                    print(f"\r  fed {self.count:,}/{self.lines:,} lines, {rate:,.0f}/s, ETA {eta / 60:4.1f} min, "
                          f"RSS {rss_mb(child.pid):,.0f} MB ", end="", file=sys.stderr, flush=True)
            child.stdin.close()
        except BrokenPipeError:
            pass
        if self.tty:
            print(file=sys.stderr)


def stream(opts: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    try:
        extra = [f"NEWSDESK_EMBEDDER={opts.embedder}"] if opts.embedder else []
        env = clean_env(extra + opts.env)
        feeder = Feeder(opts.stream, opts.sentences)
        print(f"streaming {opts.stream:,} generated JSONL lines (~{opts.sentences} sentences each) into "
              f"`newsdesk ingest -`{' with NEWSDESK_EMBEDDER=' + opts.embedder if opts.embedder else ''}", flush=True)
        got = run_child([str(BIN / "newsdesk"), "ingest", "-", "--store", str(work / "store"), "--json"], env,
                        stdin=subprocess.PIPE, log=work / "stream.log", feed=feeder)
        if got["returncode"]:
            raise SystemExit(f"newsdesk ingest failed:\n{(work / 'stream.log').read_text()[-3000:]}")
        report = json.loads(got["stdout"].strip().splitlines()[-1])
        report.pop("errors", None)
        print(f"report: {json.dumps(report)}")
        print(f"wall {got['seconds']:.0f} s, {opts.stream / got['seconds']:.0f} articles/s")
        samples = got["samples"]
        print("resident memory while the stream was read (share of lines fed: RSS):")
        marks = [(share, next((s for s in samples if s[2] >= share * opts.stream), samples[-1]))
                 for share in (0.1, 0.25, 0.5, 0.75, 0.9)]
        for share, at in marks:
            print(f"  {share:4.0%}  {at[1]:7.0f} MB  (own {at[3]:.0f} MB, mapped files {at[4]:.0f} MB; t={at[0]:.0f} s)")
        tail = [s for s in samples if s[2] >= opts.stream]
        top = max(tail or samples, key=lambda s: s[1])
        print(f"  then, after the last line (store, derived data): up to {top[1]:.0f} MB "
              f"(own {top[3]:.0f} MB, mapped files {top[4]:.0f} MB)")
        (_, first), (_, last) = marks[1], marks[-1]
        if last[2] > first[2]:
            slope = (last[1] - first[1]) / (last[2] - first[2]) * 10_000
            print(f"growth from 25% to 90% of the stream: {slope:+.1f} MB per 10,000 articles")
        verdict = "ok" if got["peak_mb"] <= PEAK_LIMIT_MB else "OVER"
        print(f"peak RSS {got['peak_mb']:.0f} MB (limit {PEAK_LIMIT_MB} MB: {verdict})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, nargs="?", help="a JSONL corpus (id, title, text, ...)")
    parser.add_argument("--limit", type=int, help="only the first N stories (150 for the quick slice)")
    parser.add_argument("--repeat", type=int, default=1, help="alternating runs of each side (median)")
    parser.add_argument("--skip-peer", action="store_true", help="time Newsdesk alone")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the Newsdesk process, e.g. NEWSDESK_CHUNK_VECTORS=encoded")
    parser.add_argument("--stream", type=int, metavar="LINES", help="memory run on a generated stream of LINES")
    parser.add_argument("--sentences", type=int, default=6, help="sentences per generated article")
    parser.add_argument("--embedder", help="NEWSDESK_EMBEDDER for the stream run (hash keeps it short)")
    opts = parser.parse_args()
    if opts.stream:
        stream(opts)
    elif opts.corpus:
        speed(opts)
    else:
        parser.error("give a corpus to time, or --stream LINES")


if __name__ == "__main__":
    main()
