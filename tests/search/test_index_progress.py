"""Indexing after a commit reports its progress to the session's ``index_progress``."""

from __future__ import annotations

from pathlib import Path

import eakte


def test_index_progress_is_called_while_the_commit_is_indexed(tmp_path: Path) -> None:
    calls: list[tuple[int, int | None]] = []
    with eakte.open(tmp_path / "store") as store:
        with store.session() as s:
            s.add_plan_unit("630", "Bauordnung")
            akte = s.create_akte("630", "Neubau Lindenstraße 4")
        store.indexer.batch = 2  # several batches, so progress comes in steps
        with store.session() as s:
            s.index_progress = lambda done, total: calls.append((done, total))
            for i in range(5):
                s.file_document(akte, f"Vermerk {i} Baugenehmigung".encode(),
                                filename=f"v{i}.txt")
            assert calls == []  # nothing is indexed before the commit
        assert calls == [(2, 5), (4, 5), (5, 5)]
        with store.session() as s:
            assert len(s.search("Baugenehmigung").hits) == 5
