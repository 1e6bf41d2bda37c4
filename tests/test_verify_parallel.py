"""On large stores the replay runs in a second process, over the chain check's snapshot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

import eakte
import eakte.verify
from eakte.audit.replay import ReplayResult
from eakte.audit.replay.process import ReplayProcess


@pytest.fixture
def child_results(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ReplayResult | None]]:
    """Make every verify use a replay process; collect what each child delivered."""
    delivered: list[ReplayResult | None] = []
    original = ReplayProcess.result

    def result(self: ReplayProcess) -> ReplayResult | None:
        value = original(self)
        delivered.append(value)
        return value

    monkeypatch.setattr(eakte.verify, "PARALLEL_MIN_EVENTS", 0)
    monkeypatch.setattr(ReplayProcess, "result", result)
    yield delivered


def sql(store: eakte.Store, statement: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement))


def findings(report: eakte.VerifyReport) -> set[tuple[str, str, str]]:
    return {(p.severity, p.kind, p.subject) for p in report.problems}


@pytest.fixture
def tampered(store: eakte.Store, make_akte) -> eakte.Store:
    akte = make_akte(store, "Neubau Lindenstraße 4")
    with store.session() as s:
        s.add_user("bob")
        s.grant("bob", "reader", akte.aktenzeichen)
        doc = s.file_document(akte, b"Antrag", filename="antrag.txt")
        s.add_version(doc, b"Antrag, zweite Fassung")
    sql(store, "UPDATE akten SET title = 'Abriss' WHERE id = 1")
    sql(store, "UPDATE grants SET role = 'admin'")
    sql(store, f"UPDATE documents SET kind = 'outgoing' WHERE id = {doc.id}")
    return store


def test_the_replay_process_finds_what_the_in_process_replay_finds(
        tampered: eakte.Store, child_results: list[ReplayResult | None],
        monkeypatch: pytest.MonkeyPatch) -> None:
    parallel = tampered.verify(blobs=False, index=False)
    assert child_results and child_results[0] is not None  # the child did the replay
    monkeypatch.setattr(eakte.verify, "PARALLEL_MIN_EVENTS", 10**12)
    alone = tampered.verify(blobs=False, index=False)
    assert len(child_results) == 1
    assert findings(parallel) == findings(alone)
    assert {"akte.changed", "grant.changed", "document.changed"} <= {
        p.kind for p in parallel.errors}
    assert (parallel.akten, parallel.documents, parallel.versions) == (
        alone.akten, alone.documents, alone.versions)


def test_both_processes_read_one_snapshot(
        tampered: eakte.Store, child_results: list[ReplayResult | None],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A change committed once verify has begun is seen by neither the chain nor the replay."""
    original = ReplayProcess.pin

    def pin_then_write(self: ReplayProcess, conn: object) -> bool:
        pinned = original(self, conn)  # type: ignore[arg-type]
        with tampered.session() as s:  # a legitimate write, after both snapshots began
            s.add_user("carol")
        sql(tampered, "UPDATE grants SET role = 'editor'")  # and one behind eakte's back
        return pinned

    monkeypatch.setattr(ReplayProcess, "pin", pin_then_write)
    report = tampered.verify(blobs=False, index=False)
    assert child_results and child_results[0] is not None
    kinds = {(p.kind, p.data.get("field"), p.data.get("audit"), p.data.get("row"))
             for p in report.errors if p.kind == "grant.changed"}
    assert kinds == {("grant.changed", "role", "reader", "admin")}
    assert not any("carol" in p.subject for p in report.problems)
    monkeypatch.setattr(ReplayProcess, "pin", original)
    later = tampered.verify(blobs=False, index=False)
    assert report.events + 1 == later.events
    assert ("grant.changed", "role", "reader", "editor") in {
        (p.kind, p.data.get("field"), p.data.get("audit"), p.data.get("row"))
        for p in later.errors}


def test_verify_inside_a_session_replays_in_process(
        store: eakte.Store, make_akte, child_results: list[ReplayResult | None]) -> None:
    make_akte(store)
    with store.session() as s:
        s.add_user("dora")
        report = store.verify(blobs=False, index=False)
    assert report.ok, report.problems
    assert report.akten == 1
    if store.dialect == "sqlite":  # the session holds the write lock: no shared snapshot
        assert child_results == []
