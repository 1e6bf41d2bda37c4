"""Versions, renditions and audit events are insert-only: in the ORM and in the database."""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from sqlalchemy import delete, select, text, update

import eakte
from eakte import StateConflict
from eakte.model import AuditEvent, Rendition, Version


@pytest.fixture
def filled(store: eakte.Store, make_akte) -> eakte.Store:
    """A store with one document, one version and one rendition."""
    akte = make_akte(store)
    with store.session() as s:
        doc = s.file_document(akte, b"Bescheid", filename="bescheid.txt")
        s.add_rendition(s.get_version(doc), b"%PDF-1.4 Bescheid", kind="pdfa")
    return store


def _rows(store: eakte.Store) -> list[tuple[object, ...]]:
    """Every row of the immutable tables, read with raw SQL."""
    with store.engine.connect() as conn:
        return [
            tuple(row)
            for table, key in (("versions", "id"), ("renditions", "id"),
                               ("audit_events", "seq"))
            for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))
        ]


CHANGES = [
    (Version, "comment", "geändert"),
    (Version, "sha256", "0" * 64),
    (Rendition, "kind", "tiff"),
    (AuditEvent, "actor", "mallory"),
    (AuditEvent, "details", {"forged": True}),
]


@pytest.mark.parametrize(("model", "attribute", "value"), CHANGES)
def test_orm_refuses_changes(filled: eakte.Store, model, attribute: str, value) -> None:
    before = _rows(filled)
    with filled.orm_session() as orm:
        row = orm.scalars(select(model).limit(1)).one()
        setattr(row, attribute, value)
        with pytest.raises(StateConflict, match="immutable"):
            orm.flush()
        orm.rollback()
    assert _rows(filled) == before


@pytest.mark.parametrize("model", [Version, Rendition, AuditEvent])
def test_orm_refuses_deletes(filled: eakte.Store, model) -> None:
    before = _rows(filled)
    with filled.orm_session() as orm:
        orm.delete(orm.scalars(select(model).limit(1)).one())
        with pytest.raises(StateConflict, match="cannot be deleted"):
            orm.flush()
        orm.rollback()
    assert _rows(filled) == before


@pytest.mark.parametrize(
    "statement",
    [
        update(Version).values(comment="x"),
        update(Rendition).values(kind="x"),
        update(AuditEvent).where(AuditEvent.seq == 1).values(actor="x"),
        delete(Version),
        delete(Rendition),
        delete(AuditEvent).where(AuditEvent.seq > 1),
    ],
    ids=lambda st: f"{type(st).__name__.lower()}-{st.table.name}",
)
def test_orm_refuses_bulk_statements(filled: eakte.Store, statement) -> None:
    before = _rows(filled)
    with filled.orm_session() as orm:
        with pytest.raises(StateConflict, match="immutable"):
            orm.execute(statement)
        orm.rollback()
    assert _rows(filled) == before


def test_orm_still_allows_inserts_and_other_updates(filled: eakte.Store) -> None:
    # the guard must not block the ordinary work around the immutable tables
    with filled.session() as s:
        (akte,) = s.list_akten()
        (doc,) = s.documents(akte)
        s.add_version(doc, b"Bescheid v2")
        s.update_document(doc, title="Neu")
    assert filled.verify().ok


RAW = [
    "UPDATE versions SET comment = 'x'",
    "UPDATE versions SET sha256 = '{}'".format("0" * 64),
    "DELETE FROM versions",
    "UPDATE renditions SET kind = 'x'",
    "DELETE FROM renditions",
    "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
    "DELETE FROM audit_events WHERE seq = 2",
    "DELETE FROM audit_events",
]


@pytest.mark.parametrize("sql", RAW)
def test_database_triggers_refuse_raw_sql(filled: eakte.Store, sql: str) -> None:
    before = _rows(filled)
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="immutable"):
        with filled.engine.begin() as conn:
            conn.execute(text(sql))
    assert _rows(filled) == before
    assert filled.verify().ok


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["versions", "renditions", "audit_events"])
def test_postgres_refuses_truncate(pg_url: str, tmp_path, table: str) -> None:
    with eakte.init(tmp_path / "s", db_url=pg_url) as store:
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="immutable"):
            with store.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {table} CASCADE"))
        with store.session() as s:
            assert s.audit_count() == 2


def test_every_store_of_a_process_is_guarded() -> None:
    # Regression: the guard used event.contains(), which keys on id(class) and answered True
    # for new sessionmaker classes reusing a collected one's id, leaving most Stores unguarded.
    for _ in range(40):
        store = eakte.Store(db_url="sqlite://", blobs=eakte.MemoryBlobStore())
        try:
            with store.orm_session() as orm, pytest.raises(StateConflict):
                orm.execute(update(Version).values(comment="x"))  # refused before any SQL
        finally:
            store.close()
