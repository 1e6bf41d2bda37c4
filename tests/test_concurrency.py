"""Several processes writing to one store: gap-free numbers and an unforked audit chain.

Each worker is a separate process (spawn) with its own Store on the same folder and
database. A barrier releases all workers into each phase together, so that their
transactions really overlap. Starting a spawned process costs about a second (importing
eakte), so the PostgreSQL test runs both phases in one set of workers.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any

import pytest
from worker_processes import run_spawned

import eakte

PER_WORKER = 25
TIMEOUT = 120  # seconds for the workers to start and finish everything


def _worker(phases: list[str], folder: str, db_url: str | None, document_id: int,
            barrier: Any, results: Any) -> None:
    """Open the store; per phase wait for the others, then do PER_WORKER transactions."""
    try:
        done: dict[str, list[Any]] = {phase: [] for phase in phases}
        store = eakte.open(folder, db_url=db_url, create=False)
        try:
            for phase in phases:
                barrier.wait(TIMEOUT)
                for i in range(PER_WORKER):
                    with store.session() as s:
                        if phase == "akten":
                            akte = s.create_akte("630.10", f"Akte {os.getpid()}/{i}",
                                                 year=2026)
                            done[phase].append(akte.aktenzeichen)
                        else:
                            document = s.get_document(document_id)
                            version = s.add_version(document, f"{os.getpid()}/{i}".encode())
                            done[phase].append(version.number)
        finally:
            store.close()
        results.put(("ok", done))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def run_workers(phases: list[str], store: eakte.Store, db_url: str | None, workers: int,
                document_id: int) -> dict[str, list[Any]]:
    """Run ``workers`` processes through ``phases``; return what they did, per phase."""
    assert store.location is not None
    location = str(store.location)
    outcomes = run_spawned(
        _worker, lambda barrier, results: (phases, location, db_url, document_id, barrier,
                                           results), workers, TIMEOUT)
    return {phase: [item for done in outcomes for item in done[phase]] for phase in phases}


def _prepare(store: eakte.Store, make_akte) -> tuple[int, int]:
    """Build the plan and one document; return (document id, audit events so far)."""
    akte = make_akte(store, "Sammelakte", kennzeichen="630.20")
    with store.session() as s:
        document = s.file_document(akte, b"Fassung 1")
    with store.session() as s:
        return document.id, s.audit_count()


def _check_versions(store: eakte.Store, document_id: int, made: list[int], total: int) -> None:
    assert sorted(made) == list(range(2, total + 2))
    with store.session() as s:
        document = s.get_document(document_id)
        versions = s.versions(document)
        assert document.version_count == total + 1
        assert [v.number for v in versions] == list(range(1, total + 2))
        assert len({v.sha256 for v in versions}) == total + 1


def _check_chain(store: eakte.Store, expected_events: int) -> None:
    """The chain verifies and holds exactly the expected events, numbered 1..n (no fork)."""
    report = store.verify()
    assert report.ok, report.errors
    assert report.events == expected_events
    with store.session() as s:
        seqs = [e.seq for e in s.audit_events()]
    assert seqs == list(range(1, expected_events + 1))


@pytest.mark.postgres
def test_postgres_concurrent_writers(pg_url: str, store_factory, make_akte) -> None:
    """4 processes: (a) 25 Akten each in one unit, then (b) 25 versions each of one document."""
    workers = 4
    total = workers * PER_WORKER
    store = store_factory.init(db_url=pg_url)
    document_id, before = _prepare(store, make_akte)
    made = run_workers(["akten", "versions"], store, pg_url, workers, document_id)
    # (a) Aktenzeichen distinct and gap-free 1..100
    assert sorted(made["akten"]) == [f"630.10-{n:04d}/2026" for n in range(1, total + 1)]
    with store.session() as s:
        numbers = sorted(a.number for a in s.list_akten(kennzeichen="630.10"))
    assert numbers == list(range(1, total + 1))
    # (b) version numbers unique and gap-free 1..101
    _check_versions(store, document_id, made["versions"], total)
    _check_chain(store, before + 2 * total)


def test_sqlite_concurrent_versions(store_factory, make_akte, tmp_path: Path) -> None:
    """2 processes add 25 versions each; SQLite serialises them (BEGIN IMMEDIATE)."""
    workers = 2
    total = workers * PER_WORKER
    store = store_factory.init(tmp_path / "s")
    document_id, before = _prepare(store, make_akte)
    made = run_workers(["versions"], store, None, workers, document_id)
    _check_versions(store, document_id, made["versions"], total)
    _check_chain(store, before + total)
