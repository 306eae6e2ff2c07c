"""What the Lambda functions log and count: JSON log lines (Powertools Logger) and CloudWatch EMF metrics."""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit

from newsdesk.errors import ConfigError
from newsdesk.models import Answer
from newsdesk.settings import Settings
from newsdesk.snapshots.snapshots import Blobs, read_manifest

NAMESPACE = "Newsdesk"
LOGGER = "newsdesk"  # every module logs under newsdesk.*, so one handler formats them all
# Defence in depth: nothing logs these on purpose, but a library's debug line might.
SECRET_PATTERNS = (re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+"), re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"))

Event = dict[str, Any]
Handler = Callable[[Event, Any], Any]

log = logging.getLogger("newsdesk.requests")
_settings = Settings()
_logger: Logger | None = None
_metrics: Metrics | None = None  # set while an observed invocation runs: answers recorded then are flushed at its end
_cold = True


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = message
        for pattern in SECRET_PATTERNS:
            clean = pattern.sub("[redacted]", clean)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def configure(settings: Settings | None = None, stream: IO[str] | None = None, default_level: str = "INFO") -> Logger:
    """JSON lines on stdout (or `stream`) for every newsdesk.* logger, at NEWSDESK_LOG_LEVEL; call once per process.

    A bad environment is not fatal here: logging starts at `default_level` and the error is logged; the
    request that builds the service then fails with the same ConfigError and its message.
    """
    global _settings, _logger
    problem = None
    if settings is None:
        try:
            settings = Settings.from_env()
        except ConfigError as exc:
            settings, problem = Settings(), exc
    _settings = settings
    base = logging.getLogger(LOGGER)
    for handler in list(base.handlers):  # a second call (tests) starts afresh, not with two handlers
        base.removeHandler(handler)
    for marker in ("init", "powertools_handler"):  # Powertools' own "already configured" marks
        base.__dict__.pop(marker, None)
    _logger = Logger(service=LOGGER, level=(settings.log_level or default_level).upper(), stream=stream, utc=True)
    _logger.registered_handler.addFilter(_Redact())
    if problem is not None:
        log.error("configuration error: %s", problem)
    return _logger


def observed(route: str, service: Callable[[], Any] | None = None) -> Callable[[Handler], Handler]:
    """Wrap an API Gateway handler: request keys on every log line, one request line, metrics flushed at the end.

    `service` (the cached service factory) tells the index version. Nothing here changes the response.
    """
    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(event: Event, context: Any) -> Any:
            started = time.perf_counter()
            keys = _begin(route, event, context)
            response: Any = None
            try:
                response = handler(event, context)
                return response
            finally:
                _request_line(event, response, service if _status(response) == 200 else None, started)
                _end(keys)
        return run
    return wrap


def observed_ingest(blobs: Callable[[], Blobs]) -> Callable[[Handler], Handler]:
    """Wrap the S3 ingest handler: one result line, article counts, publish time and the latest snapshot's age."""
    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(event: Event, context: Any) -> Any:
            keys = _begin("ingest", event, context)
            result: dict[str, Any] | None = None
            try:
                result = handler(event, context)
                return result
            finally:
                _ingest_line(result, blobs)
                _end(keys)
        return run
    return wrap


def _never_raise(record: Callable[..., None]) -> Callable[..., None]:
    """Logging and counting must never cost a user their answer: a failure here is logged and dropped."""
    @functools.wraps(record)
    def safe(*args: Any, **kwargs: Any) -> None:
        try:
            record(*args, **kwargs)
        except Exception:
            log.exception("observability failed in %s", record.__name__)
    return safe


@_never_raise
def record_answer(answer: Answer, store: object | None = None, channel: str = "slack") -> None:
    """An answer given outside the HTTP request line (Slack's lazy half): its log line and its metrics."""
    fields = _answer_fields(answer.to_dict(), _settings.log_questions)
    version, age = _index(store)
    log.info("answer", extra={"channel": channel, **fields, "index_version": version})
    _count_answer(fields, answer.timing_ms.get("total", 0.0), age)


# -- one invocation ----------------------------------------------------------------------------------
def _begin(route: str, event: Event, context: Any) -> dict[str, Any]:
    global _metrics, _cold
    request = event.get("requestContext") if isinstance(event, dict) else None
    request = request if isinstance(request, dict) else {}  # a malformed event still gets its 400, not a crash here
    keys = {"request_id": request.get("requestId") or getattr(context, "aws_request_id", None) or "-",
            "function_request_id": getattr(context, "aws_request_id", None), "route": route, "cold_start": _cold}
    _cold = False
    if _logger is not None:
        _logger.append_keys(**keys)
    _metrics = Metrics(namespace=NAMESPACE, service=route)
    _metrics.add_dimension(name="deployment", value=_settings.deployment)
    return keys


def _end(keys: Mapping[str, Any]) -> None:
    global _metrics
    metrics, _metrics = _metrics, None
    try:
        if metrics is not None and metrics.metric_set:
            metrics.flush_metrics()
    except Exception:
        log.exception("metrics not flushed")
    finally:
        if metrics is not None:
            metrics.clear_metrics()
        if _logger is not None:
            _logger.remove_keys(list(keys))


