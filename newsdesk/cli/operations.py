"""Running Newsdesk: serve the page and API, score it (eval), publish and compact the S3 index, export the model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from newsdesk.cli.common import fail, store_option, waiting
from newsdesk.errors import NewsdeskError
from newsdesk.settings import Settings


@click.command()
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
        fail(exc)
        return
    serve_forever(host, port, lambda event, context: handle_chat(event, lambda: service, settings.cors_origins),
                  settings.serve_read_timeout_seconds,
                  on_ready=lambda bound: click.echo(f"serving http://{host}:{bound}/ (the chat page; POST /chat for "
                                                    "the API; Ctrl-C to stop)", err=True))


@click.command(name="eval")
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
        fail(exc)
        return
    if as_json:
        click.echo(json.dumps(summary))
    else:
        for key, value in summary.items():
            shown = f"{value:.3f}" if isinstance(value, float) else json.dumps(value) if isinstance(value, dict) else value
            click.echo(f"{key:28} {shown}")


@click.command()
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
        with hold_for_reading(local, waiting("an ingest to finish", local.store)):  # upload one finished revision
            manifest = publish_snapshot(blobs, settings.store, after=read_latest(blobs))
    except NewsdeskError as exc:
        fail(exc)
        return
    if as_json:
        click.echo(manifest.to_json().decode("utf-8"))
        return
    click.echo(f"published {settings.store} as version {manifest.version} ({manifest.size_bytes:,} bytes) "
               f"to {blobs.where}/{manifest.key}")


@click.command()
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
        fail(exc)
        return
    if as_json:
        click.echo(json.dumps(merges))
    elif not merges:
        click.echo("the index is compact: nothing to merge")
    for m in [] if as_json else merges:
        click.echo(f"merged {m['merged']} segments into {m['into']} ({m['articles']:,} articles, "
                   f"{m['uploaded_bytes']:,} bytes uploaded): version {m['version']}")


@click.command(name="export-onnx")
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
        fail(exc)
        return
    click.echo(f"exported {model.name} to ONNX in {folder}")
