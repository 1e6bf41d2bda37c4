"""Several processes writing one SQLite store with a Whoosh index: nothing is lost.

Each worker is a spawned process with its own Store; after every commit it drains the
outbox itself, so the drains of up to four processes overlap while new rows arrive.
Afterwards every document must be in the index at its newest version, and the outbox
must be empty.
"""

from __future__ import annotations

import os
import random
import traceback
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select
from worker_processes import run_spawned

import eakte
from eakte.model import SearchOutbox

WORKERS = 4
STEPS = 30
SHARED = 8  # documents that every worker adds versions to
TIMEOUT = 180


def _worker(folder: str, shared: list[int], barrier: Any, results: Any) -> None:
    try:
        rnd = random.Random(os.getpid())
        store = eakte.open(folder, create=False)
        try:
            barrier.wait(TIMEOUT)
            for step in range(STEPS):
                with store.session() as s:
                    if rnd.random() < 0.4:
                        s.file_document(s.get_akte(1), f"Bauantrag {os.getpid()} Nr. {step}"
                                        .encode(), filename=f"antrag-{step}.txt")
                    else:
                        document = s.get_document(rnd.choice(shared))
                        s.add_version(document, f"Fassung {os.getpid()}/{step}".encode())
                assert store.last_index_error is None, store.last_index_error
        finally:
            store.close()
        results.put(("ok", ""))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _run(folder: Path, shared: list[int]) -> None:
    run_spawned(_worker, lambda barrier, results: (str(folder), shared, barrier, results),
                WORKERS, TIMEOUT)


@pytest.mark.slow
def test_concurrent_writers_leave_every_document_indexed_at_its_newest_version(
        store_factory, tmp_path: Path) -> None:
    folder = tmp_path / "store"
    store = store_factory.init(folder)
    with store.session() as s:
        s.add_plan_unit("630", "Baugenehmigungen")
        akte = s.create_akte("630", "Sammelakte")
        shared = [s.file_document(akte, f"Fassung 1 von {n}".encode(),
                                  filename=f"plan-{n}.txt").id for n in range(SHARED)]
    store.close()

    _run(folder, shared)

    store = store_factory.open(folder, create=False)
    indexer = store.indexer
    assert indexer is not None
    assert indexer.pending() == 0
    with store.session() as s:
        newest = {d.id: (d.version_count, s.versions(d)[-1].sha256)
                  for d in s.documents(s.get_akte(1))}
    assert len(newest) >= SHARED + 1
    assert sum(count for count, _ in newest.values()) > SHARED  # versions were added
    indexed = {e.document_id: (e.version, e.sha256) for e in indexer.backend.entries()}
    assert indexed == newest
    assert indexer.drift() == []


def test_outbox_ids_are_never_reused(mem_store: eakte.Store) -> None:
    """An indexer deletes the rows it read by id; a new row must never get such an id."""
    now = mem_store.clock()
    with mem_store.orm_session() as orm, orm.begin():
        orm.execute(insert(SearchOutbox), [{"document_id": n, "created_at": now}
                                           for n in (1, 2, 3)])
        highest = orm.scalar(select(func.max(SearchOutbox.id)))
        orm.execute(delete(SearchOutbox).where(SearchOutbox.id == highest))
        orm.execute(insert(SearchOutbox), [{"document_id": 4, "created_at": now}])
        new = orm.scalar(select(SearchOutbox.id).where(SearchOutbox.document_id == 4))
    assert new > highest


def _second_writer_waits(first: Any, second: Any) -> None:
    """While ``first`` holds its exclusive lock, ``second`` cannot take its own."""
    import threading

    entered = threading.Event()

    def take() -> None:
        with second.exclusive():
            entered.set()

    with first.exclusive():
        thread = threading.Thread(target=take)
        thread.start()
        assert not entered.wait(1.0)  # blocked while the first writer holds the lock
    assert entered.wait(30)  # and it gets the lock once it is released
    thread.join(30)


def test_whoosh_writers_of_one_folder_share_the_exclusive_lock(tmp_path: Path) -> None:
    from eakte.search.whoosh_backend import WhooshSearchBackend

    first = WhooshSearchBackend(tmp_path / "index")
    second = WhooshSearchBackend(tmp_path / "index", lock_timeout=30)
    try:
        _second_writer_waits(first, second)
        quick = WhooshSearchBackend(tmp_path / "index", lock_timeout=0.2)
        try:
            with first.exclusive(), pytest.raises(eakte.SearchError, match="locked"):
                quick.delete([1])
            with first.exclusive():  # the holder itself writes inside its lock
                first.delete([1])
        finally:
            quick.close()
    finally:
        first.close()
        second.close()


@pytest.mark.postgres
def test_postgres_backends_of_one_table_share_the_exclusive_lock(pg_url: str) -> None:
    from eakte.search.postgres import PostgresSearchBackend

    first, second = PostgresSearchBackend(pg_url), PostgresSearchBackend(pg_url)
    try:
        first.clear()
        _second_writer_waits(first, second)
        with first.exclusive():
            first.delete([1])
    finally:
        first.close()
        second.close()
