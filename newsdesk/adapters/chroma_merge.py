"""Compaction's copy: every collection's rows from several embedded Chroma folders into a new one, as stored
(vectors, documents, metadata), leaving out the rows of articles a later segment replaced or deleted."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from newsdesk.adapters.chroma_store import WRITING, connect
from newsdesk.index.article_parts import copy_parts

log = logging.getLogger(__name__)
PAGE = 2000


def merge_folders(sources: Sequence[tuple[Path, frozenset[str]]], target: Path) -> int:
    """Copy `sources` (oldest first, each with the article ids it hides) into a new index at `target`; an article
    held by two sources keeps its newest copy. Returns the rows copied. Nothing is embedded again."""
    client = connect(path=target)
    copied, seen = 0, set[str]()
    try:
        for path, hidden in reversed(sources):
            source = connect(path=path)
            try:
                held: set[str] = set()
                for listed in source.list_collections():
                    collection = source.get_collection(getattr(listed, "name", listed))
                    metadata = {k: v for k, v in (collection.metadata or {}).items() if k != WRITING}
                    metadata["revision"] = uuid.uuid4().hex
                    dest = client.get_or_create_collection(collection.name, embedding_function=None,
                                                           configuration=collection.configuration, metadata=metadata)
                    copied += _copy(collection, dest, hidden | seen, held)
                seen |= held
            finally:
                source.close()
    finally:
        client.close()
    copy_parts(sources, target)  # texts and sentence vectors that embedded folders keep in part files
    log.info("segments merged sources=%d rows=%d target=%s", len(sources), copied, target)
    return copied


def _copy(source: Any, dest: Any, skip: set[str] | frozenset[str], held: set[str]) -> int:
    copied, offset = 0, 0
    while True:
        got = source.get(include=["embeddings", "documents", "metadatas"], limit=PAGE, offset=offset)
        rows = [j for j, meta in enumerate(got["metadatas"]) if str((meta or {}).get("article_id")) not in skip]
        held.update(str((meta or {}).get("article_id")) for meta in got["metadatas"])
        if rows:
            documents = got["documents"]
            dest.add(ids=[got["ids"][j] for j in rows],
                     embeddings=np.asarray(got["embeddings"], np.float32)[rows],
                     metadatas=[got["metadatas"][j] for j in rows],
                     documents=[documents[j] for j in rows] if documents is not None else None)
            copied += len(rows)
        if len(got["ids"]) < PAGE:
            return copied
        offset += PAGE
