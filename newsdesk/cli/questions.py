"""Asking: one question (ask) or a conversation (chat), and how an answer is printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from newsdesk.cli.common import check_day, check_k, check_outlet, fail, store_option, waiting
from newsdesk.errors import BadRequest, NewsdeskError
from newsdesk.settings import Settings

if TYPE_CHECKING:  # numpy comes with the models: `newsdesk --help` need not pay for it
    from newsdesk.models import Answer, Query


@click.command()
@click.argument("question")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as the /chat endpoint.")
@click.option("-k", "k", type=int, default=None, callback=check_k, help="How many sentences to cite (default 3).")
@click.option("--outlet", callback=check_outlet, help="Only use articles from this outlet.")
@click.option("--after", "published_after", callback=check_day,
              help="Only articles published on or after this date (YYYY-MM-DD).")
@click.option("--before", "published_before", callback=check_day,
              help="Only articles published on or before this date (YYYY-MM-DD).")
@click.option("--answerer", type=click.Choice(["extractive", "bedrock"]), envvar="NEWSDESK_ANSWERER",
              help="Who writes the answer: extractive (quotes the sentences as they are; the default) or bedrock "
                   "(a fluent answer by Amazon Bedrock, its citations checked) [env NEWSDESK_ANSWERER].")
@click.option("--history", multiple=True, metavar="QUESTION",
              help="An earlier question of the conversation, oldest first (repeat the option): a follow-up takes "
                   "its subject from them. `newsdesk chat` keeps them for you.")
def ask(question: str, store: Path | None, as_json: bool, k: int | None, outlet: str | None,
        published_after: str | None, published_before: str | None, answerer: str | None,
        history: tuple[str, ...]) -> None:
    """Answer QUESTION from the ingested articles, quoting the sentences it rests on.

    \b
      newsdesk ask "What did the council decide about the bridge?"
      newsdesk ask --json --after 2024-03-01 "Who won the election?"
      newsdesk ask --history "How many acres has the fire burned?" "And how many were evacuated?"
    """
    from newsdesk.api.request_models import parse_query
    from newsdesk.app import build_service, hold_for_reading

    if published_after and published_before and published_after > published_before:
        raise click.UsageError(f"--after {published_after} is later than --before {published_before}")
    try:
        settings = Settings.from_env(store=store, answerer=answerer)
        if k is not None and k > settings.max_k:
            raise click.BadParameter(f"must be from 1 to {settings.max_k}, got {k}", param_hint="'-k'")
        with hold_for_reading(settings, waiting("an ingest to finish", settings.store)):
            service = build_service(settings)
            filters = {k_: v for k_, v in [("outlet", outlet), ("published_after", published_after),
                                           ("published_before", published_before)] if v}
            body: dict[str, Any] = {"question": question, "filters": filters or None, "history": list(history)}
            if k is not None:
                body["k"] = k
            if answerer:
                body["answerer"] = answerer
            query: Query = parse_query(body, service.config.citations, service.config.max_k,
                                       service.config.max_question_chars)
            answer = service.ask(query)
    except NewsdeskError as exc:
        fail(exc)
        return
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    _print_answer(answer, answerer)


def _print_answer(answer: Answer, answerer: str | None) -> None:
    """An answer as the CLI shows it: the text, any conflict note, then each citation with where to check it."""
    if answer.resolved_question:
        click.echo(f"(taken as: {answer.resolved_question})")
    click.echo(answer.text)
    if answer.conflict_note:  # differing figures, newest first
        click.echo(answer.conflict_note)
    for c in answer.citations:
        where = ", ".join(x for x in (c.outlet, c.published_at) if x)
        click.echo(f"  [{c.n}] {c.title or c.article_id}" + (f" ({where})" if where else ""))
        click.echo(f"      {c.url or 'no URL'} · {c.article_id} chars {c.start}-{c.end}")
    explained = {d.statement for d in answer.dropped_statements}
    for dropped in answer.dropped_statements:
        why = "; ".join(p.detail or p.reason for p in dropped.problems)
        click.echo(f"  removed, the sources do not support it ({why}): {dropped.statement}")
    for sentence in answer.unsupported:
        if sentence not in explained:
            click.echo(f"  not supported by the sources, removed: {sentence}")
    if answer.fallback:
        click.echo(f"  ({answer.answerer} answer: the {answerer or 'configured'} answerer failed: {answer.fallback})")


@click.command()
@store_option
@click.option("-k", "k", type=int, default=None, callback=check_k, help="How many sentences to cite (default 3).")
def chat(store: Path | None, k: int | None) -> None:
    """Ask questions one after another; follow-ups ("and how many were injured?") take their subject from the
    questions before (the last three, as on the web page). An empty line or Ctrl-D ends; /new starts afresh.

    \b
      newsdesk chat
      > How many acres has the Cedar Ridge Fire burned?
      > And how many residents were evacuated?
    """
    from newsdesk.api.request_models import MAX_HISTORY, parse_query
    from newsdesk.app import build_service

    try:
        settings = Settings.from_env(store=store)
        service = build_service(settings)
    except NewsdeskError as exc:
        fail(exc)
        return
    history: list[str] = []
    while True:
        try:
            question = click.prompt(">", prompt_suffix=" ", default="", show_default=False).strip()
        except click.Abort:  # Ctrl-D or Ctrl-C
            return
        if not question:
            return
        if question == "/new":
            history.clear()
            click.echo("(new conversation)")
            continue
        body: dict[str, Any] = {"question": question, "history": history[-MAX_HISTORY:]}
        if k is not None:
            body["k"] = k
        try:
            answer = service.ask(parse_query(body, service.config.citations, service.config.max_k,
                                             service.config.max_question_chars))
        except BadRequest as exc:  # a bad question ends nothing: say what to fix and take the next one
            click.echo(f"error: {exc}", err=True)
            continue
        except NewsdeskError as exc:
            fail(exc)
            return
        _print_answer(answer, None)
        history.append(question)
