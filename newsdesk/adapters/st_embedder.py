"""Embedder adapter: a sentence-transformers model (the shipped encoder by default) on torch, fully offline."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from newsdesk.adapters.encoders import EncoderModel
from newsdesk.models import Matrix


class SentenceTransformerEmbedder:
    dimension = 384

    def __init__(self, model: EncoderModel, batch_size: int = 64) -> None:
        self.name = model.name
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar in CLI output

        # The shipped model is stored in half precision (half the size); it runs in float32.
        self.model = SentenceTransformer(str(model.path), device="cpu", model_kwargs={"dtype": "float32"})
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> Matrix:
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)
