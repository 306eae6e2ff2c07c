"""No code from data: a malicious pickle anywhere in an index folder or an S3 snapshot runs nothing."""

from __future__ import annotations

import ast
import pickle
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from newsdesk.ingest.load import load_paths

from newsdesk.app import build_service
from newsdesk.cli import cli
from newsdesk.index.article_parts import POINTER
from newsdesk.index.lexical import CACHE_FILE
from newsdesk.index.sentence_vectors import INDEX_FILE
from newsdesk.models import Query
from newsdesk.settings import Settings
from tests.conftest import EXAMPLES, ROOT

QUESTION = "How many homes lost power in the storm?"
LEGACY = ["newsdesk-lexical.pkl", "newsdesk-sentences.pkl", "newsdesk-sentences-0123456789ab.npy"]
PICKLE_MODULES = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "joblib", "shelve", "marshal"}


class Payload:
    """Unpickling this creates the marker file: what an attacker's code would do, harmlessly."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str, str]]:
        return open, (self.marker, "w")


def payload(marker: Path) -> bytes:
    return pickle.dumps(Payload(marker))


def test_the_payload_runs_when_unpickled(tmp_path: Path) -> None:
    """So the tests below would see it: unpickling the payload does create the marker."""
    marker = tmp_path / "marker"
    pickle.loads(payload(marker)).close()
    assert marker.exists()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the sample articles (hash embedder) with its derived files, built once."""
    folder = tmp_path_factory.mktemp("built") / "index"
    service = build_service(Settings.from_env({}, embedder="hash", store=folder))
    assert service.ingest(load_paths([str(EXAMPLES)])).failed == 0
    service.store.client.close()  # type: ignore[attr-defined]
    assert (folder / CACHE_FILE).exists() and (folder / POINTER).exists()
    return folder


def derived_data_files(folder: Path) -> list[Path]:
    """Every file the lexical index and sentence vectors are read from, besides their two JSON pointers."""
    files = [p for p in folder.glob("newsdesk-lexical-*/*") if p.is_file()] + list(folder.glob("newsdesk-sentences-*"))
    assert len(files) >= 7, files  # bm25s' five files and our two (sentence vectors stay in the part files)
    return files


def poison(folder: Path, where: str, marker: Path) -> list[Path]:
    """Replace (or add) files with the payload; returns the paths written."""
    if where == "old names":  # an index left by the pickle-writing version: only the old files
        for path in [folder / CACHE_FILE, folder / INDEX_FILE, *derived_data_files(folder)]:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        for old in folder.glob("newsdesk-lexical-*"):
            shutil.rmtree(old)
        targets = [folder / name for name in LEGACY]
    elif where == "pointers":
        targets = [folder / CACHE_FILE, folder / INDEX_FILE, *(folder / name for name in LEGACY)]
    else:  # the data files the pointers name
        targets = derived_data_files(folder)
    for path in targets:
        path.write_bytes(payload(marker))
    return targets


@pytest.fixture(params=["old names", "pointers", "data files"])
def poisoned(request: pytest.FixtureRequest, built: Path, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    folder, marker = tmp_path / "index", tmp_path / "marker"
    shutil.copytree(built, folder)
    poison(folder, request.param, marker)
    yield folder, marker


def test_newsdesk_ask_runs_no_pickle_and_still_answers(poisoned: tuple[Path, Path]) -> None:
    folder, marker = poisoned
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--store", str(folder)], env={"NEWSDESK_EMBEDDER": "hash"})
    assert result.exit_code == 0, result.output
    assert "homes" in result.output
    assert not marker.exists()
    assert not any((folder / name).exists() for name in LEGACY)  # rebuilt in data formats; the pickles deleted


def test_the_service_runs_no_pickle_and_still_answers(poisoned: tuple[Path, Path]) -> None:
    folder, marker = poisoned
    service = build_service(Settings.from_env({}, embedder="hash", abstain_threshold=0.0, store=folder))
    answer = service.ask(Query(QUESTION))
    assert any("homes" in c.sentence for c in answer.citations)
    assert not marker.exists()


@pytest.mark.server
@pytest.mark.usefixtures("aws_env")
def test_a_snapshot_crafted_by_a_bucket_writer_runs_no_pickle(built: Path, tmp_path: Path, moto_url: str) -> None:
    """Checksums stop changes after publish; someone who can write the bucket can also write a manifest, so the
    query functions must never unpickle what a snapshot holds: pickles at every derived file's name, published."""
    import boto3

    from newsdesk.app import index_blobs
    from newsdesk.snapshots.snapshots import publish, read_latest

    boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1").create_bucket(Bucket="crafted")
    folder, marker = tmp_path / "index", tmp_path / "marker"
    shutil.copytree(built, folder)
    poison(folder, "data files", marker)
    poison(folder, "pointers", marker)
    settings = Settings.from_env({}, embedder="hash", abstain_threshold=0.0, s3_endpoint_url=moto_url,
                                 index_bucket="crafted", snapshot_dir=tmp_path / "snapshots")
    blobs = index_blobs(settings)
    publish(blobs, folder, after=read_latest(blobs))

    answer = build_service(settings).ask(Query(QUESTION))  # a fresh query container
    assert any("homes" in c.sentence for c in answer.citations)
    assert not marker.exists()


def test_chromas_own_pickle_file_is_decoded_as_data_only(built: Path, tmp_path: Path) -> None:
    """Chroma's HNSW segments may hold `index_metadata.pickle`; chromadb's Rust reader decodes it without running
    anything (it fails on the payload's global reference). This keeps that true across chromadb upgrades.

    The command must fail, and fail there: an `ask` that stopped earlier for another reason would never read the
    file (the marker would be absent for nothing), and one that succeeded would mean chromadb no longer reads it."""
    folder, marker = tmp_path / "index", tmp_path / "marker"
    shutil.copytree(built, folder)
    segments = [p for p in folder.iterdir() if p.is_dir() and (p / "header.bin").exists()]
    assert segments
    for segment in segments:
        (segment / "index_metadata.pickle").write_bytes(payload(marker))
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--store", str(folder)], env={"NEWSDESK_EMBEDDER": "hash"})
    assert result.exit_code == 1, result.output
    refusal = f"{result.exception} {result.output}"
    assert "deserializing pickle file" in refusal and "unresolved global reference" in refusal, refusal
    assert not marker.exists()


# -- the source: no pickle module anywhere, and numpy never asked to unpickle -----------------------------
def sources() -> list[Path]:
    found = [*sorted((ROOT / "newsdesk").rglob("*.py")), *sorted((ROOT / "ingest").rglob("*.py")), ROOT / "handler.py"]
    assert len(found) > 30
    return found


def test_no_module_imports_pickle() -> None:
    offenders = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names  # type: ignore[attr-defined]
                          if n.split(".")[0] in PICKLE_MODULES]
    assert offenders == []


def test_every_array_load_refuses_pickles() -> None:
    """np.load and bm25s' BM25.load are called with allow_pickle=False, spelled out (never a default)."""
    calls, offenders = 0, []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load"):
                continue
            owner = ast.unparse(node.func.value)
            if owner not in {"np", "numpy", "bm25s.BM25", "BM25"}:
                continue
            calls += 1
            flag = next((k.value for k in node.keywords if k.arg == "allow_pickle"), None)
            if not (isinstance(flag, ast.Constant) and flag.value is False):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert offenders == []
    assert calls >= 3  # the lexical index (bm25s, IDF weights) and the sentence vectors
