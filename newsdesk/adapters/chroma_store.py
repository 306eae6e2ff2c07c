"""VectorStore on Chroma: embedded on disk by default, or a `chroma run` server by URL."""

from __future__ import annotations

import functools
import json
import logging
import threading
import uuid
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from newsdesk.errors import StoreUnavailable
from newsdesk.index.article_parts import POINTER, ArticleParts, Written
from newsdesk.models import Article, Filters, Hit, IndexedArticle, Matrix, Sentence, StoredSentence, StoreStats

log = logging.getLogger(__name__)
ARTICLES, CHUNKS, SENTENCES = "newsdesk_articles", "newsdesk_chunks", "newsdesk_sentences"
PAGE = 2000
RECENT_ROWS = 64  # article rows kept from the last few `articles` calls
DATABASE = "chroma.sqlite3"  # an embedded index's main file: no such file, no index
WRITING = "writing"  # the articles collection's metadata names the article a write is changing
SHORT = 16  # row ids and row metadata carry this much of an article's version
VACUUM_AT = 5  # free pages at least 1/VACUUM_AT of the SQLite file: the writer vacuums it
CANDIDATE_CHUNKS = 40  # with parts: at least this many chunk hits have their articles' sentences scored (docs/scale.md)
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="newsdesk-chroma")


def has_index(path: Path) -> bool:
    """Whether `path` holds an embedded Chroma index (opening one that does not would create it)."""
    return (path / DATABASE).is_file()


def no_index(path: Path) -> StoreUnavailable:
    return StoreUnavailable(f"no index at {path}: run `newsdesk ingest ARTICLES --store {path}` first")


def preload() -> None:
    """Import chromadb (about a second) ahead of `connect`, e.g. on a thread while a snapshot downloads."""
    import chromadb  # noqa: F401


def connect(path: Path | None = None, url: str | None = None) -> Any:
    """A Chroma client; telemetry off, and never a default embedding function."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if url:
            parts = urlparse(url)
            return chromadb.HttpClient(
                host=parts.hostname or "localhost",
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=settings,
            )
        assert path is not None
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:  # chromadb raises many types; all mean "cannot reach the index"
        where = url or path
        raise StoreUnavailable(f"cannot open the Chroma index at {where}: {exc}") from exc


@dataclass(frozen=True)
class Consistency:
    """Rows that should not be there (orphans of a version no article row points at) and rows that are missing."""

    rows: int
    orphans: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.orphans and not self.missing


class _Reach:
    """Whether a Chroma server answers: a lost connection is StoreUnavailable, logged once per outage."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.down = False
        self._lock = threading.Lock()

    def call(self, action: Any, *args: Any, **kwargs: Any) -> Any:
        import httpx

        try:
            result = action(*args, **kwargs)
        except httpx.TransportError as exc:  # refused, reset, timed out: the server is down or restarting
            self._mark(True, f"chroma server unreachable url={self.where} error={exc}")
            raise StoreUnavailable(
                f"the Chroma server at {self.where} cannot be reached ({exc}): check that it is running; "
                "the next request tries again"
            ) from exc
        if self.down:
            self._mark(False, f"chroma server reachable again url={self.where}")
        return result

    def _mark(self, down: bool, message: str) -> None:
        with self._lock:
            changed, self.down = self.down != down, down
        if changed:
            log.warning(message)


class _Guarded:
    """A Chroma collection whose every call goes through `_Reach`."""

    def __init__(self, inner: Any, reach: _Reach) -> None:
        self._inner, self._reach = inner, reach

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        return functools.partial(self._reach.call, value) if callable(value) else value


