"""Embedder adapter: the ONNX export of the sentence encoder on onnxruntime + tokenizers (no torch at run time)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from newsdesk.errors import ConfigError
from newsdesk.models import Matrix

MODEL_FILE, INT8_FILE, TOKENIZER_FILE, INFO_FILE = "model.onnx", "model-int8.onnx", "tokenizer.json", "newsdesk-onnx.json"
LEGACY_NAME = "all-MiniLM-L6-v2"  # exports made before the info file named their model were of the base model


def has_export(folder: Path, name: str, int8: bool = False) -> bool:
    """Whether `newsdesk export-onnx` has written model `name` into `folder` (an export of another model is none)."""
    try:
        exported = json.loads((folder / INFO_FILE).read_text()).get("name", LEGACY_NAME)
    except (OSError, ValueError):
        return False
    return exported == name and (folder / (INT8_FILE if int8 else MODEL_FILE)).is_file()


class OnnxEmbedder:
    # Named as its SentenceTransformerEmbedder (the float export's vectors are the same), "-int8" added for the
    # quantized model.
    dimension = 384

    def __init__(self, folder: Path, batch_size: int = 32, threads: int = 0, int8: bool = False) -> None:
        """`threads`: onnxruntime's intra-op threads (0: one per core). `int8`: the dynamically quantized
        model (`newsdesk export-onnx` writes it), about twice as fast, with slightly different vectors."""
        import onnxruntime
        from tokenizers import Tokenizer

        model = folder / (INT8_FILE if int8 else MODEL_FILE)
        if not model.exists():
            raise ConfigError(
                f"no ONNX model at {model}: run `newsdesk export-onnx --out {folder}` "
                "(or set NEWSDESK_ONNX_DIR to where it was exported)"
            )
        info = json.loads((folder / INFO_FILE).read_text())
        # int8 vectors differ a little: an index made by the float model is re-indexed, never mixed with them.
        self.name = str(info.get("name", LEGACY_NAME)) + ("-int8" if int8 else "")
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(max_length=int(info["max_length"]))
        self.tokenizer.no_padding()  # each batch is padded to its own longest text in `_run`
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        # Worker threads spin while a run lasts (a question's run is ~3 ms: waking sleeping threads cost ~0.6 ms
        # of it) and stop the moment it returns: left spinning, they held the core that Chroma's queries run on
        # next (retrieve.py; interleaved A/B on NewsQA: answer p50 16.8 -> 16.0 ms without spinning at all).
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        options.add_session_config_entry("session.force_spinning_stop", "1")
        self.session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), self.dimension), np.float32)
        if not len(texts):
            return out
        # One tokenizer pass; batches of texts of about the same token count, so padding costs little.
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._run([ids[i] for i in rows])
        return out

    def _run(self, batch: list[list[int]]) -> Matrix:
        width = max(len(row) for row in batch)
        ids = np.zeros((len(batch), width), np.int64)
        mask = np.zeros((len(batch), width), np.int64)
        for r, row in enumerate(batch):
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        # Mean pooling over real tokens, then L2 normalisation: what the sentence-transformers model does.
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
