"""A PostgreSQL session advisory lock as a context manager (one writer per index table)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from eakte.errors import SearchError

__all__ = ["advisory_lock"]


@contextmanager
def advisory_lock(engine: Engine, name: str) -> Iterator[None]:
    """Hold ``pg_advisory_lock`` on ``name`` within the current schema, on a connection of its own.

    Every process and host using the same database and schema waits its turn; other
    connections of the holder work as usual inside the block.

    Raises:
        SearchError: the database failed.
    """
    try:
        conn = engine.connect()
    except SQLAlchemyError as exc:
        raise SearchError(f"cannot lock the search index {name!r}: {exc}") from exc
    try:
        try:
            key = conn.execute(text("SELECT hashtext(:n || ':' || current_schema())"),
                               {"n": name}).scalar_one()
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
        except SQLAlchemyError as exc:
            raise SearchError(f"cannot lock the search index {name!r}: {exc}") from exc
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
            except SQLAlchemyError:  # the lock ends with the connection anyway
                conn.invalidate()
    finally:
        conn.close()
