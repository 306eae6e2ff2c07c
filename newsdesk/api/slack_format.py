"""Slack Block Kit for an Answer within Slack's limits, and Slack message text back to a plain question."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from newsdesk.models import Answer, Citation

MAX_BLOCKS = 50  # per message
MAX_SECTION_CHARS = 3000  # per section / context text
MAX_FALLBACK_CHARS = 3000  # the notification `text`
SHORTENED = " … _(shortened to fit Slack)_"
Block = dict[str, Any]

_MENTION = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<([^@#!>][^>|]*)(?:\|([^>]*))?>")


def escape(text: str) -> str:
    """Slack mrkdwn needs only &, < and > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def answer_blocks(answer: Answer, question: str | None = None) -> list[Block]:
    """The reply: (the question,) the answer with [n] markers, each cited sentence with its source, a footer."""
    head: list[Block] = []
    if question:
        head.append(_context(f"*Question:* {escape(_cut(question, 1000))}"))
    if answer.resolved_question:  # a follow-up: say what the thread filled in
        head.append(_context(f"_Taken as:_ {escape(_cut(answer.resolved_question, 1000))}"))
    footer = _context(_footer(answer))
    if answer.abstained or not answer.citations:
        return [*head, _section(f":information_source: {escape(answer.text)}"), footer]
    sources = [_section(citation_text(c)) for c in answer.citations]
    note = [_section(f":warning: {escape(_cut(answer.conflict_note, 2000))}")] if answer.conflict_note else []
    room = MAX_BLOCKS - len(head) - 2 - len(note)  # the divider, the footer and a conflict note
    sources = sources[: max(1, room - 1)]
    body = [*_sections(escape(answer.text), max_sections=room - len(sources)), *note]
    if len(sources) < len(answer.citations):
        footer = _context(_footer(answer) + f" · {len(answer.citations) - len(sources)} more source(s) not shown")
    return [*head, *body, {"type": "divider"}, *sources, footer]


def citation_text(c: Citation) -> str:
    """`*[n]* <url|Title>` / `Outlet · 6 Mar 2024` / `> quoted sentence`, at most one section long."""
    title = escape(" ".join((c.title or c.article_id).split()))
    link = f"<{_safe_url(c.url)}|{title}>" if c.url and c.url.startswith(("https://", "http://")) else f"*{title}*"
    source = " · ".join(part for part in (c.outlet, _day(c.published_at)) if part)
    head = f"*[{c.n}]* {link}" + (f"\n_{escape(source)}_" if source else "")
    room = MAX_SECTION_CHARS - len(head) - 10
    quote = _cut(escape(" ".join(c.sentence.split())), room)
    return f"{head}\n>“{quote}”"


def answer_text(answer: Answer) -> str:
    """Fallback `text` for notifications and clients without blocks: escaped like the blocks, since Slack renders
    it too (an article's `<!channel>` must not notify a channel)."""
    return _cut(escape(" ".join(t for t in (answer.text, answer.conflict_note) if t)), MAX_FALLBACK_CHARS)


def notice_blocks(message: str) -> list[Block]:
    """A short message to the user (help, a problem), as one section."""
    return [_section(escape(_cut(message, MAX_SECTION_CHARS - 50)))]


def clean_question(text: str, bot_user_id: str | None = None) -> str:
    """Slack's encoded text as the user typed it, without the mention of the bot."""

    def mention(m: re.Match[str]) -> str:
        sigil, target, label = m.group(1), m.group(2), m.group(3)
        if sigil == "@":
            return "" if target == bot_user_id else "@" + (label or target)
        if sigil == "#":
            return "#" + (label or target)
        return label or ""  # <!here>, <!date^...|label>

    text = _MENTION.sub(mention, text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1).removeprefix("mailto:"), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def earlier_questions(
    messages: Iterable[Mapping[str, Any]],
    current_ts: str,
    bot_user_id: str | None,
    bot_id: str | None = None,
    direct: bool = False,
    limit: int = 3,
    max_chars: int = 1000,
) -> tuple[str, ...]:
    """Questions asked earlier in a thread, but only if Newsdesk answered there (oldest first).

    Questions longer than `max_chars` were refused when asked, so they are not context either.
    """
    thread = list(messages)
    answered = any(_by_bot(m, bot_user_id, bot_id) for m in thread)
    if not answered or not bot_user_id:
        return ()
    found: list[str] = []
    for m in sorted(thread, key=lambda m: _ts(m.get("ts"))):
        if _ts(m.get("ts")) >= _ts(current_ts) or m.get("bot_id") or m.get("subtype") or _by_bot(m, bot_user_id, bot_id):
            continue
        text = str(m.get("text") or "")
        if not direct and f"<@{bot_user_id}" not in text:
            continue
        question = clean_question(text, bot_user_id)
        if question and len(question) <= max_chars:
            found.append(question)
    return tuple(found[-limit:]) if limit > 0 else ()


def _by_bot(m: Mapping[str, Any], bot_user_id: str | None, bot_id: str | None) -> bool:
    return bool(bot_user_id and m.get("user") == bot_user_id) or bool(bot_id and m.get("bot_id") == bot_id)


def _ts(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return 0.0


def _footer(answer: Answer) -> str:
    if answer.abstained or not answer.citations:
        return "Newsdesk · no article in the collection supports an answer"
    articles = len({c.article_id for c in answer.citations})
    return f"Newsdesk · {len(answer.citations)} sentence(s) quoted verbatim from {articles} article(s)"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, MAX_SECTION_CHARS)}]}


def _sections(text: str, max_sections: int) -> list[Block]:
    """Split escaped text at spaces into sections of at most MAX_SECTION_CHARS; shorten past `max_sections`."""
    limit = MAX_SECTION_CHARS - len(SHORTENED)
    parts: list[str] = []
    rest = text
    while rest:
        if len(rest) <= MAX_SECTION_CHARS:
            parts.append(rest)
            break
        cut = rest.rfind(" ", 0, limit + 1)
        cut = cut if cut > limit // 2 else _safe_cut_point(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if len(parts) > max_sections:
        parts = parts[: max(1, max_sections)]
        parts[-1] = parts[-1][:limit].rstrip() + SHORTENED
    return [_section(p) for p in parts]


def _safe_cut_point(text: str, limit: int) -> int:
    """Do not cut inside an escape like &amp;."""
    amp = text.rfind("&", max(0, limit - 5), limit)
    return amp if amp > 0 and ";" not in text[amp:limit] else limit


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + "…"


def _safe_url(url: str) -> str:
    return url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C").replace(" ", "%20")


def _day(published_at: str | None) -> str | None:
    if not published_at:
        return None
    try:
        d = date.fromisoformat(published_at[:10])
    except ValueError:
        return published_at
    return f"{d.day} {d:%b} {d.year}"
