"""Shared fixtures: databases (SQLite and PostgreSQL), stores, and a small Aktenplan.

PostgreSQL tests run in a fresh schema per test, selected through the connection option
``-csearch_path=<schema>``. Without a reachable server they are skipped with a reason, but
fail when ``EAKTE_REQUIRE_POSTGRES=1`` (CI sets it), so CI never goes green by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

import eakte
from eakte.store import Store

#: Admin connection used to create and drop the per-test schemas (libpq URL for psycopg).
PG_ADMIN_URL = os.environ.get("EAKTE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")

_pg_state: dict[str, str | None] = {}


def postgres_unavailable() -> str | None:
    """Return why PostgreSQL cannot be used for tests, or None if it can (cached)."""
    if "reason" not in _pg_state:
        reason: str | None = None
        try:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except Exception as exc:  # any failure means: no usable server
            where = make_url(PG_ADMIN_URL).render_as_string(hide_password=True)
            reason = f"PostgreSQL at {where} unavailable: {type(exc).__name__}: {exc}"
        _pg_state["reason"] = reason
    return _pg_state["reason"]


def require_postgres() -> None:
    """Skip the current test without PostgreSQL, or fail if EAKTE_REQUIRE_POSTGRES=1."""
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("EAKTE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (EAKTE_REQUIRE_POSTGRES=1)", pytrace=False)
    pytest.skip(reason)


def pg_schema_url(schema: str) -> str:
    """Return the SQLAlchemy URL of PG_ADMIN_URL restricted to ``schema`` by search_path."""
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg")
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _pg_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def pg_admin_url() -> str:
    """The libpq URL of the PostgreSQL test database (skips/fails when unreachable)."""
    require_postgres()
    return PG_ADMIN_URL


@pytest.fixture
def pg_url_factory() -> Iterator[Callable[[], str]]:
    """Return a function that creates a fresh PostgreSQL schema and returns its URL.

    Every schema is dropped (CASCADE) after the test.
    """
    require_postgres()
    schemas: list[str] = []

    def make() -> str:
        schema = f"t_{uuid.uuid4().hex}"
        _pg_execute(f'CREATE SCHEMA "{schema}"')
        schemas.append(schema)
        return pg_schema_url(schema)

    yield make
    for schema in schemas:
        _pg_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_url(pg_url_factory: Callable[[], str]) -> str:
    """A SQLAlchemy URL of a fresh, empty PostgreSQL schema."""
    return pg_url_factory()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest) -> str | None:
    """``None`` (the store folder's own SQLite file) or a fresh PostgreSQL schema URL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(autouse=True)
def _close_every_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Store]]:
    """Close every Store a test opened, however it was opened (ResourceWarnings are errors)."""
    opened: list[Store] = []
    original = Store.__init__

    def tracking_init(self: Store, *args: Any, **kwargs: Any) -> None:
        opened.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "__init__", tracking_init)
    yield opened
    for store in reversed(opened):
        if hasattr(store, "_closed"):  # __init__ may have failed half-way
            store.close()


class StoreFactory:
    """Creates and opens stores for a test; every one is closed at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self._stores: list[Store] = []
        self._count = 0

    def _folder(self) -> Path:
        self._count += 1
        return self._tmp_path / f"store{self._count}"

    def init(self, location: str | os.PathLike[str] | None = None, **options: Any) -> Store:
        """``eakte.init`` in a new folder (or ``location``)."""
        store = eakte.init(location if location is not None else self._folder(), **options)
        self._stores.append(store)
        return store

    def open(self, location: str | os.PathLike[str], **options: Any) -> Store:
        """``eakte.open`` another instance on an existing location."""
        store = eakte.open(location, **options)
        self._stores.append(store)
        return store

    def close_all(self) -> None:
        for store in reversed(self._stores):
            store.close()


@pytest.fixture
def store_factory(tmp_path: Path) -> Iterator[StoreFactory]:
    """Open more stores, or more instances of one store; all are closed after the test."""
    factory = StoreFactory(tmp_path)
    yield factory
    factory.close_all()


@pytest.fixture
def store(db_url: str | None, store_factory: StoreFactory, tmp_path: Path) -> Store:
    """A new store in ``tmp_path/"store"`` on SQLite and on PostgreSQL."""
    return store_factory.init(tmp_path / "store", db_url=db_url)


@pytest.fixture
def mem_store(store_factory: StoreFactory, tmp_path: Path) -> Store:
    """A new SQLite store whose blobs live in memory (fast, nothing on disk but the DB)."""
    return store_factory.init(tmp_path / "mem-store", blobs=eakte.MemoryBlobStore())


#: The small Aktenplan every ``make_akte`` store gets: (Kennzeichen, title, parent).
SMALL_PLAN: tuple[tuple[str, str, str | None], ...] = (
    ("6", "Bauwesen", None),
    ("63", "Bauaufsicht", "6"),
    ("630", "Baugenehmigungen", "63"),
    ("630.10", "Wohngebäude", "630"),
    ("630.20", "Gewerbebauten", "630"),
)


def build_plan(store: Store) -> None:
    """Create SMALL_PLAN in ``store`` (units that exist already are left alone)."""
    with store.session() as s:
        have = {u.kennzeichen for u in s.plan_units()}
        for kennzeichen, title, parent in SMALL_PLAN:
            if kennzeichen not in have:
                s.add_plan_unit(kennzeichen, title, parent=parent, retention_years=30,
                                disposal="A")


MakeAkte = Callable[..., eakte.Akte]


@pytest.fixture
def make_akte() -> MakeAkte:
    """Return ``make_akte(store, title=…, kennzeichen="630.10", **create_akte_options)``.

    Builds the small Aktenplan on first use and commits a new Akte under ``kennzeichen``.
    """

    def make(
        store: Store, title: str = "Neubau Lindenstraße 4", kennzeichen: str = "630.10",
        **options: Any,
    ) -> eakte.Akte:
        build_plan(store)
        with store.session() as s:
            return s.create_akte(kennzeichen, title, **options)

    return make
