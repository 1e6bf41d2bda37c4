from __future__ import annotations

import threading

import pytest

from eakte.storage.memory import MemoryBlobStore
from eakte.testing.blobstore import BlobDraftContract, BlobStoreContract


class TestMemoryBlobStore(BlobStoreContract):
    @pytest.fixture
    def blob_store(self) -> MemoryBlobStore:
        return MemoryBlobStore()


class TestMemoryBlobDrafts(BlobDraftContract):
    @pytest.fixture
    def blob_store(self) -> MemoryBlobStore:
        return MemoryBlobStore()


def test_instances_do_not_share_blobs() -> None:
    first, second = MemoryBlobStore(), MemoryBlobStore()
    info = first.put_bytes(b"only in first")
    assert first.exists(info.sha256)
    assert not second.exists(info.sha256)
    assert list(second) == []


def test_iteration_is_a_snapshot() -> None:
    store = MemoryBlobStore()
    a = store.put_bytes(b"a")
    it = iter(store)
    store.put_bytes(b"b")  # would break a live dict iterator
    assert list(it) == [a.sha256]


def test_concurrent_puts_of_same_bytes_create_once() -> None:
    store = MemoryBlobStore()
    barrier = threading.Barrier(8)
    created: list[bool] = []

    def put_same() -> None:
        barrier.wait()
        created.append(store.put_bytes(b"same").created)

    threads = [threading.Thread(target=put_same) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created) == [False] * 7 + [True]
    assert len(list(store)) == 1
