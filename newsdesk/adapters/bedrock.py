"""The Bedrock answerer: Converse through LangChain's ChatBedrockConverse, failures mapped to GeneratorError."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError
from langchain_aws import ChatBedrockConverse

from newsdesk.adapters.langchain_retriever import NewsdeskRetriever, build_answer_chain
from newsdesk.answer.generative import check_prompts
from newsdesk.errors import ConfigError, GenerationFailed
from newsdesk.models import Citation
from newsdesk.ports import Draft

log = logging.getLogger(__name__)

THROTTLED = {"ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException"}
DENIED = {"AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException"}
UNAVAILABLE = {"ServiceUnavailableException", "InternalServerException", "ModelNotReadyException",
               "ModelErrorException", "ResourceNotFoundException"}


class BedrockGenerator:
    """Writes answers with a Bedrock model; one instance per process (it holds the HTTP client)."""

    name = "bedrock"

    def __init__(self, model_id: str, region: str, endpoint_url: str | None = None, timeout_seconds: float = 20.0,
                 max_attempts: int = 2, max_tokens: int = 400) -> None:
        check_prompts()
        self.model_id = model_id
        config = Config(connect_timeout=timeout_seconds, read_timeout=timeout_seconds,
                        retries={"total_max_attempts": max_attempts, "mode": "standard"})
        self.llm = ChatBedrockConverse(model=model_id, region_name=region, base_url=endpoint_url, config=config,
                                       temperature=0.0, max_tokens=max_tokens, disable_streaming=True)

    def generate(self, question: str, sources: Sequence[Citation]) -> Draft:
        # The chain runs on the same retriever LangChain users get, fed the evidence the service already found.
        retriever = NewsdeskRetriever(search=lambda _question: list(sources))
        started = time.perf_counter()
        try:
            result = build_answer_chain(retriever, self.llm).invoke(question)
        except ConfigError:
            raise  # our own broken prompt or setting: fail loudly, never disguise it as a Bedrock outage
        except Exception as exc:  # the edge: every SDK failure becomes a GeneratorError with a reason
            raise _failure(exc) from exc
        message = result["message"]
        usage = getattr(message, "usage_metadata", None) or {}
        draft = Draft(text=message.text if isinstance(message.text, str) else "",
                      input_tokens=int(usage.get("input_tokens", 0)), output_tokens=int(usage.get("output_tokens", 0)))
        log.info(
            "bedrock converse model=%s input_tokens=%d output_tokens=%d stop_reason=%s ms=%.0f",
            self.model_id, draft.input_tokens, draft.output_tokens,
            message.response_metadata.get("stopReason", "-"), (time.perf_counter() - started) * 1000.0,
        )
        if not draft.text.strip():
            raise GenerationFailed("malformed_reply", f"Bedrock model {self.model_id} returned no text")
        return draft


def _failure(exc: Exception) -> GenerationFailed:
    reason, hint = _classify(exc)
    log.warning("bedrock converse failed reason=%s error_type=%s error=%s", reason, type(exc).__name__, exc)
    return GenerationFailed(reason, f"Bedrock call failed ({reason}): {hint}")


def _classify(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in THROTTLED or status == 429:
            return "throttled", "Bedrock is throttling requests; retry later or raise the model's quota"
        if code == "ModelTimeoutException":
            return "timeout", "the model took too long"
        if code in DENIED or status == 403:
            return "access_denied", f"{code}: check model access in the Bedrock console and bedrock:InvokeModel in IAM"
        if code in UNAVAILABLE or (isinstance(status, int) and status >= 500):
            return "unavailable", f"{code or status}: Bedrock is unavailable"
        # ValidationException lands here: a wrong model id, or a prompt too long for the model.
        return "bedrock_error", f"{code or status}: {exc}"
    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError | TimeoutError):
        return "timeout", "no reply within NEWSDESK_BEDROCK_TIMEOUT_SECONDS"
    if isinstance(exc, NoCredentialsError):
        return "access_denied", "no AWS credentials were found"
    if isinstance(exc, EndpointConnectionError):
        return "unavailable", "cannot reach the Bedrock endpoint (check AWS_REGION or NEWSDESK_BEDROCK_ENDPOINT_URL)"
    if isinstance(exc, ResponseParserError | ValueError | KeyError | TypeError | IndexError):
        return "malformed_reply", f"the reply could not be read ({type(exc).__name__})"
    if isinstance(exc, BotoCoreError):
        return "unavailable", f"{type(exc).__name__}: {exc}"
    return "bedrock_error", f"{type(exc).__name__}: {exc}"
