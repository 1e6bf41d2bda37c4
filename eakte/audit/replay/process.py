"""Run the replay in a second process, over the same snapshot as the chain check.

The chain check and the replay read the database independently, so on a large store they
run side by side: the replay in a child process (``python -m eakte.audit.replay.process``,
started fresh, never forked from the caller), the chain check in the caller. Both must see
the same state of the store, one snapshot, as a single transaction would:

- PostgreSQL: the caller's transaction is ``REPEATABLE READ``; it exports its snapshot
  (``pg_export_snapshot()``) and the child adopts it (``SET TRANSACTION SNAPSHOT``) while
  the caller's transaction is open, so both read exactly the same data.
- SQLite: a snapshot begins with a transaction's first read. The caller takes the write
  lock (``BEGIN IMMEDIATE`` on a connection of its own), begins its snapshot, has the child
  begin its own, and lets the lock go: no write can commit while the lock is held, so both
  snapshots are of the same state. The lock is held for the two first reads only.

When any of this cannot be done (the write lock is taken, the database is read-only, the
child cannot start or fails), the caller replays itself, in its own snapshot, as without
a child: the result is the same, only slower.

Protocol on the child's stdin/stdout: the caller writes one JSON line (URL, PostgreSQL
snapshot); the SQLite child answers ``ready``, waits for ``pin``, begins its snapshot and
answers ``pinned``; finally the child writes its :class:`ReplayResult` (pickled) and exits.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import select
import sqlite3
import subprocess
import sys
import time
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import Connection

from eakte.audit.replay import ReplayResult, replay_check

if TYPE_CHECKING:
    from eakte.context import StoreContext

__all__ = ["ReplayProcess"]

_START_TIMEOUT = 60.0  # seconds for the child to start and connect
_PIN_TIMEOUT = 10.0  # seconds for the child's first read while the lock is held
_LOCK_TIMEOUT = 0.5  # seconds to wait for SQLite's write lock before replaying in-process


def _line(stream: IO[bytes], timeout: float) -> bytes:
    """Read one line from ``stream`` within ``timeout`` seconds (b"" on timeout or EOF)."""
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline().strip() if ready else b""


class ReplayProcess:
    """A child process replaying the audit log; see the module's description."""

    def __init__(self, proc: subprocess.Popen[bytes], dialect: str, url: str) -> None:
        self._proc = proc
        self._dialect = dialect
        self._url = url
        self.seconds = 0.0

    @classmethod
    def start(cls, store: StoreContext) -> ReplayProcess | None:
        """Start the child, before the caller's transaction begins; None if it cannot."""
        url = store.engine.url.render_as_string(hide_password=False)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "eakte.audit.replay.process"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:
            return None
        return cls(proc, store.dialect, url)

    def pin(self, conn: Connection) -> bool:
        """Give the child the snapshot of ``conn``'s open transaction (before its first read).

        Returns:
            whether the child reads the same snapshot; if not, it has been stopped.
        """
        try:
            ok = self._pin_postgresql(conn) if self._dialect == "postgresql" else (
                self._pin_sqlite(conn))
        except (OSError, ValueError, sqlite3.Error):
            ok = False
        if not ok:
            self.stop()
        return ok

    def _send(self, message: dict[str, Any] | str) -> None:
        assert self._proc.stdin is not None
        text = message if isinstance(message, str) else json.dumps(message)
        self._proc.stdin.write(text.encode() + b"\n")
        self._proc.stdin.flush()

    def _pin_postgresql(self, conn: Connection) -> bool:
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        self._send({"url": self._url, "snapshot": str(snapshot)})
        return True  # the child adopts it while our transaction is open; it reports failure

    def _pin_sqlite(self, conn: Connection) -> bool:
        assert self._proc.stdout is not None
        self._send({"url": self._url, "snapshot": None})
        if _line(self._proc.stdout, _START_TIMEOUT) != b"ready":
            return False
        database = conn.engine.url.database
        if not database:
            return False
        lock = sqlite3.connect(database, timeout=_LOCK_TIMEOUT, isolation_level=None)
        try:
            try:
                lock.execute("BEGIN IMMEDIATE")
            except sqlite3.Error:  # a writer is at work, or the file is read-only
                return False
            conn.exec_driver_sql("SELECT seq FROM audit_head").all()  # our snapshot begins
            self._send("pin")
            return _line(self._proc.stdout, _PIN_TIMEOUT) == b"pinned"
        finally:
            lock.close()  # rolls back: the lock is released

    def result(self) -> ReplayResult | None:
        """Wait for the child's result; None when it failed (then replay in-process)."""
        assert self._proc.stdout is not None
        try:
            data = self._proc.stdout.read()
            code = self._proc.wait()
        except OSError:
            return None
        finally:
            self.stop()
        if code != 0:
            return None
        try:
            seconds, result = pickle.loads(data)  # noqa: S301 - our own child's output
        except (pickle.UnpicklingError, ValueError, EOFError, TypeError):
            return None
        if not isinstance(result, ReplayResult):
            return None
        self.seconds = float(seconds)
        return result

    def stop(self) -> None:
        """End the child (if still running) and close its pipes."""
        if self._proc.poll() is None:
            self._proc.kill()
        with contextlib.suppress(OSError):
            self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def _child() -> int:
    """The child: read the URL and snapshot, begin it, replay, write the result."""
    from eakte._engine import make_engines

    out = sys.stdout.buffer
    request = json.loads(sys.stdin.buffer.readline())
    _, engine, _ = make_engines(str(request["url"]))
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    # the literal is the server's own snapshot id, quoted
                    snapshot = str(request["snapshot"]).replace("'", "''")
                    conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                else:
                    out.write(b"ready\n")
                    out.flush()
                    if sys.stdin.buffer.readline().strip() != b"pin":
                        return 1
                    conn.exec_driver_sql("SELECT seq FROM audit_head").all()
                    out.write(b"pinned\n")
                    out.flush()
                t0 = time.perf_counter()
                result = replay_check(conn)
                seconds = time.perf_counter() - t0
    finally:
        engine.dispose()
    out.write(pickle.dumps((seconds, result)))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child())
