"""Work left in the search outbox is reported by verify and picked up by the next run."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import eakte
from eakte.cli import cli

FILES = 12


def _file_without_indexing(folder: Path) -> list[int]:
    """Commit documents but do not index them: the state an interrupted add leaves."""
    with eakte.open(folder, create=False, auto_index=False) as store, store.session() as s:
        akte = s.list_akten()[0]
        return [s.file_document(akte, f"Widerspruch Nummer {n}".encode(),
                                filename=f"w{n}.txt").id for n in range(FILES)]


def _pending(report: eakte.VerifyReport) -> list[eakte.Problem]:
    return [p for p in report.problems if p.kind == "index.pending"]


def test_verify_reports_pending_work_and_the_next_write_indexes_it(
        store_factory, tmp_path: Path, make_akte) -> None:
    folder = tmp_path / "store"
    make_akte(store_factory.init(folder))
    ids = _file_without_indexing(folder)

    store = store_factory.open(folder)
    report = store.verify(blobs=False)
    assert report.ok  # derived data: a notice, not damage
    [pending] = _pending(report)
    assert pending.severity == "notice"
    assert pending.data == {"documents": FILES, "outbox": FILES}
    assert f"{FILES} document(s) await indexing" in pending.message
    assert "eakte reindex" in pending.message

    with store.session() as s:  # any later write that indexes drains the whole outbox
        s.file_document(s.list_akten()[0], b"Nachtrag", filename="n.txt")
    assert store.indexer is not None and store.indexer.pending() == 0
    with store.session() as s:
        assert {h.document_id for h in s.search("Widerspruch", limit=50).hits} == set(ids)
    assert not [p for p in store.verify(blobs=False).problems if p.kind.startswith("index.")]


def test_cli_verify_names_the_count_and_the_command(tmp_path: Path) -> None:
    runner = CliRunner(env={"EAKTE_STORE": str(tmp_path / "s"), "EAKTE_USER": None,
                            "COLUMNS": "200"})
    for args in (["init"], ["plan", "add", "630", "Bauordnung"],
                 ["akte", "create", "630", "Neubau"]):
        assert runner.invoke(cli, args).exit_code == 0
    _file_without_indexing(tmp_path / "s")

    result = runner.invoke(cli, ["verify", "--no-blobs"])
    assert result.exit_code == 0, result.output
    assert f"{FILES} document(s) await indexing" in result.stdout
    assert "run 'eakte reindex'" in result.stdout
    data = json.loads(runner.invoke(cli, ["verify", "--no-blobs", "--json"]).stdout)
    assert [p["kind"] for p in data["problems"]] == ["index.pending"]

    assert runner.invoke(cli, ["reindex"]).exit_code == 0
    data = json.loads(runner.invoke(cli, ["verify", "--no-blobs", "--json"]).stdout)
    assert data["problems"] == []


def test_a_write_that_files_nothing_picks_up_waiting_work(
        store_factory, tmp_path: Path, make_akte) -> None:
    folder = tmp_path / "store"
    make_akte(store_factory.init(folder))
    ids = _file_without_indexing(folder)
    store = store_factory.open(folder)
    assert store.indexer is not None and store.indexer.pending() == FILES
    with store.session() as s:  # a plain read commits nothing and leaves the work waiting
        s.list_akten()
    assert store.indexer.pending() == FILES
    with store.session() as s:  # any write does: here a new Akte, no document
        s.create_akte("630.10", "Nachbarakte")
    assert store.indexer.pending() == 0
    with store.session() as s:
        assert {h.document_id for h in s.search("Widerspruch", limit=50).hits} == set(ids)
