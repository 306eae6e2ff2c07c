"""S3 object events to index changes: the object's current content is ingested, a missing object is deleted."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import unquote_plus

from newsdesk.errors import ArticleError
from newsdesk.ingest.load import HTML_TYPES, JSONL_TYPES, TEXT_TYPES, Loaded, derive_id, parse_html, parse_jsonl, parse_text
from newsdesk.ingest.pipeline import IngestReport
from newsdesk.models import Article

log = logging.getLogger(__name__)

SOURCES_FILE = "newsdesk-s3-sources.json"  # lives inside the index folder, so it travels with each snapshot
MAX_OBJECT_BYTES = 50_000_000

class Indexer(Protocol):
    """What applying S3 changes needs of the service: ingest loaded articles, delete one by id."""

    def ingest(self, items: Iterable[Loaded], progress: Callable[[int], None] | None = None) -> IngestReport: ...

    def delete(self, article_id: str) -> bool: ...


# Reads an object's bytes, or None when it no longer exists.
ReadObject = Callable[[str, str], bytes | None]


@dataclass(frozen=True)
class ObjectChange:
    """One S3 object event: which object, and what happened to it."""
    bucket: str
    key: str
    event: str  # the S3 event name, e.g. ObjectCreated:Put; informational, the bucket's current state wins


@dataclass
class EventReport:
    """What applying a batch of S3 changes did."""
    ingested: int = 0
    unchanged: int = 0
    deleted: int = 0
    bad_objects: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sources_changed: bool = False

    @property
    def changed(self) -> bool:
        """Whether the index folder differs from the snapshot it came from (so a new one is needed)."""
        return bool(self.ingested or self.deleted or self.sources_changed)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {"ingested": self.ingested, "unchanged": self.unchanged, "deleted": self.deleted,
                "bad_objects": self.bad_objects, "errors": self.errors}


class BatchWriter(Protocol):
    """Applies a batch of object changes to the index and publishes them (SnapshotWriter)."""

    def handle(self, changes: Sequence[ObjectChange], read: ReadObject) -> dict[str, Any]: ...


@dataclass
class Delivery:
    """One invocation's worth of object changes, and which SQS message named which keys."""

    changes: list[ObjectChange] = field(default_factory=list)
    keys: dict[str, set[str]] = field(default_factory=dict)  # message id -> object keys it carries
    unreadable: list[str] = field(default_factory=list)  # message ids whose body is not an S3 notification


def parse_delivery(event: dict[str, Any]) -> Delivery:
    """An SQS batch of S3 notifications (or, as before the queue, one S3 event) as object changes."""
    delivery = Delivery()
    records = event.get("Records") or []
    if not any(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records):
        delivery.changes = parse_s3_event(event)
        return delivery
    for record in records:
        message = str(record.get("messageId") or "")
        try:
            body = json.loads(record.get("body") or "")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            log.error("queue message is not an S3 notification message_id=%s error=%s", message, exc)
            delivery.unreadable.append(message)
            continue
        if body.get("Event") == "s3:TestEvent":  # S3 sends one when the notification is set up
            delivery.keys[message] = set()
            continue
        changes = parse_s3_event(body)
        if not changes:
            log.error("queue message names no S3 object message_id=%s", message)
            delivery.unreadable.append(message)
            continue
        delivery.changes.extend(changes)
        delivery.keys[message] = {c.key for c in changes}
    return delivery


def handle_delivery(event: dict[str, Any], writer: BatchWriter, read: ReadObject) -> dict[str, Any]:
    """The whole batch as one publish. Messages naming an object that could not be ingested (or no object at
    all) are returned as batchItemFailures, so only they go back to the queue and, after retries, to its
    dead-letter queue; a failed run raises, and the whole batch returns to the queue."""
    delivery = parse_delivery(event)
    result = writer.handle(delivery.changes, read)
    bad = set(result.get("bad_objects") or ())
    failed = delivery.unreadable + [m for m, keys in delivery.keys.items() if keys & bad]
    result["batchItemFailures"] = [{"itemIdentifier": m} for m in failed]
    result["messages"] = len(delivery.keys) + len(delivery.unreadable)
    return result


def parse_s3_event(event: dict[str, Any]) -> list[ObjectChange]:
    """The object changes in an S3 notification event (keys arrive URL-encoded, '+' for spaces)."""
    changes = []
    for record in event.get("Records") or []:
        s3 = record.get("s3") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        key = (s3.get("object") or {}).get("key")
        if record.get("eventSource") != "aws:s3" or not bucket or not key:
            log.warning("skipping a record that is not an S3 object event: %s", str(record)[:200])
            continue
        changes.append(ObjectChange(str(bucket), unquote_plus(str(key)), str(record.get("eventName", ""))))
    return changes