class ChromaStore:
    def __init__(self, client: Any, folder: Path | None = None, create: bool = True, url: str | None = None,
                 shared: Path | None = None) -> None:
        """`folder`: the embedded index's folder, where derived data is kept beside Chroma's files; `url`: the
        server's, for messages; `shared`: for a server, a folder its writer and readers all see, where the writer
        keeps the lexical index for the others. With `create` False, a client without the collections is no index."""
        self.client = client
        self.folder = folder
        self.shared = shared if folder is None else None
        self._reach = _Reach(url or "(the configured URL)")
        self._recent: OrderedDict[str, tuple[str, str, Mapping[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self._batch_size: int | None = None
        self._open(create)
        self._parts = self._open_parts(create)
        self._seen = self._disk_state()

    def _open(self, create: bool = True) -> None:
        try:
            if not create:
                existing = {getattr(c, "name", c) for c in self.client.list_collections()}
                if not {ARTICLES, CHUNKS, SENTENCES} <= existing:
                    raise no_index(self.folder) if self.folder else StoreUnavailable(
                        "the Chroma server holds no Newsdesk index: run `newsdesk ingest` against it first")
            self._articles = self._collection(ARTICLES)
            self._chunks = self._collection(CHUNKS)
            self._sentences = self._collection(SENTENCES)
        except StoreUnavailable:
            raise
        except Exception as exc:
            raise StoreUnavailable(f"cannot open the Newsdesk collections: {exc}") from exc

    def _open_parts(self, create: bool) -> ArticleParts | None:
        """An embedded folder keeps texts and sentence vectors in part files (a new index always; one made before
        parts keeps them in Chroma rows, as a server does)."""
        if self.folder is None:
            return None
        try:
            if ArticleParts.present(self.folder):
                return ArticleParts(self.folder)
            if create and self._articles.count() == 0 and self._sentences.count() == 0:
                return ArticleParts.create(self.folder)
        except (OSError, ValueError) as exc:
            raise StoreUnavailable(f"cannot read the article files in {self.folder} ({exc}): restore the folder "
                                   "from a snapshot or ingest again into a new one") from exc
        return None

    @property
    def compact(self) -> bool:
        """Whether texts and sentence vectors live in part files beside Chroma's (see newsdesk.index.article_parts)."""
        return self._parts is not None

    def _collection(self, name: str) -> Any:
        # embedding_function=None: we always pass our own vectors, so Chroma never loads a model.
        return _Guarded(self.client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        ), self._reach)

    # -- several processes on one folder (see newsdesk.index.lock) ------------------------------
    def _disk_state(self) -> tuple[tuple[int, int, int], ...]:
        """Changes when any process writes the embedded index (its SQLite file and write-ahead log)."""
        if self.folder is None:
            return ()
        out = []
        for name in (DATABASE, DATABASE + "-wal", POINTER):
            try:
                st = (self.folder / name).stat()
                out.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                out.append((0, 0, 0))
        return tuple(out)

    def begin_write(self) -> None:
        """With the writer lock held: reopen if another process wrote since this client looked (embedded Chroma
        keeps vector indexes in memory and never sees their changes), then finish an interrupted write."""
        if self.folder is not None and self._disk_state() != self._seen:
            log.info("index changed on disk, reopening folder=%s", self.folder)
            self.reopen()
        if self._parts is not None:
            self._parts.clean()  # files a killed writer left behind
        self.recover()

    def end_write(self) -> None:
        self.vacuum()
        self._seen = self._disk_state()

    def vacuum(self) -> bool:
        """Give back the SQLite pages Chroma freed (its log purges rows once they reach HNSW) when they are a
        fifth of the file or more: a snapshot then carries no dead pages. VACUUM is what Chroma's own
        `chroma utils vacuum` runs; call with the writer lock held. Returns whether it ran."""
        if self.folder is None or not (self.folder / DATABASE).is_file():
            return False
        import sqlite3

        with closing(sqlite3.connect(self.folder / DATABASE, timeout=5)) as db:
            free, pages = (db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("freelist_count", "page_count"))
            if free * VACUUM_AT < pages:
                return False
            db.execute("VACUUM")
        log.info("index vacuumed folder=%s free_pages=%d of=%d", self.folder, free, pages)
        return True

    def reopen(self) -> None:
        """A new client on the same folder; queries already running finish on the old one."""
        assert self.folder is not None
        self.client = _fresh_client(self.client, self.folder)
        self._open()
        if self._parts is not None:
            self._parts.reload()
        with self._lock:
            self._recent.clear()

    def recover(self) -> str | None:
        """Remove the rows a killed write left behind; returns the article it was writing, if any."""
        pending = (self._articles_metadata()).get(WRITING)
        if not pending:
            return None
        ids = str(pending).split("\n")
        current = self._current_versions(ids)
        where = _other_versions_of([(a, current.get(a, "")) for a in ids])  # no version left: every row goes
        self._chunks.delete(where=where)
        self._sentences.delete(where=where)
        self._bump()
        log.warning("finished an interrupted write article_id=%s", ",".join(ids))
        return ids[0]

    def check(self) -> Consistency:
        """Every chunk and sentence row against the article rows: orphans and missing rows (reads every id)."""
        expected: set[str] = set()
        held: set[str] = set()
        for article_id, meta in self._pages(self._articles, ["metadatas"], lambda g, j: g["metadatas"][j]):
            prefix = f"{article_id}:{str(meta['version'])[:SHORT]}"
            expected.update(f"{prefix}:c{i}" for i in range(int(meta.get("chunks", 0))))
            sentences = {f"{prefix}:s{i}" for i in range(int(meta.get("sentences", 0)))}
            expected.update(sentences)
            if self._parts is not None and self._parts.count(article_id, str(meta["version"])) == len(sentences):
                held.update(sentences)  # kept in the part files, not as Chroma rows
        found = {row_id for c in (self._chunks, self._sentences) for row_id, _ in self._pages(c, [], lambda g, j: None)}
        found |= held
        return Consistency(len(found), tuple(sorted(found - expected)), tuple(sorted(expected - found)))

    def _articles_metadata(self) -> Mapping[str, Any]:
        return self._reach.call(self.client.get_collection, ARTICLES).metadata or {}

    def _mark(self, article_ids: Sequence[str]) -> None:
        """Name the articles about to change; `_bump` clears them. A write killed in between is finished by `recover`."""
        self._articles.modify(metadata={"revision": uuid.uuid4().hex, WRITING: "\n".join(article_ids)})

    def warm(self) -> None:
        """Load each collection's files now, all at once (Chroma reads them on first use, one query at a
        time, and releases the GIL while it does): for a query container that just opened a snapshot."""
        try:
            probe = np.zeros((1, self._dimension()), np.float32)
            probe[0, 0] = 1.0
            collections = [self._chunks] if self._parts is not None else [self._sentences, self._chunks]
            with ThreadPoolExecutor(max_workers=3) as pool:
                for done in [*(pool.submit(c.query, query_embeddings=probe, n_results=1, include=[]) for c in collections),
                             pool.submit(self._articles.get, limit=1, include=["metadatas"])]:
                    done.result()
        except Exception as exc:  # only a head start: the first query loads whatever this did not
            log.warning("chroma warm-up skipped error=%s", exc)

    def _dimension(self) -> int:
        got = self._chunks.get(limit=1, include=["embeddings"])
        return len(got["embeddings"][0]) if len(got["ids"]) else 384

    def version_of(self, article_id: str) -> str | None:
        got = self._articles.get(ids=[article_id], include=["metadatas"])
        return str(got["metadatas"][0]["version"]) if got["ids"] else None

    def write(self, indexed: IndexedArticle) -> None:
        self.write_many([indexed])

    def write_many(self, batch: Sequence[IndexedArticle]) -> None:
        """Write several articles with one call per collection (Chroma's cost is mostly per call); each article
        still shows its old version or its new one, never a mix."""
        batch = list({i.article.id: i for i in batch}.values())  # one version per id: the last given
        if not batch:
            return
        self._mark([i.article.id for i in batch])
        stale_chunks, stale_sentences = _stale_rows(self._stored_rows([i.article.id for i in batch]),
                                                    {i.article.id: i.version for i in batch})
        # New-version rows first; they stay invisible until the article row points at their version.
        # With part files (an embedded folder) the text and sentence vectors go there, once: Chroma's SQLite
        # would hold a text about seven times over (document, its index, a trigram full-text index) and each
        # sentence row costs a float32 vector in HNSW, one in its log and a dozen metadata rows.
        rows = [{**_filter_fields(i.article), "version": i.version[:SHORT]} for i in batch]  # no text
        if self._parts is not None:
            self._parts.add([Written(i.article.id, i.version, i.article.text, _spans(i), i.sentence_vectors)
                             for i in batch])
        else:
            self._upsert(self._sentences,
                         [f"{i.article.id}:{i.version[:SHORT]}:s{s.index}" for i in batch for s in i.sentences],
                         np.concatenate([i.sentence_vectors for i in batch]),
                         [row for i, row in zip(batch, rows, strict=True) for _ in i.sentences])
        self._upsert(self._chunks, [f"{i.article.id}:{i.version[:SHORT]}:c{c.index}" for i in batch for c in i.chunks],
                     np.concatenate([i.chunk_vectors for i in batch]),
                     [row for i, row in zip(batch, rows, strict=True) for _ in i.chunks])
        self._articles.upsert(
            ids=[i.article.id for i in batch],
            embeddings=np.stack([i.article_vector for i in batch]),
            **({} if self._parts is not None else {"documents": [i.article.text for i in batch]}),
            metadatas=[self._article_row(i) for i in batch],
        )
        # The replaced versions' rows, by id: a `where` delete scans the whole collection (a bulk load of
        # 100,000 articles went quadratic on it), and rows a killed write left are `recover`'s, before any write.
        if stale_chunks:
            self._chunks.delete(ids=stale_chunks)
        if stale_sentences and self._parts is None:
            self._sentences.delete(ids=stale_sentences)
        self._bump()
        if self._parts is not None:
            self._parts.merge(self._current_versions)

    def _upsert(self, collection: Any, ids: list[str], vectors: Matrix, metadatas: list[dict[str, Any]]) -> None:
        """Rows in slices Chroma accepts (it refuses a call of more than its maximum batch size)."""
        size = self._max_batch()
        for start in range(0, len(ids), size):
            end = start + size
            collection.upsert(ids=ids[start:end], embeddings=vectors[start:end], metadatas=metadatas[start:end])

    def _max_batch(self) -> int:
        if self._batch_size is None:
            try:
                self._batch_size = int(self.client.get_max_batch_size())
            except Exception:  # an older or remote client without it: Chroma's SQLite limit
                self._batch_size = 5000
        return self._batch_size

    def _article_row(self, indexed: IndexedArticle) -> dict[str, Any]:
        article = indexed.article
        provenance = {k: v for k, v in _provenance(article).items() if v is not None}
        row = {**_filter_fields(article), **provenance, "version": indexed.version, "chunks": len(indexed.chunks),
               "sentences": len(indexed.sentences)}
        if self._parts is None:  # offsets here let a query fetch sentence vectors by id, without their metadata
            row["sentence_spans"] = json.dumps([[s.start, s.end] for s in indexed.sentences])
        return row

    def _current_versions(self, ids: Sequence[str]) -> dict[str, str]:
        return {i: str(meta["version"]) for i, meta in self._stored_rows(ids).items()}

    def _stored_rows(self, ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        out: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(ids), PAGE):
            got = self._articles.get(ids=list(ids[start : start + PAGE]), include=["metadatas"])
            out.update(zip(got["ids"], got["metadatas"], strict=True))
        return out

    def compact_parts(self) -> None:
        """Fold the part files into one, dropping rows of replaced and deleted versions (with the writer lock)."""
        if self._parts is not None:
            self._parts.compact(self._current_versions)

    def delete(self, article_id: str) -> bool:
        found = bool(self._articles.get(ids=[article_id], include=[])["ids"])
        if found:
            self._mark([article_id])
        self._articles.delete(ids=[article_id])  # hides the article at once
        self._chunks.delete(where={"article_id": article_id})
        self._sentences.delete(where={"article_id": article_id})
        if found:
            self._bump()
        return found

    def query_chunks(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        return self._query(self._chunks, vector, k, filters)

    def query_sentences(self, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        if self._parts is None:
            return self._query(self._sentences, vector, k, filters)
        return self.query_dense(vector, k, filters)[1]

    def query_dense(self, vector: Matrix, k: int, filters: Filters) -> tuple[list[Hit], list[Hit]]:
        if self._parts is None:  # two collections: both searches at once (Chroma releases the GIL as it searches)
            pending = _POOL.submit(self._query, self._chunks, vector, k, filters)
            sentences = self._query(self._sentences, vector, k, filters)
            return pending.result(), sentences
        # Sentence vectors are not in an ANN index (one float32 HNSW copy would cost more than the whole
        # article otherwise does): the best chunks' articles, which the filters allow, have every sentence scored.
        hits = self._query(self._chunks, vector, max(k, CANDIDATE_CHUNKS), filters)
        return hits[:k], self._parts.best_sentences(((h.article_id, h.version) for h in hits), vector, k)

    def _query(self, collection: Any, vector: Matrix, k: int, filters: Filters) -> list[Hit]:
        got = collection.query(
            query_embeddings=np.asarray(vector, np.float32).reshape(1, -1),
            n_results=k,
            where=_where(filters),
            include=["distances"],  # the id says whose row it is; fetching metadata would double the cost
        )
        return [_hit(row_id, 1.0 - float(d)) for row_id, d in zip(got["ids"][0], got["distances"][0], strict=True)]

    def articles(self, ids: Sequence[str]) -> dict[str, tuple[Article, str]]:
        if not ids:
            return {}
        # Chroma rejects repeated ids in get(); the port allows them (and MemoryStore accepts them).
        rows = self._get_rows(list(dict.fromkeys(ids)))
        with self._lock:  # `sentences` usually asks for these rows next: keep them, no second fetch
            for row in rows:
                self._recent[row[0]] = row
                self._recent.move_to_end(row[0])
            while len(self._recent) > RECENT_ROWS:
                self._recent.popitem(last=False)
        return {i: (_article(i, text, meta), str(meta["version"])) for i, text, meta in rows}

    def _get_rows(self, ids: list[str]) -> list[tuple[str, str, Mapping[str, Any]]]:
        """Article rows with their text: Chroma's document, or with part files the text they hold."""
        if self._parts is None:
            got = self._articles.get(ids=ids, include=["metadatas", "documents"])
            return list(zip(got["ids"], got["documents"], got["metadatas"], strict=True))
        got = self._articles.get(ids=ids, include=["metadatas"])
        return list(self._with_texts(zip(got["ids"], got["metadatas"], strict=True)))

    def _with_texts(self, rows: Iterable[tuple[str, Mapping[str, Any]]]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        """Each row with its article's text from the part files, one at a time (`iter_articles` walks the archive)."""
        assert self._parts is not None
        for article_id, meta in rows:
            text = self._parts.text(article_id, str(meta["version"]))
            if text is None:  # never, unless the folder lost files: without its text the article cannot be quoted
                log.error("article text missing from the part files article_id=%s folder=%s", article_id, self.folder)
                continue
            yield article_id, text, meta

    def _article_rows(self, versions: Mapping[str, str]) -> list[tuple[str, str, Mapping[str, Any]]]:
        """Article rows at the given versions, from the last `articles` call where it fetched them."""
        with self._lock:
            kept = [self._recent.get(a) for a in versions]
        rows = [row for row in kept if row is not None and row[2]["version"] == versions[row[0]]]
        have = {row[0] for row in rows}
        missing = [a for a in versions if a not in have]
        if missing:
            rows.extend(self._get_rows(missing))
        return rows

    def sentences(self, versions: Mapping[str, str]) -> list[StoredSentence]:
        if not versions:
            return []
        out: list[StoredSentence] = []
        wanted: dict[str, tuple[str, str, int, int, str]] = {}  # row id -> article id, version, index, start, text
        older = {}
        for article_id, text, meta in self._article_rows(versions):
            version = str(meta["version"])
            if versions.get(article_id) != version:
                continue
            if self._parts is not None:
                out.extend(self._parts.sentences(article_id, version, text) or [])
                continue
            if "sentence_spans" not in meta:  # indexed before offsets were kept on the article row
                older[article_id] = version
                continue
            for index, (start, end) in enumerate(json.loads(str(meta["sentence_spans"]))):
                wanted[f"{article_id}:{version[:16]}:s{index}"] = (article_id, version, index, start, text[start:end])
        if wanted:
            got = self._sentences.get(ids=list(wanted), include=["embeddings"])
            for row_id, vector in zip(got["ids"], got["embeddings"], strict=True):
                article_id, version, index, start, text = wanted[row_id]
                sentence = Sentence(article_id, index, start, start + len(text), text)
                out.append(StoredSentence(sentence, version, np.asarray(vector, np.float32)))
        out.extend(self._sentences_by_metadata(older))
        out.sort(key=lambda s: (s.sentence.article_id, s.sentence.index))
        return out

    def _sentences_by_metadata(self, versions: Mapping[str, str]) -> list[StoredSentence]:
        if not versions:
            return []
        got = self._sentences.get(
            where={"article_id": {"$in": list(versions)}}, include=["metadatas", "documents", "embeddings"]
        )
        out = []
        for text, meta, vector in zip(got["documents"], got["metadatas"], got["embeddings"], strict=True):
            article_id = str(meta["article_id"])
            if versions.get(article_id) == meta["version"]:
                sentence = Sentence(article_id, int(meta["index"]), int(meta["start"]), int(meta["end"]), text)
                out.append(StoredSentence(sentence, str(meta["version"]), np.asarray(vector, np.float32)))
        out.sort(key=lambda s: (s.sentence.article_id, s.sentence.index))
        return out

    def iter_articles(self) -> Iterator[tuple[Article, str]]:
        if self._parts is not None:
            metas = self._pages(self._articles, ["metadatas"], lambda g, j: g["metadatas"][j])
            for article_id, text, meta in self._with_texts(metas):
                yield _article(article_id, text, meta), str(meta["version"])
            return
        for article_id, (text, meta) in self._pages(
            self._articles, ["documents", "metadatas"], lambda g, j: (g["documents"][j], g["metadatas"][j])
        ):
            yield _article(article_id, text, meta), str(meta["version"])

    def _pages(self, collection: Any, include: list[str], pick: Any) -> Iterator[tuple[str, Any]]:
        offset = 0
        while True:
            got = collection.get(include=include, limit=PAGE, offset=offset)
            for j, item_id in enumerate(got["ids"]):
                yield item_id, pick(got, j)
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    def cache_dir(self) -> Path | None:
        if self.shared is not None:  # one folder per server collection: a recreated index starts afresh
            return self.shared / f"newsdesk-server-{self._articles.id}"
        return self.folder

    @property
    def follows_writer(self) -> bool:
        """A server with a shared folder: readers load the lexical index its writer saves (newsdesk.index.derived)."""
        return self.shared is not None

    def revision(self) -> str:
        return str(self._articles_metadata().get("revision", "0"))

    def _bump(self) -> None:
        self._articles.modify(metadata={"revision": uuid.uuid4().hex})

    def stats(self) -> StoreStats:
        metas = [m for _, m in self._pages(self._articles, ["metadatas"], lambda g, j: g["metadatas"][j])]
        return StoreStats(
            articles=len(metas),
            chunks=sum(int(m.get("chunks", 0)) for m in metas),
            sentences=sum(int(m.get("sentences", 0)) for m in metas),
            outlets=dict(Counter(str(m.get("outlet") or "(unknown)") for m in metas)),
        )


def _fresh_client(old: Any, path: Path) -> Any:
    """Chroma shares one in-memory system per folder in a process; closing ours lets the next client load the
    folder afresh (if nothing else in this process holds it open)."""
    try:
        old.close()
    except Exception as exc:  # an old client that cannot close still leaves the new one usable
        log.warning("closing the old Chroma client failed error=%s", exc)
    return connect(path=path)


def _hit(row_id: str, score: float) -> Hit:
    """A hit from a row id `<article_id>:<version[:16]>:<c|s><index>` (article ids may contain ':')."""
    article_id, version, kind_index = row_id.rsplit(":", 2)
    return Hit(article_id, version, int(kind_index[1:]), score)


def _other_versions_of(versions: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Rows of each article at any other version than the one given (rows carry the version's first 16
    characters, or all of it)."""
    clauses = [{"$and": [{"article_id": a}, {"version": {"$nin": [v, v[:SHORT]]}}]} for a, v in versions]
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def _stale_rows(previous: Mapping[str, Mapping[str, Any]], versions: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Chunk and sentence row ids of the stored versions being replaced, from their article rows' counts."""
    chunks: list[str] = []
    sentences: list[str] = []
    for article_id, meta in previous.items():
        old = str(meta.get("version", ""))[:SHORT]
        if old == versions[article_id][:SHORT]:
            continue
        prefix = f"{article_id}:{old}"
        chunks.extend(f"{prefix}:c{n}" for n in range(int(meta.get("chunks", 0))))
        sentences.extend(f"{prefix}:s{n}" for n in range(int(meta.get("sentences", 0))))
    return chunks, sentences


def _spans(indexed: IndexedArticle) -> np.ndarray:
    return np.array([(s.index, s.start, s.end) for s in indexed.sentences], np.int32).reshape(-1, 3)


def _filter_fields(article: Article) -> dict[str, str | int]:
    fields: dict[str, str | int] = {"article_id": article.id, "outlet_key": (article.outlet or "").casefold()}
    if article.published_day is not None:
        fields["day"] = article.published_day
    return fields


def _provenance(article: Article) -> dict[str, str | None]:
    return {"title": article.title, "url": article.url, "outlet": article.outlet, "published_at": article.published_at}


def _article(article_id: str, text: str, meta: Mapping[str, Any]) -> Article:
    def text_or_none(key: str) -> str | None:
        value = meta.get(key)
        return str(value) if value is not None else None

    return Article(
        id=article_id, text=text, title=text_or_none("title"), url=text_or_none("url"),
        outlet=text_or_none("outlet"), published_at=text_or_none("published_at"),
    )


def _where(filters: Filters) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if filters.outlet:
        clauses.append({"outlet_key": filters.outlet.casefold()})
    if filters.published_after is not None:
        clauses.append({"day": {"$gte": filters.published_after}})
    if filters.published_before is not None:
        clauses.append({"day": {"$lte": filters.published_before}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
