"""A deterministic embedder for tests: hashed content words, so shared words mean similar vectors."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from newsdesk.index.lexical import terms
from newsdesk.models import Matrix


class HashEmbedder:
    name = "hash-v2"

    def __init__(self, dimension: int = 384) -> None:
        self.dimension = dimension

    def embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), self.dimension), np.float32)
        for row, text in enumerate(texts):
            for word in terms(text):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dimension] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out
