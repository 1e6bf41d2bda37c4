"""Reads on SQLite never wait for a writer: show and search while another process writes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import pytest
from worker_processes import run_spawned

import eakte

#: The holder gives up after this long (the test releases it much earlier).
HOLD_AT_MOST = 120.0


def _hold_write_lock(database: str, ready: str, release: str, results: Any) -> None:
    """Take SQLite's write lock (BEGIN IMMEDIATE), say so, hold it until told to release.

    Reports whether the lock was still held when the test asked for its release.
    """
    try:
        conn = sqlite3.connect(database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        Path(ready).write_text(str(os.getpid()), encoding="utf-8")
        deadline = time.monotonic() + HOLD_AT_MOST
        while not Path(release).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        released_in_time = Path(release).exists()
        conn.execute("ROLLBACK")
        conn.close()
        results.put(("ok", released_in_time))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.monotonic()
    result = fn()
    return time.monotonic() - start, result


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "eakte", "--store", str(folder), *args],
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture
def filed_store(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "akten"
    with eakte.open(folder) as store:
        with store.session() as s:
            s.add_plan_unit("630.10", "Baugenehmigungen")
            akte = s.create_akte("630.10", "Bauantrag Lindenstraße 4")
            s.file_document(akte, b"Bescheid ueber die Baugenehmigung Lindenstrasse",
                            filename="bescheid.txt")
    return folder, akte.aktenzeichen


def test_show_and_search_answer_while_another_process_holds_the_write_lock(
        filed_store: tuple[Path, str]) -> None:
    folder, aktenzeichen = filed_store
    # the interpreter's start-up is not part of the wait: measure it unlocked first
    unlocked_show, _ = _timed(lambda: _cli(folder, "show", aktenzeichen))
    unlocked_search, _ = _timed(lambda: _cli(folder, "search", "Baugenehmigung"))
    ready, release = folder.parent / "locked", folder.parent / "release"
    reported: list[Any] = []
    holder = threading.Thread(target=lambda: reported.extend(run_spawned(
        _hold_write_lock,
        lambda barrier, results: (str(folder / "eakte.sqlite3"), str(ready), str(release),
                                  results),
        1, HOLD_AT_MOST + 60)))
    holder.start()
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert time.monotonic() < deadline, "the lock holder did not start"
            time.sleep(0.05)
        with eakte.open(folder, create=False) as store:
            seconds, shown = _timed(lambda: _show_api(store, aktenzeichen))
            assert shown == ["bescheid.txt"]
            assert seconds < 1.0, f"show waited {seconds:.1f} s behind the writer"
            seconds, hits = _timed(lambda: _search_api(store))
            assert hits == 1
            assert seconds < 1.0, f"search waited {seconds:.1f} s behind the writer"
        seconds, show = _timed(lambda: _cli(folder, "show", aktenzeichen))
        assert show.returncode == 0, show.stderr
        assert "bescheid" in show.stdout
        assert seconds - unlocked_show < 1.0, f"eakte show took {seconds:.1f} s"
        seconds, found = _timed(lambda: _cli(folder, "search", "Baugenehmigung"))
        assert found.returncode == 0, found.stderr
        assert "bescheid" in found.stdout
        assert seconds - unlocked_search < 1.0, f"eakte search took {seconds:.1f} s"
    finally:
        release.write_text("", encoding="utf-8")
        holder.join(timeout=HOLD_AT_MOST + 90)
    # all of it happened while the other process still held the lock
    assert reported == [True]


def _show_api(store: eakte.Store, aktenzeichen: str) -> list[str]:
    with store.session() as s:
        akte = s.get_akte(aktenzeichen)
        return [d.title for d in s.documents(akte)]


def _search_api(store: eakte.Store) -> int:
    with store.session() as s:
        return len(s.search("Baugenehmigung").hits)
