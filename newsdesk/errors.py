"""The small exception hierarchy; front doors translate these, nothing else branches on them."""


class NewsdeskError(Exception):
    """Base class: every error a user can meet carries a message that says what to do next."""

    code = "error"


class ConfigError(NewsdeskError):
    """A setting is missing or malformed."""

    code = "bad_config"


class IndexModelMismatch(ConfigError):
    """The index was made by another embedding model (or other chunk settings) than the one configured."""

    code = "index_model_mismatch"


class BadRequest(NewsdeskError):
    """The caller asked for something malformed (question, filters, k)."""

    code = "bad_request"


class ArticleError(NewsdeskError):
    """One input article cannot be read or is invalid; other articles are unaffected."""

    code = "bad_article"

    def __init__(self, message: str, source: str = "", line: int | None = None) -> None:
        where = source + (f":{line}" if line is not None else "")
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.line = line


class NotFound(NewsdeskError):
    """The named thing (article, route) does not exist."""

    code = "not_found"


class MethodNotAllowed(NewsdeskError):
    """The route exists but not for this HTTP method."""

    code = "method_not_allowed"


class StoreUnavailable(NewsdeskError):
    """The index cannot be reached or has not been built yet."""

    code = "store_unavailable"


class StoreBusy(StoreUnavailable):
    """Another process is writing to the index, and the caller chose not to wait for it."""

    code = "store_busy"


class PublishConflict(StoreUnavailable):
    """Another writer published a new index version while this one worked; nothing was replaced."""

    code = "publish_conflict"


class SnapshotRefused(StoreUnavailable):
    """An index version fails its checks (a file differs from its manifest checksum, or there are none): not loaded."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key  # the object (or manifest) that failed


class GeneratorError(NewsdeskError):
    """The answer generator failed; callers fall back to the extractive answer."""

    code = "generator_failed"


class GenerationFailed(GeneratorError):
    """A generator failure with a short machine-readable reason (throttled, timeout, ...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
