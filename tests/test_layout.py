"""The package's layout holds: no import loops, lower layers never import higher ones, SDKs only in adapters."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module may import its own layer and any lower one, never a higher one.
LAYERS: list[tuple[str, ...]] = [
    ("newsdesk.errors", "newsdesk.models", "newsdesk.settings", "newsdesk.ports"),
    ("newsdesk.ingest",),
    ("newsdesk.training",),
    ("newsdesk.index",),
    ("newsdesk.snapshots",),
    ("newsdesk.answer",),
    ("newsdesk.service",),
    ("newsdesk.api", "newsdesk.eval.score", "newsdesk.observability"),
    ("newsdesk.adapters",),
    ("newsdesk.app",),
    ("newsdesk.cli", "newsdesk.eval.run", "handler"),
]
SDKS = ("chromadb", "sentence_transformers", "langchain", "langchain_core", "langchain_aws", "boto3", "botocore",
        "slack_bolt", "slack_sdk", "torch", "transformers", "onnxruntime", "tokenizers")
HEAVY = ("torch", "sentence_transformers", "transformers", "langchain")


def modules() -> dict[str, Path]:
    found = {"handler": ROOT / "handler.py"}
    for base, package in ((ROOT / "newsdesk", "newsdesk"), (ROOT / "ingest", "newsdesk.ingest")):
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def imports(path: Path, name: str) -> set[str]:
    """Every module named by an import anywhere in the file (inside functions too)."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def layer(module: str) -> int:
    for index, names in enumerate(LAYERS):
        if any(module == n or module.startswith(n + ".") for n in names):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in tests/test_layout.py")


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {i for i in imports(path, name) if i in known and i != name} for name, path in known.items()}


def test_every_module_has_a_layer() -> None:
    for name in modules():
        if name not in {"newsdesk", "newsdesk.eval"}:
            layer(name)


def test_lower_layers_never_import_higher_ones() -> None:
    broken = [f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})"
              for a, targets in graph().items() if a not in {"newsdesk", "newsdesk.eval"}
              for b in targets if b not in {"newsdesk", "newsdesk.eval"} and layer(b) > layer(a)]
    assert broken == []


def test_answer_and_snapshots_never_import_each_other() -> None:
    """Both stand on the index; answering never depends on how snapshots are published, nor the reverse."""
    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    crossed = [f"{a} imports {b}" for a, targets in graph().items() for b in targets
               if {package(a), package(b)} == {"newsdesk.answer", "newsdesk.snapshots"}]
    assert crossed == []


def test_no_import_loops() -> None:
    edges = graph()
    loops: list[list[str]] = []

    def visit(node: str, path: list[str], on_path: set[str], done: set[str]) -> None:
        for target in sorted(edges.get(node, ())):
            if target in on_path:
                loops.append([*path[path.index(target):], target])
            elif target not in done:
                visit(target, [*path, target], on_path | {target}, done)
        done.add(node)

    done: set[str] = set()
    for start in sorted(edges):
        if start not in done:
            visit(start, [start], {start}, done)
    # A package's __init__ is imported with each of its modules: only loops between real modules count.
    assert [loop for loop in loops if not any(m in {"newsdesk", "newsdesk.eval"} for m in loop)] == []


def test_only_adapters_import_sdks() -> None:
    offenders = []
    for name, path in modules().items():
        if name.startswith("newsdesk.adapters"):
            continue
        for imported in imports(path, name):
            if imported.split(".")[0] in SDKS:
                offenders.append(f"{name} imports {imported}")
    assert offenders == []


@pytest.mark.parametrize("module", ["handler", "newsdesk.api.http", "newsdesk.service", "newsdesk.app",
                                    "newsdesk.adapters.onnx_embedder", "newsdesk.adapters.chroma_store",
                                    "newsdesk.adapters.s3_snapshot", "newsdesk.snapshots.snapshot_store"])
def test_the_chat_path_imports_no_heavy_library(module: str) -> None:
    """With the ONNX embedder (the Lambda image's), the chat path never loads torch, transformers or LangChain."""
    code = (f"import sys, {module}; "
            f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[0].startswith({HEAVY!r}))))")
    env = {**os.environ, "NEWSDESK_EMBEDDER": "onnx"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert result.stdout.strip() == ""