def article_id_for_key(key: str) -> str:
    """The article id an object key stands for when its content names none."""
    return "s3-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def load_object(key: str, raw: bytes) -> list[Loaded]:
    """Parse an object like the CLI parses a file of the same type; the key is the source name.

    A single-article file (.txt/.md/.html) keeps an explicit `id` or a URL-derived id; otherwise its id
    comes from the key, so editing the text replaces the article instead of adding a second one.
    """
    suffix = PurePosixPath(key).suffix.lower()
    if len(raw) > MAX_OBJECT_BYTES:
        return [ArticleError(f"the object is larger than {MAX_OBJECT_BYTES:,} bytes", key)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [ArticleError(f"the object is not UTF-8 text ({exc})", key)]
    if suffix in JSONL_TYPES:
        return list(parse_jsonl(text, key))
    if suffix in HTML_TYPES:
        item = parse_html(text, key)
    elif suffix in TEXT_TYPES:
        title = PurePosixPath(key).stem.replace("-", " ").replace("_", " ")
        item = parse_text(text, key, default_title=title)
    else:
        supported = ", ".join(sorted(TEXT_TYPES | HTML_TYPES | JSONL_TYPES))
        return [ArticleError(f"unsupported file type {suffix or '(none)'}: use one of {supported}", key)]
    if isinstance(item, Article) and item.id == derive_id(None, item.text) and not item.url:
        item = replace(item, id=article_id_for_key(key))
    return [item]


class SourceMap:
    """Which article ids each object key produced, so removing (or shrinking) an object removes its articles."""

    def __init__(self, ids_by_key: dict[str, list[str]] | None = None) -> None:
        self.ids_by_key = ids_by_key or {}

    @classmethod
    def load(cls, folder: Path) -> SourceMap:
        """The object-key-to-article map saved in an index folder (empty if none)."""
        path = folder / SOURCES_FILE
        return cls(json.loads(path.read_text()) if path.exists() else {})

    def save(self, folder: Path) -> None:
        """Save the map into the index folder, atomically."""
        tmp = folder / (SOURCES_FILE + ".tmp")
        tmp.write_text(json.dumps(self.ids_by_key, indent=1, sort_keys=True))
        tmp.replace(folder / SOURCES_FILE)

    def claimed_elsewhere(self, article_id: str, key: str) -> bool:
        """Whether another object key also holds this article."""
        return any(article_id in ids for k, ids in self.ids_by_key.items() if k != key)


def apply_changes(service: Indexer, changes: Iterable[ObjectChange], read: ReadObject, sources: SourceMap) -> EventReport:
    """Bring the index in line with each changed key's current content; a bad object never harms the index.

    The articles of every object in the batch are ingested in one call (embedded together, derived data
    rebuilt once), then each object's map entry is updated from what was stored.
    """
    report = EventReport()
    mapped_before = json.dumps(sources.ids_by_key, sort_keys=True)
    latest = {(c.bucket, c.key): c for c in changes if not c.key.endswith("/")}  # folder markers carry no article
    loaded: list[tuple[ObjectChange, list[Article], bool]] = []
    for change in latest.values():
        raw = read(change.bucket, change.key)
        if raw is None:
            _drop(service, change.key, sources.ids_by_key.pop(change.key, []), sources, report)
            continue
        items = load_object(change.key, raw)
        bad = [str(i) for i in items if isinstance(i, ArticleError)]
        good = [i for i in items if isinstance(i, Article)]
        if bad:
            log.error("bad object bucket=%s key=%s errors=%s", change.bucket, change.key, "; ".join(bad[:5]))
            report.errors.extend(bad)
        if not good:
            report.bad_objects.append(change.key)
            continue
        loaded.append((change, good, bool(bad)))
    if loaded:
        result = service.ingest([article for _, good, _ in loaded for article in good])
        report.ingested += result.added + result.updated
        report.unchanged += result.unchanged
        report.errors.extend(result.errors)
        stored = set(result.article_ids)
        for change, good, partly_bad in loaded:
            before = sources.ids_by_key.get(change.key, [])
            held = [a.id for a in good if a.id in stored]
            clean = not partly_bad and len(held) == len(good)
            now = sorted(set(held) | (set() if clean else set(before)))
            sources.ids_by_key[change.key] = now
            # Articles the object no longer holds go too (only when every part of it was read and stored).
            _drop(service, change.key, [i for i in before if i not in now], sources, report)
            log.info("object ingested key=%s articles=%d stored=%d", change.key, len(good), len(held))
    report.sources_changed = json.dumps(sources.ids_by_key, sort_keys=True) != mapped_before
    return report


def _drop(service: Indexer, key: str, ids: list[str], sources: SourceMap, report: EventReport) -> None:
    for article_id in ids:
        if not sources.claimed_elsewhere(article_id, key) and service.delete(article_id):
            report.deleted += 1
            log.info("article deleted key=%s article_id=%s", key, article_id)
