"""The README's backup and restore procedure, run while another process keeps filing.

The SQLite test runs the README's commands as they stand; the PostgreSQL test runs the
same steps with pg_dump/pg_restore into a fresh database (the README's second block names
a server of its own). Both end with ``eakte verify`` on the restored copy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import eakte

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
_BIN = str(Path(sys.executable).parent)
_ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("EAKTE_")},
        "PATH": _BIN + os.pathsep + os.environ.get("PATH", "")}

_WRITER = """
import pathlib, sys, eakte
folder, db_url, stop, count = sys.argv[1], sys.argv[2] or None, *map(pathlib.Path, sys.argv[3:])
with eakte.open(folder, db_url=db_url, create=False) as store:
    n = 0
    while not stop.exists():
        with store.session() as s:
            s.file_document(s.get_akte(1), f"Nachtrag {n}".encode() * 50, filename=f"n{n}.txt")
        n += 1
        count.write_text(str(n))
"""


def _readme_block(marker: str) -> str:
    [block] = [b for b in re.findall(r"```(?:sh|text)\n(.*?)```", README, flags=re.S)
               if marker in b]
    return block


def _fill(folder: Path, db_url: str | None) -> int:
    with eakte.init(folder, db_url=db_url) as store, store.session() as s:
        s.add_plan_unit("630", "Bauordnung")
        akte = s.create_akte("630", "Neubau Lindenstraße 4")
        for n in range(10):
            doc = s.file_document(akte, f"Bauantrag {n}".encode(), filename=f"a{n}.txt")
            s.add_version(doc, f"Bauantrag {n}, korrigiert".encode())
        return 10


class _Writer:
    """Another process filing documents until stopped."""

    def __init__(self, tmp_path: Path, folder: Path, db_url: str | None) -> None:
        self.stop, self.count = tmp_path / "stop", tmp_path / "count"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(folder), db_url or "", str(self.stop),
             str(self.count)], env=_ENV)

    def filed(self) -> int:
        try:
            return int(self.count.read_text() or 0)
        except (OSError, ValueError):
            return 0

    def wait_for(self, at_least: int) -> None:
        deadline = time.monotonic() + 60
        while self.filed() < at_least:
            assert self.proc.poll() is None, "the writer died"
            assert time.monotonic() < deadline, "the writer files nothing"
            time.sleep(0.05)

    def finish(self) -> int:
        self.stop.write_text("stop")
        assert self.proc.wait(timeout=60) == 0
        return self.filed()


def _documents(folder: Path, db_url: str | None) -> int:
    with eakte.open(folder, db_url=db_url, create=False) as store, store.session() as s:
        return len(s.documents(s.get_akte(1)))


@pytest.mark.slow
def test_sqlite_backup_and_restore_from_the_readme(tmp_path: Path) -> None:
    if shutil.which("rsync") is None or shutil.which("bash") is None:
        pytest.skip("the README's procedure uses bash and rsync, which are not installed")
    script = _readme_block("sqlite3.connect(sys.argv[1]).backup")
    filed = _fill(tmp_path / "eakte-store", None)
    writer = _Writer(tmp_path, tmp_path / "eakte-store", None)
    try:
        writer.wait_for(3)
        before = writer.filed()
        result = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=_ENV,
                                capture_output=True, text=True, timeout=300, check=False)
        writer.wait_for(before + 3)  # it kept filing during the backup
    finally:
        total = writer.finish()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: the audit chain and the content are intact" in result.stdout
    restored = _documents(tmp_path / "restored", None)
    assert filed + before <= restored <= filed + total
    with eakte.open(tmp_path / "restored", create=False) as store:
        report = store.verify()
        assert report.ok, report.errors
        assert {p.kind for p in report.problems} <= {"blob.orphan"}
        with store.session() as s:
            assert s.search("Bauantrag", limit=100).total == filed


@pytest.mark.slow
@pytest.mark.postgres
def test_postgresql_backup_and_restore_with_pg_dump(tmp_path: Path, pg_url: str,
                                                    pg_admin_url: str) -> None:
    import psycopg

    if not all(shutil.which(tool) for tool in ("pg_dump", "pg_restore", "rsync")):
        pytest.skip("pg_dump, pg_restore or rsync is not installed")
    assert "pg_dump --format=custom" in _readme_block("pg_restore --no-owner")
    schema = make_url(pg_url).query["options"].split("=", 1)[1]
    libpq = make_url(pg_admin_url)
    restored_db = f"r_{uuid.uuid4().hex}"
    filed = _fill(tmp_path / "eakte-store", pg_url)
    writer = _Writer(tmp_path, tmp_path / "eakte-store", pg_url)
    (tmp_path / "backup").mkdir()
    try:
        writer.wait_for(3)
        before = writer.filed()
        subprocess.run(["pg_dump", "--format=custom", f"--schema={schema}",
                        "--file=backup/eakte.dump", pg_admin_url],
                       cwd=tmp_path, env=_ENV, check=True, timeout=120)
        shutil.copy(tmp_path / "eakte-store" / "eakte-store.json", tmp_path / "backup")
        subprocess.run(["rsync", "-a", "--exclude", "/tmp/", "eakte-store/blobs/",
                        "backup/blobs/"], cwd=tmp_path, env=_ENV, check=True, timeout=120)
        writer.wait_for(before + 3)
    finally:
        writer.finish()
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{restored_db}"')
    try:
        target = libpq.set(database=restored_db).render_as_string(hide_password=False)
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={target}",
                        "backup/eakte.dump"], cwd=tmp_path, env=_ENV, check=True, timeout=120)
        shutil.copytree(tmp_path / "backup", tmp_path / "restored")
        url = make_url(pg_url).set(database=restored_db).render_as_string(hide_password=False)
        for command in (["reindex", "--full"], ["verify"]):
            result = subprocess.run(
                ["eakte", "--store", "restored", "--db", url, *command], cwd=tmp_path,
                env=_ENV, capture_output=True, text=True, timeout=300, check=False)
            assert result.returncode == 0, result.stdout + result.stderr
        assert "OK: the audit chain and the content are intact" in result.stdout
        assert _documents(tmp_path / "restored", url) >= filed + before
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{restored_db}" WITH (FORCE)')
