"""The composition root: the one place that picks adapters from settings and builds the service."""

from __future__ import annotations

import atexit
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from newsdesk.errors import ConfigError
from newsdesk.index.lock import FolderWriter, StoreLock
from newsdesk.index.made_by import check_made_by
from newsdesk.ingest.pipeline import ChunkConfig
from newsdesk.ports import Embedder, Generator, VectorStore
from newsdesk.service import AnswerConfig, Service
from newsdesk.settings import Settings

if TYPE_CHECKING:
    from newsdesk.adapters.slack_app import SlackEntry
    from newsdesk.snapshots.s3_events import ReadObject
    from newsdesk.snapshots.snapshot_writer import SnapshotWriter
    from newsdesk.snapshots.snapshots import Blobs


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings pick (the model's ONNX export when made, else sentence-transformers)."""
    if settings.embedder == "hash":
        from newsdesk.adapters.hash_embedder import HashEmbedder

        return HashEmbedder()
    from newsdesk.adapters.encoders import default_onnx_dir, encoder_model

    model = encoder_model(settings.model)
    folder = settings.onnx_dir or default_onnx_dir(model)
    if settings.embedder == "onnx" or (settings.embedder == "auto" and onnx_ready(folder, model.name)):
        from newsdesk.adapters.onnx_embedder import OnnxEmbedder, has_export

        int8 = settings.onnx_int8 and has_export(folder, model.name, int8=True)  # exports before it had none
        return OnnxEmbedder(folder, threads=settings.onnx_threads, int8=int8)
    from newsdesk.adapters.st_embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model, batch_size=settings.embed_batch_size)


def onnx_ready(folder: Path, name: str) -> bool:
    """Whether model `name`'s ONNX export is in `folder` and onnxruntime is installed: "auto" then uses it (same
    vectors, no torch, several times faster to load and to embed; docs/ingest-speed.md)."""
    import importlib.util

    from newsdesk.adapters.onnx_embedder import has_export

    return has_export(folder, name) and importlib.util.find_spec("onnxruntime") is not None


def build_store(settings: Settings) -> VectorStore:
    """The store the settings pick: a Chroma server, S3 snapshots, or embedded Chroma."""
    from newsdesk.adapters.chroma_store import ChromaStore, connect

    if settings.chroma_url:
        return ChromaStore(connect(url=settings.chroma_url), url=settings.chroma_url, shared=settings.shared_dir)
    if settings.index_bucket:
        return build_snapshot_store(settings)
    return ChromaStore(connect(path=settings.store), folder=settings.store)


def local_folder(settings: Settings) -> bool:
    """Whether the index is an embedded Chroma folder, which other processes may open too."""
    return not settings.chroma_url and not settings.index_bucket


def hold_for_writing(settings: Settings, wait: bool = True,
                     on_wait: Callable[[], None] | None = None) -> AbstractContextManager[None]:
    """The folder's writer lock, for a process that opens the index only to write it (held before it opens it)."""
    return StoreLock(settings.store).exclusive(wait, on_wait) if local_folder(settings) else nullcontext()


def require_index(settings: Settings) -> None:
    """StoreUnavailable, saying how to make one, when the local folder holds no index (opening it would create one)."""
    from newsdesk.adapters.chroma_store import has_index, no_index

    if local_folder(settings) and not has_index(settings.store):
        raise no_index(settings.store)


def hold_for_reading(settings: Settings, on_wait: Callable[[], None] | None = None) -> AbstractContextManager[bool]:
    """Keep writers out while a short-lived process reads the folder; StoreUnavailable if it holds no index."""
    require_index(settings)
    return StoreLock(settings.store).shared(True, on_wait) if local_folder(settings) else nullcontext(True)


def build_reader_store(settings: Settings) -> VectorStore | None:
    """For a long-running reader (`serve`, the handler, Slack) of a local folder: a private copy that follows
    what writers publish. None elsewhere (servers and S3 snapshots handle their own readers)."""
    from newsdesk.index.folder_copy import FolderCopyStore

    if not local_folder(settings):
        return None
    require_index(settings)
    store = FolderCopyStore(settings.store, snapshot_root(settings) / "copies", open_snapshot)
    atexit.register(store.close)  # a process killed outright leaves its copies to the next reader to remove
    return store


def build_service(settings: Settings, store: VectorStore | None = None, embedder: Embedder | None = None,
                  wait: bool = True, on_wait: Callable[[], None] | None = None, check_model: bool = True) -> Service:
    """`store`/`embedder` replace the ones settings would pick (the S3 ingest writer reuses its embedder).
    A local folder it opens itself gets the writer lock: `wait` False fails at once when another write holds it.
    An index made by another model than the embedder's is refused (IndexModelMismatch) unless `check_model` is
    False (`newsdesk reindex`, which rebuilds it)."""
    if settings.answerer != "extractive" and not settings.bedrock_model_id:
        raise ConfigError("NEWSDESK_BEDROCK_MODEL_ID is required for the bedrock answerer")
    if embedder is None and store is None and settings.index_bucket and not settings.chroma_url:
        # Cold start on Lambda: load the model and import chromadb while the snapshot downloads.
        # boto3 comes first: imported alongside chromadb, it would wait on shared imports and the GIL.
        from newsdesk.adapters.chroma_store import preload

        blobs = index_blobs(settings)
        with ThreadPoolExecutor(max_workers=2) as pool:
            loading = pool.submit(build_embedder, settings)
            importing = pool.submit(preload)
            store = build_snapshot_store(settings, blobs)
            embedder = loading.result()
            importing.result()
    writer = None
    if store is None:
        store = build_store(settings)
        if local_folder(settings):
            writer = FolderWriter(settings.store, store, wait, on_wait)  # type: ignore[arg-type]
    service = Service(
        embedder=embedder if embedder is not None else build_embedder(settings),
        store=store,
        writer=writer,
        config=AnswerConfig.from_settings(settings),
        chunking=ChunkConfig.from_settings(settings),
        generators=build_generators(settings),
        default_answerer=settings.answerer,
        allow_answerer_override=settings.allow_answerer_override,
    )
    if check_model:
        from newsdesk.adapters.encoders import KNOWN_NAMES

        check_made_by(service.store, service.embedder.name, service.chunking, KNOWN_NAMES)
    return service


