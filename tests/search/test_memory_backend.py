from __future__ import annotations

import threading

import pytest

from eakte.errors import SearchError
from eakte.search.base import SearchQuery
from eakte.search.memory import MemorySearchBackend
from eakte.testing.search import GermanAnalysisContract, SearchBackendContract, make_document


class TestMemorySearchBackend(SearchBackendContract, GermanAnalysisContract):
    @pytest.fixture
    def search_backend(self) -> MemorySearchBackend:
        return MemorySearchBackend()


def test_new_backend_asks_for_a_rebuild_until_cleared() -> None:
    backend = MemorySearchBackend()
    assert backend.needs_rebuild()
    backend.clear()
    assert backend.needs_rebuild() is None


def test_instances_do_not_share_documents() -> None:
    first, second = MemorySearchBackend(), MemorySearchBackend()
    first.index([make_document(1, text="Gewerbeanmeldung")])
    assert first.search(SearchQuery("Gewerbeanmeldung")).total == 1
    assert second.search(SearchQuery("Gewerbeanmeldung")).total == 0


def test_closed_backend_raises_search_error() -> None:
    backend = MemorySearchBackend()
    backend.close()
    with pytest.raises(SearchError):
        backend.search(SearchQuery("Antrag"))
    with pytest.raises(SearchError):
        backend.index([make_document(1)])


def test_prefix_wildcard_on_words() -> None:
    backend = MemorySearchBackend()
    backend.index([make_document(1, text="Baugenehmigung erteilt"),
                   make_document(2, text="Bauvoranfrage gestellt"),
                   make_document(3, text="Gewerbeanmeldung")])
    result = backend.search(SearchQuery("Bau*"))
    assert {hit.document_id for hit in result.hits} == {1, 2}
    assert all("«Bau" in hit.snippet for hit in result.hits)


def test_concurrent_indexing_and_searching() -> None:
    backend = MemorySearchBackend()
    errors: list[BaseException] = []

    def write(offset: int) -> None:
        try:
            for start in range(offset, offset + 200, 20):
                backend.index([make_document(i, text=f"Parallel Fall {i}")
                               for i in range(start, start + 20)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(50):
                result = backend.search(SearchQuery("Parallel", limit=5))
                assert result.total >= len(result.hits)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n * 1000,)) for n in range(3)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert backend.search(SearchQuery("Parallel")).total == 600
