"""A read-only VectorStore over an index's segments (a base and small deltas): every query fans out to each
segment and the hits are merged by score; an article a later segment replaced or deleted never shows."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsdesk.errors import StoreUnavailable
from newsdesk.index.lexical import Lexical, LexicalIndex
from newsdesk.index.sentence_vectors import SentenceVectors
from newsdesk.models import Article, Filters, Hit, IndexedArticle, Matrix, StoredSentence, StoreStats
from newsdesk.ports import VectorStore
from newsdesk.snapshots.lexical_segments import SegmentedLexical

log = logging.getLogger(__name__)
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="newsdesk-segments")
RECENT_ARTICLES = 256  # articles from recent `articles` calls: `sentences` reads their text from here


@dataclass(frozen=True)
class Part:
    """One opened segment: its store, its folder (with its own derived files) and the article ids it hides."""

    name: str
    store: VectorStore
    folder: Path
    hidden: frozenset[str] = frozenset()


class SegmentedStore:
    """Queries go to every part; derived data for all of them together is prepared in `view` (a local folder).

    Build it off the request path (it loads the lexical index of each part it has not seen): a query container
    does so on its background thread before swapping it in.
    """

    def __init__(self, parts: Sequence[Part], view: Path,
                 loaded: MutableMapping[str, tuple[str, LexicalIndex]] | None = None) -> None:
        """`loaded`: segment name -> (revision, lexical index) kept from an earlier version (segments never change:
        a new version with one more delta reloads only that delta's index); filled in here."""
        if not parts:
            raise StoreUnavailable("an index version with no segments holds no articles: run `newsdesk publish`")
        self.parts = list(parts)
        self.view = view
        self._where: dict[str, int] = {}  # live article id -> index into parts
        self._vectors: list[SentenceVectors | None] = [None] * len(parts)
        self._outlets: Counter[str] = Counter()
        self._recent: OrderedDict[str, Article] = OrderedDict()
        self._lexical: Lexical | None = None
        self._lock = threading.Lock()
        self._loaded = {} if loaded is None else loaded
        self._revision, self._cache = self._prepare()

    @property
    def single(self) -> bool:
        """One segment hiding nothing: every call goes straight to it, derived data and all."""
        return len(self.parts) == 1 and not self.parts[0].hidden

    def _prepare(self) -> tuple[str, Path]:
        if self.single:
            part = self.parts[0]
            revision = part.store.revision()
            self._lexical = self._saved_lexical(part, revision)
            return revision, part.folder
        revisions, lexicals = [], []
        outlets: dict[str, str] = {}
        for index, part in enumerate(self.parts):
            revision = part.store.revision()
            revisions.append([part.name, revision, sorted(part.hidden)])
            lexical = self._saved_lexical(part, revision)
            if lexical is None:  # a segment without saved derived data: built from its own articles only
                log.warning("segment lexical index rebuilt segment=%s", part.name)
                lexical = LexicalIndex.build(part.store.iter_articles())
                self._loaded[part.name] = (revision, lexical)
            vectors = SentenceVectors.load(part.folder)
            self._vectors[index] = vectors if vectors is not None and vectors.revision == revision else None
            # Newer parts win (a writer hides older copies anyway). Whole-segment dict updates, then the hidden few
            # put back: a Python loop over a 50,000-article base held the GIL beside the requests on every version.
            before = {a: (self._where[a], outlets[a]) for a in part.hidden if a in self._where}
            self._where.update(dict.fromkeys(lexical.article_ids, index))
            outlets.update(zip(lexical.article_ids, lexical.outlet_labels, strict=True))
            for article_id in part.hidden:
                if article_id in before:
                    self._where[article_id], outlets[article_id] = before[article_id]
                else:
                    self._where.pop(article_id, None)
                    outlets.pop(article_id, None)
            lexicals.append((lexical, part.hidden))
        self._outlets = Counter(outlets.values())
        revision = hashlib.sha256(json.dumps(revisions).encode()).hexdigest()[:32]
        # Handed to DerivedData by `prepared_lexical`: the segments' own indexes, scored together at query time.
        self._lexical = SegmentedLexical(lexicals)
        self.view.mkdir(parents=True, exist_ok=True)
        # Sentence vectors stay in each segment's own files (see `sentences`); this empty file only says the
        # view's derived data is complete, so nothing is rebuilt inside a request.
        SentenceVectors(np.zeros((0, 0), np.float32), np.zeros((0, 3), np.int64), {}, revision).save(self.view)
        return revision, self.view

    def _saved_lexical(self, part: Part, revision: str) -> LexicalIndex | None:
        """The segment's saved lexical index: the one an earlier version loaded, else read from its folder."""
        kept = self._loaded.get(part.name)
        if kept is not None and kept[0] == revision:
            return kept[1]
        lexical = LexicalIndex.load(part.folder, revision)
        if lexical is not None:
            self._loaded[part.name] = (revision, lexical)
        return lexical

    def warm(self, names: set[str]) -> None:
        """Ask the parts named (those just opened) what a question asks (a vector search, an article, its
        sentences), so what each store loads on first use is loaded here, off the request path: the first
        question on a new version took about twice as long as the others."""
        for part in self.parts:
            if part.name not in names:
                continue
            loaded = self._loaded.get(part.name)
            lexical = loaded[1] if loaded else None
            hit = next((h for h in lexical.hits if h.article_id not in part.hidden), None) if lexical else None
            if hit is None:
                continue
            rows = part.store.sentences({hit.article_id: hit.version})
            if rows:
                part.store.query_dense(rows[0].vector, 10, Filters())
            part.store.articles([hit.article_id])

    def prepared_lexical(self, revision: str) -> Lexical | None:
        """The lexical index over every part, ready before this store was swapped in (see DerivedData)."""
        return self._lexical if revision == self._revision else None

    # -- VectorStore -----------------------------------------------------------------------------
    def revision(self) -> str:
        return self._revision

    def cache_dir(self) -> Path | None:
        return self._cache

    def version_of(self, article_id: str) -> str | None:
        if self.single:
            return self.parts[0].store.version_of(article_id)
        index = self._where.get(article_id)
        return None if index is None else self.parts[index].store.version_of(article_id)

    def query_chunks(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        return self._fan_out(lambda store, n: store.query_chunks(vector, n, filters), k)

    def query_sentences(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        return self._fan_out(lambda store, n: store.query_sentences(vector, n, filters), k)

    def query_dense(self, vector: Matrix, k: int, filters: Filters) -> tuple[list[Hit], list[Hit]]:
        if self.single:
            return self.parts[0].store.query_dense(vector, k, filters)
        chunks, sentences = zip(*self._each_part(lambda store, n: store.query_dense(vector, n, filters), k),
                                strict=True)
        return _best(chunks, k), _best(sentences, k)

    def _fan_out(self, ask: Callable[[VectorStore, int], list[Hit]], k: int) -> list[Hit]:
        if self.single:
            return ask(self.parts[0].store, k)
        return _best([hits for (hits,) in self._each_part(lambda store, n: (ask(store, n),), k)], k)

    def _each_part(self, ask: Callable[[VectorStore, int], tuple[list[Hit], ...]], k: int
                   ) -> list[tuple[list[Hit], ...]]:
        """`ask` of every part at once, each answer's hits of hidden articles left out."""

        def one(part: Part) -> tuple[list[Hit], ...]:
            # A hidden article's rows are still in the segment: ask for more, so k visible ones remain.
            extra = min(len(part.hidden) * 8, 4 * k) if part.hidden else 0
            return tuple([h for h in hits if h.article_id not in part.hidden] for hits in ask(part.store, k + extra))

        return list(_POOL.map(one, self.parts))

    def articles(self, ids: Sequence[str]) -> dict[str, tuple[Article, str]]:
        if self.single:
            found = self.parts[0].store.articles(ids)
        else:
            found = {}
            for index, wanted in self._by_part(ids).items():
                found.update(self.parts[index].store.articles(wanted))
        with self._lock:  # `sentences` usually asks for these next
            for article_id, (article, _) in found.items():
                self._recent[article_id] = article
                self._recent.move_to_end(article_id)
            while len(self._recent) > RECENT_ARTICLES:
                self._recent.popitem(last=False)
        return found

    def sentences(self, versions: Mapping[str, str]) -> list[StoredSentence]:
        if self.single:
            return self.parts[0].store.sentences(versions)
        out: list[StoredSentence] = []
        for index, ids in self._by_part(list(versions)).items():
            vectors, rest = self._vectors[index], {}
            for article_id in ids:
                with self._lock:
                    article = self._recent.get(article_id)
                got = vectors.get(article, versions[article_id]) if vectors is not None and article else None
                if got is None:
                    rest[article_id] = versions[article_id]
                else:
                    out.extend(got)
            if rest:
                out.extend(self.parts[index].store.sentences(rest))
        return out

    def _by_part(self, ids: Sequence[str]) -> dict[int, list[str]]:
        grouped: dict[int, list[str]] = {}
        for article_id in dict.fromkeys(ids):
            index = self._where.get(article_id)
            if index is not None:
                grouped.setdefault(index, []).append(article_id)
        return grouped

    def iter_articles(self) -> Iterator[tuple[Article, str]]:
        for part in self.parts:
            for article, version in part.store.iter_articles():
                if article.id not in part.hidden:
                    yield article, version

    def stats(self) -> StoreStats:
        """Articles and outlets exactly; chunks and sentences count a hidden article's rows until compaction."""
        if self.single:
            return self.parts[0].store.stats()
        each = [part.store.stats() for part in self.parts]
        return StoreStats(articles=len(self._where), chunks=sum(s.chunks for s in each),
                          sentences=sum(s.sentences for s in each),
                          outlets=dict(self._outlets))

    def write(self, indexed: IndexedArticle) -> None:
        raise StoreUnavailable("a segmented snapshot is read-only: the writer adds a new segment instead")

    def delete(self, article_id: str) -> bool:
        raise StoreUnavailable("a segmented snapshot is read-only: the writer adds a new segment instead")


def _best(lists: Sequence[list[Hit]], k: int) -> list[Hit]:
    """The k best hits of several parts' lists."""
    merged = [h for hits in lists for h in hits]
    merged.sort(key=lambda h: -h.score)
    return merged[:k]
