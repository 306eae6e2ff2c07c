"""What the commands share: the index options, the filters' checks, exit codes and how an error is reported."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from newsdesk.errors import BadRequest, ConfigError, NewsdeskError, StoreBusy

EXIT_USAGE, EXIT_FAILED, EXIT_BUSY = 2, 1, 75  # 75: EX_TEMPFAIL, "try again later" (--no-wait)

store_option = click.option(
    "--store", type=click.Path(path_type=Path), envvar="NEWSDESK_STORE",
    help="Index folder [env NEWSDESK_STORE; default .newsdesk]",
)
no_wait_option = click.option(
    "--no-wait", is_flag=True,
    help=f"Fail at once (exit {EXIT_BUSY}) if another ingest is writing to the index, instead of waiting for it.",
)


def waiting(what: str, store: Path) -> Callable[[], None]:
    return lambda: click.echo(f"waiting for {what} on {store}…", err=True)


def fail(exc: NewsdeskError) -> None:
    click.echo(f"error: {exc}", err=True)
    if isinstance(exc, StoreBusy):
        sys.exit(EXIT_BUSY)
    sys.exit(EXIT_USAGE if isinstance(exc, BadRequest | ConfigError) else EXIT_FAILED)


def check_day(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from newsdesk.api.request_models import parse_day

    if value is not None:
        try:
            parse_day(value, param.name or "")
        except BadRequest:
            raise click.BadParameter(f"{value!r} is not a date like 2024-03-05") from None
    return value


def check_outlet(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("must name an outlet, e.g. --outlet \"Harbor Gazette\"")
    return value


def check_k(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise click.BadParameter(f"must be at least 1, got {value}")
    return value
