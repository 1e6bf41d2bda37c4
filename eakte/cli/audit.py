"""Commands that read and check the audit trail: audit, verify."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from eakte.access import StoreJob
from eakte.audit.checkpoint import Checkpoint
from eakte.audit.signing import load_public_key
from eakte.cli._common import App, emit_json, emit_json_stream, fmt_size, json_option, pass_app
from eakte.errors import IntegrityError, StorageError
from eakte.verify import VerifyReport
from eakte.views import event_view

__all__ = ["audit", "verify"]


@click.command()
@click.option("--since", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Only events with a sequence number above N (a cursor for followers).")
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N",
              help="At most N events.")
@click.option("--object-type", metavar="TYPE",
              help="Only events about this kind of object, e.g. 'akte' or 'document'.")
@click.option("--object-id", metavar="ID", help="Only events about this object id.")
@json_option
@pass_app
def audit(app: App, since: int, limit: int | None, object_type: str | None,
          object_id: str | None) -> None:
    """List audit events in sequence order.

    JSON output: a list of objects with seq, time, actor, action, object_type, object_id,
    details, hash and canonical (the hashed bytes, base64): enough to recompute the chain
    and checkpoints without eakte.
    """
    with app.session() as s:
        events = s.audit_events(since=since, limit=limit, object_type=object_type,
                                object_id=object_id)
        if app.json:
            emit_json_stream(event_view(e) for e in events)
            return
        for e in events:
            details = json.dumps(e.details, ensure_ascii=False, default=str)
            if len(details) > 160:
                details = details[:159] + "…"
            click.echo(f"{e.seq:>7}  {e.time.isoformat(timespec='seconds')}  {e.actor:<12} "
                       f"{e.action:<16} {e.object_type}/{e.object_id}  {details}")


def _rate(amount: float, seconds: float) -> float | None:
    return amount / seconds if seconds > 0 else None


def _summary(report: VerifyReport) -> dict[str, Any]:
    data = report.as_dict()
    audit_s = report.seconds.get("audit", 0.0)
    blob_s = report.seconds.get("blobs", 0.0)
    events_rate = _rate(report.events, audit_s)
    mb_rate = _rate(report.blob_bytes / 1e6, blob_s)
    data["events_per_second"] = round(events_rate) if events_rate is not None else None
    data["blob_mb_per_second"] = round(mb_rate, 1) if mb_rate is not None else None
    return data


def _render(app: App, report: VerifyReport, data: dict[str, Any], *, blobs: bool) -> None:
    out = app.out
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    eps = data["events_per_second"]
    table.add_row("Audit log", f"{report.events:,} events checked in "
                  f"{report.seconds.get('audit', 0.0):.3f} s"
                  + (f" ({eps:,} events/s)" if eps is not None else ""))
    table.add_row("Versions", f"{report.versions:,} version rows compared with the audit log")
    table.add_row("Records", f"rights, {report.akten:,} Akten and {report.documents:,} "
                  "documents compared with the state the audit log replays to"
                  + (f" (from event {report.replay_from:,} on)" if report.replay_from else ""))
    table.add_row("Checkpoints", f"{report.checkpoints:,} signed checkpoint(s) compared with "
                  "the audit log")
    if blobs:
        mbs = data["blob_mb_per_second"]
        table.add_row("Blobs", f"{report.blobs:,} blobs, {fmt_size(report.blob_bytes)} "
                      f"re-hashed in {report.seconds.get('blobs', 0.0):.3f} s"
                      + (f" ({mbs} MB/s)" if mbs is not None else ""))
    else:
        table.add_row("Blobs", "not checked (--no-blobs)")
    errors, notices = report.errors, report.notices
    if report.ok:
        result = Text("OK: the audit chain and the content are intact", style="green")
        if notices:
            result.append(f" ({len(notices)} notice(s))", style="yellow")
    else:
        result = Text(f"FAILED: {len(errors)} error(s)", style="bold red")
        if notices:
            result.append(f", {len(notices)} notice(s)")
    table.add_row("Result", result)
    out.print(table)
    for problem in report.problems:
        style = "red" if problem.severity == "error" else "yellow"
        line = Text(f"  [{problem.severity}] ", style=style)
        line.append(f"{problem.subject}: ", style="bold")
        line.append(problem.message)
        out.print(line, soft_wrap=True)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StorageError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc


@click.command()
@click.option("--no-blobs", is_flag=True,
              help="Check only the audit chain and version rows; do not re-hash content.")
@click.option("--checkpoint", "checkpoint_files", multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Also check this exported checkpoint against the log (repeatable).")
@click.option("--public-key", "key_files", multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Trust checkpoints signed by this key (PEM or base64; repeatable).")
@json_option
@pass_app
def verify(app: App, no_blobs: bool, checkpoint_files: tuple[Path, ...],
           key_files: tuple[Path, ...]) -> None:
    """Verify the audit chain, the signed checkpoints and all content.

    Recomputes the audit hash chain, checks every stored checkpoint (and each --checkpoint
    FILE): its signature, and that the log still starts with exactly the events it signed.
    Compares every version row with its audit record and re-hashes every blob (SHA-256).
    Signatures are checked with the --public-key keys and the configured checkpoint key
    ($EAKTE_CHECKPOINT_KEY); without any, only with the key a checkpoint carries (a notice).

    Exits with 0 when nothing is wrong (notices such as orphan blobs are allowed) and with
    5 when tampering or loss was found; each problem names its subject. Needs the auditor
    or administrator role on the whole store (exit 4 otherwise).
    """
    store = app.store()
    store.require_job(app.user, StoreJob.VERIFY)
    external = [(str(path), Checkpoint.parse(_read(path))) for path in checkpoint_files]
    public_keys = [load_public_key(_read(path)) for path in key_files]
    if external and not public_keys and store.checkpoint_key is None:
        app.note("warning: no trusted public key given (--public-key); checkpoint signatures "
                 "are checked only against the key each checkpoint carries")
    err = app.err
    tasks: dict[str, TaskID] = {}
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal,
    ) as progress:

        def on_progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                label = {"audit": "audit events", "blobs": "blobs"}.get(stage, stage)
                tasks[stage] = progress.add_task(label, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        report = store.verify(blobs=not no_blobs, progress=on_progress, checkpoints=external,
                              public_keys=public_keys)
    data = _summary(report)
    if app.json:
        emit_json(data)
    else:
        _render(app, report, data, blobs=not no_blobs)
    if not report.ok:
        raise IntegrityError(
            f"verification found {len(report.errors)} error(s) in {app.store_path}",
            report.errors,
        )
