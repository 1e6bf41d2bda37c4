from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eakte.errors import SearchError
from eakte.search.analysis import ANALYZER_VERSION, GermanStemFilter, german_analyzer
from eakte.search.base import SearchQuery
from eakte.search.whoosh_backend import META_FILE, WhooshSearchBackend
from eakte.testing.search import (
    CORPUS,
    GermanAnalysisContract,
    SearchBackendContract,
    make_document,
)


class TestWhooshSearchBackend(SearchBackendContract, GermanAnalysisContract):
    @pytest.fixture
    def search_backend(self, tmp_path: Path):
        backend = WhooshSearchBackend(tmp_path / "index")
        yield backend
        backend.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def built(folder: Path):
    backend = WhooshSearchBackend(folder)
    backend.clear()
    backend.index(list(CORPUS))
    yield backend
    backend.close()


def ids(backend: WhooshSearchBackend, text: str) -> set[int]:
    return {hit.document_id for hit in backend.search(SearchQuery(text, limit=100)).hits}


def test_new_folder_asks_for_a_build(folder: Path) -> None:
    backend = WhooshSearchBackend(folder)
    try:
        assert backend.needs_rebuild() == "new index: it must be built"
        backend.clear()
        assert backend.needs_rebuild() is None
    finally:
        backend.close()
    reopened = WhooshSearchBackend(folder)
    try:
        assert reopened.needs_rebuild() is None
    finally:
        reopened.close()


def test_index_survives_close_and_reopen(built: WhooshSearchBackend, folder: Path) -> None:
    built.close()
    reopened = WhooshSearchBackend(folder)
    try:
        assert reopened.needs_rebuild() is None
        assert ids(reopened, "Sperrung") == {5, 6}
        assert len(list(reopened.entries())) == len(CORPUS)
    finally:
        reopened.close()


def test_second_instance_sees_commits(built: WhooshSearchBackend, folder: Path) -> None:
    other = WhooshSearchBackend(folder)
    try:
        assert ids(other, "Sperrung") == {5, 6}
        built.index([make_document(50, text="Sperrung der Autobahnauffahrt")])
        built.delete([5])
        assert ids(other, "Sperrung") == {6, 50}
        other.clear()
        assert ids(built, "Sperrung") == set()
        assert built.needs_rebuild() is None
    finally:
        other.close()


def test_other_analyzer_version_needs_rebuild(built: WhooshSearchBackend,
                                              folder: Path) -> None:
    meta_path = folder / META_FILE
    meta = json.loads(meta_path.read_text())
    meta["analyzer_version"] = "de-0"
    meta_path.write_text(json.dumps(meta))
    reason = built.needs_rebuild()
    assert reason is not None and "de-0" in reason
    built.clear()
    assert built.needs_rebuild() is None
    assert json.loads(meta_path.read_text())["analyzer_version"] != "de-0"


def test_missing_meta_file_needs_rebuild(built: WhooshSearchBackend, folder: Path) -> None:
    (folder / META_FILE).unlink()
    assert META_FILE in (built.needs_rebuild() or "")


def old_analyzer():
    """The German analyzer as an eakte with analyzer version de-0 would have pickled it."""
    analyzer = german_analyzer()
    for item in analyzer.items:
        if isinstance(item, GermanStemFilter):
            item.version = "de-0"
    return analyzer


def test_pickled_analyzer_version_is_checked(folder: Path) -> None:
    old = WhooshSearchBackend(folder, analyzer_factory=old_analyzer)
    old.clear()
    old.index(list(CORPUS))
    assert old.needs_rebuild() is None
    old.close()
    meta = json.loads((folder / META_FILE).read_text())
    assert meta["analyzer_version"] == "de-0"
    meta["analyzer_version"] = ANALYZER_VERSION  # the file claims the current version
    (folder / META_FILE).write_text(json.dumps(meta))
    backend = WhooshSearchBackend(folder)
    try:
        assert backend.needs_rebuild() == (
            f"index schema holds analyzer 'de-0', current is {ANALYZER_VERSION!r}")
        backend.clear()
        assert backend.needs_rebuild() is None
    finally:
        backend.close()


