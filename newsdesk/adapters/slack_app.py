"""The Slack front door: a slack-bolt App that acks at once and answers in lazy listeners, on Lambda or locally."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse, Respond
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from newsdesk.api.slack_format import Block, answer_blocks, answer_text, clean_question, earlier_questions, notice_blocks
from newsdesk.errors import BadRequest, NewsdeskError, StoreUnavailable
from newsdesk.models import Query
from newsdesk.observability import record_answer
from newsdesk.ports import SeenEvents
from newsdesk.service import Service
from newsdesk.settings import SlackSettings

log = logging.getLogger(__name__)

HELP = "Ask me a question about the news, for example: _How many homes lost power in the storm?_"
UNAVAILABLE = "I can't reach the news index right now, so I can't answer. Please try again in a few minutes."
FAILED = "Something went wrong while I was answering. Please try again in a moment."
USER_SUBTYPES = {None, "file_share", "thread_broadcast"}
Post = Callable[[list[Block], str], None]


def build_slack_app(
    get_service: Callable[[], Service], slack: SlackSettings, seen: SeenEvents, base_url: str | None = None
) -> App:
    """The bolt App: ack inside Slack's 3 seconds, answer in lazy listeners (built only when needed)."""
    app = App(
        token=slack.bot_token,
        signing_secret=slack.signing_secret,
        process_before_response=True,
        token_verification_enabled=False,  # no Slack call at import; auth.test runs once on the first request
        logger=logging.getLogger("newsdesk.slack.bolt"),
    )
    app.client.base_url = base_url or app.client.base_url  # per-request clients copy it
    app.client.timeout = 10
    # Slack's own 500/503 blips are retried (twice, with backoff) before a reply is given up and logged.
    app.client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=2))
    answering = _Answering(get_service, seen)
    app.use(_skip_bots_and_edits)
    app.event("app_mention")(ack=_ack, lazy=[answering.answer_mention])
    app.event({"type": "message", "channel_type": "im"})(ack=_ack, lazy=[answering.answer_direct_message])
    app.event("message")(ack=_ack, lazy=[])  # any other message event: acknowledged so Slack does not retry it
    app.command("/ask")(ack=_ack, lazy=[answering.answer_command])
    return app


def _ack(ack: Ack) -> None:
    ack()


