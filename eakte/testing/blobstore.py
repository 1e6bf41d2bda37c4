"""The contract suites every :class:`~eakte.storage.BlobStore` backend must pass.

:class:`BlobStoreContract` is for every backend; :class:`BlobDraftContract` in addition
for backends that offer drafts (:class:`~eakte.storage.base.DraftingBlobStore`), which
wrappers such as :class:`~eakte.crypto.blobstore.EncryptingBlobStore` need.
"""

from __future__ import annotations

import hashlib
import io

import pytest

from eakte.errors import InvalidInput, NotFoundError, UnsafeContent
from eakte.storage.base import BlobDraft, BlobInfo, BlobStore, DraftingBlobStore

__all__ = ["MALFORMED_ADDRESSES", "BlobDraftContract", "BlobStoreContract"]

_MIB = 1024 * 1024
_VALID = hashlib.sha256(b"eakte").hexdigest()
MALFORMED_ADDRESSES = [
    pytest.param("../etc/passwd", id="traversal"),
    pytest.param("../" + "0" * 61, id="traversal-64-chars"),
    pytest.param(_VALID.upper(), id="uppercase"),
    pytest.param(_VALID[:10], id="short"),
    pytest.param(_VALID + "0", id="long"),
    pytest.param(_VALID + "\n", id="trailing-newline"),
    pytest.param("g" * 64, id="not-hex"),
    pytest.param("", id="empty"),
]
"""Addresses every backend must refuse with InvalidInput before touching its storage."""


def _sha(data: bytes) -> str:
    """Return the hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _pattern(size: int) -> bytes:
    """Return ``size`` deterministic, incompressible-looking bytes."""
    return hashlib.shake_256(b"eakte blob contract").digest(size)


def _put(store: BlobStore, data: bytes, *, max_size: int | None = None) -> BlobInfo:
    """Store ``data`` through the protocol's ``put``."""
    return store.put(io.BytesIO(data), max_size=max_size)


def _read(store: BlobStore, sha256: str) -> bytes:
    """Return the stored bytes of a blob, closing the stream."""
    with store.open(sha256) as stream:
        return stream.read()


