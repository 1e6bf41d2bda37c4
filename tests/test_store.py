"""Store lifecycle: init, open, schema revisions, settings, context manager."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

import eakte
from eakte import _migrate
from eakte.aktenzeichen import DEFAULT_PATTERN
from eakte.model import Base
from eakte.store import CONFIG_NAME


def _revision(store: eakte.Store) -> str:
    with store.engine.connect() as conn:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def test_init_creates_folder_config_and_database(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "akten"
    with eakte.init(folder) as store:
        assert store.dialect == "sqlite"
        assert store.location == folder
        assert _revision(store) == _migrate.head_revision()
        with store.session() as s:
            assert s.audit_count() == 2  # store.init + principal.create
            assert s.user == "admin"
    config = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
    assert config["db_url"] is None
    assert config["admin"] == "admin"
    assert (folder / "eakte.sqlite3").is_file()
    assert (folder / "blobs").is_dir()


def test_init_records_the_database_url(db_url: str | None, tmp_path: Path) -> None:
    with eakte.init(tmp_path / "s", db_url=db_url, admin="registratur") as store:
        assert store.setting("store_id") is not None
        config = json.loads((tmp_path / "s" / CONFIG_NAME).read_text(encoding="utf-8"))
        assert config["db_url"] == db_url
        assert config["admin"] == "registratur"
        assert config["store_id"] == store.setting("store_id")
        with store.session() as s:
            assert s.user == "registratur"
            assert s.principal.is_admin


def test_second_init_in_same_folder_raises(store: eakte.Store, db_url: str | None) -> None:
    assert store.location is not None
    with pytest.raises(eakte.StoreExistsError, match="already exists"):
        eakte.init(store.location, db_url=db_url)
    with store.session() as s:
        assert s.audit_count() == 2


def test_second_init_on_same_database_raises(store: eakte.Store, tmp_path: Path) -> None:
    other = tmp_path / "other"
    with pytest.raises(eakte.StoreExistsError, match="already holds an eakte store"):
        eakte.init(other, db_url=store.db_url)
    assert not (other / CONFIG_NAME).exists()
    with store.session() as s:
        assert s.audit_count() == 2


def test_init_refuses_a_url_as_location() -> None:
    with pytest.raises(eakte.InvalidInput, match="db_url"):
        eakte.init("sqlite:///x.db")


def test_open_without_create_on_empty_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(eakte.NotFoundError, match="no eakte store") as info:
        eakte.open(tmp_path, create=False)
    assert info.value.kind == "Store"
    assert list(tmp_path.iterdir()) == []


def test_open_creates_a_store_by_default(tmp_path: Path) -> None:
    with eakte.open(tmp_path / "s") as store:
        assert (tmp_path / "s" / CONFIG_NAME).is_file()
        assert store.setting("aktenzeichen_pattern") == DEFAULT_PATTERN


def test_open_url_without_blobs_raises(tmp_path: Path) -> None:
    with pytest.raises(eakte.InvalidInput, match="blobs="):
        eakte.open(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert not (tmp_path / "x.sqlite3").exists()


def test_open_url_with_blobs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    blobs = eakte.MemoryBlobStore()
    with eakte.open(url, blobs=blobs) as store, store.session() as s:
        s.add_plan_unit("1", "Allgemeines")
    with eakte.open(url, blobs=blobs, create=False) as store, store.session() as s:
        assert [u.kennzeichen for u in s.plan_units()] == ["1"]


def test_open_url_of_empty_database_without_create_raises(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    # an empty database without create: state "missing" must not hand out a store
    with pytest.raises(eakte.NotFoundError):
        eakte.open(url, blobs=eakte.MemoryBlobStore(), create=False)


def _snapshot(store: eakte.Store) -> tuple[str, list[str], list[tuple[object, ...]]]:
    with store.engine.connect() as conn:
        tables = sorted(
            name for name in Base.metadata.tables if conn.dialect.has_table(conn, name)
        )
        events = [
            tuple(row)
            for row in conn.execute(text("SELECT seq, hash FROM audit_events ORDER BY seq"))
        ]
        revision = str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar())
    return revision, tables, events


def test_schema_from_the_future_is_refused_and_left_alone(
    store: eakte.Store, db_url: str | None
) -> None:
    assert store.location is not None
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    before = _snapshot(store)
    store.close()
    with pytest.raises(eakte.SchemaVersionError, match="9999_future"):
        eakte.open(store.location, db_url=db_url)
    with pytest.raises(eakte.SchemaVersionError, match="newer than this eakte"):
        eakte.open(store.location, db_url=db_url, upgrade=False)
    # look with a bare engine: neither attempt touched the database
    check = eakte.Store(db_url=store.db_url, blobs=eakte.MemoryBlobStore())
    try:
        assert _snapshot(check) == before
        assert before[0] == "9999_future"
    finally:
        check.close()


def test_store_at_head_reopens_as_current(
    store: eakte.Store, db_url: str | None, store_factory
) -> None:
    assert store.location is not None
    assert _migrate.prepare(store.engine, create=False) == "current"
    with store.session() as s:
        s.add_plan_unit("1", "Allgemeines")
    store.close()
    again = store_factory.open(store.location, db_url=db_url, create=False, upgrade=False)
    assert _revision(again) == _migrate.head_revision()
    with again.session() as s:
        assert [u.kennzeichen for u in s.plan_units()] == ["1"]
        assert s.audit_count() == 3


def test_tables_without_revision_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    with eakte.open(url, blobs=eakte.MemoryBlobStore()) as store, store.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    with pytest.raises(eakte.SchemaVersionError, match="no schema revision"):
        eakte.open(url, blobs=eakte.MemoryBlobStore())


def test_settings_and_pattern(store: eakte.Store) -> None:
    assert store.setting("aktenzeichen_pattern") == DEFAULT_PATTERN
    assert store.aktenzeichen_pattern == eakte.AktenzeichenPattern(DEFAULT_PATTERN)
    assert store.aktenzeichen_pattern.per_year
    assert store.setting("no such key") is None
    assert store.setting("no such key", "fallback") == "fallback"
    assert store.setting("created_at")


def test_custom_pattern_is_stored(store_factory, db_url: str | None) -> None:
    store = store_factory.init(db_url=db_url, aktenzeichen_pattern="{kennzeichen}/{number}")
    assert store.setting("aktenzeichen_pattern") == "{kennzeichen}/{number}"
    assert not store.aktenzeichen_pattern.per_year
    assert store.location is not None
    store.close()
    again = store_factory.open(store.location, db_url=db_url)
    assert again.aktenzeichen_pattern.pattern == "{kennzeichen}/{number}"


def test_store_is_a_context_manager(tmp_path: Path) -> None:
    with eakte.init(tmp_path / "s") as store:
        assert isinstance(store, eakte.Store)
        assert "eakte.Store" in repr(store)
        with store.session() as s:
            s.add_plan_unit("1", "Allgemeines")
    assert store._closed
    store.close()  # idempotent
    with pytest.raises(RuntimeError, match="inside"), eakte.open(tmp_path / "s") as again:
        raise RuntimeError("inside")
    assert again._closed


@pytest.mark.postgres
def test_postgres_schema_isolation(pg_url_factory, pg_admin_url: str) -> None:
    """The search_path option confines every table, alembic_version included, to one schema."""
    import psycopg

    first, second = pg_url_factory(), pg_url_factory()
    schemas = []
    for url in (first, second):
        with eakte.open(url, blobs=eakte.MemoryBlobStore()) as store:
            with store.engine.connect() as conn:
                schemas.append(conn.execute(text("SELECT current_schema()")).scalar_one())
            with store.session() as s:
                s.add_plan_unit("1", "Allgemeines")
    assert schemas[0] != schemas[1]
    expected = {*Base.metadata.tables, "alembic_version"}
    with psycopg.connect(pg_admin_url) as conn:
        for schema in schemas:
            tables = {
                name for (name,) in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (schema,),
                )
            }
            assert tables == expected
            units = conn.execute(f'SELECT count(*) FROM "{schema}".aktenplan_units').fetchone()
            assert units == (1,)
        leaked = conn.execute(
            "SELECT to_regclass('public.alembic_version'), to_regclass('public.audit_events')"
        ).fetchone()
        assert leaked == (None, None)
