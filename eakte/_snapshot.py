"""Move an ORM session from a read snapshot to the writer (SQLite's read/write engines).

A unit of work on SQLite reads through the read engine (a WAL snapshot, no write lock)
until it first needs to write; :func:`to_writer` then switches its session over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, select

from eakte.model import READ_ONLY

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session as OrmSession

__all__ = ["to_writer"]

_CHUNK = 500


def to_writer(orm: OrmSession, engine: Engine) -> None:
    """End ``orm``'s read snapshot, begin a transaction on ``engine``, reload its objects.

    The transaction begins at once (on SQLite ``BEGIN IMMEDIATE`` through the write gate),
    so a wait for another writer happens here. Every object the session holds is loaded
    again under it (one statement per class), so what the caller reads next is current;
    objects stay loaded, also for use after the session ends.

    Raises:
        RuntimeError: the session has unflushed changes (it wrote before the switch).
        StoreBusy: another writer held the SQLite database beyond the wait.
        SQLAlchemyError: the database failed.
    """
    if orm.new or orm.dirty or orm.deleted:
        raise RuntimeError("a unit of work changed objects before begin_write(); the "
                           "operation must call it before it reads what it changes")
    held = list(orm.identity_map.values())
    orm.commit()  # ends the read snapshot; nothing was written in it
    orm.bind = engine
    orm.info.pop(READ_ONLY, None)
    orm.connection()
    _reload(orm, held)


def _reload(orm: OrmSession, held: list[Any]) -> None:
    by_class: dict[type[Any], list[Any]] = {}
    for obj in held:
        by_class.setdefault(type(obj), []).append(obj)
    for cls, objs in by_class.items():
        keys = inspect(cls).primary_key
        if len(keys) != 1:
            for obj in objs:
                orm.refresh(obj)
            continue
        ids = [inspect(obj).identity[0] for obj in objs]
        for start in range(0, len(ids), _CHUNK):
            orm.execute(select(cls).where(keys[0].in_(ids[start:start + _CHUNK]))
                        .execution_options(populate_existing=True)).all()
