"""Store.verify: a clean store passes; every kind of tampering is detected and located."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

import eakte


@dataclass
class Filled:
    store: eakte.Store
    docs: list[eakte.Document]
    shas: list[str]  # sha256 of version 1 of each document
    last_seq: int


@pytest.fixture
def filled(store: eakte.Store, make_akte) -> Filled:
    akte = make_akte(store)
    with store.session() as s:
        docs = [s.file_document(akte, b"Bescheid A", filename="a.txt"),
                s.file_document(akte, b"Bescheid B", filename="b.txt")]
        s.add_version(docs[0], b"Bescheid A, zweite Fassung")
        s.add_rendition(s.get_version(docs[1]), b"%PDF-1.4 Bescheid B", kind="pdfa")
    with store.session() as s:
        shas = [s.get_version(d, 1).sha256 for d in docs]
        last_seq = s.audit_count()
    report = store.verify()
    assert report.ok and report.problems == []
    return Filled(store, docs, shas, last_seq)


def drop_immutability_triggers(store: eakte.Store, table: str) -> None:
    """What an attacker with database access does first."""
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.execute(text(f"DROP TRIGGER eakte_{table}_no_update"))
            conn.execute(text(f"DROP TRIGGER eakte_{table}_no_delete"))
        else:
            conn.execute(text(f"DROP TRIGGER eakte_{table}_immutable ON {table}"))


def sql(store: eakte.Store, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def found(report: eakte.VerifyReport) -> set[tuple[str, str]]:
    return {(p.kind, p.subject) for p in report.errors}


def blob_path(store: eakte.Store, sha: str) -> Path:
    assert store.location is not None
    return store.location / "blobs" / sha[:2] / sha[2:]


def test_fresh_store_verifies(store: eakte.Store) -> None:
    report = store.verify()
    assert report.ok
    assert (report.events, report.versions, report.blobs) == (2, 0, 0)


def test_store_with_documents_verifies(filled: Filled) -> None:
    stages = []
    report = filled.store.verify(progress=lambda stage, done, total: stages.append(stage))
    assert report.ok and report.problems == []
    assert report.events == filled.last_seq
    assert report.versions == 3
    assert report.blobs == 4  # three versions and one rendition
    assert report.blob_bytes == sum(len(b) for b in (
        b"Bescheid A", b"Bescheid B", b"Bescheid A, zweite Fassung", b"%PDF-1.4 Bescheid B"))
    assert {"audit", "blobs"} <= set(stages)
    summary = report.as_dict()
    assert summary["ok"] is True and summary["problems"] == []
    no_blobs = filled.store.verify(blobs=False)
    assert no_blobs.ok and no_blobs.blobs == 0 and "blobs" not in no_blobs.seconds


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor", "'mallory'"), ("object_id", "'999'"), ("action", "'akte.close'"),
     ("details", """'{"forged": true}'""")],
)
def test_edited_event_column(filled: Filled, column: str, value: str) -> None:
    store, seq = filled.store, 4
    drop_immutability_triggers(store, "audit_events")
    sql(store, f"UPDATE audit_events SET {column} = {value} WHERE seq = {seq}")
    report = store.verify()
    assert not report.ok
    assert found(report) == {("audit.column_mismatch", f"audit event {seq}")}
    assert column in report.errors[0].message
    assert report.errors[0].data["seq"] == seq


def _canonical(store: eakte.Store, seq: int) -> bytes:
    with store.engine.connect() as conn:
        return bytes(conn.execute(
            text("SELECT canonical FROM audit_events WHERE seq = :s"), {"s": seq}).scalar_one())


def test_edited_canonical_bytes(filled: Filled) -> None:
    # a careful attacker edits the hashed bytes and the column alike
    store, seq = filled.store, 5
    drop_immutability_triggers(store, "audit_events")
    canonical = _canonical(store, seq)
    assert b'"actor":"admin"' in canonical
    forged = canonical.replace(b'"actor":"admin"', b'"actor":"nimda"')
    sql(store, "UPDATE audit_events SET canonical = :c, actor = 'nimda' WHERE seq = :s",
        c=forged, s=seq)
    report = store.verify()
    assert found(report) == {("audit.hash_mismatch", f"audit event {seq}")}


def test_garbled_canonical_bytes(filled: Filled) -> None:
    store, seq = filled.store, 3
    drop_immutability_triggers(store, "audit_events")
    sql(store, "UPDATE audit_events SET canonical = :c WHERE seq = :s",
        c=_canonical(store, seq)[:-1], s=seq)
    report = store.verify()
    assert found(report) == {("audit.undecodable", f"audit event {seq}"),
                             ("audit.hash_mismatch", f"audit event {seq}")}


def test_deleted_event_in_the_middle(filled: Filled) -> None:
    store, seq = filled.store, 4
    drop_immutability_triggers(store, "audit_events")
    sql(store, f"DELETE FROM audit_events WHERE seq = {seq}")
    report = store.verify()
    assert found(report) == {("audit.sequence_gap", f"audit event {seq + 1}"),
                             ("audit.hash_mismatch", f"audit event {seq + 1}")}
    gap = next(p for p in report.errors if p.kind == "audit.sequence_gap")
    assert f"expected event {seq} next" in gap.message


def test_deleted_last_event(filled: Filled) -> None:
    store, last = filled.store, filled.last_seq
    drop_immutability_triggers(store, "audit_events")
    sql(store, f"DELETE FROM audit_events WHERE seq = {last}")
    report = store.verify()
    assert found(report) == {("audit.head_mismatch", "audit head")}
    assert f"head records event {last}" in report.errors[0].message
    assert f"ends at event {last - 1}" in report.errors[0].message


def test_forged_event_appended(filled: Filled) -> None:
    store, last = filled.store, filled.last_seq
    with store.engine.connect() as conn:
        row = conn.execute(text(f"SELECT * FROM audit_events WHERE seq = {last}")).mappings().one()
    values = dict(row)
    values["seq"] = last + 1
    values["canonical"] = bytes(values["canonical"]).replace(
        f'"seq":{last}'.encode(), f'"seq":{last + 1}'.encode())
    if store.dialect == "postgresql":
        values["details"] = json.dumps(values["details"])
    sql(store, "INSERT INTO audit_events (seq, time, actor, action, object_type, object_id, "
        "details, canonical, hash) VALUES (:seq, :time, :actor, :action, :object_type, "
        ":object_id, :details, :canonical, :hash)", **values)
    report = store.verify()
    assert ("audit.head_mismatch", "audit head") in found(report)
    assert ("audit.hash_mismatch", f"audit event {last + 1}") in found(report)


def test_swapped_events(filled: Filled) -> None:
    store, seq = filled.store, 4
    drop_immutability_triggers(store, "audit_events")
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_events SET seq = -1 WHERE seq = {seq}"))
        conn.execute(text(f"UPDATE audit_events SET seq = {seq} WHERE seq = {seq + 1}"))
        conn.execute(text(f"UPDATE audit_events SET seq = {seq + 1} WHERE seq = -1"))
    report = store.verify()
    problems = found(report)
    assert {("audit.reordered", f"audit event {seq}"),
            ("audit.reordered", f"audit event {seq + 1}")} <= problems
    # everything reported lies at the swap (the next event's link breaks too)
    assert {p.data["seq"] for p in report.errors} == {seq, seq + 1, seq + 2}


def test_flipped_byte_in_blob(filled: Filled) -> None:
    store, sha = filled.store, filled.shas[1]
    path = blob_path(store, sha)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))
    report = store.verify()
    assert found(report) == {("blob.corrupt", f"blob {sha}")}
    assert store.verify(blobs=False).ok  # only the blob stage can see this


def test_deleted_blob(filled: Filled) -> None:
    store, sha = filled.store, filled.shas[0]
    path = blob_path(store, sha)
    os.chmod(path, 0o644)
    path.unlink()
    report = store.verify()
    assert found(report) == {("blob.missing", f"blob {sha}")}


def test_version_pointed_at_another_blob(filled: Filled) -> None:
    store = filled.store
    first = filled.docs[0]
    drop_immutability_triggers(store, "versions")
    sql(store, "UPDATE versions SET sha256 = :sha WHERE document_id = :doc AND number = 1",
        sha=filled.shas[1], doc=first.id)
    report = store.verify()
    assert found(report) == {("version.hash_changed", f"document {first.id} version 1")}
    # the blob nobody points at any more shows up as a (harmless-looking) orphan
    assert {(p.kind, p.subject) for p in report.notices} == {
        ("blob.orphan", f"blob {filled.shas[0]}")}


def test_orphan_blob_is_only_a_notice(filled: Filled) -> None:
    store = filled.store
    info = store.blobs.put(io.BytesIO(b"left by a crash"))
    report = store.verify()
    assert report.ok
    assert report.errors == []
    assert [(p.kind, p.subject, p.severity) for p in report.notices] == [
        ("blob.orphan", f"blob {info.sha256}", "notice")]
    assert report.as_dict()["ok"] is True


def test_verify_with_memory_blobs_is_clean(mem_store) -> None:
    with mem_store.session() as s:
        s.add_plan_unit("1", "Allgemeines")
        s.file_document(s.create_akte("1", "Akte"), b"Inhalt im Speicher", filename="m.txt")
    report = mem_store.verify()
    assert report.ok and report.problems == []
    assert report.blob_bytes == len(b"Inhalt im Speicher")
