"""A segment's catalog: the article ids and versions it holds and the source keys it set (the writer's map)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from newsdesk.index.snapshots import Segment


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


@dataclass
class Live:
    """What the segments of a version hold together: each visible article's segment and version, and the
    source map (later segments win for a key)."""

    articles: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (segment name, version)
    sources: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, segments: Sequence[Segment], catalogs: Mapping[str, Catalog]) -> Live:
        live = cls()
        for segment in segments:  # oldest first
            catalog = catalogs[segment.name]
            for article_id, version in catalog.versions.items():
                if article_id not in segment.hidden:
                    live.articles[article_id] = (segment.name, version)
            for key, ids in catalog.sources.items():
                if ids:
                    live.sources[key] = list(ids)
                else:
                    live.sources.pop(key, None)
        return live
