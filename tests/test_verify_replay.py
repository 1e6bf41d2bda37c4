"""verify replays the audit log into rights and record state: row edits are found precisely."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import text

import eakte
from eakte import _migrate
from eakte.cli import cli


@dataclass
class World:
    store: eakte.Store
    akte: eakte.Akte
    other: eakte.Akte
    vorgang: eakte.Vorgang
    doc: eakte.Document
    grant_id: int
    hold_id: int
    disposed: eakte.Akte


def sql(store: eakte.Store, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def scalar(store: eakte.Store, statement: str, **params: object) -> object:
    with store.engine.connect() as conn:
        return conn.execute(text(statement), params).scalar_one()


def errors(report: eakte.VerifyReport) -> set[tuple[str, str]]:
    return {(p.kind, p.subject) for p in report.errors}


@pytest.fixture
def world(store: eakte.Store, make_akte) -> World:
    akte = make_akte(store, "Neubau Lindenstraße 4")
    other = make_akte(store, "Anbau Gartenweg 2")
    offered = make_akte(store, "Abriss Schuppen")
    with store.session() as s:
        s.add_user("bob", groups=["sachbearbeitung"])
        s.add_group("admins")
        grant = s.grant("bob", "reader", akte.aktenzeichen)
        s.grant("sachbearbeitung", "editor", "630.10")
        vorgang = s.create_vorgang(akte, "Bauantrag")
        doc = s.file_document(akte, b"Antrag", filename="antrag.txt", vorgang=vorgang)
        s.add_version(doc, b"Antrag, zweite Fassung")
        s.file_document(other, b"Lageplan", filename="lageplan.txt")
        hold = s.set_hold(akte, "Klage anhaengig")
        s.update_akte(other, title="Anbau Gartenweg 2a")
        s.set_retention(offered, 0)
        s.close_akte(offered)
    with store.session() as s:
        s.mark_offered([s.get_akte(offered.id)], "msg-0501-1")
        s.grant("bob", "auditor", "630.20")
        s.revoke("bob", "auditor", "630.20")
    report = store.verify()
    assert report.ok and report.problems == [], report.problems
    assert (report.akten, report.documents, report.versions) == (3, 2, 3)
    return World(store, akte, other, vorgang, doc, grant.id, hold.id, offered)


def test_legitimate_history_verifies(world: World) -> None:
    assert world.store.verify(blobs=False).ok


def test_inserted_grant(world: World) -> None:
    store = world.store
    bob = scalar(store, "SELECT id FROM principals WHERE name = 'bob'")
    sql(store, "INSERT INTO grants (principal_id, role, target_type, target_id, created_at, "
        "created_by) VALUES (:p, 'admin', 'store', 0, CURRENT_TIMESTAMP, 'admin')", p=bob)
    new = scalar(store, "SELECT MAX(id) FROM grants")
    assert errors(store.verify()) == {("grant.unaudited", f"grant {new}")}


def test_changed_grant(world: World) -> None:
    store = world.store
    sql(store, "UPDATE grants SET role = 'admin' WHERE id = :g", g=world.grant_id)
    report = store.verify()
    assert errors(report) == {("grant.changed", f"grant {world.grant_id} field role")}
    problem = report.errors[0]
    assert (problem.data["row"], problem.data["audit"]) == ("admin", "reader")


def test_grant_moved_to_another_akte(world: World) -> None:
    store = world.store
    sql(store, "UPDATE grants SET target_id = :a WHERE id = :g", a=world.other.id,
        g=world.grant_id)
    assert errors(store.verify()) == {
        ("grant.changed", f"grant {world.grant_id} field target_id")}


def test_deleted_grant(world: World) -> None:
    store = world.store
    sql(store, "DELETE FROM grants WHERE id = :g", g=world.grant_id)
    assert errors(store.verify()) == {("grant.missing", f"grant {world.grant_id}")}


def test_system_grants_and_renamed_system(world: World) -> None:
    store = world.store
    with store.session() as s:
        s.grant("bob", "owner", "system:portal")
        s.grant("bob", "owner", "system:bauportal")
        s.revoke("bob", "owner", "system:bauportal")
    assert store.verify(blobs=False).problems == []
    portal = scalar(store, "SELECT id FROM external_systems WHERE name = 'portal'")
    sql(store, "UPDATE external_systems SET name = 'meldeportal' WHERE id = :i", i=portal)
    assert errors(store.verify()) == {("system.changed", f"system {portal} field name")}
    sql(store, "INSERT INTO external_systems (name, created_at) "
        "VALUES ('geheim', CURRENT_TIMESTAMP)")
    new = scalar(store, "SELECT MAX(id) FROM external_systems")
    assert ("system.unaudited", f"system {new}") in errors(store.verify())


def test_admin_flag(world: World) -> None:
    store = world.store
    sql(store, "UPDATE principals SET is_admin = :t WHERE name = 'bob'", t=True)
    assert errors(store.verify()) == {("principal.changed", "principal bob field is_admin")}


def test_clearance(world: World) -> None:
    store = world.store
    sql(store, "UPDATE principals SET clearance = 'vs-nfd' WHERE name = 'bob'")
    assert errors(store.verify()) == {("principal.changed", "principal bob field clearance")}


def test_inserted_principal(world: World) -> None:
    store = world.store
    sql(store, "INSERT INTO principals (name, kind, is_admin, active, clearance, created_at) "
        "VALUES ('mallory', 'user', :t, :t, 'offen', CURRENT_TIMESTAMP)", t=True)
    assert errors(store.verify()) == {("principal.unaudited", "principal mallory")}


def test_membership(world: World) -> None:
    store = world.store
    bob = scalar(store, "SELECT id FROM principals WHERE name = 'bob'")
    admins = scalar(store, "SELECT id FROM principals WHERE name = 'admins'")
    group = scalar(store, "SELECT id FROM principals WHERE name = 'sachbearbeitung'")
    sql(store, "INSERT INTO memberships (member_id, group_id, created_at) "
        "VALUES (:m, :g, CURRENT_TIMESTAMP)", m=bob, g=admins)
    sql(store, "DELETE FROM memberships WHERE member_id = :m AND group_id = :g", m=bob, g=group)
    assert errors(store.verify()) == {
        ("membership.unaudited", "membership bob in admins"),
        ("membership.missing", "membership bob in sachbearbeitung")}


@pytest.mark.parametrize(("column", "value"), [
    ("title", "Umgewidmet"), ("confidentiality", "vs-nfd"), ("status", "closed"),
    ("unit_id", None),
])
def test_changed_akte(world: World, column: str, value: object) -> None:
    store = world.store
    if column == "unit_id":
        value = scalar(store, "SELECT id FROM aktenplan_units WHERE kennzeichen = '630.20'")
    sql(store, f"UPDATE akten SET {column} = :v WHERE id = :a", v=value, a=world.other.id)
    assert errors(store.verify()) == {("akte.changed", f"akte {world.other.id} field {column}")}


def test_document_moved_to_another_akte(world: World) -> None:
    store = world.store
    sql(store, "UPDATE documents SET akte_id = :a, vorgang_id = NULL WHERE id = :d",
        a=world.other.id, d=world.doc.id)
    assert errors(store.verify()) == {
        ("document.changed", f"document {world.doc.id} field akte_id"),
        ("document.changed", f"document {world.doc.id} field vorgang_id")}


def test_document_row_without_event(world: World) -> None:
    store = world.store
    sql(store, "INSERT INTO documents (uuid, akte_id, title, kind, meta, version_count, "
        "created_at, created_by, updated_at) VALUES ('00000000-0000-4000-8000-000000000001', "
        ":a, 'Untergeschoben', 'internal', '{}', 0, CURRENT_TIMESTAMP, 'admin', "
        "CURRENT_TIMESTAMP)", a=world.akte.id)
    new = scalar(store, "SELECT MAX(id) FROM documents")
    assert errors(store.verify(blobs=False)) == {("document.unaudited", f"document {new}")}


def test_deleted_document_row(world: World) -> None:
    store = world.store
    doc = scalar(store, "SELECT id FROM documents WHERE akte_id = :a", a=world.other.id)
    sql(store, "DELETE FROM search_outbox")
    if store.dialect == "sqlite":
        sql(store, "DROP TRIGGER eakte_versions_no_delete")
    else:
        sql(store, "DROP TRIGGER eakte_versions_immutable ON versions")
    sql(store, "DELETE FROM text_extractions WHERE version_id IN "
        "(SELECT id FROM versions WHERE document_id = :d)", d=doc)
    sql(store, "DELETE FROM versions WHERE document_id = :d", d=doc)
    sql(store, "DELETE FROM documents WHERE id = :d", d=doc)
    found = errors(store.verify(blobs=False))
    assert found == {("document.missing", f"document {doc}"),
                     ("version.missing", f"document {doc} version 1")}


def test_vorgang_moved(world: World) -> None:
    store = world.store
    sql(store, "UPDATE vorgaenge SET akte_id = :a WHERE id = :v", a=world.other.id,
        v=world.vorgang.id)
    assert errors(store.verify()) == {
        ("vorgang.changed", f"vorgang {world.vorgang.id} field akte_id")}


def test_hold_removed(world: World) -> None:
    store = world.store
    sql(store, "DELETE FROM legal_holds WHERE id = :h", h=world.hold_id)
    assert errors(store.verify()) == {("hold.missing", f"hold {world.hold_id}")}


def test_hold_released_in_the_table(world: World) -> None:
    store = world.store
    sql(store, "UPDATE legal_holds SET released_at = CURRENT_TIMESTAMP WHERE id = :h",
        h=world.hold_id)
    assert errors(store.verify()) == {("hold.changed", f"hold {world.hold_id} field active")}


def test_disposal_state_changed(world: World) -> None:
    store = world.store
    sql(store, "UPDATE akte_disposal SET state = 'destroyed' WHERE akte_id = :a",
        a=world.disposed.id)
    assert errors(store.verify()) == {
        ("disposal.changed", f"akte {world.disposed.id} disposal field state")}


def test_disposal_row_inserted(world: World) -> None:
    store = world.store
    sql(store, "INSERT INTO akte_disposal (akte_id, state) VALUES (:a, 'destroyed')",
        a=world.other.id)
    assert errors(store.verify()) == {("disposal.unaudited", f"akte {world.other.id} disposal")}


def test_verify_command_fails_on_a_changed_grant(world: World) -> None:
    store = world.store
    sql(store, "UPDATE grants SET role = 'admin' WHERE id = :g", g=world.grant_id)
    location = str(store.location)
    if store.dialect != "sqlite":
        pytest.skip("the command line test opens the store folder; SQLite is enough")
    store.close()
    result = CliRunner(env={"EAKTE_STORE": None, "EAKTE_USER": None}).invoke(
        cli, ["--store", location, "verify", "--no-blobs"])
    assert result.exit_code == 5, result.output
    assert f"grant {world.grant_id} field role" in result.stdout


def _make_legacy(store: eakte.Store) -> int:
    """Turn ``store`` into one from before replayable events, at revision 0008.

    Its first event loses the mark that the log replays from event 1, and the chain is
    hashed again from there (as if it had been written so).
    """
    import json

    from eakte.audit.log import GENESIS_HASH, chain_hash

    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER eakte_audit_events_no_update"))
        else:
            conn.execute(text("DROP TRIGGER eakte_audit_events_immutable ON audit_events"))
        rows = conn.execute(text("SELECT seq, canonical FROM audit_events ORDER BY seq")).all()
        prev = GENESIS_HASH
        for seq, canonical in rows:
            canonical = bytes(canonical)
            if seq == 1:
                canonical = canonical.replace(b',"replayable":true', b"")
                details = json.loads(canonical)["details"]
                conn.execute(text("UPDATE audit_events SET canonical = :c, details = :d "
                                  "WHERE seq = 1"), {"c": canonical, "d": json.dumps(details)})
            prev = chain_hash(prev, canonical)
            conn.execute(text("UPDATE audit_events SET hash = :h WHERE seq = :s"),
                         {"h": prev, "s": seq})
        conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})
        conn.execute(text("UPDATE alembic_version SET version_num = '0008'"))
    return len(rows)


def test_store_from_before_replayable_events(world: World, store_factory) -> None:
    old = world.store
    head = _make_legacy(old)
    old.close()
    store = store_factory.open(old.location)
    report = store.verify()
    assert report.ok and report.problems == [], report.problems
    assert report.replay_from == head
    assert report.events == head + 1  # the baseline event
    with store.session() as s:
        fresh = s.create_akte("630.10", "Nach der Umstellung")
        s.grant("bob", "editor", fresh.aktenzeichen)
    assert store.verify().ok
    # the rights state at the baseline is recorded whole: a legacy grant is still checked
    sql(store, "UPDATE grants SET role = 'admin' WHERE id = :g", g=world.grant_id)
    # Akten created after the baseline are checked in every field ...
    sql(store, "UPDATE akten SET title = 'Umgewidmet' WHERE id = :a", a=fresh.id)
    # ... older ones only in what later events set: their title from before is unproven
    sql(store, "UPDATE akten SET title = 'Umgewidmet' WHERE id = :a", a=world.akte.id)
    # a document row above the recorded highest id must have been filed by an event
    sql(store, "INSERT INTO documents (uuid, akte_id, title, kind, meta, version_count, "
        "created_at, created_by, updated_at) VALUES ('00000000-0000-4000-8000-000000000002', "
        ":a, 'Untergeschoben', 'internal', '{}', 0, CURRENT_TIMESTAMP, 'admin', "
        "CURRENT_TIMESTAMP)", a=world.akte.id)
    new_doc = scalar(store, "SELECT MAX(id) FROM documents")
    assert errors(store.verify(blobs=False)) == {
        ("grant.changed", f"grant {world.grant_id} field role"),
        ("akte.changed", f"akte {fresh.id} field title"),
        ("document.unaudited", f"document {new_doc}"),
    }


def test_a_fresh_store_gets_no_baseline(world: World) -> None:
    store = world.store
    before = scalar(store, "SELECT COUNT(*) FROM audit_events")
    config = _migrate._config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
        command.upgrade(config, "head")
    assert scalar(store, "SELECT COUNT(*) FROM audit_events") == before
    assert store.verify(blobs=False).replay_from == 0


def test_signed_checkpoints_do_not_hide_a_changed_grant(world: World, tmp_path) -> None:
    from eakte.audit.signing import generate_key_file

    store = world.store
    key = generate_key_file(tmp_path / "checkpoint.pem")
    checkpoint = store.checkpoint(key=key)
    assert checkpoint is not None
    sql(store, "UPDATE grants SET role = 'admin' WHERE id = :g", g=world.grant_id)
    report = store.verify(public_keys=[key.public_key()],
                          checkpoints=[("kept-by-the-auditor", checkpoint)])
    assert report.checkpoints == 2
    assert errors(report) == {("grant.changed", f"grant {world.grant_id} field role")}
