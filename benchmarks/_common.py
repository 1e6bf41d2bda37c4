"""Shared helpers for the benchmark scripts (not a benchmark itself).

Every benchmark creates its own temporary store and removes it again. PostgreSQL runs use a
fresh schema ``t_bench_<hex>`` in ``postgresql://postgres@127.0.0.1:5432/test`` (override with
the environment variable ``EAKTE_BENCH_PG``), dropped at the end; when the server cannot be
reached the PostgreSQL part is skipped with a printed note.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import eakte

#: libpq URL of the PostgreSQL database benchmarks create their schemas in.
PG_URL = os.environ.get("EAKTE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")

#: Search backend for temporary stores (``--search``); None means eakte's default.
DEFAULT_SEARCH: str | None = None

ROOT = Path(__file__).resolve().parent.parent
#: The project's ``eakte`` console script (next to the interpreter running the benchmark).
EAKTE_CLI = Path(sys.executable).parent / "eakte"


def parse_args(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
               ) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and one repetition: a smoke test of a few seconds")
    parser.add_argument("--repeat", type=int, default=None,
                        help="repetitions per measurement (median is reported)")
    parser.add_argument("--backend", choices=("all", "sqlite", "postgresql"), default="all",
                        help="which database(s) to measure")
    parser.add_argument("--search", default=None,
                        help="search backend of the temporary stores (default: eakte's default)")
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    global DEFAULT_SEARCH
    DEFAULT_SEARCH = args.search
    return args


def backends(choice: str) -> list[str]:
    return ["sqlite", "postgresql"] if choice == "all" else [choice]


_pg_checked: tuple[bool, str] | None = None


def pg_available() -> tuple[bool, str]:
    """Return (reachable, reason) for the benchmark PostgreSQL server (cached)."""
    global _pg_checked
    if _pg_checked is None:
        try:
            import psycopg

            with psycopg.connect(PG_URL, connect_timeout=3) as conn:
                conn.execute("select 1")
            _pg_checked = (True, "")
        except Exception as exc:  # any failure means "skip PostgreSQL"
            _pg_checked = (False, f"{type(exc).__name__}: {exc}".strip())
    return _pg_checked


def sqlalchemy_pg_url(schema: str) -> str:
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def temp_store(backend: str, *, blobs_fsync: bool = True, search: str | None = None
               ) -> Iterator[eakte.Store]:
    """Yield a fresh store (folder in a temp dir; SQLite or a fresh PostgreSQL schema).

    The folder, and the PostgreSQL schema, are removed afterwards.
    """
    folder = Path(tempfile.mkdtemp(prefix="eakte-bench-"))
    schema = None
    try:
        db_url = None
        if backend == "postgresql":
            import psycopg

            schema = f"t_bench_{secrets.token_hex(6)}"
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            db_url = sqlalchemy_pg_url(schema)
        blobs = None if blobs_fsync else eakte.LocalBlobStore(folder / "store" / "blobs",
                                                              fsync=False)
        search = search or DEFAULT_SEARCH
        extra: dict[str, Any] = {} if search is None else {"search": search}
        if search == "memory":  # not recordable in a store folder: pass an instance
            from eakte.search.memory import MemorySearchBackend

            extra["search"] = MemorySearchBackend()
        store = eakte.init(folder / "store", db_url=db_url, blobs=blobs, **extra)
        try:
            yield store
        finally:
            store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if schema is not None:
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def german_files(count: int, size: int = 2048) -> list[tuple[str, bytes]]:
    """Return ``count`` distinct German-ish text files of about ``size`` bytes."""
    try:
        from eakte.demo.corpus import sample_files
    except ImportError:
        sample_files = None
    if sample_files is not None:
        return list(sample_files(count, size=size))
    words = ("Bauantrag Lindenstraße Gemeinde Stellungnahme Nachbarbeteiligung Bebauungsplan "
             "Genehmigung Widerspruch Bescheid Aktenvermerk Sachbearbeiterin Frist Ordnungsamt "
             "Grundstück Flurstück Gemarkung Anhörung Zuständigkeit Verwaltungsakt").split()
    rng = __import__("random").Random(7)
    out = []
    for i in range(1, count + 1):
        text = f"Vermerk Nr. {i:06d}\n\n"
        while len(text.encode()) < size:
            text += " ".join(rng.choices(words, k=12)) + ".\n"
        out.append((f"vermerk-{i:06d}.txt", text.encode()[:size]))
    return out


def write_files(folder: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files:
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def median(values: list[float]) -> float:
    return statistics.median(values)


def fmt_runs(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    runs = ", ".join(f"{v * scale:.3g}" for v in values)
    return f"median {median(values) * scale:.4g} {unit} (runs: {runs})"


def header(title: str, quick: bool) -> None:
    print(f"== {title}{' (quick)' if quick else ''} ==")
    version = getattr(eakte, "__version__", "?")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"python {sys.version.split()[0]}, eakte {version}, {os.cpu_count()} CPUs, "
          f"load average {load} (other work on the machine skews the figures)")


class SqlCounter:
    """Counts SQL statements and transactions on every engine while it is active.

    Listens to SQLAlchemy's engine events on the ``Engine`` class, so both engines of a
    SQLite store (the writer's and the readers') are seen. ``BEGIN`` sent as a statement
    (SQLite readers) counts as a transaction, not a statement.

    Attributes:
        statements: statements executed (SELECT, INSERT, UPDATE, ...).
        begins: transactions started.
        commits: transactions committed.
        rollbacks: transactions rolled back (also a read transaction ended by closing).
    """

    def __init__(self) -> None:
        self.statements = 0
        self.begins = 0
        self.commits = 0
        self.rollbacks = 0
        self.sql: list[str] = []

    def _on_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.strip().upper() != "BEGIN":
            self.statements += 1
            self.sql.append(" ".join(statement.split())[:100])

    def _on_begin(self, conn: Any) -> None:
        self.begins += 1
        self.sql.append("-- begin")

    def _on_commit(self, conn: Any) -> None:
        self.commits += 1
        self.sql.append("-- commit")

    def _on_rollback(self, conn: Any) -> None:
        self.rollbacks += 1
        self.sql.append("-- rollback")

    def _listeners(self) -> list[tuple[str, Callable[..., None]]]:
        return [("before_cursor_execute", self._on_execute), ("begin", self._on_begin),
                ("commit", self._on_commit), ("rollback", self._on_rollback)]

    def __enter__(self) -> SqlCounter:
        from sqlalchemy import Engine, event

        for name, fn in self._listeners():
            event.listen(Engine, name, fn)
        return self

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import Engine, event

        for name, fn in self._listeners():
            event.remove(Engine, name, fn)

    def summary(self, per: int = 1) -> str:
        """Return e.g. ``12.0 statements, 3.0 transactions (3.0 commits)`` per ``per``."""
        return (f"{self.statements / per:.1f} statements, {self.begins / per:.1f} transactions "
                f"({self.commits / per:.1f} commits, {self.rollbacks / per:.1f} rollbacks)")
