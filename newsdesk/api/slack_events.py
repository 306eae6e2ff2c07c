"""A Slack request body checked before bolt reads it: bolt parses it and reads ids from it before it checks the
signature, and trusts their types, so a malformed body from anyone would otherwise be a 500."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from newsdesk.api.gateway import parse_json
from newsdesk.errors import BadRequest

Id = str | dict[str, Any] | None  # "T0NEWS", or {"id": "T0NEWS", ...} in interactive payloads


class SlackPayload(BaseModel):
    """The fields bolt and our listeners read from a body, its `event` and its `authorizations`, typed as Slack
    sends them; every other field passes as it is."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str | None = None
    event: SlackPayload = Field(None, description="An Events API callback's event: an object, never null.")  # type: ignore[assignment]
    authorizations: list[SlackPayload] | None = None
    enterprise: Id = None
    team: Id = None
    user: Id = None
    channel: Id = None
    enterprise_id: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    channel_id: str | None = None
    user_team: str | None = None
    is_ext_shared_channel: bool | None = None
    is_enterprise_install: bool | str | None = None
    text: str | None = None
    ts: str | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    subtype: str | None = None
    channel_type: str | None = None
    response_url: str | None = None
    response_urls: list[dict[str, Any]] | None = None


def check_slack_body(raw: str, headers: Mapping[str, str]) -> None:
    """BadRequest unless the body is what bolt can read: parsed the way bolt parses it (JSON by content type or a
    leading brace, a form, or a form's JSON `payload`), an object, with the fields above of the right types."""
    if not raw:
        return
    content_type = next((v for k, v in reversed(list(headers.items())) if k.lower() == "content-type"), "")
    body: Any
    if content_type.split(";")[0] == "application/json" or raw.startswith("{"):
        body = parse_json(raw)
    else:
        body = dict(parse_qsl(raw, keep_blank_values=True))
        if "payload" in raw and "payload" in body:  # interactive components: a form field holding JSON
            body = parse_json(body["payload"])
    if not isinstance(body, dict):
        raise BadRequest("a Slack request body must be a JSON object or a form")
    try:
        SlackPayload.model_validate(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "the body"
        raise BadRequest(f"malformed Slack request: {where!r} is not what Slack sends ({error['msg'].lower()})") from None
