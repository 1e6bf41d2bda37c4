"""Commands for full-text search: search, reindex."""

from __future__ import annotations

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from eakte.access import StoreJob
from eakte.cli._common import App, emit_json, json_option, pass_app
from eakte.cli._tables import id_col, text_col
from eakte.errors import SearchError
from eakte.views import search_hit_view

__all__ = ["reindex", "search"]


@click.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              metavar="N", help="Return at most N hits.")
@click.option("--akte", "aktenzeichen", metavar="AKTENZEICHEN",
              help="Only documents of this Akte.")
@click.option("--order", type=click.Choice(["relevance", "date"]), default="relevance",
              show_default=True, help="Best matches first, or newest filed first.")
@json_option
@pass_app
def search(app: App, query: str, limit: int, aktenzeichen: str | None, order: str) -> None:
    """Search documents by their text, title and metadata (German-aware).

    QUERY: words (all must match), "exact phrases", -excluded words, and fields such as
    title:Bescheid, aktenzeichen:630.10-*, kind:incoming, meta:value,
    created:2026-01-01..2026-06-30.

    JSON output: a list of objects with document_id, aktenzeichen, title, score, snippet.
    """
    with app.session() as s:
        result = s.search(query, limit=limit, akte=aktenzeichen, order=order)
    hits = [search_hit_view(h) for h in result.hits]
    if app.json:
        emit_json(hits)
        return
    app.note(f"{result.total} match(es); showing {len(hits)}")
    table = Table(id_col("id", justify="right"), id_col("Aktenzeichen"), text_col("title"),
                  id_col("score", justify="right"), text_col("snippet"), show_lines=False)
    for hit in hits:
        table.add_row(str(hit["document_id"]), hit["aktenzeichen"], hit["title"],
                      f"{hit['score']:.2f}", hit["snippet"])
    app.out.print(table)


@click.command()
@click.option("--full", is_flag=True,
              help="Rebuild the whole index instead of fixing missing and stale entries.")
@json_option
@pass_app
def reindex(app: App, full: bool) -> None:
    """Bring the search index up to date from the database and the blobs.

    By default only documents waiting in the outbox, missing from the index or stale in
    it are indexed; --full clears the index and indexes everything. Safe to re-run.
    Needs the administrator role on the whole store.
    """
    store = app.store()
    store.require_job(app.user, StoreJob.REINDEX)
    indexer = store.indexer
    if indexer is None:
        raise SearchError("this store has no search backend (created with --search none)")
    with Progress(TextColumn("indexing"), BarColumn(), MofNCompleteColumn(),
                  console=app.err, transient=True, disable=not app.err.is_terminal) as bar:
        task = bar.add_task("index", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        report = indexer.reindex(full=full, progress=progress)
    data = {
        "full": report.full,
        "reason": report.reason,
        "indexed": report.indexed,
        "deleted": report.deleted,
        "failed_extractions": report.failed_extractions,
        "needs_ocr": report.needs_ocr,
    }
    if app.json:
        emit_json(data)
        return
    what = "Rebuilt the index" if report.full else "Updated the index"
    click.echo(f"{what}: {report.indexed} indexed, {report.deleted} removed, "
               f"{report.needs_ocr} need OCR, {report.failed_extractions} without text")