@pytest.mark.parametrize("damage", ["truncate_toc", "garbage_segments", "delete_segments"])
def test_corrupt_index_reports_reason_and_clear_recovers(
        built: WhooshSearchBackend, folder: Path, damage: str) -> None:
    built.close()
    if damage == "truncate_toc":
        for toc in folder.glob("_MAIN_*.toc"):
            toc.write_bytes(toc.read_bytes()[:20])
    elif damage == "garbage_segments":
        for seg in folder.glob("MAIN_*.seg"):
            seg.write_bytes(b"\x00garbage" * 10)
    else:
        for seg in folder.glob("MAIN_*.seg"):
            seg.unlink()
    backend = WhooshSearchBackend(folder)
    try:
        reason = backend.needs_rebuild()
        assert reason is not None and "unreadable" in reason
        with pytest.raises(SearchError, match="rebuilt"):
            backend.search(SearchQuery("Sperrung"))
        assert backend.stats()["documents"] == 0
        backend.clear()
        assert backend.needs_rebuild() is None
        backend.index(list(CORPUS))
        assert ids(backend, "Sperrung") == {5, 6}
    finally:
        backend.close()


def test_locked_writer_raises_search_error(built: WhooshSearchBackend, folder: Path) -> None:
    other = WhooshSearchBackend(folder, lock_timeout=0.2)
    writer = built._ix.writer()  # another writer holds the lock
    try:
        with pytest.raises(SearchError, match="locked by another writer"):
            other.index([make_document(99, text="Warteschlange")])
        with pytest.raises(SearchError, match="locked by another writer"):
            other.delete([1])
        with pytest.raises(SearchError, match="locked by another writer"):
            other.clear()
    finally:
        writer.cancel()
        other.close()
    built.index([make_document(99, text="Warteschlange")])
    assert ids(built, "Warteschlange") == {99}


def test_schema_unpickles_in_a_fresh_process(built: WhooshSearchBackend, folder: Path) -> None:
    code = (
        "import sys\n"
        "from whoosh.index import open_dir\n"
        "ix = open_dir(sys.argv[1])\n"
        "from eakte.search.analysis import analyzer_version\n"
        "print(analyzer_version(ix.schema['content'].analyzer), ix.doc_count())\n"
    )
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code, str(folder)],
                         capture_output=True, text=True, check=True)
    version, count = out.stdout.split()
    assert version == built.stats()["analyzer_version"]
    assert int(count) == len(CORPUS)


def test_stats_reports_size_and_segments(built: WhooshSearchBackend) -> None:
    stats = built.stats()
    assert stats["documents"] == len(CORPUS)
    assert isinstance(stats["size_bytes"], int) and stats["size_bytes"] > 0
    assert stats["backend"] == "whoosh"


def test_snippet_comes_from_the_stored_text(folder: Path) -> None:
    backend = WhooshSearchBackend(folder, stored_chars=100)
    try:
        backend.clear()
        backend.index([make_document(1, text="Einleitung. " * 5 + "Der Lageplan fehlt. "
                                     + "Nachsatz " * 50 + "Grundbuchauszug")])
        [hit] = backend.search(SearchQuery("Lageplan")).hits
        assert "«Lageplan»" in hit.snippet
        [hit] = backend.search(SearchQuery("Grundbuchauszug")).hits  # beyond stored_chars
        assert hit.snippet.startswith("Einleitung.")
    finally:
        backend.close()


def test_closed_backend_raises_search_error(built: WhooshSearchBackend) -> None:
    built.close()
    with pytest.raises(SearchError, match="closed"):
        built.search(SearchQuery("Sperrung"))
    with pytest.raises(SearchError, match="closed"):
        built.index([make_document(1)])


