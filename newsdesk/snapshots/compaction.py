"""Compaction: fold an index's delta segments into one, or everything into a new base, without embedding again."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsdesk.index.derived import DerivedData
from newsdesk.ports import VectorStore
from newsdesk.settings import DEFAULTS, Settings
from newsdesk.snapshots.catalog import Catalog
from newsdesk.snapshots.snapshots import Segment

TIER = 4  # deltas whose article counts share a power of four form a tier; a full tier becomes one delta
PARTS_BATCH = 2000  # articles per part written while merging (bounds the memory a compaction holds)
# Copies the rows of segment folders (oldest first, each with the article ids it hides) into a new folder.
MergeFolders = Callable[[Sequence[tuple[Path, frozenset[str]]], Path], object]
# Opens (or creates) an embedded index folder: its store and the function that flushes and closes it.
OpenStore = Callable[[Path], tuple[VectorStore, Callable[[], None]]]


@dataclass(frozen=True)
class CompactionPolicy:
    """When to compact (size-tiered, like the part files beside Chroma): `TIER` deltas of the same size tier (by
    article count, in powers of `TIER`) merge into one, so each article is rewritten about once per tier; the
    deltas fold into a new base once their articles (plus the base's hidden ones) pass `fraction` of the base,
    or once there are more than `max_deltas` of them (each is one more search per question)."""

    fraction: float = DEFAULTS.compact_fraction
    max_deltas: int = DEFAULTS.compact_max_deltas

    @classmethod
    def from_settings(cls, settings: Settings) -> CompactionPolicy:
        return cls(settings.compact_fraction, settings.compact_max_deltas)

    def plan(self, segments: Sequence[Segment], force: bool = False) -> tuple[int, int] | None:
        """The run of segments [start, end) to merge into one, or None when the index is compact enough."""
        if not segments or (len(segments) == 1 and not (force and segments[0].hidden)):
            return None
        base, deltas = segments[0], segments[1:]
        changed = sum(d.live for d in deltas) + len(base.hidden)
        if force or changed > self.fraction * max(base.live, 1) or len(deltas) > self.max_deltas:
            return 0, len(segments)
        newest = _tier(deltas[-1].articles)
        run = next((i for i, d in enumerate(reversed(deltas)) if _tier(d.articles) != newest), len(deltas))
        return (len(segments) - run, len(segments)) if run >= TIER else None


def _tier(articles: int) -> int:
    return int(math.log(max(articles, 1), TIER))


def merge_segments(chosen: Sequence[Segment], folders: Mapping[str, Path], catalogs: Mapping[str, Catalog],
                   target: Path, merge: MergeFolders, open_store: OpenStore, base: bool) -> Catalog:
    """Build the merged segment in `target` (rows copied, derived data built from them) and return its catalog.
    `base`: it replaces every segment, so source keys it no longer maps are dropped rather than kept as removals."""
    from newsdesk.index.article_parts import ArticleParts

    merge([(folders[s.name], s.hidden) for s in chosen if s.files], target)
    if any(ArticleParts.present(folders[s.name]) for s in chosen if s.files):
        _merge_parts(chosen, folders, catalogs, target)
    store, release = open_store(target)
    try:
        DerivedData(store, 0.0).refresh()  # the lexical index and sentence vectors, exact for the merged articles
        versions = {article.id: version for article, version in store.iter_articles()}
    finally:
        release()
    sources: dict[str, tuple[str, ...]] = {}
    for segment in chosen:
        sources.update(catalogs[segment.name].sources)
    if base:
        sources = {key: ids for key, ids in sources.items() if ids}
    return Catalog(versions, sources)


def _merge_parts(chosen: Sequence[Segment], folders: Mapping[str, Path], catalogs: Mapping[str, Catalog],
                 target: Path) -> None:
    """The live articles' texts and sentence vectors, from the segments' part files into the merged folder's."""
    from newsdesk.index.article_parts import ArticleParts, Written

    merged, batch, done = ArticleParts.create(target), list[Written](), set[str]()
    for segment in reversed([s for s in chosen if s.files and ArticleParts.present(folders[s.name])]):
        parts = ArticleParts(folders[segment.name])  # newest first: an article's newest copy wins
        for article_id, version in catalogs[segment.name].versions.items():
            text = parts.text(article_id, version)
            if article_id in segment.hidden or article_id in done or text is None:
                continue
            rows = parts.sentences(article_id, version, text) or []
            spans = np.array([(r.sentence.index, r.sentence.start, r.sentence.end) for r in rows], np.int32)
            vectors = np.stack([r.vector for r in rows]) if rows else np.zeros((0, 0), np.float32)
            batch.append(Written(article_id, version, text, spans.reshape(-1, 3), vectors))
            done.add(article_id)
            if len(batch) >= PARTS_BATCH:
                merged.add(batch)
                batch = []
    merged.add(batch)
