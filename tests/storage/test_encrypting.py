"""EncryptingBlobStore in front of other blob stores: the contract, and nothing in the clear.

The blob-store contract runs over ``EncryptingBlobStore(MemoryBlobStore())`` and
``EncryptingBlobStore(LocalBlobStore(...))``. What differs from a plain store: content
keys are wrapped per Akte, so ``put`` goes through one of the two views a Store hands out
(one Akte outside sessions, or one open ORM session); the wrapper's own ``put`` refuses.
Everything else of the contract is checked unchanged, on those views.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

import eakte
from eakte.crypto.aead import MAGIC
from eakte.crypto.blobstore import EncryptingBlobStore
from eakte.crypto.keyring import KeyRing
from eakte.crypto.masterkey import FileMasterKey, generate_master_key_file
from eakte.errors import InvalidInput
from eakte.storage import BlobStore, LocalBlobStore, MemoryBlobStore
from eakte.testing.blobstore import BlobStoreContract


@pytest.fixture
def master_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("EAKTE_MASTER_KEY_FILE", raising=False)
    return generate_master_key_file(tmp_path / "master.key").path


def _inner(kind: str, tmp_path: Path) -> MemoryBlobStore | LocalBlobStore:
    return MemoryBlobStore() if kind == "memory" else LocalBlobStore(tmp_path / "blobs",
                                                                     fsync=False)


@pytest.fixture(params=["memory", "local"])
def wrapped(request: pytest.FixtureRequest, store_factory, tmp_path: Path,
            master_key: Path) -> eakte.Store:
    """A store whose blobs are encrypted in front of a memory or a local blob store."""
    blobs = EncryptingBlobStore(_inner(request.param, tmp_path),
                                KeyRing(FileMasterKey(master_key)))
    return store_factory.init(tmp_path / "store", blobs=blobs, encrypt=True, search="none")


def _akte_id(store: eakte.Store) -> int:
    with store.session() as s:
        if not s.plan_units():
            s.add_plan_unit("1", "Allgemeines")
        return s.create_akte("1", "Akte").id


def _encrypting(store: eakte.Store) -> EncryptingBlobStore:
    assert isinstance(store.blobs, EncryptingBlobStore)
    return store.blobs


class TestEncryptingAkteBlobs(BlobStoreContract):
    """The contract, for puts that wrap their key for one Akte (outside sessions)."""

    @pytest.fixture
    def blob_store(self, wrapped: eakte.Store) -> BlobStore:
        return _encrypting(wrapped).for_akte(_akte_id(wrapped))


class TestEncryptingSessionBlobs(BlobStoreContract):
    """The contract, for puts staged in an open ORM session."""

    @pytest.fixture
    def blob_store(self, wrapped: eakte.Store) -> Iterator[BlobStore]:
        orm = wrapped.orm_session()
        orm.begin()
        yield wrapped.session_blobs(orm)
        orm.rollback()
        orm.close()


def test_no_plaintext_reaches_the_inner_store(wrapped: eakte.Store) -> None:
    blobs = _encrypting(wrapped)
    data = b"Sehr geehrte Frau Mueller, hiermit erteilen wir die Baugenehmigung. " * 50
    with wrapped.session() as s:
        s.add_plan_unit("1", "Allgemeines")
        doc = s.file_document(s.create_akte("1", "Bauantrag"), data, filename="bescheid.txt")
    sha = hashlib.sha256(data).hexdigest()
    assert list(blobs) == [sha] and list(blobs.inner) == [sha]
    with blobs.inner.open(sha) as raw:
        stored = raw.read()
    assert stored.startswith(MAGIC) and b"Baugenehmigung" not in stored
    assert blobs.size(sha) == len(data) < blobs.inner.size(sha)
    with wrapped.session() as s:
        assert s.read_content(s.get_document(doc.id)) == data
    assert wrapped.verify().ok


def test_the_wrapper_itself_refuses_puts(wrapped: eakte.Store) -> None:
    with pytest.raises(InvalidInput, match="for the Akte"):
        wrapped.blobs.put(io.BytesIO(b"x"))


def test_a_store_without_drafts_cannot_be_wrapped(master_key: Path) -> None:
    class Plain:
        """A blob store with the protocol's methods but no drafts."""

    with pytest.raises(TypeError, match="draft"):
        EncryptingBlobStore(Plain(), KeyRing(FileMasterKey(master_key)))  # type: ignore[arg-type]


def test_a_plain_store_cannot_open_an_encrypting_one(wrapped: eakte.Store,
                                                     store_factory) -> None:
    """Opening the database again with the bare inner store is refused."""
    inner = _encrypting(wrapped).inner
    url = wrapped.db_url
    wrapped.close()
    with pytest.raises(eakte.MasterKeyError, match="opened without its master key"):
        store_factory.open(url, blobs=inner, create=False, search="none")


def test_rotation_and_repair_in_front_of_any_store(wrapped: eakte.Store,
                                                   tmp_path: Path) -> None:
    from eakte.crypto.rotation import rotate_master_key
    from eakte.repair import repair

    with wrapped.session() as s:
        s.add_plan_unit("1", "Allgemeines")
        doc = s.file_document(s.create_akte("1", "Eins"), b"vor der Rotation",
                              filename="a.txt")
    orphan = _encrypting(wrapped).for_akte(_akte_id(wrapped)).put(io.BytesIO(b"verwaist"))
    new = generate_master_key_file(tmp_path / "master-2027.key")
    report = rotate_master_key(wrapped, new.path)
    assert report.new_key_id == new.key_id and report.akte_keys == 2
    with wrapped.session() as s:
        assert s.read_content(s.get_document(doc.id)) == b"vor der Rotation"
    result = repair(wrapped, grace_seconds=0)
    assert result.orphans_removed == [orphan.sha256] and result.keys.wrappings == 1
    assert wrapped.verify().problems == []
