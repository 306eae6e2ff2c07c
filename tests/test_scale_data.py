"""bench/scale.py's articles: copies of real stories whose offsets, vectors and chunks are what ingest would make."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from newsdesk.adapters.chroma_store import ChromaStore, connect
from newsdesk.adapters.hash_embedder import HashEmbedder
from newsdesk.models import Filters
from tests.conftest import EXAMPLES, ROOT

sys.path.insert(0, str(ROOT / "bench"))

from scale_data import embed_templates, synthetic  # noqa: E402


def test_copies_keep_offsets_and_differ_from_their_story(tmp_path: Path) -> None:
    templates = embed_templates(EXAMPLES, HashEmbedder(), None, tmp_path / "cache")
    assert len(templates) >= 5
    again = embed_templates(EXAMPLES, HashEmbedder(), None, tmp_path / "cache")  # from the cache, equal
    assert [t.article for t in again] == [t.article for t in templates]
    assert all(np.array_equal(a.vectors, b.vectors) for a, b in zip(again, templates, strict=True))

    copies = list(synthetic(templates, 0, 2 * len(templates)))
    assert len({c.article.id for c in copies}) == len(copies) and len({c.version for c in copies}) == len(copies)
    for number, copy in enumerate(copies):
        template = templates[number % len(templates)]
        assert len(copy.article.text) == len(template.article.text) and copy.article.text != template.article.text
        assert all(copy.article.text[s.start : s.end] == s.text for s in copy.sentences)
        assert np.allclose(np.linalg.norm(copy.sentence_vectors, axis=1), 1.0, atol=1e-5)
        cosine = np.sum(copy.sentence_vectors * template.vectors, axis=1)
        assert cosine.min() > 0.9  # lightly moved
        assert len(copy.chunks) == len(copy.chunk_vectors) >= 1

    store = ChromaStore(connect(path=tmp_path / "index"), folder=tmp_path / "index")
    store.write_many(copies)
    assert store.stats().articles == len(copies) and store.check().ok
    assert store.query_sentences(copies[0].sentence_vectors[0], 1, Filters())[0].article_id == copies[0].article.id
