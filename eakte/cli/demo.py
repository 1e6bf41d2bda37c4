"""The ``eakte demo`` command: render :func:`eakte.demo.run.run_demo` for people and scripts."""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from eakte.cli._common import App, emit_json, json_option, pass_app
from eakte.crypto.masterkey import generate_master_key_file
from eakte.demo.run import DemoResult, run_demo
from eakte.errors import IntegrityError

__all__ = ["demo"]


def _examples(result: DemoResult) -> list[str]:
    store = shlex.quote(str(result.store_path))
    commands = []
    if result.akten:
        commands.append(f"eakte --store {store} show {shlex.quote(result.akten[0])}")
    if result.example_document is not None:
        doc = result.example_document
        out = shlex.quote(f"v1-{result.example_filename or 'document'}")
        commands += [
            f"eakte --store {store} show {doc}",
            f"eakte --store {store} get {doc} --version 1 -o {out}",
        ]
    commands += [
        f"eakte --store {store} akte list",
        f"eakte --store {store} audit --limit 20",
        f"eakte --store {store} verify",
    ]
    return commands


def _render(app: App, result: DemoResult) -> None:
    out = app.out
    table = Table("Step", "Count", "Seconds", "Rate", title="eakte demo")
    table.columns[1].justify = table.columns[2].justify = table.columns[3].justify = "right"
    for step in result.steps:
        rate = f"{step.rate:,.0f} {step.unit}/s" if step.rate is not None else "-"
        table.add_row(step.name, f"{step.count:,} {step.unit}", f"{step.seconds:.3f}", rate)
    table.add_row("total", "", f"{result.seconds:.3f}", "", style="bold")
    out.print(table)
    out.print(Text(f"Refused as expected: {result.refused}", style="yellow"), soft_wrap=True)
    report = result.verify
    if report is not None and report.ok:
        out.print(Text(f"Verify: OK ({report.events:,} audit events, {report.blobs:,} blobs)",
                       style="green"))
    elif report is not None:
        out.print(Text(f"Verify: FAILED with {len(report.errors)} error(s)", style="bold red"))
        for problem in report.errors:
            out.print(Text(f"  {problem}"), soft_wrap=True)
    out.print(f"Store: {result.store_path}", soft_wrap=True)
    out.print("Try:")
    for command in _examples(result):
        out.print(f"  {command}", soft_wrap=True, highlight=False)


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None,
              help="Folder for the demo store (default: a new temporary folder); "
                   "must not hold a store yet.")
@click.option("--akten", type=click.IntRange(min=1, max=1000), default=12, show_default=True,
              metavar="N", help="How many sample Akten to file.")
@click.option("--master-key", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Encrypt the demo store's blobs under this master key file (created if "
                   "missing; keep it outside the store folder).")
@json_option
@pass_app
def demo(app: App, directory: Path | None, akten: int, master_key: Path | None) -> None:
    """Run the end-to-end demonstration.

    Creates a fresh embedded store, loads a Kreisverwaltung's Aktenplan, creates users,
    files Akten with PDF, text and e-mail documents, adds corrected versions and a PDF
    rendition, closes an Akte (z.d.A.), shows that filing into it is refused, reads content
    back and runs verify; prints timings per step. Ignores --store. Exits non-zero when
    verification fails.
    """
    folder = (directory or Path(tempfile.mkdtemp(prefix="eakte-demo-"))).absolute()
    if master_key is not None and not master_key.exists():
        generate_master_key_file(master_key)
    result = run_demo(folder, akten=akten, out=app.note, master_key=master_key)
    if app.json:
        data = result.as_dict()
        data["examples"] = _examples(result)
        emit_json(data)
    else:
        _render(app, result)
    if not result.verify_ok:
        problems = result.verify.errors if result.verify is not None else []
        raise IntegrityError(f"the demo store at {folder} failed verification", problems)
