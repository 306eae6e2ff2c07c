"""Which model made an index: answering from vectors of two models would be silently wrong, so it is checked."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from newsdesk.errors import IndexModelMismatch
from newsdesk.ingest.pipeline import ChunkConfig, index_salt
from newsdesk.ports import VectorStore

SAMPLE = 3  # stored articles checked: a mixed index (an interrupted reindex) is caught on most of them


def check_made_by(store: VectorStore, embedder_name: str, chunking: ChunkConfig, known: Sequence[str] = ()) -> None:
    """Raise IndexModelMismatch unless the index's articles were indexed by `embedder_name` with these chunk settings.

    Every stored version is a hash over the article and how it was indexed (ingest/pipeline.py, `index_salt`), so
    recomputing it for a few stored articles tells whether this model made them, with nothing else stored.
    """
    salt = index_salt(embedder_name, chunking)
    for article, version in itertools.islice(store.iter_articles(), SAMPLE):
        if article.fingerprint(salt) == version:
            continue
        made_by = next((f"{name}{suffix}" for name in known for suffix in ("", "-int8")
                        if article.fingerprint(index_salt(name + suffix, chunking)) == version), None)
        by = f"the {made_by} model" if made_by else "another model or other chunk settings"
        if made_by is not None and made_by.removesuffix("-int8") == embedder_name.removesuffix("-int8"):
            raise IndexModelMismatch(
                f"this index was made by {made_by}, and this process embeds with {embedder_name}: the same model, but "
                "the int8 ONNX export and the full-precision model give slightly different vectors. Embed as the "
                f"index was made (NEWSDESK_EMBEDDER={'onnx' if made_by.endswith('-int8') else 'sentence-transformers'}"
                "), or rebuild it with `newsdesk reindex`.")
        raise IndexModelMismatch(
            f"this index was made by {by}, and Newsdesk now embeds with {embedder_name}: its vectors cannot be "
            "compared with the new ones. Rebuild it with `newsdesk reindex` (or ingest your articles again into a "
            "new --store); for an S3 index, run `newsdesk reindex` on a local copy and publish it in full "
            "(`newsdesk publish`). To keep using the old model, set NEWSDESK_MODEL to it.")
