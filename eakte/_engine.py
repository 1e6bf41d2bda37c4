"""Database engines of a Store: SQLite's one-writer lock, and driver errors as eakte errors.

SQLite lets one process write at a time. Writers take the lock up front (``BEGIN
IMMEDIATE``) in a loop of short busy waits instead of one long one, so that a waiting
writer can say who it waits for: the holder records its pid and command in a small file
next to the database (``eakte.sqlite3-writer``) each time it takes the lock. After about
a second the :class:`WriteGate`'s callback is told (the CLI prints "waiting for another
writer …"); after ``timeout`` seconds the wait ends with :class:`~eakte.errors.StoreBusy`.

Every engine also turns the driver's operational failures (locked, deadlock, connection
refused, disk errors) into :class:`~eakte.errors.DatabaseError` and its subclass
:class:`~eakte.errors.StoreBusy`, each saying what to do, so no ``sqlalchemy.exc`` error
reaches a caller for them. Constraint violations and data errors stay SQLAlchemy's: the
unit of work turns them into ``StateConflict`` and ``InvalidInput``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from eakte._text_match import register_sqlite_functions
from eakte.errors import BackendUnavailable, DatabaseError, InvalidInput, StoreBusy

__all__ = ["WriteGate", "WriterInfo", "WriterWait", "make_engines"]

#: Seconds a writer waits for the SQLite write lock before giving up.
DEFAULT_LOCK_TIMEOUT: Final = 60.0
#: Seconds of waiting before the callback is told, and between reminders.
NOTIFY_AFTER: Final = 1.0
REMIND_EVERY: Final = 15.0
_SLICE_MS: Final = 100  # one busy wait inside SQLite
_BUSY_CODES: Final = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_PG_BUSY: Final = {"40P01": "a deadlock with a concurrent transaction",
                   "40001": "a conflicting concurrent transaction (serialization failure)",
                   "55P03": "a lock held by another transaction",
                   "57014": "a statement timeout"}


@dataclass(frozen=True)
class WriterInfo:
    """Who holds (or last held) the SQLite write lock, as it recorded itself."""

    pid: int | None
    command: str
    since: datetime | None

    def describe(self) -> str:
        """Return e.g. ``pid 4711: eakte add …, writing since 12:03:04 UTC``."""
        parts = [f"pid {self.pid}" if self.pid is not None else "unknown process"]
        if self.command:
            parts[0] += f": {self.command}"
        if self.since is not None:
            parts.append(f"writing since {self.since.strftime('%H:%M:%S')} UTC")
        return ", ".join(parts)


@dataclass(frozen=True)
class WriterWait:
    """Passed to the wait callback: how long this writer has waited, and for whom."""

    waited: float
    holder: WriterInfo | None


WaitCallback = Callable[[WriterWait], None]


def _command() -> str:
    argv = [os.path.basename(sys.argv[0]) if sys.argv else "python", *sys.argv[1:]]
    text = " ".join(argv)
    return text if len(text) <= 200 else text[:199] + "…"


class WriteGate:
    """Takes SQLite's write lock for a Store's writers, reporting waits.

    Attributes:
        on_wait: called after about a second of waiting, then every 15 s, with a
            :class:`WriterWait`; the CLI prints it. May be None.
        timeout: seconds to wait for the lock before :class:`StoreBusy`.
    """

    def __init__(self, database: Path | None, *, on_wait: WaitCallback | None = None,
                 timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.info_file = database.with_name(database.name + "-writer") if database else None
        self.on_wait = on_wait
        self.timeout = timeout

    def holder(self) -> WriterInfo | None:
        """Return what the last writer recorded about itself, if anything."""
        if self.info_file is None:
            return None
        try:
            raw = json.loads(self.info_file.read_text(encoding="utf-8"))
            since = raw.get("since")
            return WriterInfo(pid=int(raw["pid"]) if raw.get("pid") is not None else None,
                              command=str(raw.get("command", "")),
                              since=datetime.fromisoformat(since) if since else None)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    def _record(self) -> None:
        if self.info_file is None:
            return
        data = json.dumps({"pid": os.getpid(), "command": _command(),
                           "since": datetime.now(UTC).isoformat(timespec="seconds")})
        try:
            fd = os.open(self.info_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, data.encode("utf-8"))
            finally:
                os.close(fd)
        except OSError:  # only a courtesy for waiting writers; never fail a write for it
            pass

    def begin(self, dbapi_connection: Any) -> None:
        """Run ``BEGIN IMMEDIATE`` on a raw sqlite3 connection, waiting as configured.

        Raises:
            StoreBusy: another writer held the lock for longer than :attr:`timeout`.
        """
        start = time.monotonic()
        next_notice = start + NOTIFY_AFTER
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if not _sqlite_busy(exc):
                    raise
                now = time.monotonic()
                if now - start >= self.timeout:
                    raise self._busy(now - start) from exc
                if now >= next_notice and self.on_wait is not None:
                    next_notice = now + REMIND_EVERY
                    self.on_wait(WriterWait(waited=now - start, holder=self.holder()))
        self._record()

    def _busy(self, waited: float) -> StoreBusy:
        holder = self.holder()
        who = f" ({holder.describe()})" if holder else ""
        if holder is not None and holder.pid == os.getpid():
            who += (" - this process wrote last: if one of its sessions is still open, "
                    "commit or close it first")
        return StoreBusy(
            f"another writer holds the SQLite database{who}; waited {waited:.0f} s. "
            "SQLite allows one writer at a time: retry when it has finished, or move the "
            "store to PostgreSQL for many concurrent writers")


def _sqlite_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _BUSY_CODES
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _translate(context: ExceptionContext) -> None:
    """Raise the eakte error for an operational driver failure (a ``handle_error`` hook)."""
    if context.is_pre_ping:  # the pool reconnects by itself
        return
    error = context.sqlalchemy_exception
    if not isinstance(error, OperationalError):
        return
    orig = context.original_exception
    detail = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if isinstance(orig, sqlite3.Error):
        if _sqlite_busy(orig):
            raise StoreBusy(
                f"the SQLite database is locked by another writer ({detail}); nothing was "
                "saved by this operation: retry when the other writer has finished (SQLite "
                "allows one writer at a time; PostgreSQL suits many)")
        raise DatabaseError(
            f"the SQLite database failed ({detail}); check the disk, the file's permissions "
            "and free space, then run 'eakte verify'")
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _PG_BUSY:
        raise StoreBusy(
            f"PostgreSQL rolled back this transaction because of {_PG_BUSY[sqlstate]} "
            f"({detail}); nothing of it was saved: retry the operation")
    if context.is_disconnect or sqlstate is None or str(sqlstate).startswith(("08", "57P")):
        raise DatabaseError(
            f"cannot reach the database ({detail}); check that the server is running and "
            "that the URL (host, port, user, database) is right, then retry")
    raise DatabaseError(f"the database failed ({detail}); retry, and check the server's log "
                        "if it persists")


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engines(url: str, gate: WriteGate | None = None
                 ) -> tuple[Engine, Engine, WriteGate | None]:
    """Return (write engine, read engine, SQLite write gate) for a database URL.

    On SQLite, writers take the lock up front through the gate; readers use deferred
    transactions (a WAL snapshot) and never wait for a writer. Elsewhere both engines are
    the same.

    Raises:
        BackendUnavailable: the URL needs a driver that is not installed (psycopg).
        InvalidInput: the URL is not usable.
    """
    if url.startswith("sqlite"):
        gate = gate or WriteGate(_sqlite_file(url))

        def configure(engine: Engine, *, writer: bool) -> Engine:
            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn: Any, record: Any) -> None:
                dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below rule
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.execute("PRAGMA foreign_keys=ON")
                # writers wait in short slices (see WriteGate); readers rarely wait at all
                cur.execute(f"PRAGMA busy_timeout={_SLICE_MS if writer else 60000}")
                cur.close()
                register_sqlite_functions(dbapi_conn)

            @event.listens_for(engine, "begin")
            def _on_begin(conn: Any) -> None:
                if writer:
                    gate.begin(conn.connection.dbapi_connection)
                else:
                    conn.exec_driver_sql("BEGIN")

            event.listen(engine, "handle_error", _translate)
            return engine

        write = configure(create_engine(url), writer=True)
        read = configure(create_engine(url), writer=False)
        return write, read, gate
    if url.startswith("postgresql") and "+" not in url.split("://", 1)[0]:
        url = url.replace("postgresql", "postgresql+psycopg", 1)
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        raise BackendUnavailable(
            f"the database driver for {url.split('://', 1)[0]!r} is not installed "
            f"({exc}); for PostgreSQL run: pip install 'eakte[postgres]'") from exc
    except SQLAlchemyError as exc:
        raise InvalidInput(f"cannot use database URL: {exc}") from exc
    event.listen(engine, "handle_error", _translate)
    return engine, engine, None
