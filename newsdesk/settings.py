"""The one reader of the environment: typed settings, validated at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from newsdesk.errors import ConfigError

PREFIX = "NEWSDESK_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Settings:
    """Every setting and its default; read from NEWSDESK_* variables by `from_env`."""
    store: Path = Path(".newsdesk")
    chroma_url: str | None = None
    # With chroma_url: a folder the writer and every reader see (beside the server's data, or a shared mount). The
    # writer keeps the lexical index there after each ingest; a new reader loads it instead of reading every article.
    shared_dir: Path | None = None
    index_bucket: str | None = None
    s3_endpoint_url: str | None = None
    manifest_check_seconds: float = 30.0
    # S3 snapshots are a base segment plus small deltas (one per ingest batch; four of a size merge into one). The
    # writer folds the deltas into a new base once their articles (plus the base's hidden ones) pass this fraction
    # of the base, or once there are more than compact_max_deltas of them (docs/aws.md, "The index in S3").
    compact_fraction: float = 0.25
    compact_max_deltas: int = 16
    snapshot_dir: Path | None = None  # where S3 snapshots are unpacked; default <system temp dir>/newsdesk
    # The sentence encoder: "newsdesk-qa" (all-MiniLM-L6-v2 fine-tuned on SQuAD train for question-to-sentence
    # similarity, shipped in newsdesk/encoder/), "all-MiniLM-L6-v2" (the packaged base model) or a
    # sentence-transformers folder. An index remembers the model that made it (newsdesk reindex changes it).
    model: str = "newsdesk-qa"
    onnx_dir: Path | None = None  # the `newsdesk export-onnx` output; default ~/.cache/newsdesk/onnx-<model name>
    # "auto": the ONNX export on onnxruntime when it has been made (same vectors, no torch), otherwise
    # sentence-transformers; or "sentence-transformers", "onnx", "hash" (tests only).
    embedder: str = "auto"
    onnx_threads: int = 0  # onnxruntime intra-op threads; 0: one per core
    # The export's int8 model (when it has one): 2.4x less encoder CPU, cosine ~0.995 to float, same NewsQA and
    # MultiHop scores (docs/ingest-speed.md); false: the float model, sentence-transformers' vectors exactly.
    onnx_int8: bool = True
    # "sentence-mean": a chunk's vector is the mean direction of its sentences' (and title's) vectors, so the
    # encoder reads each token once; "encoded": the encoder also reads every chunk (about twice the work).
    chunk_vectors: str = "sentence-mean"
    ingest_batch_articles: int = 64  # articles embedded together; an ingest holds about three batches
    chunk_sentences: int = 5
    chunk_overlap: int = 1
    max_sentence_chars: int = 1000  # longer runs without a sentence break are split at clauses, lines or spaces
    embed_batch_size: int = 64
    # Abstention (docs/quality.md, "Abstention"): answer when the support score (similarity plus coverage, less
    # the signals that the best evidence lacks what is asked; newsdesk/answer/abstention.py) reaches
    # abstain_threshold; 0 answers everything, above 1 nothing. Chosen with the weights by bench/fit_abstention.py.
    abstain_threshold: float = 0.86
    similar_enough: float = 1.0  # also answer when one sentence is this similar (cosine); 1.0: no shortcut
    citations: int = 3
    max_question_chars: int = 1000
    max_k: int = 10
    answerer: str = "extractive"
    bedrock_model_id: str | None = None
    bedrock_endpoint_url: str | None = None
    bedrock_timeout_seconds: float = 20.0
    bedrock_max_attempts: int = 2  # botocore standard retries, including the first call
    allow_answerer_override: bool = False
    # Evidence and citation choice (docs/quality.md, "Citation choice"; fitted on NewsQA dev).
    evidence_articles: int = 5  # top articles whose sentences are scored
    per_article: int = 3  # most sentences cited from one article
    # A second sentence from the same article must beat the best other article's by this much
    # (evidence-score units; chosen by cross-validation, bench/fit_evidence.py --repeat-cost).
    repeat_cost: float = 0.75
    # A citation past the first whose evidence score is more than this below the first's does not bear on the
    # question and is left out rather than padding the answer to k: the smallest margin that costs no cited@3 on
    # SQuAD train questions (bench/fit_evidence.py --citation-margin, docs/quality.md "Citation choice").
    citation_margin: float = 8.0
    # Questions across articles (docs/across-articles.md; chosen on MultiHop-RAG dev). A question that names
    # outlets or dates is split into parts, each searched on its own for part_articles articles; after one
    # sentence per part, the other citation slots go to articles the whole question ranks in its top
    # ranked_sources, and up to extra_sources more citations past the request's k (never past max_k) may come
    # from them or from articles that add a real share of the question's words.
    part_articles: int = 3
    ranked_sources: int = 5
    extra_sources: int = 2
    # A question in several parts is answered when (2 x the parts' mean best similarity + the share of its words
    # the quoted articles hold) / 3 reaches multi_source_support (no single sentence is close to the whole of it).
    # 0.36 was chosen on MultiHop-RAG dev for the base encoder; the shipped encoder's best similarities sit 0.061
    # lower (median, paired, SQuAD train: bench/similarity_shift.py), so the threshold moves by 2/3 of that.
    multi_source_support: float = 0.32
    named_floor: float = 0.25  # least similarity of the first sentence when a question asks one named outlet
    latest_pool: int = 10  # articles looked at for "latest" and "what changed" questions
    revision_check_seconds: float = 2.0  # how often a reader checks the store for a new revision
    cached_articles: int = 2000  # sentence vectors kept in memory, by article version (~60 KB each)
    # Retrieval fusion: weights of each list's per-article best score (BM25 scaled by the list's top score).
    retrieval_depth: int = 40  # hits taken from each list
    weight_dense_chunk: float = 0.5
    weight_dense_sentence: float = 2.0
    weight_lexical: float = 1.0
    slack_api_url: str | None = None
    slack_dedup_table: str | None = None
    slack_dedup_ttl_seconds: int = 24 * 3600  # Slack retries within minutes; a day leaves a wide margin
    dynamodb_endpoint_url: str | None = None
    log_level: str | None = None  # NEWSDESK_LOG_LEVEL: DEBUG, INFO, WARNING or ERROR; unset: INFO on Lambda, WARNING in the CLI
    log_questions: bool = False  # NEWSDESK_LOG_QUESTIONS=1: request logs carry the question's text, not only its length
    deployment: str = "local"  # names this deployment in metrics (the template sets the stack name)
    serve_read_timeout_seconds: float = 5.0  # `newsdesk serve`: a request slower than this gets 408
    # Browser origins that may call the HTTP API from another site: "*" (any), a comma-separated list of
    # origins (https://desk.example.org), or empty for the page's own origin only. The template passes
    # its AllowedOrigin parameter here and to API Gateway's CORS settings, so Lambda and `serve` agree.
    cors_origins: str = "*"

    def __post_init__(self) -> None:
        if self.chunk_sentences < 1:
            raise ConfigError(f"{PREFIX}CHUNK_SENTENCES must be at least 1, got {self.chunk_sentences}")
        if not 0 <= self.chunk_overlap < self.chunk_sentences:
            raise ConfigError(
                f"{PREFIX}CHUNK_OVERLAP must be between 0 and CHUNK_SENTENCES-1, got {self.chunk_overlap}"
            )
        if self.max_sentence_chars < 100:
            raise ConfigError(f"{PREFIX}MAX_SENTENCE_CHARS must be at least 100, got {self.max_sentence_chars}")
        if self.serve_read_timeout_seconds <= 0:
            raise ConfigError(f"{PREFIX}SERVE_READ_TIMEOUT_SECONDS must be > 0, got {self.serve_read_timeout_seconds}")
        if self.embedder not in {"auto", "sentence-transformers", "onnx", "hash"}:
            raise ConfigError(
                f"{PREFIX}EMBEDDER must be auto, sentence-transformers, onnx or hash, got {self.embedder!r}")
        if self.chunk_vectors not in {"sentence-mean", "encoded"}:
            raise ConfigError(f"{PREFIX}CHUNK_VECTORS must be sentence-mean or encoded, got {self.chunk_vectors!r}")
        if self.ingest_batch_articles < 1 or self.onnx_threads < 0:
            raise ConfigError(f"{PREFIX}INGEST_BATCH_ARTICLES must be at least 1 and {PREFIX}ONNX_THREADS at least 0")
        if self.answerer not in {"extractive", "bedrock"}:
            raise ConfigError(f"{PREFIX}ANSWERER must be extractive or bedrock, got {self.answerer!r}")
        if self.answerer == "bedrock" and not self.bedrock_model_id:
            raise ConfigError(f"{PREFIX}ANSWERER=bedrock needs {PREFIX}BEDROCK_MODEL_ID")
        if self.bedrock_timeout_seconds <= 0 or self.bedrock_max_attempts < 1:
            raise ConfigError(f"{PREFIX}BEDROCK_TIMEOUT_SECONDS must be > 0 and {PREFIX}BEDROCK_MAX_ATTEMPTS >= 1")
        if self.log_level is not None and self.log_level.upper() not in LOG_LEVELS:
            raise ConfigError(f"{PREFIX}LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if not 0 < self.compact_fraction <= 10 or self.compact_max_deltas < 1:
            raise ConfigError(f"{PREFIX}COMPACT_FRACTION must be in (0, 10] and {PREFIX}COMPACT_MAX_DELTAS at least 1")
        if min(self.part_articles, self.ranked_sources, self.latest_pool) < 1 or self.extra_sources < 0:
            raise ConfigError(f"{PREFIX}PART_ARTICLES, {PREFIX}RANKED_SOURCES and {PREFIX}LATEST_POOL must be at least 1 "
                              f"and {PREFIX}EXTRA_SOURCES at least 0")
        if not 1 <= self.citations <= self.max_k:
            raise ConfigError(f"{PREFIX}CITATIONS must be between 1 and {PREFIX}MAX_K ({self.max_k})")

    @property
    def aws_region(self) -> str:
        return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read NEWSDESK_* variables; `overrides` (for example CLI options) win over the environment."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            name = PREFIX + f.name.upper()
            if overrides.get(f.name) is not None:
                values[f.name] = overrides[f.name]
            elif env.get(name, "") != "":
                values[f.name] = _parse(name, env[name], f.type)
        return cls(**values)  # type: ignore[arg-type]


DEFAULTS = Settings()  # every default in one place: other config types take theirs from here


@dataclass(frozen=True)
class SlackSettings:
    """The Slack app's secrets (hidden from repr, never logged) and whether we run on Lambda."""

    signing_secret: str = field(repr=False)
    bot_token: str = field(repr=False)
    on_lambda: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackSettings:
        """The Slack secrets from the environment, or ConfigError naming what is missing."""
        env = os.environ if env is None else env
        missing = [name for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN") if not env.get(name, "").strip()]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} not set: copy them from the Slack app's settings (Basic Information, "
                "OAuth & Permissions); on AWS they come from Secrets Manager"
            )
        return cls(
            signing_secret=env["SLACK_SIGNING_SECRET"].strip(),
            bot_token=env["SLACK_BOT_TOKEN"].strip(),
            on_lambda=bool(env.get("AWS_LAMBDA_FUNCTION_NAME")),
        )


def _parse(name: str, raw: str, kind: object) -> object:
    kind = str(kind)
    try:
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        if kind.startswith("bool"):
            if raw.lower() not in {"1", "true", "yes", "0", "false", "no"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes"}
        if kind.startswith("Path"):
            return Path(raw)
    except ValueError:
        raise ConfigError(f"{name} has a bad value {raw!r}: expected {kind.split()[0]}") from None
    return raw