@_never_raise
def _request_line(event: Event, response: Any, service: Callable[[], Any] | None, started: float) -> None:
    """`service` is the cached factory, asked only after a 200: the service exists then, nothing is built."""
    status = _status(response)
    ms = (time.perf_counter() - started) * 1000.0
    fields: dict[str, Any] = {"status": status, "ms": round(ms, 1)}
    body = _body(response)
    if status == 200 and "answer" in body:
        fields.update(_answer_fields(body, _settings.log_questions))
        version, age = _index(service().store if service is not None else None)
        fields["index_version"] = version
        _count_answer(fields, ms, age)
    elif isinstance(body.get("error"), dict):
        fields["error"] = body["error"].get("code")
    caller = _caller(event.get("requestContext") or {}) if isinstance(event, dict) else None
    if caller:
        fields["caller"] = caller
    if status is not None and status >= 500:
        _add("ServerErrors", MetricUnit.Count, 1)
    log.info("request", extra=fields)


@_never_raise
def _ingest_line(result: dict[str, Any] | None, blobs: Callable[[], Blobs]) -> None:
    fields: dict[str, Any] = {"ok": result is not None}
    if result is not None:
        errors = result.get("errors") or []
        fields.update({k: result.get(k) for k in ("ingested", "unchanged", "deleted", "version", "published",
                                                  "publish_seconds")})
        fields.update(failed=len(errors), bad_objects=len(result.get("bad_objects") or []))
        _add("ArticlesAdded", MetricUnit.Count, int(result.get("ingested") or 0))
        _add("ArticlesFailed", MetricUnit.Count, len(errors))
        _add("ArticlesDeleted", MetricUnit.Count, int(result.get("deleted") or 0))
        if result.get("published") and result.get("publish_seconds") is not None:
            _add("PublishSeconds", MetricUnit.Seconds, float(result["publish_seconds"]))
    try:  # after a failure too: a stuck index is what the snapshot-age alarm is for
        manifest = read_manifest(blobs())
    except Exception as exc:  # the reason the run failed may be this very bucket; say so and carry on
        log.warning("snapshot age unknown error=%s", type(exc).__name__)
        manifest = None
    if manifest is not None:
        age = _age_seconds(manifest.created_at)
        fields["index_version"] = manifest.version
        if age is not None:
            fields["snapshot_age_s"] = round(age, 1)
            _add("SnapshotAgeSeconds", MetricUnit.Seconds, age)
    log.info("ingest", extra=fields)


# -- fields ------------------------------------------------------------------------------------------
def _answer_fields(body: Mapping[str, Any], with_question: bool) -> dict[str, Any]:
    question = str(body.get("question") or "")
    fields: dict[str, Any] = {
        "question_length": len(question),
        "answerer": body.get("answerer"),
        "abstained": bool(body.get("abstained")),
        "citations": len(body.get("citations") or []),
        "dropped_citations": int(body.get("dropped_citations") or 0),
        "fallback": body.get("fallback"),
        "timing_ms": body.get("timing_ms") or {},
    }
    if with_question:
        fields["question"] = question
    return fields


def _count_answer(fields: Mapping[str, Any], ms: float, snapshot_age: float | None) -> None:
    _add("Questions", MetricUnit.Count, 1)
    _add("Abstentions", MetricUnit.Count, int(fields["abstained"]))
    _add("DroppedCitations", MetricUnit.Count, int(fields["dropped_citations"]))
    _add("BedrockFallbacks", MetricUnit.Count, int(fields["fallback"] is not None))
    _add("Latency", MetricUnit.Milliseconds, round(ms, 1))
    if snapshot_age is not None:
        _add("SnapshotAgeSeconds", MetricUnit.Seconds, snapshot_age)


def _add(name: str, unit: MetricUnit, value: float) -> None:
    if _metrics is not None:  # outside an observed invocation (CLI, local servers) nothing would flush them
        _metrics.add_metric(name=name, unit=unit, value=value)


def _index(store: object | None) -> tuple[str | None, float | None]:
    """The snapshot version a store serves and its age, when it is an S3 snapshot store."""
    manifest = getattr(store, "manifest", None)
    if manifest is None:
        return None, None
    return str(manifest.version), _age_seconds(str(manifest.created_at))


def _age_seconds(created_at: str) -> float | None:
    try:
        created = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - created).total_seconds())


def _status(response: Any) -> int | None:
    status = response.get("statusCode") if isinstance(response, dict) else None
    return status if isinstance(status, int) else None


def _body(response: Any) -> dict[str, Any]:
    raw = response.get("body") if isinstance(response, dict) else None
    if not isinstance(raw, str) or not raw.startswith("{"):
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _caller(request: Mapping[str, Any]) -> str | None:
    """Who asked, as API Gateway established it: the JWT's subject or the IAM principal."""
    authorizer = request.get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    return claims.get("sub") or (authorizer.get("iam") or {}).get("userArn")
