"""The `newsdesk` command: the click group here, its subcommands in a module per thing users do.

May import anything below it; the service, adapters and models only inside a command, so `newsdesk --help` stays fast.
"""

from __future__ import annotations

import logging
import sys

import click

from newsdesk.cli import articles, operations, questions
from newsdesk.cli.common import fail
from newsdesk.errors import ConfigError
from newsdesk.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (key=value lines on stderr).")
def cli(verbose: bool) -> None:
    """Newsdesk: ask questions about your news articles; answers quote their sources.

    \b
    Examples:
      newsdesk ingest examples/articles/
      newsdesk ask "How many homes lost power in the storm?"
      newsdesk ask --json --outlet "Harbor Gazette" "What did the council decide?"
      cat story.md | newsdesk ingest -
      newsdesk list bridge
      newsdesk serve --port 8080     # then open http://localhost:8080/
    """
    logging.basicConfig(level=_log_level() or ("INFO" if verbose else "WARNING"), stream=sys.stderr,
                        format="%(levelname)s %(name)s %(message)s")


def _log_level() -> str | None:
    """NEWSDESK_LOG_LEVEL, when set; a bad environment is reported by the command that reads it."""
    try:
        level = Settings.from_env().log_level
    except ConfigError:
        return None
    return level.upper() if level else None


for command in (
    articles.ingest, articles.delete, articles.list_command, articles.stats, articles.reindex,
    questions.ask, questions.chat,
    operations.serve, operations.eval_command, operations.publish, operations.compact, operations.export_onnx_command,
):
    cli.add_command(command)


def main() -> None:
    """Entry point of the `newsdesk` command."""
    try:
        cli()
    except ConfigError as exc:
        fail(exc)