class _TrickleStream(io.BytesIO):
    """A stream that returns at most ``step`` bytes per read, like a socket or pipe."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__(data)
        self._step = step

    def read(self, size: int | None = -1) -> bytes:
        """Read at most ``step`` bytes, whatever was asked for."""
        if size is None or size < 0 or size > self._step:
            size = self._step
        return super().read(size)


class BlobStoreContract:
    """Tests that check a backend against the :class:`~eakte.storage.BlobStore` contract.

    Subclass it in a class whose name starts with ``Test`` and provide a ``blob_store``
    fixture that returns a new, empty store::

        class TestMyBlobStore(BlobStoreContract):
            @pytest.fixture
            def blob_store(self, tmp_path):
                return MyBlobStore(tmp_path)
    """

    def test_satisfies_protocol(self, blob_store: BlobStore) -> None:
        """The store has every method of the protocol."""
        assert isinstance(blob_store, BlobStore)

    def test_put_open_roundtrip(self, blob_store: BlobStore) -> None:
        """Bytes come back exactly, under their SHA-256, with their size."""
        data = b"Bescheid vom 1. April\x00\xff\r\n"
        info = _put(blob_store, data)
        assert info == BlobInfo(sha256=_sha(data), size=len(data), created=True)
        assert _read(blob_store, info.sha256) == data
        assert blob_store.size(info.sha256) == len(data)
        assert blob_store.exists(info.sha256)

    def test_put_reads_from_current_position(self, blob_store: BlobStore) -> None:
        """The address covers exactly the bytes read, not what came before."""
        stream = io.BytesIO(b"skipped|stored")
        stream.seek(len(b"skipped|"))
        info = blob_store.put(stream)
        assert info.sha256 == _sha(b"stored")
        assert _read(blob_store, info.sha256) == b"stored"

    def test_put_same_bytes_twice_deduplicates(self, blob_store: BlobStore) -> None:
        """A second put of the same bytes reports created=False and stores one blob."""
        first = _put(blob_store, b"same")
        second = _put(blob_store, b"same")
        assert first.created
        assert second == BlobInfo(sha256=first.sha256, size=4, created=False)
        assert list(blob_store) == [first.sha256]
        assert _read(blob_store, first.sha256) == b"same"

    def test_empty_blob(self, blob_store: BlobStore) -> None:
        """The empty byte string is a blob like any other."""
        info = _put(blob_store, b"")
        assert info == BlobInfo(sha256=_sha(b""), size=0, created=True)
        assert _read(blob_store, info.sha256) == b""
        assert blob_store.size(info.sha256) == 0
        assert list(blob_store) == [info.sha256]

    def test_large_blob_from_short_reads(self, blob_store: BlobStore) -> None:
        """Several MiB arriving in odd-sized pieces are stored and hashed exactly."""
        data = _pattern(3 * _MIB + 12_345)
        info = blob_store.put(_TrickleStream(data, step=300_001))
        assert info == BlobInfo(sha256=_sha(data), size=len(data), created=True)
        assert blob_store.size(info.sha256) == len(data)
        assert _read(blob_store, info.sha256) == data

    @pytest.mark.parametrize(
        ("size", "max_size"),
        [pytest.param(11, 10, id="small"), pytest.param(2 * _MIB, _MIB + 1, id="chunks")],
    )
    def test_max_size_exceeded_stores_nothing(
        self, blob_store: BlobStore, size: int, max_size: int
    ) -> None:
        """Content over the limit raises UnsafeContent and leaves the store unchanged."""
        kept = _put(blob_store, b"kept")
        data = _pattern(size)
        with pytest.raises(UnsafeContent):
            _put(blob_store, data, max_size=max_size)
        assert list(blob_store) == [kept.sha256]
        assert not blob_store.exists(_sha(data))
        assert _read(blob_store, kept.sha256) == b"kept"

    def test_max_size_is_inclusive(self, blob_store: BlobStore) -> None:
        """Content of exactly ``max_size`` bytes is accepted."""
        assert _put(blob_store, b"12345", max_size=5).created
        assert _put(blob_store, b"", max_size=0).created

    def test_unknown_blob_is_not_found(self, blob_store: BlobStore) -> None:
        """Both open and size raise NotFoundError for a well-formed unknown address."""
        with pytest.raises(NotFoundError) as opened:
            blob_store.open(_VALID)
        assert (opened.value.kind, opened.value.key) == ("Blob", _VALID)
        with pytest.raises(NotFoundError) as sized:
            blob_store.size(_VALID)
        assert (sized.value.kind, sized.value.key) == ("Blob", _VALID)
        assert not blob_store.exists(_VALID)

    @pytest.mark.parametrize("operation", ["open", "exists", "size", "delete"])
    @pytest.mark.parametrize("address", MALFORMED_ADDRESSES)
    def test_malformed_address_is_invalid(
        self, blob_store: BlobStore, operation: str, address: str
    ) -> None:
        """Every address-taking method refuses malformed addresses with InvalidInput."""
        _put(blob_store, b"kept")
        with pytest.raises(InvalidInput):
            getattr(blob_store, operation)(address)
        assert list(blob_store) == [_sha(b"kept")]

    def test_delete_is_idempotent(self, blob_store: BlobStore) -> None:
        """Deleting removes the blob; deleting again or deleting the unknown is fine."""
        gone = _put(blob_store, b"gone")
        kept = _put(blob_store, b"kept")
        blob_store.delete(gone.sha256)
        blob_store.delete(gone.sha256)
        blob_store.delete(_VALID)
        assert not blob_store.exists(gone.sha256)
        with pytest.raises(NotFoundError):
            blob_store.open(gone.sha256)
        assert list(blob_store) == [kept.sha256]

    def test_put_after_delete_stores_again(self, blob_store: BlobStore) -> None:
        """A deleted blob can be stored again and reports created=True."""
        info = _put(blob_store, b"again")
        blob_store.delete(info.sha256)
        assert _put(blob_store, b"again").created
        assert _read(blob_store, info.sha256) == b"again"

    def test_iteration_lists_exactly_the_stored_blobs(self, blob_store: BlobStore) -> None:
        """Iteration yields each stored address once and nothing else."""
        assert list(blob_store) == []
        shas = {_put(blob_store, bytes([i]) * i).sha256 for i in range(20)}
        listed = list(blob_store)
        assert len(listed) == len(shas)
        assert set(listed) == shas


def _draft(store: DraftingBlobStore, data: bytes, *, step: int = 1000) -> BlobDraft:
    """Return a closed draft of ``data``, written in pieces of ``step`` bytes."""
    draft = store.draft()
    for start in range(0, len(data), step):
        draft.write(data[start:start + step])
    draft.close()
    return draft


class BlobDraftContract:
    """Tests that check a backend's drafts (:class:`~eakte.storage.base.BlobDraft`).

    Subclass it like :class:`BlobStoreContract`, with a ``blob_store`` fixture returning a
    new, empty :class:`~eakte.storage.base.DraftingBlobStore`. The address a draft is
    published under is the caller's choice: it need not be the SHA-256 of the draft.
    """

    def test_satisfies_protocol(self, blob_store: DraftingBlobStore) -> None:
        """The store has every method of the protocol, and ``draft``."""
        assert isinstance(blob_store, DraftingBlobStore)

    def test_publish_under_a_chosen_address(self, blob_store: DraftingBlobStore) -> None:
        """A published draft is the blob at the address it was published under."""
        data = _pattern(5000)
        draft = blob_store.draft()
        draft.write(data[:1234])
        draft.write(data[1234:])
        draft.close()
        assert list(blob_store) == []  # nothing is visible before publish
        assert draft.publish(_VALID)
        assert _read(blob_store, _VALID) == data
        assert blob_store.size(_VALID) == len(data)
        assert list(blob_store) == [_VALID]

    def test_reader_returns_what_was_written(self, blob_store: DraftingBlobStore) -> None:
        """A closed draft can be read back before it is published or dropped."""
        draft = blob_store.draft()
        draft.write(b"Entwurf")
        with draft.reader() as stream:
            assert stream.read() == b"Entwurf"
        draft.discard()
        assert list(blob_store) == []

    def test_existing_blob_is_kept_unless_replaced(self, blob_store: DraftingBlobStore) -> None:
        """Publishing onto a stored address keeps it; ``replace=True`` takes its place."""
        assert _draft(blob_store, b"first").publish(_VALID)
        assert not _draft(blob_store, b"second").publish(_VALID)
        assert _read(blob_store, _VALID) == b"first"
        assert not _draft(blob_store, b"third").publish(_VALID, replace=True)
        assert _read(blob_store, _VALID) == b"third"
        assert list(blob_store) == [_VALID]

    def test_replace_of_an_absent_blob_creates_it(self, blob_store: DraftingBlobStore) -> None:
        """``replace=True`` onto a free address is an ordinary publish."""
        assert _draft(blob_store, b"neu").publish(_VALID, replace=True)
        assert _read(blob_store, _VALID) == b"neu"

    def test_discard_leaves_nothing(self, blob_store: DraftingBlobStore) -> None:
        """A dropped draft is never stored; dropping twice is fine."""
        draft = blob_store.draft()
        draft.write(b"verworfen")
        draft.discard()
        draft.discard()
        assert list(blob_store) == []
        assert not blob_store.exists(_VALID)

    def test_empty_draft(self, blob_store: DraftingBlobStore) -> None:
        """A draft of no bytes publishes an empty blob."""
        draft = blob_store.draft()
        draft.close()
        assert draft.publish(_VALID)
        assert _read(blob_store, _VALID) == b""

    @pytest.mark.parametrize("address", MALFORMED_ADDRESSES)
    def test_malformed_address_is_invalid(self, blob_store: DraftingBlobStore,
                                          address: str) -> None:
        """Publishing under a malformed address raises InvalidInput and stores nothing."""
        draft = _draft(blob_store, b"x")
        with pytest.raises(InvalidInput):
            draft.publish(address)
        draft.discard()
        assert list(blob_store) == []
