"""The composition root: the one place that picks adapters from settings and builds the service."""

from __future__ import annotations

from functools import lru_cache

from ingest.pipeline import ChunkConfig
from newsdesk.errors import ConfigError
from newsdesk.ports import Embedder, VectorStore
from newsdesk.service import AnswerConfig, Service
from newsdesk.settings import Settings


def build_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "hash":
        from newsdesk.adapters.hash_embedder import HashEmbedder

        return HashEmbedder()
    if settings.embedder == "onnx":
        from newsdesk.adapters.onnx_embedder import OnnxEmbedder

        return OnnxEmbedder()
    from newsdesk.adapters.st_embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(batch_size=settings.embed_batch_size)


def build_store(settings: Settings) -> VectorStore:
    from newsdesk.adapters.chroma_store import ChromaStore, connect

    if settings.chroma_url:
        return ChromaStore(connect(url=settings.chroma_url))
    return ChromaStore(connect(path=settings.store))


def build_service(settings: Settings) -> Service:
    if settings.answerer != "extractive" and not settings.bedrock_model_id:
        raise ConfigError("NEWSDESK_BEDROCK_MODEL_ID is required for the bedrock answerer")
    return Service(
        embedder=build_embedder(settings),
        store=build_store(settings),
        config=AnswerConfig(
            abstain_threshold=settings.abstain_threshold,
            citations=settings.citations,
            max_k=settings.max_k,
            max_question_chars=settings.max_question_chars,
        ),
        chunking=ChunkConfig(settings.chunk_sentences, settings.chunk_overlap),
    )


@lru_cache(maxsize=1)
def service_from_env() -> Service:
    """One service per process (per Lambda container): the model and store are built once."""
    return build_service(Settings.from_env())
