"""Shared CLI machinery: the context object, store opening, JSON output and the error handler."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

import eakte
from eakte._engine import WriterWait
from eakte.errors import EakteError
from eakte.session import Session
from eakte.store import Store

__all__ = [
    "DEFAULT_STORE",
    "App",
    "EakteGroup",
    "emit_json",
    "emit_json_stream",
    "fmt_size",
    "fmt_time",
    "json_option",
    "pass_app",
    "to_jsonable",
]

#: Store folder used when neither ``--store`` nor ``$EAKTE_STORE`` is given.
DEFAULT_STORE = "eakte-store"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class App:
    """Per-invocation state shared by every command (the click context object).

    Attributes:
        store_path: the store folder (``--store``).
        db_url: another database for that store (``--db``), or None.
        user: the acting principal (``--user``); None means the store's administrator.
        debug: print tracebacks for errors (``--debug``).
        json: print JSON on stdout instead of human output (``--json``).
    """

    store_path: Path
    db_url: str | None = None
    user: str | None = None
    debug: bool = False
    json: bool = False
    _store: Store | None = field(default=None, repr=False)

    @property
    def out(self) -> Console:
        """A rich console on stdout for human output (no markup in printed strings)."""
        return Console(markup=False)

    @property
    def err(self) -> Console:
        """A rich console on stderr for progress, notes and errors."""
        return Console(stderr=True, markup=False)

    def note(self, message: str) -> None:
        """Print a note on stderr (never on stdout, so ``--json`` output stays clean)."""
        click.echo(message, err=True)

    def writer_waiting(self, wait: WriterWait) -> None:
        """Say on stderr that a write waits for another process's SQLite write lock."""
        who = wait.holder.describe() if wait.holder is not None else "unknown process"
        self.note(f"waiting for another writer ({who}) for {wait.waited:.0f} s; SQLite "
                  "allows one writer at a time, this command continues when it has finished")

    def init_store(self, *, admin: str, aktenzeichen_pattern: str | None,
                   search: str = "whoosh", encrypt: bool = False,
                   master_key: Path | None = None) -> Store:
        """Create the store at ``store_path`` and keep it open for this invocation.

        Raises:
            StoreExistsError: a store exists there already.
            InvalidInput: invalid pattern or database URL.
        """
        options: dict[str, Any] = {"db_url": self.db_url, "admin": admin, "search": search,
                                   "encrypt": encrypt, "master_key": master_key,
                                   "on_writer_wait": self.writer_waiting}
        if aktenzeichen_pattern is not None:
            options["aktenzeichen_pattern"] = aktenzeichen_pattern
        self._store = eakte.init(self.store_path, **options)
        return self._store

    def store(self) -> Store:
        """Open the store at ``store_path`` (once per invocation; never creates one).

        Raises:
            NotFoundError: there is no store at ``store_path``.
            SchemaVersionError: the store was written by a newer eakte.
        """
        if self._store is None:
            self._store = eakte.open(self.store_path, db_url=self.db_url, create=False,
                                     on_writer_wait=self.writer_waiting)
        return self._store

    def session(self) -> Session:
        """Open the store and return a new session acting as ``user``.

        Raises:
            NotFoundError: no store there, or no such user.
            AccessDenied: the user is deactivated.
        """
        return self.store().session(self.user)

    def close(self) -> None:
        """Close the store if this invocation opened one."""
        if self._store is not None:
            self._store.close()
            self._store = None


pass_app = click.make_pass_decorator(App)


def _set_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        app = ctx.find_object(App)
        if app is not None:
            app.json = True


def json_option(func: F) -> F:
    """Add ``--json`` to a command; it sets :attr:`App.json` like the global option."""
    return click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="Print the result as JSON on stdout and nothing else there.",
    )(func)


# -- JSON output -------------------------------------------------------------------------


def to_jsonable(value: object) -> Any:
    """Return ``value`` with datetimes, dates, paths and enums turned into JSON values.

    Raises:
        TypeError: a value has no JSON form.
    """
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(data: object, *, indent: int | None = 2) -> str:
    return json.dumps(data, ensure_ascii=False, indent=indent, default=to_jsonable)


def emit_json(data: object) -> None:
    """Print ``data`` as JSON on stdout."""
    click.echo(_dumps(data))


