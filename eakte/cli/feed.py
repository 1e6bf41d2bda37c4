"""The change-feed command: feed."""

from __future__ import annotations

import click

from eakte.cli._common import App, emit_json, json_option, pass_app

__all__ = ["feed"]


@click.command()
@click.option("--since", type=click.IntRange(min=0), default=None, metavar="N",
              help="Changes after audit sequence N (default: 0, or the saved position of "
                   "--cursor).")
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=500,
              show_default=True, metavar="N", help="At most N events.")
@click.option("--cursor", "cursor_name", metavar="NAME",
              help="Continue from the position saved under NAME and save the new one "
                   "afterwards (a durable cursor for scripts).")
@json_option
@pass_app
def feed(app: App, since: int | None, limit: int, cursor_name: str | None) -> None:
    """Show changes to the Akten the user may read, after a cursor.

    Every event carries its sequence (the cursor to continue after), action (created,
    filed, version_added, metadata_changed, closed, reopened, held, released, offered,
    appraised, exported, transferred, destroyed), object ids and time. JSON output:
    {"position": N, "events": [...]}; continue with --since N.
    """
    with app.session() as s:
        start = since if since is not None else (
            s.feed_position(cursor_name) if cursor_name else 0)
        page = s.changes(start, limit=limit)
        if cursor_name:
            s.save_feed_position(cursor_name, page.position)
    if app.json:
        emit_json({"position": page.position, "events": [e.as_dict() for e in page]})
        return
    for e in page:
        what = (f"document {e.document_id} v{e.version}" if e.document_id is not None
                and e.version is not None else f"{e.object_type} {e.object_id}")
        click.echo(f"{e.sequence:>7}  {e.time.isoformat(timespec='seconds')}  "
                   f"{e.action:<16} {e.aktenzeichen:<22} {what}  ({e.actor})")
    app.note(f"position {page.position}: continue with --since {page.position}")
