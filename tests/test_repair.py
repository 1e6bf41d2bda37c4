"""eakte.repair: derivable damage is fixed and audited; evidence of tampering is never touched."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import eakte
from eakte.repair import repair

HOUR = 3600


def age(path: Path, seconds: float) -> None:
    """Make ``path`` look written ``seconds`` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def blob_path(store: eakte.Store, sha: str) -> Path:
    assert isinstance(store.blobs, eakte.LocalBlobStore)
    return store.blobs.path_for(sha)


def audit_actions(store: eakte.Store) -> list[tuple[str, dict]]:
    with store.session() as s:
        return [(e.action, e.details) for e in s.audit_events()]


def drop_triggers(store: eakte.Store, table: str) -> None:
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.execute(text(f"DROP TRIGGER eakte_{table}_no_update"))
            conn.execute(text(f"DROP TRIGGER eakte_{table}_no_delete"))
        else:
            conn.execute(text(f"DROP TRIGGER eakte_{table}_immutable ON {table}"))


@pytest.fixture
def filed(store: eakte.Store, make_akte) -> eakte.Document:
    akte = make_akte(store)
    with store.session() as s:
        return s.file_document(akte, b"Baugenehmigung erteilt", filename="bescheid.txt")


def test_intact_store_needs_nothing(store: eakte.Store, filed) -> None:
    before = audit_actions(store)
    report = repair(store)
    assert report.ok and not report.refused and report.problems == []
    assert (report.outbox, report.index_refreshed, report.temp_removed) == (0, 0, 0)
    assert report.orphans_removed == [] and report.orphans_kept == []
    assert audit_actions(store) == before  # nothing changed, nothing recorded
    assert report.as_dict()["ok"] is True


def test_old_orphan_removed_fresh_orphan_kept(store: eakte.Store, filed) -> None:
    old = store.blobs.put_bytes(b"left by a crashed write yesterday").sha256
    fresh = store.blobs.put_bytes(b"a write still in flight").sha256
    age(blob_path(store, old), 2 * HOUR)
    assert {p.subject for p in store.verify().notices} == {f"blob {old}", f"blob {fresh}"}

    dry = repair(store, dry_run=True)
    assert dry.orphans_removed == [old]
    assert store.blobs.exists(old)  # a dry run changes nothing

    report = repair(store)
    assert report.orphans_removed == [old]
    assert [sha for sha, _ in report.orphans_kept] == [fresh]
    assert "grace period" in report.orphans_kept[0][1]
    assert not store.blobs.exists(old) and store.blobs.exists(fresh)
    action, details = audit_actions(store)[-1]
    assert action == "repair.orphans_removed"
    assert details["sha256"] == [old] and details["count"] == 1
    verified = store.verify()
    assert verified.ok and [p.subject for p in verified.notices] == [f"blob {fresh}"]

    # with no grace at all, the fresh one goes too; running again is harmless
    assert repair(store, grace_seconds=0).orphans_removed == [fresh]
    assert repair(store).orphans_removed == []
    with store.session() as s:  # the real content is untouched
        assert s.read_content(filed) == b"Baugenehmigung erteilt"


def test_orphans_of_a_store_without_ages(mem_store: eakte.Store, make_akte) -> None:
    make_akte(mem_store)
    sha = mem_store.blobs.put_bytes(b"orphan in memory").sha256
    report = repair(mem_store)
    assert report.orphans_removed == []
    assert report.orphans_kept == [(sha, report.orphans_kept[0][1])]
    assert "cannot tell its age" in report.orphans_kept[0][1]
    assert repair(mem_store, grace_seconds=0).orphans_removed == [sha]


def test_stale_temp_files(store: eakte.Store) -> None:
    assert isinstance(store.blobs, eakte.LocalBlobStore)
    tmp = store.blobs.root / "tmp"
    stale, busy = tmp / "put-crashed.tmp", tmp / "put-busy.tmp"
    stale.write_bytes(b"half a PDF")
    busy.write_bytes(b"being written")
    age(stale, 3 * HOUR)
    assert repair(store, dry_run=True).temp_removed == 1 and stale.exists()
    assert repair(store).temp_removed == 1
    assert not stale.exists() and busy.exists()
    action, details = audit_actions(store)[-1]
    assert (action, details["count"]) == ("repair.temp_removed", 1)


def test_outbox_replay(store_factory, db_url, tmp_path, make_akte) -> None:
    store = store_factory.init(tmp_path / "s", db_url=db_url, auto_index=False)
    akte = make_akte(store)
    with store.session() as s:
        s.file_document(akte, b"Stellungnahme der Denkmalpflege", filename="a.txt")
        s.file_document(akte, b"Nachforderung Statik", filename="b.txt")
    indexer = store.indexer
    assert indexer is not None and indexer.pending() == 2
    with store.session() as s:
        assert s.search("Denkmalpflege").total == 0  # not indexed yet
    dry = repair(store, dry_run=True)
    assert dry.outbox == 2 and indexer.pending() == 2
    report = repair(store)
    assert report.outbox == 2 and report.index_refreshed == 2
    assert indexer.pending() == 0
    with store.session() as s:
        assert s.search("Denkmalpflege").total == 1
    action, details = audit_actions(store)[-1]
    assert action == "repair.index_refreshed" and details["outbox"] == 2


def test_missing_index_entries_are_rebuilt(store: eakte.Store, filed) -> None:
    indexer = store.indexer
    assert indexer is not None
    indexer.backend.delete([filed.id])
    assert [p.kind for p in indexer.drift()] == ["index.missing"]
    assert repair(store, dry_run=True).index_refreshed == 1
    report = repair(store)
    assert report.index_refreshed == 1 and indexer.drift() == []
    with store.session() as s:
        assert s.search("Baugenehmigung").total == 1


def test_refuses_everything_when_the_audit_log_was_tampered(store: eakte.Store, filed) -> None:
    orphan = store.blobs.put_bytes(b"could be evidence").sha256
    age(blob_path(store, orphan), 5 * HOUR)
    tmp = blob_path(store, orphan).parent.parent / "tmp" / "put-old.tmp"
    tmp.write_bytes(b"x")
    age(tmp, 5 * HOUR)
    indexer = store.indexer
    assert indexer is not None
    indexer.backend.delete([filed.id])
    drop_triggers(store, "audit_events")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"))
    before = audit_actions(store)

    report = repair(store)
    assert report.refused and not report.ok
    assert [p.kind for p in report.problems] == ["audit.column_mismatch"]
    assert (orphan, "repair refused") in report.orphans_kept
    assert store.blobs.exists(orphan) and tmp.exists()  # nothing touched
    assert [p.kind for p in indexer.drift()] == ["index.missing"]
    assert audit_actions(store) == before  # and nothing written to the log
    assert report.as_dict()["refused"] is True


def test_a_blob_whose_version_row_vanished_is_evidence(store: eakte.Store, filed) -> None:
    with store.session() as s:
        sha = s.get_version(filed).sha256
    age(blob_path(store, sha), 5 * HOUR)
    for table in ("versions", "renditions"):
        drop_triggers(store, table)
    with store.engine.begin() as conn:  # an attacker removes the version row
        conn.execute(text("DELETE FROM text_extractions"))
        conn.execute(text("DELETE FROM versions WHERE sha256 = :s"), {"s": sha})
    report = repair(store)
    assert report.refused
    # verify finds the removed row itself; repair names the blob that proves it
    assert [p.kind for p in report.problems] == ["version.missing", "blob.recorded_orphan"]
    assert store.blobs.exists(sha)
    assert any(kept == sha and "recorded" in why for kept, why in report.orphans_kept)
