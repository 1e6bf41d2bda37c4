"""Commands that secure and mend the store: checkpoint (keygen, create, list, export), repair."""

from __future__ import annotations

import base64
from pathlib import Path

import click
from rich.table import Table

from eakte.access import StoreJob
from eakte.audit.checkpoint import Checkpoint, stored_checkpoints
from eakte.audit.signing import KEY_ENV, generate_key_file, key_id
from eakte.cli._common import App, emit_json, json_option, pass_app
from eakte.cli._tables import fmt_utc, id_col
from eakte.errors import IntegrityError, NotFoundError, StorageError
from eakte.repair import DEFAULT_GRACE_SECONDS, RepairReport
from eakte.repair import repair as run_repair

__all__ = ["checkpoint", "repair"]


def _view(cp: Checkpoint) -> dict[str, object]:
    return {"size": cp.size, "head": cp.head, "root": cp.root, "time": cp.time,
            "store": cp.store_id, "key_id": cp.key_id, "text": cp.text}


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path``.

    Raises:
        StorageError: the file cannot be written.
    """
    try:
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise StorageError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from exc


@click.group()
def checkpoint() -> None:
    """Signed checkpoints of the audit log, for auditors who keep them outside the store.

    A checkpoint signs (Ed25519) the number of events, the chain head and a Merkle root of
    the log. Kept elsewhere, it later proves that the log was not rewritten.
    """


@checkpoint.command()
@click.option("--key", "key_path", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the new private key (PEM, mode 0600); the public key "
                   "goes to FILE.pub.")
@json_option
@pass_app
def keygen(app: App, key_path: Path) -> None:
    """Create an Ed25519 key for signing checkpoints (keep it outside the store).

    Never overwrites a key. Give FILE.pub (or the printed base64 key) to auditors.
    """
    provider = generate_key_file(key_path)
    public = provider.public_key()
    pub_path = key_path.with_name(key_path.name + ".pub")
    data = {"key": str(key_path), "public_key_file": str(pub_path),
            "key_id": key_id(public), "public_key": _b64(public)}
    if app.json:
        emit_json(data)
        return
    click.echo(f"private key: {key_path} (mode 0600; keep it off the database server)")
    click.echo(f"public key:  {pub_path}  {data['public_key']}")
    click.echo(f"key id:      {data['key_id']}")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@checkpoint.command()
@click.option("--key", "key_path", envvar=KEY_ENV, show_envvar=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="The signing key (PEM), as written by 'eakte checkpoint keygen'.")
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the checkpoint text to FILE instead of stdout.")
@json_option
@pass_app
def create(app: App, key_path: Path | None, output: Path | None) -> None:
    """Sign a checkpoint over the whole audit log and store it.

    Prints the checkpoint text (or writes it to -o FILE). When nothing was logged since
    the newest checkpoint, that one is printed instead of signing a new one. Needs the
    auditor or administrator role on the whole store.
    """
    store = app.store()
    store.require_job(app.user, StoreJob.CREATE_CHECKPOINT)
    cp = store.checkpoint(key=key_path)
    created = cp is not None
    if cp is None:
        newest = stored_checkpoints(store, newest=True)
        if not newest:  # only possible if the log holds nothing but checkpoints
            raise NotFoundError("Checkpoint", "newest")
        cp = newest[0]
        app.note(f"nothing logged since checkpoint {cp.size}; it is still current")
    if output is not None:
        _write(output, cp.text)
        app.note(f"checkpoint over {cp.size} events written to {output}")
    if app.json:
        emit_json({**_view(cp), "created": created})
    elif output is None:
        click.echo(cp.text, nl=False)


@checkpoint.command(name="list")
@json_option
@pass_app
def list_(app: App) -> None:
    """List the stored checkpoints, oldest first (auditors and administrators).

    As signed; 'eakte verify' checks them.
    """
    store = app.store()
    store.require_job(app.user, StoreJob.READ_CHECKPOINTS)
    cps = stored_checkpoints(store)
    if app.json:
        emit_json([{k: v for k, v in _view(cp).items() if k != "text"} for cp in cps])
        return
    table = Table(id_col("events", justify="right"), id_col("time (UTC)"), id_col("key"),
                  id_col("root"))
    for cp in cps:
        table.add_row(str(cp.size), fmt_utc(cp.time), cp.key_id, cp.root[:16] + "…")
    app.out.print(table)


@checkpoint.command()
@click.argument("size", type=click.IntRange(min=1), required=False)
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the checkpoint text to FILE instead of stdout.")
@pass_app
def export(app: App, size: int | None, output: Path | None) -> None:
    """Print a stored checkpoint's text: the newest, or the one over SIZE events.

    Auditors and administrators only.
    """
    store = app.store()
    store.require_job(app.user, StoreJob.READ_CHECKPOINTS)
    found = stored_checkpoints(store, seq=size, newest=size is None)
    if not found:
        raise NotFoundError("Checkpoint", size if size is not None else "newest",
                            "no such checkpoint; create one with 'eakte checkpoint create'")
    if output is not None:
        _write(output, found[0].text)
    else:
        click.echo(found[0].text, nl=False)


def _render(app: App, report: RepairReport) -> None:
    out = app.out
    verb = "would be" if report.dry_run else "were"
    if report.refused:
        out.print(f"REFUSED: verify found {len(report.problems)} error(s); nothing was changed")
        for problem in report.problems:
            out.print(f"  [{problem.severity}] {problem.subject}: {problem.message}",
                      soft_wrap=True)
    else:
        out.print(f"Search index: {report.outbox} outbox entries, {report.index_refreshed} "
                  f"entries {'to refresh' if report.dry_run else 'refreshed'}"
                  + (" (full rebuild)" if report.index_rebuilt else ""))
        out.print(f"Orphan blobs: {len(report.orphans_removed)} {verb} removed")
        out.print(f"Temp files:   {report.temp_removed} {verb} removed")
        if report.keys.wrappings or report.keys.shredded:
            out.print(f"Key rows:     {report.keys.wrappings} orphan wrapping(s) {verb} "
                      f"removed; leftover keys of {len(report.keys.shredded)} disposed "
                      f"Akte(n) {verb} shredded")
    for sha, why in report.orphans_kept:
        out.print(f"  kept blob {sha}: {why}", soft_wrap=True)
    for note in report.notes:
        app.note(note)


@click.command()
@click.option("--dry-run", is_flag=True, help="Only report what would be done.")
@click.option("--grace", type=click.FloatRange(min=0), default=DEFAULT_GRACE_SECONDS,
              show_default=True, metavar="SECONDS",
              help="Leave orphan blobs and temp files younger than this alone (by mtime).")
@json_option
@pass_app
def repair(app: App, dry_run: bool, grace: float) -> None:
    """Fix what can be derived again; never touch evidence of tampering.

    Verifies the store first. If that finds an error (audit chain, checkpoints, versions,
    blob content), nothing is changed and the command exits with 5. Otherwise it replays
    the search outbox and refreshes missing or stale index entries, removes orphan blobs
    and temporary files older than --grace, and records each action in the audit log.
    Needs the administrator role on the whole store (exit 4 otherwise).
    """
    report = run_repair(app.store(), dry_run=dry_run, grace_seconds=grace, user=app.user)
    if app.json:
        emit_json(report.as_dict())
    else:
        _render(app, report)
    if report.refused:
        raise IntegrityError(
            f"repair refused: {len(report.problems)} error(s) in {app.store_path} need an "
            "investigation first (run 'eakte verify')",
            report.problems,
        )
