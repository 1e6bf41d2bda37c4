"""A process killed in the middle of writing leaves a store that verify accepts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import eakte

CHILD = textwrap.dedent(
    """
    import os, sys
    import eakte
    from eakte.session import Session

    folder, mode = sys.argv[1], sys.argv[2]
    store = eakte.open(folder, create=False)
    with store.session() as s:
        akte = s.get_akte(sys.argv[3])
    if mode == "loop":
        i = 0
        while True:
            i += 1
            with store.session() as s:
                doc = s.file_document(akte, (b"Vermerk %d " % i) * (1 + i % 50_000),
                                      filename=f"vermerk-{i}.txt")
            print(doc.id, flush=True)
    elif mode == "after-blob":
        # die after the blob is durable but before the database transaction commits
        original = Session.commit
        def crash(self):
            self.unit_of_work.orm.flush()
            os._exit(9)
        Session.commit = crash
        with store.session() as s:
            s.file_document(akte, b"never committed", filename="lost.txt")
    """
)


def _run_child(folder: Path, mode: str, az: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), mode, az],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _prepare(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "store"
    with eakte.init(folder) as store, store.session() as s:
        s.add_plan_unit("1", "Allgemeines")
        akte = s.create_akte("1", "Sammelakte")
    return folder, akte.aktenzeichen


def test_kill_during_ingest_loses_no_committed_document(tmp_path: Path) -> None:
    folder, az = _prepare(tmp_path)
    child = _run_child(folder, "loop", az)
    assert child.stdout is not None
    committed = [int(child.stdout.readline()) for _ in range(40)]
    child.send_signal(signal.SIGKILL)
    child.communicate()
    with eakte.open(folder, create=False) as store:
        report = store.verify()
        assert report.ok, report.problems
        with store.session() as s:
            for doc_id in committed:
                doc = s.get_document(doc_id)
                i = int(doc.title.split("-")[1].split(".")[0])
                assert s.read_content(doc) == (b"Vermerk %d " % i) * (1 + i % 50_000)
            # the store takes new work after the crash
            s.file_document(s.get_akte(az), b"nach dem Absturz", filename="neu.txt")
        assert store.verify().ok


def test_crash_between_blob_and_commit_leaves_only_an_orphan(tmp_path: Path) -> None:
    folder, az = _prepare(tmp_path)
    child = _run_child(folder, "after-blob", az)
    _, err = child.communicate()
    assert child.returncode == 9, err
    with eakte.open(folder, create=False) as store:
        report = store.verify()
        assert report.ok, report.problems
        assert [p.kind for p in report.notices] == ["blob.orphan"]
        with store.session() as s:
            assert s.documents(s.get_akte(az)) == []
    assert not any(p.name.startswith("put-") for p in (folder / "blobs" / "tmp").iterdir())
    assert os.path.exists(folder / "eakte.sqlite3")
