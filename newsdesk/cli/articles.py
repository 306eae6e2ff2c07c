"""What goes into the index and what is in it: ingest, delete, list, stats, reindex."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from newsdesk.cli.common import EXIT_FAILED, check_day, check_outlet, fail, no_wait_option, store_option, waiting
from newsdesk.errors import NewsdeskError
from newsdesk.settings import Settings


@click.command()
@click.argument("paths", nargs=-1, required=True)
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@no_wait_option
def ingest(paths: tuple[str, ...], store: Path | None, as_json: bool, no_wait: bool) -> None:
    """Add or update articles from PATHS: .txt, .md, .html, .jsonl files, folders, or - for stdin.

    Re-running is safe: unchanged articles are skipped, changed ones replaced; a run
    that was killed is finished by the next one. One ingest writes at a time: a second
    waits for the first (or, with --no-wait, exits 75). `newsdesk serve` keeps answering.

    \b
    Examples:
      newsdesk ingest examples/articles/
      newsdesk ingest stories.jsonl --store /data/index
    """
    from tqdm import tqdm

    from newsdesk.app import build_service, hold_for_writing
    from newsdesk.ingest.load import load_paths

    try:
        settings = Settings.from_env(store=store)
        on_wait = waiting("another ingest", settings.store)
        with hold_for_writing(settings, not no_wait, on_wait):  # before opening: the index may not exist yet
            service = build_service(settings, wait=not no_wait, on_wait=on_wait)
            with tqdm(unit="article", disable=as_json or not sys.stderr.isatty(), file=sys.stderr) as bar:
                report = service.ingest(load_paths(paths), progress=bar.update)
    except NewsdeskError as exc:
        fail(exc)
        return
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    for duplicate in report.duplicates:
        click.echo(f"duplicate: {duplicate}", err=True)
    click.echo(json.dumps(report.to_dict()) if as_json else report.summary())
    if report.failed:
        sys.exit(EXIT_FAILED)


@click.command()
@click.argument("article")
@store_option
@no_wait_option
def delete(article: str, store: Path | None, no_wait: bool) -> None:
    """Remove ARTICLE (an id, or the article's URL) and all its chunks from the index.

    \b
      newsdesk delete sha-3f2a9c1b7d4e5f60
      newsdesk delete https://harbor-gazette.example/2024/03/06/storm-power-cuts
    """
    from newsdesk.app import build_service, hold_for_writing, require_index

    try:
        settings = Settings.from_env(store=store)
        require_index(settings)
        on_wait = waiting("another ingest", settings.store)
        with hold_for_writing(settings, not no_wait, on_wait):
            service = build_service(settings, wait=not no_wait, on_wait=on_wait)
            by_url = article.startswith(("http://", "https://")) and service.store.version_of(article) is None
            ids = service.ids_for_url(article) if by_url else [article]
            removed = [article_id for article_id in ids if service.delete(article_id)]
    except NewsdeskError as exc:
        fail(exc)
        return
    if not removed:
        what = "with the URL" if by_url else "with id"
        click.echo(f"error: no article {what} {article!r}: `newsdesk list` shows what is indexed", err=True)
        sys.exit(EXIT_FAILED)
    for article_id in removed:
        click.echo(f"deleted {article_id}")


@click.command(name="list")
@click.argument("words", required=False)
@store_option
@click.option("--outlet", callback=check_outlet, help="Only articles from this outlet.")
@click.option("--after", "published_after", callback=check_day, help="Only articles published on or after (YYYY-MM-DD).")
@click.option("--before", "published_before", callback=check_day, help="Only articles published on or before (YYYY-MM-DD).")
@click.option("--page", type=int, default=1, show_default=True, help="Which page of results.")
@click.option("--per-page", type=int, default=20, show_default=True, help="Articles per page (at most 100).")
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as GET /articles.")
def list_command(words: str | None, store: Path | None, outlet: str | None, published_after: str | None,
                 published_before: str | None, page: int, per_page: int, as_json: bool) -> None:
    """List the indexed articles, newest first, or those matching WORDS, best first (the same search as GET /articles).

    \b
      newsdesk list
      newsdesk list bridge --outlet "Harbor Gazette"
      newsdesk list --after 2024-03-01 --json
    """
    from newsdesk.api.request_models import parse_article_query
    from newsdesk.app import build_service, hold_for_reading

    params = {"q": words, "outlet": outlet, "after": published_after, "before": published_before,
              "page": str(page), "per_page": str(per_page)}
    try:
        settings = Settings.from_env(store=store)
        with hold_for_reading(settings, waiting("an ingest to finish", settings.store)):
            service = build_service(settings)
            search = parse_article_query({k: [v] for k, v in params.items() if v is not None})
            found = service.list_articles(search)
    except NewsdeskError as exc:
        fail(exc)
        return
    rows = [{"id": a.id, "title": a.title, "url": a.url, "outlet": a.outlet, "published_at": a.published_at,
             "score": None if score is None else round(score, 4)} for a, score in found.articles]
    if as_json:
        click.echo(json.dumps({"articles": rows, "total": found.total, "page": found.page, "per_page": found.per_page,
                               "pages": found.pages}, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['published_at'] or 'undated':10.10}  {row['outlet'] or '-'}  {row['title'] or '(untitled)'}")
        click.echo(f"            {row['id']}  {row['url'] or 'no URL'}")
    shown = f"{(found.page - 1) * found.per_page + 1}-{(found.page - 1) * found.per_page + len(rows)}" if rows else "none"
    click.echo(f"{found.total} article(s), showing {shown} (page {found.page} of {max(found.pages, 1)})")


@click.command()
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts (and the --check result) as one JSON object.")
@click.option("--check", is_flag=True, help="Also check every chunk and sentence row against its article (exit 1 if not).")
def stats(store: Path | None, as_json: bool, check: bool) -> None:
    """Show how many articles, chunks and sentences are indexed, by outlet.

    \b
      newsdesk stats
      newsdesk stats --check --json
    """
    from newsdesk.app import build_store, hold_for_reading

    try:
        settings = Settings.from_env(store=store)
        with hold_for_reading(settings, waiting("an ingest to finish", settings.store)):
            found = build_store(settings)
            s = found.stats()
            consistency = found.check() if check and hasattr(found, "check") else None
    except NewsdeskError as exc:
        fail(exc)
        return
    body: dict[str, Any] = {"articles": s.articles, "chunks": s.chunks, "sentences": s.sentences, "outlets": s.outlets}
    if consistency is not None:
        body["check"] = {"rows": consistency.rows, "orphans": list(consistency.orphans),
                         "missing": list(consistency.missing)}
    if as_json:
        click.echo(json.dumps(body))
    else:
        click.echo(f"articles {s.articles}, chunks {s.chunks}, sentences {s.sentences}")
        for outlet, n in sorted(s.outlets.items(), key=lambda kv: -kv[1]):
            click.echo(f"  {outlet}: {n}")
        if consistency is not None:
            click.echo(f"check: {consistency.rows} rows, {len(consistency.orphans)} orphan, "
                       f"{len(consistency.missing)} missing")
            for row_id in (*consistency.orphans, *consistency.missing)[:20]:
                click.echo(f"  {row_id}")
    if consistency is not None and not consistency.ok:
        sys.exit(EXIT_FAILED)


@click.command()
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), envvar="NEWSDESK_STORE",
              help="Index folder [env NEWSDESK_STORE; default .newsdesk].")
def reindex(store: Path | None) -> None:
    """Embed every stored article again with the configured model (NEWSDESK_MODEL), after a model change.

    An index remembers which model made it and is refused by any other; this rebuilds it in place, article by
    article (an interrupted run is refused until it is run again, then finishes the rest).

    \b
      newsdesk reindex
      NEWSDESK_MODEL=all-MiniLM-L6-v2 newsdesk reindex --store ./index
    """
    from tqdm import tqdm

    from newsdesk.app import build_service, hold_for_writing

    try:
        settings = Settings.from_env(store=store)
        with hold_for_writing(settings, True, waiting("another ingest", settings.store)):
            service = build_service(settings, check_model=False)
            # In reverse: the articles the model check samples first are rewritten last.
            articles = [article for article, _ in service.store.iter_articles()][::-1]
            with tqdm(total=len(articles), unit="article", disable=not sys.stderr.isatty(), file=sys.stderr) as bar:
                report = service.ingest(iter(articles), progress=bar.update)
    except NewsdeskError as exc:
        fail(exc)
        return
    click.echo(f"reindexed with {service.embedder.name}: {report.summary()}")
