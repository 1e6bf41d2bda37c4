"""Commands for Fachverfahren adapters: adapters list, adapter run NAME."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from eakte.adapter import ADAPTERS, Adapter, AdapterParam, RunReport, run_once, watch
from eakte.cli._common import App, emit_json, json_option, pass_app
from eakte.cli._tables import id_col, text_col
from eakte.errors import AdapterError, EakteError

__all__ = ["adapter", "adapters"]


# -- adapters list -----------------------------------------------------------------------


@click.group()
def adapters() -> None:
    """Show the installed Fachverfahren adapters."""


@adapters.command("list")
@json_option
@pass_app
def list_adapters(app: App) -> None:
    """List the installed adapters: name, distribution, version, API version.

    Adapters that cannot be loaded are listed with their problem instead of a summary.
    """
    infos = ADAPTERS.infos()
    if app.json:
        emit_json([info.as_dict() for info in infos])
        return
    if not infos:
        click.echo("No adapters installed (entry-point group eakte.adapters).")
        return
    table = Table(id_col("name"), id_col("distribution"), id_col("version"), id_col("API"),
                  text_col("summary / problem"), box=None, pad_edge=False)
    for info in infos:
        table.add_row(info.name, info.distribution or "-", info.version or "-",
                      str(info.api_version) if info.api_version is not None else "-",
                      info.summary if info.problem is None else f"BROKEN: {info.problem}")
    app.out.print(table)


# -- adapter run NAME --------------------------------------------------------------------


def _click_option(param: AdapterParam) -> click.Option:
    flag = "--" + param.name.replace("_", "-")
    kwargs: dict[str, Any] = {"help": param.help, "required": param.required,
                              "multiple": param.multiple, "show_default": True}
    if param.type == "flag":
        return click.Option([flag], is_flag=True, default=bool(param.default), **kwargs)
    types: dict[str, Any] = {
        "text": click.STRING,
        "int": click.INT,
        "float": click.FLOAT,
        "path": click.Path(path_type=Path),
    }
    kwargs["type"] = types[param.type]
    if param.default is not None:
        kwargs["default"] = param.default
    return click.Option([flag, param.name], **kwargs)


def _runner_options() -> list[click.Parameter]:
    return [
        click.Option(["--once/--watch", "once"], default=True, show_default=True,
                     help="Run once and exit, or keep watching the input, running again "
                          "every --interval seconds until interrupted."),
        click.Option(["--interval"], type=click.FloatRange(min=0), default=5.0,
                     show_default=True, metavar="SECONDS",
                     help="Seconds between runs in --watch mode."),
        click.Option(["--max-iterations"], type=click.IntRange(min=1), default=None,
                     metavar="N", help="In --watch mode, stop after N runs."),
        click.Option(["--json", "as_json"], is_flag=True,
                     help="Print the run report as JSON on stdout and nothing else there."),
    ]


def _print_report(app: App, report: RunReport) -> None:
    for result in report.results:
        docs = [r for r in result.walk()[1:]]
        line = f"{result.status.value:<12} {result.key}"
        if result.aktenzeichen:
            line += f" -> {result.aktenzeichen}"
        if result.vorgang_id is not None:
            line += f" (Vorgang {result.vorgang_id})"
        if docs:
            changed = sum(1 for r in docs if r.status.value in ("created", "new_version"))
            line += f", {len(docs)} document(s), {changed} new or changed"
        click.echo(line)
        if result.error is not None:
            click.echo(f"    {type(result.error).__name__}: {result.error}")
    for note in report.notes:
        app.note(note)
    counts = ", ".join(f"{n} {status}" for status, n in report.counts.items()) or "nothing"
    app.note(f"{report.adapter}: {counts}"
             + (f", followed {report.followed} change(s)" if report.followed else ""))


def _run(ctx: click.Context, cls: type[Adapter], values: dict[str, Any]) -> None:
    app = ctx.find_object(App)
    assert app is not None
    once = values.pop("once")
    interval = values.pop("interval")
    max_iterations = values.pop("max_iterations")
    if values.pop("as_json"):
        app.json = True
    options = {p.name: values[p.name] for p in cls.params if p.name in values}
    try:
        instance = cls(**options)
    except EakteError:
        raise
    except Exception as exc:  # third-party constructor: say which adapter failed
        raise AdapterError(f"adapter {cls.name!r} could not be set up: "
                           f"{type(exc).__name__}: {exc}") from exc
    store = app.store()
    if once:
        report = run_once(instance, store, user=app.user)
        if app.json:
            emit_json(report.as_dict())
        else:
            _print_report(app, report)
        if not report.ok:
            failed = len(report.failed)
            raise AdapterError(f"{failed} of {len(report.results)} case(s) failed; the others "
                               "were filed")
        return

    def show(report: RunReport) -> None:
        if app.json:
            emit_json(report.as_dict())
        elif report.results or report.notes or report.followed:
            _print_report(app, report)

    try:
        runs = watch(instance, store, user=app.user, interval=interval,
                     max_iterations=max_iterations, on_report=show)
    except KeyboardInterrupt:
        app.note(f"{cls.name}: stopped")
        return
    app.note(f"{cls.name}: stopped after {runs} run(s)")


def _command(name: str, cls: type[Adapter]) -> click.Command:
    @click.pass_context
    def callback(ctx: click.Context, /, **values: Any) -> None:
        _run(ctx, cls, values)

    doc = inspect.cleandoc(cls.__doc__ or "")
    help_text = f"{cls.summary}\n\n{doc}" if doc and doc != cls.summary else cls.summary
    params: list[click.Parameter] = [_click_option(p) for p in cls.params]
    params.extend(_runner_options())
    return click.Command(name, callback=callback, params=params, help=help_text,
                         short_help=cls.summary, no_args_is_help=False)


class _AdapterCommands(click.Group):
    """One subcommand per installed adapter, built from its declared parameters."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(ADAPTERS.names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in ADAPTERS.names:
            return None
        return _command(cmd_name, ADAPTERS.get(cmd_name))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(info.name, info.summary or f"(cannot be loaded: {info.problem})")
                for info in ADAPTERS.infos()]
        if rows:
            with formatter.section("Adapters"):
                formatter.write_dl(rows)


@click.group()
def adapter() -> None:
    """Run a Fachverfahren adapter (see 'eakte adapters list')."""


@adapter.group("run", cls=_AdapterCommands)
def run() -> None:
    """Run the adapter NAME with its options: file what its input holds.

    Each adapter adds its own options (see 'eakte adapter run NAME --help'). Every adapter
    takes --once (the default) or --watch with --interval and --max-iterations, and
    --json. It acts as the global --user, who needs the editor role where it files.
    Exit code 11 if a case failed (the other cases are filed).
    """
