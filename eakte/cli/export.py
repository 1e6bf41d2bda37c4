"""The ``eakte export`` group: archival packages (``bagit`` here; ``xdomea`` registers itself)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from eakte.cli._common import App, emit_json, fmt_size, json_option, pass_app

__all__ = ["export"]


@click.group()
def export() -> None:
    """Export Akten as archival packages (BagIt, xdomea)."""


@export.command("bagit")
@click.argument("aktenzeichen", nargs=-1, required=True)
@click.option("-o", "--out", "out_dir", required=True, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="The bag folder to create; it must not exist or be empty.")
@click.option("--source-organization", metavar="NAME",
              help="The agency, written to bag-info.txt as Source-Organization.")
@json_option
@pass_app
def export_bagit(app: App, aktenzeichen: tuple[str, ...], out_dir: Path,
                 source_organization: str | None) -> None:
    """Write the Akten AKTENZEICHEN... as one BagIt bag (RFC 8493).

    The bag holds every version and rendition with its exact bytes, SHA-256 and SHA-512
    manifests, and data/metadata.json with the Akten, Vorgänge, documents and the audit
    events about them (for the Akten whose audit log you may read; a note names the
    others). It is assembled aside and renamed into place when complete.

    JSON output: path, akten, files, bytes, payload_oxum, audit_excerpt_omitted.
    """
    from eakte.exchange.bagit import AUDIT_OMITTED_LABEL
    from eakte.exchange.bagit import export_bagit as export_bag

    with app.session() as s, Progress(
            TextColumn("copying"), BarColumn(), MofNCompleteColumn(), console=app.err,
            transient=True, disable=not app.err.is_terminal) as bar:
        task = bar.add_task("bagit", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        path = export_bag(s, list(aktenzeichen), out_dir,
                          source_organization=source_organization, progress=progress)
    info = (path / "bag-info.txt").read_text(encoding="utf-8")
    oxum = next(line.split(":", 1)[1].strip() for line in info.splitlines()
                if line.startswith("Payload-Oxum:"))
    octets, files = (int(part) for part in oxum.split("."))
    omitted = [line.split(":", 1)[1].strip() for line in info.splitlines()
               if line.startswith(f"{AUDIT_OMITTED_LABEL}:")]
    if omitted:
        app.note(f"note: without the audit excerpt of {', '.join(omitted)}: you may not read "
                 "their audit log (it needs the auditor role); the bag says so in "
                 "bag-info.txt")
    if app.json:
        emit_json({"path": path, "akten": list(dict.fromkeys(aktenzeichen)), "files": files,
                   "bytes": octets, "payload_oxum": oxum, "audit_excerpt_omitted": omitted})
        return
    click.echo(f"Wrote BagIt bag {path} ({files} files, {fmt_size(octets)})")
