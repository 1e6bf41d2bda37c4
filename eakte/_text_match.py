"""Case-insensitive substring matching in SQL that behaves alike on SQLite and PostgreSQL.

SQLite's own ``lower()`` folds only ASCII letters, so ``MÜLLER`` would not find ``Müller``;
each SQLite connection therefore gets :data:`SQLITE_LOWER`, Python's ``str.lower``, which
folds like PostgreSQL's ``lower()`` in a UTF-8 database. The search text is lowered the same
way and its ``%``, ``_`` and escape characters are escaped, so it matches literally.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["SQLITE_LOWER", "contains_text", "register_sqlite_functions"]

#: Name of the Unicode ``lower`` registered on every SQLite connection.
SQLITE_LOWER = "eakte_lower"


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """Register the SQL functions eakte's queries use on a new sqlite3 connection."""
    dbapi_conn.create_function(SQLITE_LOWER, 1, _lower, deterministic=True)


class UnicodeLower(FunctionElement[str]):
    """``lower(x)`` folding every Unicode letter, on SQLite as on PostgreSQL."""

    type = String()
    inherit_cache = True
    name = "unicode_lower"


@compiles(UnicodeLower)
def _compile_lower(element: UnicodeLower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(UnicodeLower, "sqlite")
def _compile_lower_sqlite(element: UnicodeLower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


def contains_text(column: ColumnElement[str] | QueryableAttribute[str],
                  text: str) -> ColumnElement[bool]:
    """Return ``column`` contains ``text``, ignoring case, with LIKE wildcards escaped."""
    return UnicodeLower(column).contains(text.lower(), autoescape=True)
