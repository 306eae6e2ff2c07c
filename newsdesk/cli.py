"""The `newsdesk` command: ingest, ask, list, delete, stats, serve, eval."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from newsdesk.errors import BadRequest, ConfigError, NewsdeskError, StoreBusy
from newsdesk.models import Answer, Query
from newsdesk.settings import Settings

EXIT_USAGE, EXIT_FAILED, EXIT_BUSY = 2, 1, 75  # 75: EX_TEMPFAIL, "try again later" (--no-wait)

store_option = click.option(
    "--store", type=click.Path(path_type=Path), envvar="NEWSDESK_STORE",
    help="Index folder [env NEWSDESK_STORE; default .newsdesk]",
)
no_wait_option = click.option(
    "--no-wait", is_flag=True,
    help=f"Fail at once (exit {EXIT_BUSY}) if another ingest is writing to the index, instead of waiting for it.",
)


def _waiting(what: str, store: Path) -> Callable[[], None]:
    return lambda: click.echo(f"waiting for {what} on {store}…", err=True)


def _fail(exc: NewsdeskError) -> None:
    click.echo(f"error: {exc}", err=True)
    if isinstance(exc, StoreBusy):
        sys.exit(EXIT_BUSY)
    sys.exit(EXIT_USAGE if isinstance(exc, BadRequest | ConfigError) else EXIT_FAILED)


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


@cli.command()
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
        on_wait = _waiting("another ingest", settings.store)
        with hold_for_writing(settings, not no_wait, on_wait):  # before opening: the index may not exist yet
            service = build_service(settings, wait=not no_wait, on_wait=on_wait)
            with tqdm(unit="article", disable=as_json or not sys.stderr.isatty(), file=sys.stderr) as bar:
                report = service.ingest(load_paths(paths), progress=bar.update)
    except NewsdeskError as exc:
        _fail(exc)
        return
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    for duplicate in report.duplicates:
        click.echo(f"duplicate: {duplicate}", err=True)
    click.echo(json.dumps(report.to_dict()) if as_json else report.summary())
    if report.failed:
        sys.exit(EXIT_FAILED)


def _day_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from newsdesk.api.request_models import parse_day

    if value is not None:
        try:
            parse_day(value, param.name or "")
        except BadRequest:
            raise click.BadParameter(f"{value!r} is not a date like 2024-03-05") from None
    return value


def _outlet_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("must name an outlet, e.g. --outlet \"Harbor Gazette\"")
    return value


def _k_option(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise click.BadParameter(f"must be at least 1, got {value}")
    return value


@cli.command()
@click.argument("question")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as the /chat endpoint.")
@click.option("-k", "k", type=int, default=None, callback=_k_option, help="How many sentences to cite (default 3).")
@click.option("--outlet", callback=_outlet_option, help="Only use articles from this outlet.")
@click.option("--after", "published_after", callback=_day_option,
              help="Only articles published on or after this date (YYYY-MM-DD).")
@click.option("--before", "published_before", callback=_day_option,
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
        with hold_for_reading(settings, _waiting("an ingest to finish", settings.store)):
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
        _fail(exc)
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


@cli.command()
@store_option
@click.option("-k", "k", type=int, default=None, callback=_k_option, help="How many sentences to cite (default 3).")
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
        _fail(exc)
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
            _fail(exc)
            return
        _print_answer(answer, None)
        history.append(question)


@cli.command()
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
        on_wait = _waiting("another ingest", settings.store)
        with hold_for_writing(settings, not no_wait, on_wait):
            service = build_service(settings, wait=not no_wait, on_wait=on_wait)
            by_url = article.startswith(("http://", "https://")) and service.store.version_of(article) is None
            ids = service.ids_for_url(article) if by_url else [article]
            removed = [article_id for article_id in ids if service.delete(article_id)]
    except NewsdeskError as exc:
        _fail(exc)
        return
    if not removed:
        what = "with the URL" if by_url else "with id"
        click.echo(f"error: no article {what} {article!r}: `newsdesk list` shows what is indexed", err=True)
        sys.exit(EXIT_FAILED)
    for article_id in removed:
        click.echo(f"deleted {article_id}")


@cli.command(name="list")
@click.argument("words", required=False)
@store_option
@click.option("--outlet", callback=_outlet_option, help="Only articles from this outlet.")
@click.option("--after", "published_after", callback=_day_option, help="Only articles published on or after (YYYY-MM-DD).")
@click.option("--before", "published_before", callback=_day_option, help="Only articles published on or before (YYYY-MM-DD).")
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
        with hold_for_reading(settings, _waiting("an ingest to finish", settings.store)):
            service = build_service(settings)
            search = parse_article_query({k: [v] for k, v in params.items() if v is not None})
            found = service.list_articles(search)
    except NewsdeskError as exc:
        _fail(exc)
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


@cli.command()
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
        with hold_for_reading(settings, _waiting("an ingest to finish", settings.store)):
            found = build_store(settings)
            s = found.stats()
            consistency = found.check() if check and hasattr(found, "check") else None
    except NewsdeskError as exc:
        _fail(exc)
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


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on: 127.0.0.1 is this machine only; 0.0.0.0 lets other machines in "
                   "(a local test server: no TLS, no auth).")
@click.option("--port", default=8080, show_default=True, type=int)
@store_option
def serve(host: str, port: int, store: Path | None) -> None:
    """Serve the chat page (/) and the HTTP API (POST /chat, /articles, /docs...) through the Lambda handler's code.

    \b
      newsdesk serve --port 8080        # then open http://localhost:8080/
      curl -s localhost:8080/chat -d '{"question": "What happened to the bridge?"}'
    """
    from newsdesk.api.http import handle_chat
    from newsdesk.api.local_server import serve_forever
    from newsdesk.app import build_reader_store, build_service

    try:
        settings = Settings.from_env(store=store)
        service = build_service(settings, store=build_reader_store(settings))  # no index, no server
        # The model's first call and the lexical index cost seconds: pay them now, not in the first question.
        service.embedder.embed(["warm up"])
        service.lexical_index()
    except NewsdeskError as exc:
        _fail(exc)
        return
    serve_forever(host, port, lambda event, context: handle_chat(event, lambda: service, settings.cors_origins),
                  settings.serve_read_timeout_seconds,
                  on_ready=lambda bound: click.echo(f"serving http://{host}:{bound}/ (the chat page; POST /chat for "
                                                    "the API; Ctrl-C to stop)", err=True))


@cli.command(name="eval")
@click.argument("dataset_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Ask the questions against this corpus instead (off-topic abstention test).")
@click.option("--store", type=click.Path(path_type=Path), help="Index folder to (re)use; default a fresh temporary one.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write one JSON line per question here.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option("--answerer", type=click.Choice(["extractive", "bedrock"]), envvar="NEWSDESK_ANSWERER",
              help="Who writes the answers scored: extractive (the default) or bedrock [env NEWSDESK_ANSWERER].")
def eval_command(dataset_dir: Path, corpus: Path | None, store: Path | None, out: Path | None, as_json: bool,
                 limit: int | None, answerer: str | None) -> None:
    """Score Newsdesk on a QA set: DATASET_DIR holds corpus.jsonl and questions.jsonl.

    \b
      newsdesk eval ../shared/eval/newsqa --json
      newsdesk eval ../shared/eval/newsqa --corpus ../shared/eval/squad2/corpus.jsonl
    """
    from newsdesk.eval.run import run_eval

    try:
        summary = run_eval(dataset_dir, corpus, store, out, limit, answerer, progress=not as_json)
    except NewsdeskError as exc:
        _fail(exc)
        return
    if as_json:
        click.echo(json.dumps(summary))
    else:
        for key, value in summary.items():
            shown = f"{value:.3f}" if isinstance(value, float) else json.dumps(value) if isinstance(value, dict) else value
            click.echo(f"{key:28} {shown}")


@cli.command()
@store_option
@click.option("--bucket", envvar="NEWSDESK_INDEX_BUCKET", help="S3 bucket for the index [env NEWSDESK_INDEX_BUCKET].")
@click.option("--json", "as_json", is_flag=True, help="Print the new manifest as JSON.")
def publish(store: Path | None, bucket: str | None, as_json: bool) -> None:
    """Upload the local index (--store) to S3 as a new version and point the manifest at it.

    \b
    Seeds (or replaces) what the Lambda functions serve; they pick it up within
    NEWSDESK_MANIFEST_CHECK_SECONDS, no redeploy needed.
      newsdesk ingest corpus.jsonl --store ./index
      newsdesk publish --store ./index --bucket my-newsdesk-index
    """
    from newsdesk.app import hold_for_reading, index_blobs
    from newsdesk.snapshots.snapshots import publish as publish_snapshot
    from newsdesk.snapshots.snapshots import read_latest

    try:
        settings = Settings.from_env(store=store, index_bucket=bucket)
        blobs = index_blobs(settings)
        local = replace(settings, index_bucket=None, chroma_url=None)
        with hold_for_reading(local, _waiting("an ingest to finish", local.store)):  # upload one finished revision
            manifest = publish_snapshot(blobs, settings.store, after=read_latest(blobs))
    except NewsdeskError as exc:
        _fail(exc)
        return
    if as_json:
        click.echo(manifest.to_json().decode("utf-8"))
        return
    click.echo(f"published {settings.store} as version {manifest.version} ({manifest.size_bytes:,} bytes) "
               f"to {blobs.where}/{manifest.key}")


@cli.command()
@click.option("--bucket", envvar="NEWSDESK_INDEX_BUCKET", help="S3 bucket for the index [env NEWSDESK_INDEX_BUCKET].")
@click.option("--all", "fold", is_flag=True, help="Fold every segment into one base now, whatever the policy says.")
@click.option("--json", "as_json", is_flag=True, help="Print each merge as JSON.")
def compact(bucket: str | None, fold: bool, as_json: bool) -> None:
    """Merge the S3 index's segments as the writer does after each batch: deltas of a size tier into one,
    everything into a new base once the deltas pass NEWSDESK_COMPACT_FRACTION of it. Copies stored vectors,
    embeds nothing; query functions pick the result up like any new version.

    \b
      newsdesk compact --bucket my-newsdesk-index
      newsdesk compact --bucket my-newsdesk-index --all    # one base segment
    """
    from newsdesk.app import build_snapshot_writer

    merges: list[dict[str, Any]] = []
    try:
        writer = build_snapshot_writer(Settings.from_env(index_bucket=bucket))
        for _ in range(8):  # a merge can fill the next size tier
            merged = writer.compact(force=fold and not merges)
            if merged is None:
                break
            merges.append(merged)
    except NewsdeskError as exc:
        _fail(exc)
        return
    if as_json:
        click.echo(json.dumps(merges))
    elif not merges:
        click.echo("the index is compact: nothing to merge")
    for m in [] if as_json else merges:
        click.echo(f"merged {m['merged']} segments into {m['into']} ({m['articles']:,} articles, "
                   f"{m['uploaded_bytes']:,} bytes uploaded): version {m['version']}")


@cli.command()
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
        with hold_for_writing(settings, True, _waiting("another ingest", settings.store)):
            service = build_service(settings, check_model=False)
            # In reverse: the articles the model check samples first are rewritten last.
            articles = [article for article, _ in service.store.iter_articles()][::-1]
            with tqdm(total=len(articles), unit="article", disable=not sys.stderr.isatty(), file=sys.stderr) as bar:
                report = service.ingest(iter(articles), progress=bar.update)
    except NewsdeskError as exc:
        _fail(exc)
        return
    click.echo(f"reindexed with {service.embedder.name}: {report.summary()}")


@cli.command(name="export-onnx")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), envvar="NEWSDESK_ONNX_DIR",
              help="Folder for model.onnx and tokenizer.json [env NEWSDESK_ONNX_DIR; default "
                   "~/.cache/newsdesk/onnx-<model name>, where the default embedder looks].")
@click.option("--if-missing", is_flag=True, help="Do nothing when this model's export is already there.")
def export_onnx_command(out: Path | None, if_missing: bool) -> None:
    """Export the sentence encoder (NEWSDESK_MODEL; the shipped one by default) to ONNX (needs torch; `make` runs
    it once after installing).

    With the export in place the default embedder (auto) uses it: same vectors, several times faster.

    \b
      newsdesk export-onnx
      newsdesk export-onnx --out /opt/newsdesk/onnx
    """
    from newsdesk.adapters.encoders import default_onnx_dir, encoder_model
    from newsdesk.adapters.onnx_embedder import has_export
    from newsdesk.adapters.onnx_export import export_onnx

    try:
        model = encoder_model(Settings.from_env().model)
        target = out or default_onnx_dir(model)
        if if_missing and has_export(target, model.name, int8=True):
            click.echo(f"the ONNX export of {model.name} is already in {target}")
            return
        folder = export_onnx(target, model)
    except NewsdeskError as exc:
        _fail(exc)
        return
    click.echo(f"exported {model.name} to ONNX in {folder}")


def main() -> None:
    """Entry point of the `newsdesk` command."""
    try:
        cli()
    except ConfigError as exc:
        _fail(exc)


if __name__ == "__main__":
    main()
