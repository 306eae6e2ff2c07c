"""Store indexed batches on a thread of their own (embedding the next batch overlaps the writes); the report."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from newsdesk.errors import NewsdeskError
from newsdesk.models import IndexedArticle
from newsdesk.ports import VectorStore


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C: what was stored before it is counted, the rest was not read
    duplicates: list[str] = field(default_factory=list)  # articles whose text is indexed under another id: not added

    def summary(self) -> str:
        stopped = "stopped by Ctrl-C after the last whole batch: " if self.interrupted else ""
        return (
            f"{stopped}added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"failed {self.failed}, " + (f"duplicates {len(self.duplicates)}, " if self.duplicates else "")
            + f"chunks {self.chunks}, {self.seconds:.1f} s"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 2),
            "errors": self.errors,
            "interrupted": self.interrupted,
            "duplicates": self.duplicates,
        }


@runtime_checkable
class WritesMany(Protocol):
    """A store that writes several articles in one go (Chroma's cost is mostly per call, not per row)."""

    def write_many(self, batch: Sequence[IndexedArticle]) -> None: ...


@dataclass(frozen=True)
class Batch:
    """One batch of input: the article versions to store (each with the version it replaces) and the rest."""

    indexed: list[tuple[IndexedArticle, str | None]]
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    size: int = 0  # input items, for progress


class Writer:
    """The one thread that writes to the store and fills in the report while it runs.

    `put` blocks while `depth` batches wait, which bounds memory however long the input is.
    """

    def __init__(self, store: VectorStore, report: IngestReport, progress: Callable[[int], None] | None,
                 depth: int = 2) -> None:
        self.store, self.report, self.progress = store, report, progress
        self._queue: queue.Queue[Batch | None] = queue.Queue(maxsize=depth)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="newsdesk-ingest-writer", daemon=True)
        self._thread.start()

    def put(self, batch: Batch) -> None:
        self._raise_failure()
        self._queue.put(batch)

    def close(self) -> None:
        """Wait until every batch put so far is stored."""
        self._queue.put(None)
        self._thread.join()
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def _loop(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._failure is not None:
                continue  # keep taking batches so `put` never blocks for good; the failure is raised there
            try:
                self._write(batch)
            except BaseException as exc:  # a bug or an unexpected store error: the caller sees it
                self._failure = exc

    def _write(self, batch: Batch) -> None:
        report = self.report
        report.unchanged += len(batch.unchanged)
        report.article_ids.extend(batch.unchanged)
        report.failed += len(batch.errors)
        report.errors.extend(batch.errors)
        together = bool(batch.indexed) and self._write_together([i for i, _ in batch.indexed])
        for indexed, old in batch.indexed:
            article_id = indexed.article.id
            if not together:  # one at a time, so a failure is only its own article's
                try:
                    self.store.write(indexed)
                except NewsdeskError as exc:
                    report.failed += 1
                    report.errors.append(f"{article_id}: {exc}")
                    continue
            report.chunks += len(indexed.chunks)
            report.article_ids.append(article_id)
            if old is None:
                report.added += 1
            else:
                report.updated += 1
        if self.progress:
            self.progress(batch.size)

    def _write_together(self, indexed: list[IndexedArticle]) -> bool:
        """Write the batch in one call if the store can; False: each article is to be written alone."""
        if not isinstance(self.store, WritesMany):
            return False
        try:
            self.store.write_many(indexed)
        except NewsdeskError:
            return False
        return True
