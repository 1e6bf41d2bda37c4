"""xdomea commands: ``eakte export xdomea`` (0501/0503) and ``eakte import xdomea`` (0502–0507)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from eakte.cli._common import App, emit_json, json_option, pass_app

__all__ = ["export_xdomea", "import_group", "import_xdomea"]

_SCHEMAS_HELP = ("Folder with the xdomea XSDs (xsd-3.1.0/3.1.0/xdomea.xsd …); default: "
                 "$EAKTE_XDOMEA_SCHEMAS, else the store setting xdomea_schemas. Without one, "
                 "only eakte's structural checks run.")


def _schema_note(data: dict[str, Any]) -> str:
    if data.get("schema_validated"):
        return f"valid against {data.get('schema')}"
    return f"XSD validation skipped ({data.get('schema_skipped_reason')}); structure checked"


@click.command("xdomea")
@click.argument("aktenzeichen", nargs=-1, required=True)
@click.option("--message", type=click.Choice(["0501", "0503"]), required=True,
              help="0501 Anbieteverzeichnis (offer, metadata only) or 0503 Aussonderung "
                   "(transfer with all versions and renditions).")
@click.option("-o", "--out", "out_dir", required=True, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives the {ProzessID}_<message>.zip container.")
@click.option("--version", "version", type=click.Choice(["3.1.0", "3.0.0"]), default="3.1.0",
              show_default=True, help="xdomea version (namespace) to write.")
@click.option("--schemas", metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help=_SCHEMAS_HELP)
@click.option("--dry-run", is_flag=True,
              help="Write the message but do not mark the Akten offered/exported.")
@json_option
@pass_app
def export_xdomea(app: App, aktenzeichen: tuple[str, ...], message: str, out_dir: Path,
                  version: str, schemas: Path | None, dry_run: bool) -> None:
    """Write an xdomea Aussonderung message for the Akten AKTENZEICHEN....

    0501 offers the Akten to the archive; 0503 transfers them (after the archive's 0502,
    or directly by the Aktenplan default in the two-stage procedure). The Akten are marked
    offered/exported under the message's ProzessID unless --dry-run is given.

    JSON output: path, message, prozess_id, version, schema_validated, counts.
    """
    from eakte.exchange.xdomea import export_xdomea as export

    with app.session() as s, Progress(
            TextColumn("writing"), BarColumn(), MofNCompleteColumn(), console=app.err,
            transient=True, disable=not app.err.is_terminal) as bar:
        task = bar.add_task("export", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = export(s, list(aktenzeichen), message=message, out_dir=out_dir,
                        version=version, schemas=schemas, record=not dry_run,
                        progress=progress)
    data = result.as_dict()
    if app.json:
        emit_json(data)
        return
    counts = result.counts
    click.echo(f"Wrote {result.path} (ProzessID {result.prozess_id}): {counts['akten']} "
               f"Akte(n), {counts['dokumente']} document(s), {counts['dateien']} file(s); "
               f"{_schema_note(data)}")


@click.group("import")
def import_group() -> None:
    """Import archival messages into the store."""


@import_group.command("xdomea")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--kennzeichen", metavar="KENNZEICHEN",
              help="0503: file every imported Akte under this Aktenplan unit.")
@click.option("--receipt-dir", metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help="0502: write the 0505 receipt the sender asks for into DIR.")
@click.option("--schemas", metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help=_SCHEMAS_HELP)
@json_option
@pass_app
def import_xdomea(app: App, file: Path, kennzeichen: str | None, receipt_dir: Path | None,
                  schemas: Path | None) -> None:
    """Import the xdomea message FILE (.zip container or .xml).

    By message type: 0502 records the archive's appraisals, 0503 takes records of another
    system over (new Aktenzeichen; the original is kept as metadata and as external id
    xdomea:<uuid>), 0504/0505/0507 receipts are recorded, 0506 confirms transfers (the
    transferred content is then deleted). Invalid or hostile messages are refused whole.

    JSON output: message, prozess_id, schema_validated, akten, counts, objects, warnings.
    """
    from eakte.exchange.xdomea import import_xdomea as do_import

    with app.session() as s:
        result = do_import(s, file, schemas=schemas, kennzeichen=kennzeichen,
                           receipt_dir=receipt_dir)
    data = result.as_dict()
    if app.json:
        emit_json(data)
        return
    click.echo(f"Imported xdomea {result.message} (ProzessID {result.prozess_id}); "
               f"{_schema_note(data)}")
    for key, value in result.counts.items():
        click.echo(f"  {key}: {value}")
    for akte in result.akten:
        click.echo(f"  Akte {akte['aktenzeichen']}")
    for name in result.missing_files:
        app.note(f"missing primary file (imported without content): {name}")
    for warning in data["warnings"]:
        app.note(f"warning: {warning}")
    if result.receipt is not None:
        click.echo(f"Wrote receipt {result.receipt}")
