"""Database failures reach callers as eakte errors that say what to do; writers say whom
they wait for; a missing PostgreSQL driver names the extra that installs it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import eakte

_ENV = {k: v for k, v in os.environ.items() if not k.startswith("EAKTE_")}


def _cli(*args: str, store: Path, timeout: float = 120,
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eakte", "--store", str(store), *args],
                          capture_output=True, text=True, timeout=timeout, env=_ENV,
                          check=False)


def test_verify_inside_an_open_writing_session(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store)
    started = time.monotonic()
    with store.session() as s:
        s.file_document(akte, b"noch nicht festgeschrieben", filename="offen.txt")
        report = store.verify()  # reads a snapshot: waits for no writer, not even this one
    assert report.ok, report.problems
    assert not [p for p in report.problems if p.kind.startswith("index.")]
    assert time.monotonic() - started < 20


def test_a_locked_sqlite_database_raises_store_busy_with_the_next_step(
        store_factory, tmp_path: Path) -> None:
    store = store_factory.init(tmp_path / "s")
    with store.session() as s:
        s.add_plan_unit("630", "Bauordnung")
    gate = store.write_gate
    assert gate is not None
    gate.timeout = 1.5
    waits: list[eakte.WriterWait] = []
    gate.on_wait = waits.append
    other = sqlite3.connect(tmp_path / "s" / "eakte.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the one write lock
    try:
        started = time.monotonic()
        with pytest.raises(eakte.StoreBusy) as caught, store.session() as s:
            s.create_akte("630", "Neubau")
        assert 1.5 <= time.monotonic() - started < 10
    finally:
        other.rollback()
        other.close()
    error = caught.value
    assert isinstance(error, eakte.DatabaseError) and isinstance(error, eakte.EakteError)
    assert "retry" in str(error) and "one writer at a time" in str(error)
    assert isinstance(error.__cause__, sqlite3.OperationalError)
    assert error.exit_code == 13
    assert len(waits) == 1 and waits[0].waited >= 1.0
    with store.session() as s:  # free again: the store works as before
        s.create_akte("630", "Neubau")


_HOLDER = """
import sys, time, pathlib, eakte
store = eakte.open(sys.argv[1], create=False)
with store.session() as s:
    s.add_plan_unit("640", "Gewerbe")          # this session now holds the write lock
    pathlib.Path(sys.argv[2]).write_text("holding")
    time.sleep(float(sys.argv[3]))
store.close()
"""


def test_a_waiting_cli_writer_names_the_process_it_waits_for(tmp_path: Path) -> None:
    store = tmp_path / "s"
    assert _cli("init", store=store).returncode == 0
    assert _cli("plan", "add", "630", "Bauordnung", store=store).returncode == 0
    flag = tmp_path / "holding"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(store), str(flag), "4"],
                              env=_ENV)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        result = _cli("akte", "create", "630", "Neubau", "--json", store=store)
    finally:
        holder.wait(timeout=60)
    assert holder.returncode == 0
    assert result.returncode == 0, result.stderr
    assert f"waiting for another writer (pid {holder.pid}" in result.stderr
    assert "one writer at a time" in result.stderr
    assert json.loads(result.stdout)["aktenzeichen"].startswith("630-")  # stdout stays JSON


def test_an_unreachable_database_is_a_database_error(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # nothing listens on port 1
    with pytest.raises(eakte.DatabaseError, match="cannot reach the database") as caught:
        eakte.open(tmp_path / "s", db_url=url)
    assert "check that the server is running" in str(caught.value)
    result = _cli("--db", url, "init", store=tmp_path / "c")
    assert result.returncode == 9
    assert "cannot reach the database" in result.stderr


_NO_PSYCOPG = """
import sys
sys.modules["psycopg"] = None  # as if eakte[postgres] was not installed
from eakte.cli import main
sys.argv = ["eakte", "--store", sys.argv[1], "--db", "postgresql://u@localhost/x", "init"]
main()
"""


def test_a_missing_postgresql_driver_names_the_extra(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", _NO_PSYCOPG, str(tmp_path / "s")],
                            capture_output=True, text=True, timeout=120, env=_ENV,
                            check=False)
    assert result.returncode == eakte.BackendUnavailable.exit_code, result.stderr
    assert "pip install 'eakte[postgres]'" in result.stderr
    assert "is not installed" in result.stderr


@pytest.mark.postgres
def test_a_postgresql_deadlock_is_store_busy(pg_url: str, store_factory, make_akte) -> None:
    store = store_factory.init(db_url=pg_url)
    first, second = make_akte(store, "Erste").id, make_akte(store, "Zweite").id
    lock = "SELECT id FROM akten WHERE id = :id FOR UPDATE"
    errors: list[BaseException] = []
    both = threading.Barrier(2)

    def worker(mine: int, theirs: int) -> None:
        try:
            with store.engine.connect() as conn, conn.begin():
                conn.execute(text(lock), {"id": mine})
                both.wait(10)
                conn.execute(text(lock), {"id": theirs})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=pair)
               for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(errors) == 1, errors  # PostgreSQL broke the deadlock by rolling one back
    assert isinstance(errors[0], eakte.StoreBusy)
    assert "deadlock" in str(errors[0]) and "retry" in str(errors[0])