def emit_json_stream(items: Iterable[object]) -> None:
    """Print a JSON array on stdout item by item, so huge listings never sit in memory."""
    first = True
    click.echo("[", nl=False)
    for item in items:
        click.echo(("\n  " if first else ",\n  ") + _dumps(item, indent=None), nl=False)
        first = False
    click.echo("\n]" if not first else "]")


# -- formatting --------------------------------------------------------------------------


def fmt_time(value: datetime | None) -> str:
    """Return a timestamp for human output: ISO 8601 to the second, or ``-``."""
    return value.isoformat(timespec="seconds") if value is not None else "-"


def fmt_size(size: int) -> str:
    """Return a byte count in human units (``1.2 MB``)."""
    if size < 1000:
        return f"{size} B"
    amount = float(size)
    units = ("kB", "MB", "GB", "TB")
    index = 0
    amount /= 1000
    while amount >= 1000 and index < len(units) - 1:
        amount /= 1000
        index += 1
    return f"{amount:.1f} {units[index]}"


# -- the one error handler ---------------------------------------------------------------


_ARGS_KEY = "eakte.args"


def _wants_json(ctx: click.Context, *, unparsed: bool = False) -> bool:
    """True if this invocation asked for JSON (``--json``, global or on the command).

    With ``unparsed`` (a usage error: parsing stopped, maybe before ``--json`` was seen)
    a ``--json`` anywhere on the command line before ``--`` counts.
    """
    app = ctx.find_object(App)
    root = ctx.find_root()
    if (app is not None and app.json) or root.params.get("as_json"):
        return True
    if not unparsed:
        return False
    args: list[str] = root.meta.get(_ARGS_KEY, [])
    return "--json" in (args[:args.index("--")] if "--" in args else args)


def _report(ctx: click.Context, exc: BaseException, message: str, code: int, *,
            kind: str | None = None, as_json: bool | None = None) -> NoReturn:
    """Print the error on stderr (text, or one JSON object with ``--json``) and exit."""
    if _debug(ctx):
        click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
    if _wants_json(ctx) if as_json is None else as_json:
        error = {"type": kind or type(exc).__name__, "message": message, "exit_code": code}
        click.echo(_dumps({"error": error}, indent=None), err=True)
    else:
        click.echo(f"Error: {message}", err=True)
    ctx.exit(code)


def _click_kind(exc: click.ClickException) -> str:
    """The ``type`` a click error has in JSON: ``UsageError`` for every kind of bad usage."""
    return "UsageError" if isinstance(exc, click.UsageError) else type(exc).__name__


class EakteGroup(click.Group):
    """A click group that maps every error to ``Error: <message>`` and its exit code.

    This is the only place in eakte that catches ``Exception``; tracebacks are printed only
    with ``--debug``. With ``--json`` every failure, click's usage errors included, is one
    JSON object on stderr instead: ``{"error": {"type": "NotFoundError", "message": "…",
    "exit_code": 3}}``; the exit codes are the same. Without ``--json`` click's own
    exceptions (usage errors, exit, abort) are shown by click as usual.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the global options; a usage error there is JSON when ``--json`` was given."""
        ctx.meta[_ARGS_KEY] = list(args)  # the parser consumes the list it is given
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if _wants_json(ctx, unparsed=True):
                _report(ctx, exc, exc.format_message(), exc.exit_code, kind=_click_kind(exc),
                        as_json=True)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command line and translate errors into messages and exit codes."""
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except click.ClickException as exc:
            if not _wants_json(ctx, unparsed=isinstance(exc, click.UsageError)):
                raise
            _report(ctx, exc, exc.format_message(), exc.exit_code, kind=_click_kind(exc),
                    as_json=True)
        except click.Abort as exc:
            if not _wants_json(ctx):
                raise
            _report(ctx, exc, "aborted", 1)
        except EakteError as exc:
            _report(ctx, exc, str(exc), exc.exit_code)
        except Exception as exc:  # the CLI edge: never a bare traceback for users
            hint = "" if _debug(ctx) else " (run with --debug for the traceback)"
            _report(ctx, exc, f"unexpected {type(exc).__name__}: {exc}{hint}", 1)


def _debug(ctx: click.Context) -> bool:
    app = ctx.find_object(App)
    return bool(app and app.debug)
