"""Bring a database to this eakte's schema with alembic, refusing schemas from the future."""

from __future__ import annotations

import uuid
from functools import lru_cache
from importlib.resources import files
from typing import TYPE_CHECKING, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from eakte.aktenzeichen import AktenzeichenPattern
from eakte.audit.events import Action
from eakte.audit.log import PendingEvent, append_events
from eakte.audit.replay.baseline import REPLAYABLE
from eakte.errors import SchemaVersionError, StorageError
from eakte.model import Principal, Setting

if TYPE_CHECKING:
    from eakte.context import StoreContext

__all__ = ["bootstrap", "head_revision", "new_store_id", "prepare"]

State = Literal["created", "current", "upgraded", "missing"]


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("eakte") / "migrations"))
    return cfg


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """Return the newest schema revision this eakte knows."""
    head = _script().get_current_head()
    assert head is not None
    return head


def new_store_id() -> str:
    """Return a fresh store identifier."""
    return str(uuid.uuid4())


def _upgrade(engine: Engine) -> None:
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def prepare(engine: Engine, *, create: bool, upgrade: bool = True,
            reader: Engine | None = None) -> State:
    """Check the schema revision of ``engine``'s database and create or upgrade it.

    The check reads through ``reader`` when given (SQLite: without the write lock, so
    opening a current store never waits for another process's writer); only creating and
    upgrading write through ``engine``.

    Returns:
        ``"created"`` for a new schema, ``"current"`` when already up to date,
        ``"upgraded"`` after a migration, ``"missing"`` when empty and ``create`` is False.

    Raises:
        SchemaVersionError: the schema is newer than this eakte, unknown, or older while
            ``upgrade`` is False.
        StorageError: the database cannot be reached.
    """
    try:
        with (reader or engine).connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            tables = set(inspect(conn).get_table_names())
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot reach the database: {exc}") from exc
    head = head_revision()
    if current is None:
        if "audit_events" in tables:
            raise SchemaVersionError("the database has eakte tables but no schema revision")
        if not create:
            return "missing"
        _run(engine)
        return "created"
    if current == head:
        return "current"
    known = {rev.revision for rev in _script().walk_revisions()}
    if current not in known:
        raise SchemaVersionError(
            f"the store's schema revision {current!r} is newer than this eakte knows "
            f"(newest: {head!r}); upgrade eakte to open it"
        )
    if not upgrade:
        raise SchemaVersionError(
            f"the store's schema revision {current!r} is older than {head!r}; "
            "open it with upgrade=True to migrate it"
        )
    _run(engine)
    return "upgraded"


def _run(engine: Engine) -> None:
    try:
        _upgrade(engine)
    except SQLAlchemyError as exc:
        raise StorageError(f"schema migration failed: {exc}") from exc


def bootstrap(store: StoreContext, *, admin: str, pattern: str, store_id: str,
               search: str = "none") -> None:
    """Fill a freshly migrated database: settings, administrator, first audit events.

    Raises:
        InvalidInput: ``pattern`` is not a valid Aktenzeichen pattern.
    """
    AktenzeichenPattern(pattern)
    now = store.clock()
    with store.orm_session() as orm, orm.begin():
        principal = Principal(name=admin, kind="user", is_admin=True, created_at=now,
                              clearance="vs-nfd", display_name="Local administrator")
        orm.add_all(
            [
                Setting(key="store_id", value=store_id),
                Setting(key="aktenzeichen_pattern", value=pattern),
                Setting(key="created_at", value=now.isoformat()),
                Setting(key="search_backend", value=search),
                principal,
            ]
        )
        orm.flush()
        append_events(
            orm,
            admin,
            [
                PendingEvent(Action.STORE_INIT, "store", store_id,
                             {"aktenzeichen_pattern": pattern, "admin": admin,
                              REPLAYABLE: True}),
                PendingEvent(Action.PRINCIPAL_CREATE, "principal", admin,
                             {"kind": "user", "is_admin": True, "clearance": "vs-nfd",
                              "id": principal.id}),
            ],
            now,
        )
