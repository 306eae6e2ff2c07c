"""The Bedrock answerer: one Converse call through boto3, failures mapped to GenerationFailed reasons."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import boto3
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

from newsdesk.answer.generative import check_prompts, render_messages
from newsdesk.errors import ConfigError, GenerationFailed
from newsdesk.models import Citation
from newsdesk.ports import Draft

log = logging.getLogger(__name__)

THROTTLED = {"ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException"}
DENIED = {"AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException"}
UNAVAILABLE = {"ServiceUnavailableException", "InternalServerException", "ModelNotReadyException",
               "ModelErrorException", "ResourceNotFoundException"}


class BedrockGenerator:
    """Writes answers with a Bedrock model; one instance per process (it holds the HTTP client).

    boto3 directly, not LangChain: a new process that imports the chat path and builds this answerer
    spent 2.7 s of CPU through langchain_aws against 1.0 s with a bare boto3 client (median of 9, 2-core
    box), all of it on a cold start. LangChain users get `NewsdeskRetriever` and `build_answer_chain`.
    """

    name = "bedrock"

    def __init__(self, model_id: str, region: str, endpoint_url: str | None = None, timeout_seconds: float = 20.0,
                 max_attempts: int = 2, max_tokens: int = 400) -> None:
        check_prompts()
        self.model_id = model_id
        self.max_tokens = max_tokens
        config = Config(connect_timeout=timeout_seconds, read_timeout=timeout_seconds,
                        retries={"total_max_attempts": max_attempts, "mode": "standard"})
        # A session of its own: boto3's default session is shared module state, not thread-safe to create.
        self.client: Any = boto3.session.Session().client("bedrock-runtime", region_name=region,
                                                          endpoint_url=endpoint_url, config=config)

    def generate(self, question: str, sources: Sequence[Citation]) -> Draft:
        system, user = render_messages(question, sources)
        started = time.perf_counter()
        try:
            response = self.client.converse(
                modelId=self.model_id,
                system=[{"text": system}],
                messages=[{"role": "user", "content": [{"text": user}]}],
                inferenceConfig={"temperature": 0.0, "maxTokens": self.max_tokens},
            )
            text = "".join(block.get("text", "") for block in response["output"]["message"]["content"])
            usage = response.get("usage") or {}
            draft = Draft(text=text, input_tokens=int(usage.get("inputTokens", 0)),
                          output_tokens=int(usage.get("outputTokens", 0)))
        except ConfigError:
            raise  # our own broken prompt or setting: fail loudly, never disguise it as a Bedrock outage
        except Exception as exc:  # the edge: every SDK failure becomes a GenerationFailed with a reason
            raise _failure(exc) from exc
        log.info(
            "bedrock converse model=%s input_tokens=%d output_tokens=%d stop_reason=%s ms=%.0f",
            self.model_id, draft.input_tokens, draft.output_tokens, response.get("stopReason", "-"),
            (time.perf_counter() - started) * 1000.0,
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
    if isinstance(exc, ResponseParserError | ValueError | KeyError | TypeError | IndexError | AttributeError):
        return "malformed_reply", f"the reply could not be read ({type(exc).__name__})"
    if isinstance(exc, BotoCoreError):
        return "unavailable", f"{type(exc).__name__}: {exc}"
    return "bedrock_error", f"{type(exc).__name__}: {exc}"