def build_generators(settings: Settings) -> dict[str, Generator]:
    """Bedrock when it is the default, or when requests may pick it (NEWSDESK_ALLOW_ANSWERER_OVERRIDE)."""
    wanted = settings.answerer == "bedrock" or (settings.bedrock_model_id and settings.allow_answerer_override)
    if not wanted or not settings.bedrock_model_id:
        return {}
    from newsdesk.adapters.bedrock import BedrockGenerator

    return {"bedrock": BedrockGenerator(
        settings.bedrock_model_id, settings.aws_region, settings.bedrock_endpoint_url,
        settings.bedrock_timeout_seconds, settings.bedrock_max_attempts,
    )}


@lru_cache(maxsize=1)
def service_from_env() -> Service:
    """One service per process (per Lambda container): the model and store are built once."""
    settings = Settings.from_env()
    return build_service(settings, store=build_reader_store(settings))


# -- AWS: index snapshots in S3 (query functions) and the S3-triggered single writer ---------------
def snapshot_root(settings: Settings) -> Path:
    """Where a container keeps downloaded snapshots."""
    return settings.snapshot_dir or Path(tempfile.gettempdir()) / "newsdesk"


def index_blobs(settings: Settings) -> Blobs:
    """The index bucket as a blob store."""
    from newsdesk.adapters.s3_snapshot import S3Blobs, s3_client

    if not settings.index_bucket:
        raise ConfigError("NEWSDESK_INDEX_BUCKET is not set: name the S3 bucket that holds the index")
    return S3Blobs(s3_client(settings.s3_endpoint_url, settings.aws_region), settings.index_bucket)


def open_chroma(path: Path, warm: bool = False) -> tuple[VectorStore, Callable[[], None]]:
    """An embedded Chroma index in `path`, and the function that flushes and closes it; `warm` loads
    its files before the first question needs them (a query container's new snapshot)."""
    from newsdesk.adapters.chroma_store import ChromaStore, connect

    store = ChromaStore(connect(path=path), folder=path)
    if warm:
        store.warm()
    return store, store.client.close


def open_snapshot(path: Path) -> tuple[VectorStore, Callable[[], None]]:
    """An embedded Chroma index in a downloaded snapshot folder, warmed up."""
    return open_chroma(path, warm=True)


def build_snapshot_store(settings: Settings, blobs: Blobs | None = None) -> VectorStore:
    """A read-only store over the latest S3 snapshot."""
    from newsdesk.snapshots.snapshot_store import SnapshotStore

    return SnapshotStore(blobs or index_blobs(settings), snapshot_root(settings), open_snapshot,
                         settings.manifest_check_seconds)


@lru_cache(maxsize=1)
def s3_ingest_from_env() -> tuple[SnapshotWriter, ReadObject]:
    """The S3-triggered writer and an object reader, built once per container (the embedder is reused)."""
    from newsdesk.adapters.s3_snapshot import S3Blobs, s3_client

    settings = Settings.from_env()
    embedder = build_embedder(settings)
    client = s3_client(settings.s3_endpoint_url, settings.aws_region)

    def read(bucket: str, key: str) -> bytes | None:
        return S3Blobs(client, bucket).get_bytes(key)

    return build_snapshot_writer(settings, embedder), read


def build_snapshot_writer(settings: Settings, embedder: Embedder | None = None) -> SnapshotWriter:
    """The S3 index writer: a delta segment per batch, compaction by the settings (`newsdesk compact` too).
    The embedder is built on first use: compaction copies vectors and never needs one."""
    from newsdesk.adapters.chroma_merge import merge_folders
    from newsdesk.snapshots.compaction import CompactionPolicy
    from newsdesk.snapshots.snapshot_writer import SnapshotWriter, WriterParts

    built: list[Embedder] = [embedder] if embedder is not None else []

    def make_service(store: VectorStore) -> Service:
        if not built:
            built.append(build_embedder(settings))
        return build_service(settings, store=store, embedder=built[0])

    return SnapshotWriter(index_blobs(settings), snapshot_root(settings) / "writer",
                          WriterParts(open_chroma, make_service, merge_folders), CompactionPolicy.from_settings(settings))


@lru_cache(maxsize=1)
def slack_entry_from_env() -> SlackEntry:
    """The Slack app, built once per container; the service itself is built only when a question arrives."""
    from newsdesk.adapters.dedup import DynamoSeenEvents, MemorySeenEvents
    from newsdesk.adapters.slack_app import SlackEntry, build_slack_app, lambda_client
    from newsdesk.ports import SeenEvents
    from newsdesk.settings import SlackSettings

    settings = Settings.from_env()
    slack = SlackSettings.from_env()
    seen: SeenEvents = MemorySeenEvents(settings.slack_dedup_ttl_seconds)
    if settings.slack_dedup_table:
        seen = DynamoSeenEvents(settings.slack_dedup_table, settings.dynamodb_endpoint_url, settings.aws_region,
                                settings.slack_dedup_ttl_seconds)
    app = build_slack_app(service_from_env, slack, seen, base_url=settings.slack_api_url)
    return SlackEntry(app, lambda_client(settings.aws_region) if slack.on_lambda else None)
