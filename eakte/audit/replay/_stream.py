"""Ordered row streams straight from the database driver, and merge-joins over them.

Every pass of the replay reads its rows in key order with a raw driver cursor (a named,
server-side cursor on PostgreSQL, so several can be open at once on one connection) and
fetches them in batches: memory holds one batch per stream, whatever the store's size.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from json.scanner import make_scanner
from typing import Any, cast

from sqlalchemy import Connection

__all__ = ["as_dict", "as_list", "events_by_object", "events_in_order", "grouped", "json_value",
           "merge", "rows"]

_BATCH = 5_000
#: json's C scanner: ``_SCAN(text, 0) -> (value, end)``, json.loads minus the checks
#: for white space around the value.
_SCAN: Callable[[str, int], tuple[Any, int]] = make_scanner(cast(Any, json.JSONDecoder()))
_names = itertools.count(1)


def rows(conn: Connection, sql: str, *, batch: int = _BATCH) -> Iterator[tuple[Any, ...]]:
    """Yield the rows of ``sql`` (constant text built by this package) in batches.

    ``{int_key}`` in ``sql`` is replaced by an expression that turns ``object_id`` into an
    integer, or NULL (PostgreSQL) / 0 (SQLite) where it holds no number; ``{json}`` by the
    ``details`` column as text, ``{details}`` by it in the form to extract values from.
    """
    dbapi_conn: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        sql = sql.format(
            int_key="CASE WHEN object_id ~ '^[0-9]{1,18}$' THEN CAST(object_id AS BIGINT) END",
            # not jsonb, which is faster to extract from but refuses some texts json keeps
            json="details::text", details="details")
        cursor = dbapi_conn.cursor(name=f"eakte_replay_{next(_names)}")
    else:
        sql = sql.format(int_key="CAST(object_id AS INTEGER)", json="details",
                         details="details")
        cursor = dbapi_conn.cursor()
    try:
        cursor.execute(sql)
        while part := cursor.fetchmany(batch):
            yield from part
    finally:
        cursor.close()


def as_dict(text: Any) -> dict[str, Any]:
    """Decode the ``details`` column; anything that is no JSON object gives ``{}``."""
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text) if isinstance(text, str | bytes) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def as_list(text: Any) -> list[Any]:
    """Decode a JSON array given as text; anything else gives ``[]``."""
    try:
        value, end = _SCAN(text, 0) if type(text) is str else (None, 0)
    except (StopIteration, ValueError):
        return []
    return value if type(value) is list and end == len(text) else []


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def events_in_order(conn: Connection, actions: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    """Yield ``(seq, action, object_type, object_id, details)`` of ``actions`` by sequence."""
    sql = ("SELECT seq, action, object_type, object_id, {json} FROM audit_events "  # noqa: S608
           f"WHERE action IN ({_quoted(actions)}) ORDER BY seq")
    return rows(conn, sql)


def events_by_object(conn: Connection, object_type: str, actions: tuple[str, ...], *,
                     columns: str = "{json}") -> Iterator[tuple[Any, ...]]:
    """Yield ``(object id, seq, action, *columns)`` of one object type, by object and seq.

    ``columns`` are SQL over the event's ``details`` (default: the details as JSON text).
    The database sorts (spilling to disk when large), so Python holds one batch.
    """
    sql = (f"SELECT k, seq, action, {columns} FROM (SELECT {{int_key}} AS k, seq, "  # noqa: S608
           "action, {details} AS details FROM audit_events "
           f"WHERE object_type = {_quoted((object_type,))} AND action IN ({_quoted(actions)})"
           ") e WHERE k IS NOT NULL AND k > 0 ORDER BY k, seq")
    return rows(conn, sql)


def json_value(dialect: str, key: str, *, number: bool = False) -> str:
    """Return SQL for the top-level ``details`` value ``key`` (a constant of this package).

    The database extracts it, so Python decodes no JSON for the hot event kinds. Numbers
    come back as integers (NULL when the value is no integer), everything else as text.
    """
    if dialect == "postgresql":
        text = f"(details->>'{key}')"
        if number:
            # braces doubled: the statement goes through str.format in rows()
            return f"CASE WHEN {text} ~ '^-?[0-9]{{{{1,18}}}}$' THEN CAST({text} AS BIGINT) END"
        return text
    if number:
        value = f"json_extract(details, '$.{key}')"
        return f"CASE WHEN json_type(details, '$.{key}') = 'integer' THEN {value} END"
    return f"json_extract(details, '$.{key}')"


def grouped(stream: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """Group an ordered stream by its first column: ``(key, rows)``."""
    it = iter(stream)
    row = next(it, None)
    while row is not None:
        key, items = row[0], [row]
        for row in it:  # the row that ends a group starts the next
            if row[0] != key:
                break
            items.append(row)
        else:
            row = None
        yield key, items


def merge(*streams: Iterator[tuple[int, list[tuple[Any, ...]]]]
          ) -> Iterator[tuple[int, list[list[tuple[Any, ...]]]]]:
    """Merge-join grouped streams ordered by the same integer key.

    Yields each key once with the rows every stream has for it (empty where it has none).
    """
    heads: list[tuple[int, list[tuple[Any, ...]]] | None] = [next(s, None) for s in streams]
    while True:
        keys = [h[0] for h in heads if h is not None]
        if not keys:
            return
        key = min(keys)
        out: list[list[tuple[Any, ...]]] = []
        for i, head in enumerate(heads):
            if head is not None and head[0] == key:
                out.append(head[1])
                heads[i] = next(streams[i], None)
            else:
                out.append([])
        yield key, out
