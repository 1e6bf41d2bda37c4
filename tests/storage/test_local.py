from __future__ import annotations

import hashlib
import io
import os
import stat
import time
from pathlib import Path

import pytest

from eakte.errors import StorageError, UnsafeContent
from eakte.storage.local import CHUNK_SIZE, LocalBlobStore
from eakte.testing.blobstore import BlobDraftContract, BlobStoreContract


class TestLocalBlobStore(BlobStoreContract):
    @pytest.fixture
    def blob_store(self, tmp_path: Path) -> LocalBlobStore:
        return LocalBlobStore(tmp_path / "blobs")


class TestLocalBlobDrafts(BlobDraftContract):
    @pytest.fixture
    def blob_store(self, tmp_path: Path) -> LocalBlobStore:
        return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def _temp_files(store: LocalBlobStore) -> list[Path]:
    return sorted((store.root / "tmp").iterdir())


def test_constructor_creates_root_and_tmp(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b" / "tmp").is_dir()
    assert store.root == tmp_path / "a" / "b"


def test_root_that_is_a_file_raises_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(StorageError, match="file"):
        LocalBlobStore(tmp_path / "file")


def test_fan_out_layout(store: LocalBlobStore) -> None:
    info = store.put_bytes(b"layout")
    sha = hashlib.sha256(b"layout").hexdigest()
    expected = store.root / sha[:2] / sha[2:]
    assert store.path_for(info.sha256) == expected
    assert expected.read_bytes() == b"layout"


def test_files_are_read_only_after_put(store: LocalBlobStore) -> None:
    info = store.put_bytes(b"read only")
    assert stat.S_IMODE(store.path_for(info.sha256).stat().st_mode) == 0o444


def test_no_temp_files_remain_after_put(store: LocalBlobStore) -> None:
    store.put_bytes(b"one")
    store.put_bytes(b"one")  # dedup path removes its temp file too
    assert _temp_files(store) == []


def test_no_temp_files_remain_after_max_size_refusal(store: LocalBlobStore) -> None:
    with pytest.raises(UnsafeContent, match="limit of 3 bytes; nothing was stored"):
        store.put(io.BytesIO(b"four"), max_size=3)
    assert _temp_files(store) == []
    assert list(store) == []


def test_failed_move_removes_temp_file(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_move(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", broken_move)
    monkeypatch.setattr(os, "replace", broken_move)
    with pytest.raises(StorageError, match="cannot move blob into place") as excinfo:
        store.put_bytes(b"doomed")
    assert isinstance(excinfo.value.__cause__, OSError)
    assert _temp_files(store) == []
    assert list(store) == []


def test_concurrent_identical_puts_create_exactly_once(tmp_path: Path) -> None:
    import threading

    for trial in range(10):
        store = LocalBlobStore(tmp_path / f"race{trial}")
        data = b"same bytes %d" % trial
        results: list[bool] = []
        barrier = threading.Barrier(6)

        def put(store: LocalBlobStore, data: bytes, barrier: threading.Barrier,
                results: list[bool]) -> None:
            barrier.wait()
            results.append(store.put_bytes(data).created)

        threads = [threading.Thread(target=put, args=(store, data, barrier, results))
                   for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(True) == 1
        sha = next(iter(store))
        assert stat.S_IMODE(store.path_for(sha).stat().st_mode) == 0o444
        assert _temp_files(store) == []


def test_stream_error_removes_temp_file(store: LocalBlobStore) -> None:
    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError):
        store.put(Broken())
    assert _temp_files(store) == []


def test_put_reads_in_bounded_chunks(store: LocalBlobStore) -> None:
    sizes: list[int | None] = []

    class Recording(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            sizes.append(size)
            return super().read(size)

    store.put(Recording(b"x" * (2 * CHUNK_SIZE + 1)))
    assert sizes and all(size == CHUNK_SIZE for size in sizes)


def test_corrupted_existing_file_is_not_overwritten(store: LocalBlobStore) -> None:
    # put never overwrites: a damaged file at the final address stays as it is (dedup).
    # Detecting it is the job of verify, which re-hashes stored blobs.
    sha = hashlib.sha256(b"original").hexdigest()
    path = store.path_for(sha)
    path.parent.mkdir()
    path.write_bytes(b"bit rot")
    info = store.put_bytes(b"original")
    assert not info.created
    assert path.read_bytes() == b"bit rot"
    assert _temp_files(store) == []


def test_cleanup_temp_removes_only_stale_files(store: LocalBlobStore) -> None:
    tmp = store.root / "tmp"
    stale, fresh = tmp / "put-stale.tmp", tmp / "put-fresh.tmp"
    stale.write_bytes(b"half a blob")
    fresh.write_bytes(b"a write in progress")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    os.chmod(stale, 0o444)
    assert store.cleanup_temp() == 1
    assert _temp_files(store) == [fresh]
    assert store.cleanup_temp(older_than_seconds=-60) == 1
    assert _temp_files(store) == []


def test_iteration_skips_foreign_entries(store: LocalBlobStore) -> None:
    info = store.put_bytes(b"real")
    (store.root / "tmp" / ("0" * 62)).write_bytes(b"temp")
    (store.root / "README").write_text("not a blob")
    (store.root / "zz").mkdir()
    (store.root / "zz" / ("0" * 62)).write_bytes(b"bad prefix")
    (store.root / "ab").mkdir()
    (store.root / "ab" / "short").write_bytes(b"bad name")
    (store.root / "ab" / ("0" * 61 + "A")).write_bytes(b"uppercase")
    (store.root / "cd").mkdir()
    (store.root / "cd" / ("0" * 62)).mkdir()
    assert list(store) == [info.sha256]


def test_delete_removes_the_file(store: LocalBlobStore) -> None:
    info = store.put_bytes(b"dispose")
    store.delete(info.sha256)
    assert not store.path_for(info.sha256).exists()


def test_without_fsync(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, fsync=False)
    info = store.put_bytes(b"fast")
    with store.open(info.sha256) as stream:
        assert stream.read() == b"fast"


def test_repr_names_root(store: LocalBlobStore) -> None:
    assert repr(store) == f"LocalBlobStore({str(store.root)!r})"


def test_batch_publishes_only_at_its_end(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "b")
    with store.batch():
        first = store.put_bytes(b"eins")
        again = store.put_bytes(b"eins")
        second = store.put_bytes(b"zwei")
        assert first.created and not again.created and second.created
        assert list(store) == []  # nothing published before the bytes are durable
    assert sorted(store) == sorted([first.sha256, second.sha256])
    with store.open(first.sha256) as fh:
        assert fh.read() == b"eins"
    assert stat.S_IMODE(store.path_for(second.sha256).stat().st_mode) == 0o444
    assert _temp_files(store) == []


def test_failed_batch_publishes_nothing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "b")
    with pytest.raises(RuntimeError), store.batch():
        store.put_bytes(b"verloren")
        raise RuntimeError("caller failed")
    assert list(store) == []
    assert _temp_files(store) == []


def test_drafts_leave_no_temp_files(store: LocalBlobStore) -> None:
    published = store.draft()
    published.write(b"veroeffentlicht")
    published.publish(hashlib.sha256(b"a").hexdigest())
    kept = store.draft()
    kept.write(b"doppelt")
    kept.publish(hashlib.sha256(b"a").hexdigest())
    dropped = store.draft()
    dropped.write(b"verworfen")
    dropped.discard()
    assert _temp_files(store) == []
    path = store.path_for(hashlib.sha256(b"a").hexdigest())
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert path.read_bytes() == b"veroeffentlicht"


def test_drafts_in_a_batch_appear_when_it_ends(store: LocalBlobStore) -> None:
    sha = hashlib.sha256(b"b").hexdigest()
    with store.batch():
        draft = store.draft()
        draft.write(b"im Stapel")
        assert draft.publish(sha)
        assert not store.exists(sha)
        again = store.draft()
        again.write(b"im Stapel")
        assert not again.publish(sha)  # already pending in this batch
    assert store.path_for(sha).read_bytes() == b"im Stapel"
    assert _temp_files(store) == []


def test_drafts_of_a_failed_batch_are_dropped(store: LocalBlobStore) -> None:
    sha = hashlib.sha256(b"c").hexdigest()
    with pytest.raises(KeyboardInterrupt), store.batch():
        draft = store.draft()
        draft.write(b"verloren")
        draft.publish(sha)
        raise KeyboardInterrupt
    assert not store.exists(sha)
    assert _temp_files(store) == []