def test_import_eakte_does_not_import_whoosh() -> None:
    code = ("import sys, eakte, eakte.search.base, eakte.search.query; "
            "print('whoosh' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_tiered_merge_keeps_segments_few_and_bounded(folder: Path) -> None:
    backend = WhooshSearchBackend(folder, merge_factor=3, max_merge_docs=40)
    try:
        backend.clear()
        counts = []
        for batch in range(20):
            backend.index([make_document(batch * 5 + i, text=f"Stapel {batch}")
                           for i in range(1, 6)])
            counts.append(backend.stats()["segments"])
        assert max(counts) <= 6
        sizes = [seg.doc_count() for seg in backend._ix._segments()]
        assert sum(sizes) == 100
        assert max(sizes) <= 40 + 5  # a merge adds at most the batch being committed
        assert backend.search(SearchQuery("Stapel")).total == 100
        backend.optimize()
        assert backend.stats()["segments"] == 1
        assert backend.search(SearchQuery("Stapel")).total == 100
    finally:
        backend.close()


def test_concurrent_indexing_and_searching(folder: Path) -> None:
    import threading

    backend = WhooshSearchBackend(folder)
    backend.clear()
    errors: list[BaseException] = []

    def write(offset: int) -> None:
        try:
            for start in range(offset, offset + 60, 20):
                backend.index([make_document(i, text=f"Parallel Fall {i}")
                               for i in range(start, start + 20)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(20):
                result = backend.search(SearchQuery("Parallel", limit=5))
                assert result.total >= len(result.hits)
                list(backend.entries())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n * 1000,)) for n in range(2)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert backend.search(SearchQuery("Parallel")).total == 120
    finally:
        backend.close()


def test_agrees_with_the_memory_backend(folder: Path) -> None:
    """Same analysis, same syntax: Whoosh (several segments) finds what the reference finds."""
    import random

    from eakte.search.memory import MemorySearchBackend

    rng = random.Random(7)
    words = ["Antrag", "Genehmigung", "Bauantrag", "Widerspruch", "Bescheid", "Straße",
             "Mueller", "Müller", "Frist", "Gebühr", "Anträge", "Lageplan"]
    docs = [make_document(i, akte_id=i % 5, kind=("incoming", "outgoing")[i % 2],
                          title=" ".join(rng.sample(words, 2)),
                          text=" ".join(rng.choice(words) for _ in range(rng.randint(0, 8))))
            for i in range(1, 241)]
    docs[16] = make_document(17, text="Sonderfall Antrag Frist")  # a rare word
    whoosh = WhooshSearchBackend(folder, merge_factor=100)
    memory = MemorySearchBackend()
    try:
        for start in range(0, len(docs), 40):  # six segments
            whoosh.index(docs[start:start + 40])
            memory.index(docs[start:start + 40])
        whoosh.delete([5, 80, 200])
        memory.delete([5, 80, 200])
        queries = [*words, "Antrag Genehmigung", "Antrag -Genehmigung", "-Antrag -Frist",
                   '"Antrag Genehmigung"', '"Bescheid Frist" -Müller', "Bau*", "Gen* -Frist",
                   "title:Antrag", "title:Antrag -kind:incoming", "Frist kind:outgoing",
                   "Müller Straße -title:Gebühr", "Sonderfall Antrag", "Frist Sonderfall -Bau*"]
        for text in queries:
            for akte_ids in (None, frozenset({1, 3})):
                for limit in (1000, 3):
                    q = SearchQuery(text, limit=limit, akte_ids=akte_ids)
                    got, want = whoosh.search(q), memory.search(q)
                    assert got.total == want.total, (text, akte_ids, limit)
                    if limit == 1000:
                        assert ({h.document_id for h in got.hits}
                                == {h.document_id for h in want.hits}), (text, akte_ids)
                    dated = SearchQuery(text, limit=limit, akte_ids=akte_ids, order="date")
                    got, want = whoosh.search(dated), memory.search(dated)
                    assert [h.document_id for h in got.hits] == [
                        h.document_id for h in want.hits], (text, akte_ids, limit)
                    assert got.total == want.total
    finally:
        whoosh.close()
