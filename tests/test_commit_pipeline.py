"""The commit pipeline: its order, its participants, and what one filing costs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

import eakte
from eakte._commit import CommitPipeline, PendingCommit, Stage
from eakte.audit.checkpoint import AutoCheckpointer, stored_checkpoints
from eakte.keys import generate_key_file
from eakte.masterkey import generate_master_key_file
from eakte.model import SearchOutbox


class _Counter:
    """Counts transactions and statements on every engine (both of a SQLite store)."""

    def __init__(self) -> None:
        self.begins = 0
        self.statements: list[str] = []

    def _begin(self, conn: Any) -> None:
        self.begins += 1

    def _execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.strip().upper() != "BEGIN":
            self.statements.append(statement)

    def __enter__(self) -> _Counter:
        event.listen(Engine, "begin", self._begin)
        event.listen(Engine, "before_cursor_execute", self._execute)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(Engine, "begin", self._begin)
        event.remove(Engine, "before_cursor_execute", self._execute)


@pytest.fixture
def whoosh_store(db_url: str | None, tmp_path: Path) -> Iterator[eakte.Store]:
    with eakte.init(tmp_path / "akten", db_url=db_url, search="whoosh") as store:
        yield store


def _outbox(store: eakte.Store) -> int:
    with store.read_connection() as conn:
        return len(conn.execute(SearchOutbox.__table__.select()).all())


def test_filing_one_document_takes_at_most_three_transactions(
        whoosh_store: eakte.Store) -> None:
    store = whoosh_store
    with store.session() as s:
        s.add_plan_unit("630.10", "Baugenehmigungen")
        akte = s.create_akte("630.10", "Bauantrag Lindenstraße 4")
    with _Counter() as counted, store.session() as s:
        doc = s.file_document(s.get_akte(akte.aktenzeichen),
                              b"Bescheid ueber die Baugenehmigung", filename="bescheid.txt")
    # principal lookup and rights (SQLite: a read), the write, the indexing after it
    assert counted.begins <= 3, counted.statements
    assert _outbox(store) == 0
    with store.session() as s:
        assert [h.document_id for h in s.search("Baugenehmigung").hits] == [doc.id]


def test_reads_need_no_write_transaction(whoosh_store: eakte.Store) -> None:
    store = whoosh_store
    with store.session() as s:
        s.add_plan_unit("630.10", "Baugenehmigungen")
        akte = s.create_akte("630.10", "Bauantrag Lindenstraße 4")
    with _Counter() as counted, store.session() as s:
        assert s.get_akte(akte.aktenzeichen).title == "Bauantrag Lindenstraße 4"
    assert counted.begins == 1
    assert not any(sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
                   for sql in counted.statements)


def test_a_write_before_begin_write_fails_loudly(tmp_path: Path) -> None:
    with eakte.open(tmp_path / "akten") as store, store.session() as s:
        s.add_plan_unit("630.10", "Baugenehmigungen")
    with eakte.open(tmp_path / "akten") as store:
        s = store.session()
        try:
            s.unit_of_work.orm.add(SearchOutbox(document_id=1, created_at=store.clock()))
            with pytest.raises(RuntimeError, match="begin_write"):
                s.unit_of_work.flush()
        finally:
            s.close()


def test_objects_read_before_the_write_stay_readable(tmp_path: Path) -> None:
    with eakte.open(tmp_path / "akten") as store:
        with store.session() as s:
            s.add_plan_unit("630.10", "Baugenehmigungen")
            first = s.create_akte("630.10", "Erste")
            second = s.create_akte("630.10", "Zweite")
        with store.session() as s:
            untouched = s.get_akte(first.aktenzeichen)
            target = s.get_akte(second.aktenzeichen)
            s.file_document(target, b"Inhalt", filename="a.txt")
        assert untouched.title == "Erste"
        assert target.title == "Zweite"


class _Recorder:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def before_commit(self, commit: PendingCommit) -> None:
        self.log.append(f"before {self.name}")

    def after_commit(self, commit: PendingCommit) -> None:
        self.log.append(f"after {self.name}")

    def after_rollback(self, orm: Any) -> None:
        self.log.append(f"rollback {self.name}")


def test_pipeline_runs_participants_in_stage_order() -> None:
    log: list[str] = []
    pipeline = CommitPipeline()
    pipeline.register(_Recorder("hooks", log), Stage.HOOKS)
    pipeline.register(_Recorder("audit", log), Stage.AUDIT)
    pipeline.register(_Recorder("keys", log), Stage.KEYS)
    pipeline.register(_Recorder("checks", log), Stage.CHECKS)

    class _Orm:
        def commit(self) -> None:
            log.append("commit")

    commit = PendingCommit(orm=_Orm(), actor="admin", now=None)  # type: ignore[arg-type]
    pipeline.commit(commit)
    pipeline.committed(commit)
    pipeline.rolled_back(None)  # type: ignore[arg-type]
    assert log == ["before checks", "before keys", "before audit", "before hooks", "commit",
                   "after checks", "after keys", "after audit", "after hooks",
                   "rollback checks", "rollback keys", "rollback audit", "rollback hooks"]
    with pytest.raises(ValueError):
        pipeline.register(pipeline.participants[0], Stage.INDEX)


def test_store_registers_the_checkpointer(tmp_path: Path) -> None:
    key = generate_key_file(tmp_path / "checkpoint.key")
    with eakte.open(tmp_path / "akten", checkpoint_key=key, checkpoint_every=2) as store:
        assert any(isinstance(p, AutoCheckpointer) for p in store.commit_pipeline.participants)
        with store.session() as s:
            s.add_plan_unit("630.10", "Baugenehmigungen")
            s.create_akte("630.10", "Eins")
        assert [c.size for c in stored_checkpoints(store)]


def test_an_encrypted_store_seals_keys_in_the_pipeline(tmp_path: Path) -> None:
    master = tmp_path / "master.key"
    generate_master_key_file(master)
    with eakte.init(tmp_path / "akten", encrypt=True, master_key=master) as store:
        assert store.blobs.keyring in store.commit_pipeline.participants  # type: ignore[attr-defined]
        with store.session() as s:
            s.add_plan_unit("630.10", "Baugenehmigungen")
            akte = s.create_akte("630.10", "Eins")
            doc = s.file_document(akte, b"geheimer Bescheid", filename="a.txt")
        with store.session() as s:
            assert s.read_content(s.get_document(doc.id)) == b"geheimer Bescheid"
