"""The alembic migrations produce exactly the models' schema, and go down and up again."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

import eakte
from eakte import _migrate
from eakte.model import IMMUTABLE_TABLES, Base


def schema_differences(engine: Engine) -> list[Any]:
    """What autogenerate would change to make the database match ``Base.metadata``."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True})
        # No filtering is needed: alembic compares the DDL each type compiles to, and the
        # TypeDecorator UTCDateTime compiles as its impl DateTime(timezone=True), i.e.
        # TIMESTAMP WITH TIME ZONE on PostgreSQL and DATETIME on SQLite, exactly what 0001
        # creates; BigId's SQLite variant compiles to INTEGER, as reflected. If a spurious
        # diff ever shows up here, fix the migration or the model, not this test.
        return list(compare_metadata(context, Base.metadata))


def run_alembic(engine: Engine, action: str, revision: str) -> None:
    """Run ``alembic <action> <revision>`` the way eakte._migrate does (handed-in connection)."""
    config = _migrate._config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def triggers(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            sql = ("SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                   "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace")
        return {name for (name,) in conn.execute(text(sql))}


def expected_triggers(dialect: str) -> set[str]:
    if dialect == "sqlite":
        return {f"eakte_{t}_no_{verb}" for t in IMMUTABLE_TABLES for verb in ("update", "delete")}
    return {f"eakte_{t}_{kind}" for t in IMMUTABLE_TABLES for kind in ("immutable", "no_truncate")}


def test_head_matches_the_models(store: eakte.Store) -> None:
    assert tables(store.engine) == {*Base.metadata.tables, "alembic_version"}
    assert schema_differences(store.engine) == []
    assert triggers(store.engine) == expected_triggers(store.dialect)


def test_comparison_sees_a_real_difference(store: eakte.Store) -> None:
    # guard against a comparison that can never fail
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE INDEX ix_stray_akten ON akten (title)"))
        if store.dialect == "postgresql":  # SQLite cannot change a column's type
            conn.execute(text("ALTER TABLE audit_events ALTER COLUMN time "
                              "TYPE timestamp without time zone"))
    # modifications come as lists of tuples, additions and removals as tuples
    found = {diff[0][0] if isinstance(diff, list) else diff[0]
             for diff in schema_differences(store.engine)}
    assert {"remove_table", "remove_index"} <= found
    assert ("modify_type" in found) == (store.dialect == "postgresql")


def test_downgrade_to_base_and_upgrade_again(store: eakte.Store) -> None:
    engine = store.engine
    run_alembic(engine, "downgrade", "base")
    assert tables(engine) == {"alembic_version"}
    assert triggers(engine) == set()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is None
        if engine.dialect.name == "postgresql":
            function = conn.execute(text("SELECT to_regproc('eakte_refuse_change')")).scalar()
            assert function is None
    run_alembic(engine, "upgrade", "head")
    assert tables(engine) == {*Base.metadata.tables, "alembic_version"}
    assert schema_differences(engine) == []
    assert triggers(engine) == expected_triggers(store.dialect)
    assert _migrate.prepare(engine, create=False) == "current"
    with engine.connect() as conn:
        head = conn.execute(text("SELECT id, seq, hash FROM audit_head")).one()
        assert tuple(head) == (1, 0, "0" * 64)


def test_head_revision_is_the_only_head() -> None:
    script = _migrate._script()
    assert script.get_heads() == [_migrate.head_revision()]
    assert [rev.revision for rev in script.walk_revisions()][-1] == "0001"


def test_0005_fills_in_the_akte_of_existing_audit_events(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store)
    with store.session() as s:
        doc = s.file_document(akte, b"Bauantrag", filename="antrag.txt")
        s.add_version(doc, b"Bauantrag, zweite Fassung")
    with store.engine.connect() as conn:
        before = dict(conn.execute(text("SELECT seq, akte_id FROM audit_events")).all())
    assert {seq for seq, akte_id in before.items() if akte_id == akte.id}
    # back to 0004 (the column goes) and forward again: the backfill restores every value,
    # also for document events that name their Akte only through the document
    run_alembic(store.engine, "downgrade", "0004")
    run_alembic(store.engine, "upgrade", "head")
    with store.engine.connect() as conn:
        after = dict(conn.execute(text("SELECT seq, akte_id FROM audit_events")).all())
    assert after == before
    assert triggers(store.engine) == expected_triggers(store.dialect)
    assert store.verify(blobs=False).ok
