"""A segment's catalog: the article ids and versions it holds and the source keys it set (the writer's map)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Catalog:
    versions: Mapping[str, str] = field(default_factory=dict)  # article id -> version
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # object key -> its ids (empty: removed)

    def to_json(self) -> bytes:
        return json.dumps({"format": 1, "versions": dict(sorted(self.versions.items())),
                           "sources": {k: list(v) for k, v in sorted(self.sources.items())}},
                          separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Catalog:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != 1:
            raise ValueError("not a catalog Newsdesk writes")
        return cls({str(k): str(v) for k, v in data["versions"].items()},
                   {str(k): tuple(str(i) for i in v) for k, v in data["sources"].items()})


def catalog_of(folder: Path) -> Catalog | None:
    """A local index folder's catalog, read from the lexical index saved for its published revision (no Chroma
    needed); None when that is missing or stale (the writer then reads the segment itself)."""
    from newsdesk.index.lexical import LexicalIndex
    from newsdesk.index.lock import read_revision
    from newsdesk.snapshots.s3_events import SOURCES_FILE

    revision = read_revision(folder)
    lexical = LexicalIndex.load(folder, revision) if revision else None
    if lexical is None:
        return None
    mapped = json.loads((folder / SOURCES_FILE).read_text()) if (folder / SOURCES_FILE).is_file() else {}
    return Catalog({h.article_id: h.version for h in lexical.hits},
                   {str(k): tuple(str(i) for i in v) for k, v in mapped.items()})