def _skip_bots_and_edits(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
    """Messages from any bot (ourselves included), edits and joins are acknowledged and dropped."""
    event = body.get("event") or {}
    if event.get("type") in {"message", "app_mention"} and (event.get("bot_id") or event.get("subtype") not in USER_SUBTYPES):
        log.info("slack skipped event_id=%s reason=%s", body.get("event_id", "-"), "bot" if event.get("bot_id") else "subtype")
        return BoltResponse(status=200, body="")
    next()
    return None


@dataclass
class _Answering:
    get_service: Callable[[], Service]
    seen: SeenEvents

    def answer_mention(self, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        self._in_thread(body, event, client, context, direct=False)

    def answer_direct_message(
        self, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        self._in_thread(body, event, client, context, direct=True)

    def answer_command(self, body: dict[str, Any], respond: Respond) -> None:
        request_id = "command:" + str(body.get("trigger_id") or body.get("command_ts") or "-")
        if not self._claim([request_id], request_id):
            return

        def post(blocks: list[Block], text: str) -> None:
            respond(text=text, blocks=blocks, response_type="ephemeral", unfurl_links=False, unfurl_media=False)

        question = clean_question(str(body.get("text") or ""))
        self._answer(question, (), post, request_id, echo=True)

    def _in_thread(self, body: dict[str, Any], event: dict[str, Any], client: WebClient, ctx: BoltContext, direct: bool) -> None:
        channel, ts = str(event.get("channel")), str(event.get("ts"))
        request_id = str(body.get("event_id") or f"{channel}:{ts}")
        # The same message can arrive under two event ids (redelivery, or as both mention and DM).
        if not self._claim([request_id, f"message:{channel}:{ts}"], request_id):
            return
        thread_ts = str(event.get("thread_ts") or ts)

        def post(blocks: list[Block], text: str) -> None:
            client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            )

        question = clean_question(str(event.get("text") or ""), ctx.bot_user_id)
        earlier: tuple[str, ...] = ()
        if question and thread_ts != ts:
            earlier = self._thread_context(client, channel, thread_ts, ts, ctx, direct, request_id)
        self._answer(question, earlier, post, request_id, echo=False)

    def _claim(self, keys: list[str], request_id: str) -> bool:
        try:
            for key in keys:
                if not self.seen.first_time(key):
                    log.info("slack duplicate request_id=%s key=%s", request_id, key)
                    return False
        except StoreUnavailable as exc:
            # Answering twice is better than never answering: go on without the check.
            log.warning("slack dedup unavailable request_id=%s error=%s", request_id, exc)
        return True

    def _thread_context(
        self, client: WebClient, channel: str, thread_ts: str, ts: str, ctx: BoltContext, direct: bool, request_id: str
    ) -> tuple[str, ...]:
        try:
            replies = client.conversations_replies(channel=channel, ts=thread_ts, limit=100)
        except SlackApiError as exc:
            log.warning("slack thread unreadable request_id=%s error=%s", request_id, exc.response.get("error"))
            return ()
        return earlier_questions(replies.get("messages") or [], ts, ctx.bot_user_id, ctx.bot_id, direct=direct)

    def _answer(self, question: str, earlier: tuple[str, ...], post: Post, request_id: str, echo: bool) -> None:
        started = time.perf_counter()
        outcome = "answered"
        try:
            if not question:
                outcome, blocks, text = "empty", notice_blocks(HELP), HELP
            else:
                service = self.get_service()
                query = Query(question=question, k=service.config.citations, context=earlier)
                answer = service.ask(query)
                record_answer(answer, service.store)
                blocks, text = answer_blocks(answer, question if echo else None), answer_text(answer)
                outcome = "abstained" if answer.abstained else "answered"
        except BadRequest as exc:
            message = str(exc)
            outcome, text = "bad_request", f"I can't answer that: {message[:1].lower()}{message[1:]}."
            blocks = notice_blocks(f":warning: {text}")
        except StoreUnavailable as exc:
            outcome, blocks, text = "store_unavailable", notice_blocks(f":warning: {UNAVAILABLE}"), UNAVAILABLE
            log.warning("slack store unavailable request_id=%s error=%s", request_id, exc)
        except Exception as exc:  # the user hears back whatever went wrong; details go to the log only
            outcome, blocks, text = "failed", notice_blocks(f":warning: {FAILED}"), FAILED
            code = exc.code if isinstance(exc, NewsdeskError) else type(exc).__name__
            log.exception("slack answer failed request_id=%s error=%s", request_id, code)
        try:
            post(blocks, text)
        except (SlackApiError, OSError) as exc:
            log.error("slack post failed request_id=%s error=%s", request_id, getattr(exc, "response", {}) or type(exc).__name__)
            return
        log.info(
            "slack reply request_id=%s outcome=%s context=%d ms=%.0f",
            request_id, outcome, len(earlier), (time.perf_counter() - started) * 1000,
        )


@dataclass(frozen=True)
class LocalContext:
    """The two fields of a Lambda context that bolt's adapter reads."""

    function_name: str = "newsdesk-slack-local"
    invoked_function_arn: str = "local"


class LocalLambdaClient:
    """Stands in for boto3's Lambda client off AWS: an async 'Event' invoke runs the handler in a thread."""

    def __init__(self, handle: Callable[[dict[str, Any], Any], dict[str, Any]], workers: int = 4) -> None:
        self._handle = handle
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack-lazy")
        self._pending: list[Future[dict[str, Any]]] = []

    def invoke(self, FunctionName: str, InvocationType: str = "Event", Payload: str = "{}") -> dict[str, Any]:  # noqa: N803
        context = LocalContext(function_name=FunctionName, invoked_function_arn=FunctionName)
        self._pending.append(self._pool.submit(self._handle, json.loads(Payload), context))
        return {"StatusCode": 202}

    def wait(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Block until every lazy invocation so far has finished; their responses, oldest first."""
        done, self._pending = self._pending, []
        return [future.result(timeout=timeout) for future in done]


class SlackEntry:
    """What `handler.slack` calls: bolt's Lambda adapter, with lazy work re-invoking this same entry."""

    def __init__(self, app: App, lambda_client: Any | None = None) -> None:
        self.app = app
        self._handler = SlackRequestHandler(app)
        self.local = LocalLambdaClient(self.handle) if lambda_client is None else None
        runner = LambdaLazyListenerRunner(logging.getLogger("newsdesk.slack.lazy"), lambda_client or self.local)
        app.listener_runner.lazy_listener_runner = runner

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        event.setdefault("isBase64Encoded", False)
        response: dict[str, Any] = self._handler.handle(event, context or LocalContext())
        return response


def lambda_client(region: str) -> Any:
    """The real Lambda client used on AWS to re-invoke the function for lazy work."""
    import boto3

    return boto3.client("lambda", region_name=region)
