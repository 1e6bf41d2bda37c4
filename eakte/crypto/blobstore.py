"""Encrypt blobs at rest in front of any blob store: AES-256-GCM, segmented, a key per blob.

:class:`EncryptingBlobStore` wraps a blob store (memory, local folder, object store) and
keeps every blob in it encrypted in the format of :mod:`eakte.crypto.aead` under a random
data key, at the address of the *plaintext*: the SHA-256 is computed while the content
streams through the cipher into a draft of the wrapped store (see
:class:`~eakte.storage.base.BlobDraft`), so no plaintext ever reaches it, not even in
temporary files. :class:`EncryptedBlobStore` is the wrapper over a local folder.

Data keys live in the store's database, wrapped per Akte (see :mod:`eakte.crypto.keyring`),
so ``put`` needs to know where the content goes:

- inside a session, ``store.session_blobs(orm)`` (:meth:`EncryptingBlobStore.in_session`)
  stages each blob's data key in the session; the commit wraps it for every Akte whose
  versions or renditions refer to the blob, atomically with those rows;
- outside sessions, :meth:`EncryptingBlobStore.for_akte` wraps the key for one Akte and
  commits it before the blob is published under its address.

Reads (``open``) need no Akte: any wrapping of the blob whose Akte key still exists opens it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final, TypeVar

from eakte.audit.problems import ProblemKind
from eakte.crypto.aead import (
    SEGMENT_SHIFT,
    DecryptingReader,
    StreamEncryptor,
    decrypts_with,
    new_key,
    plaintext_size,
)
from eakte.crypto.keyring import KeyRing
from eakte.crypto.masterkey import MasterKey, resolve_master_key
from eakte.errors import (
    IntegrityError,
    InvalidInput,
    MasterKeyError,
    NotFoundError,
    Problem,
    StorageError,
    UnsafeContent,
)
from eakte.storage.base import BlobDraft, BlobInfo, DraftingBlobStore
from eakte.storage.local import CHUNK_SIZE, LocalBlobStore

if TYPE_CHECKING:
    from sqlalchemy.orm import Session as OrmSession

    from eakte._commit import CommitPipeline
    from eakte.context import StoreContext

__all__ = ["AkteBlobs", "EncryptedBlobStore", "EncryptingBlobStore", "SessionBlobs"]

_T = TypeVar("_T")

#: Chooses the data key a blob is stored under: ``choose(sha256, fresh_key) -> key``.
KeyChoice = Callable[[str, bytes], bytes]


class EncryptingBlobStore:
    """A :class:`~eakte.storage.BlobStore` that encrypts in front of another one.

    Create it over the blob store to keep the encrypted bytes in, with the key ring of the
    master key, and hand it to a Store; the Store attaches it to its database, where the
    wrapped keys live::

        ring = KeyRing(FileMasterKey("/etc/eakte/master.key"))
        blobs = EncryptingBlobStore(MemoryBlobStore(), ring)
        store = eakte.open("postgresql+psycopg://db/eakte", blobs=blobs)

    ``open``, ``exists``, ``size`` (of the plaintext), ``delete`` and iteration work as on
    the wrapped store; ``put`` goes through :meth:`in_session` or :meth:`for_akte`.

    Args:
        inner: the store that keeps the encrypted bytes; it must offer drafts
            (:class:`~eakte.storage.base.DraftingBlobStore`).
        keyring: the key ring holding the master key (bound to a Store when it opens).
        segment_shift: log2 of the plaintext bytes per segment (16: 64 KiB).

    Raises:
        TypeError: ``inner`` cannot store drafts.
    """

    def __init__(self, inner: DraftingBlobStore, keyring: KeyRing, *,
                 segment_shift: int = SEGMENT_SHIFT) -> None:
        if not callable(getattr(inner, "draft", None)):
            raise TypeError(f"{inner!r} cannot be encrypted in front of: it has no draft() "
                            "(see eakte.storage.base.DraftingBlobStore)")
        #: The blob store holding the encrypted bytes.
        self.inner: Final = inner
        #: The key ring holding the wrapped keys (bound to a Store when it opens).
        self.keyring: Final = keyring
        self._shift: Final = segment_shift

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"

    # -- the store it belongs to ---------------------------------------------------------

    def attach(self, store: StoreContext, pipeline: CommitPipeline) -> None:
        """Bind the key ring to ``store``: its sessions stage data keys, its commits seal them.

        Raises:
            ValueError: the blob store belongs to another store already.
        """
        self.keyring.bind(store, pipeline)

    def in_session(self, orm: OrmSession) -> SessionBlobs:
        """Return this store as seen by one ORM session (see :class:`SessionBlobs`)."""
        return SessionBlobs(self, orm)

    def for_akte(self, akte_id: int) -> AkteBlobs:
        """Return a view whose puts wrap the data key for one Akte (see :class:`AkteBlobs`)."""
        return AkteBlobs(self, akte_id)

    def put(self, stream: BinaryIO, *, max_size: int | None = None) -> BlobInfo:
        """Refuse: encrypted content needs an Akte for its key.

        Raises:
            InvalidInput: always; use :meth:`in_session` or :meth:`for_akte`.
        """
        raise InvalidInput(
            "an encrypted blob store wraps each blob's key for the Akte that files it: put "
            "through store.session_blobs(orm) inside a session, or blobs.for_akte(akte_id)")

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Publish the puts of this thread inside the block together, if the inner store can.

        Raises:
            StorageError: the wrapped store failed; nothing of the batch is published.
        """
        batch = getattr(self.inner, "batch", None)
        with batch() if callable(batch) else contextlib.nullcontext():
            yield

    # -- reading -------------------------------------------------------------------------

    def open(self, sha256: str) -> BinaryIO:
        """Return the blob's plaintext as a stream that decrypts and checks as it reads.

        Raises:
            NotFoundError: no such blob.
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
            IntegrityError: no stored key opens the blob (crypto-shredded or key rows
                damaged), or, while reading, the stored bytes were altered.
            MasterKeyError: the key rows are wrapped by another master key.
            StorageError: the blob or the database cannot be read.
        """
        return self.open_with(sha256, self._find_key)

    def _find_key(self, sha256: str) -> bytes | None:
        with self.keyring.store.read_connection() as conn:
            return self.keyring.find_dek(conn, sha256)

    def open_with(self, sha256: str, find_key: Callable[[str], bytes | None]) -> BinaryIO:
        """Return the blob's plaintext, decrypted with the key ``find_key(sha256)`` returns.

        Raises:
            NotFoundError: no such blob.
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
            IntegrityError: ``find_key`` found no key (or, while reading, damage).
            StorageError: the blob cannot be read.
        """
        raw = self.inner.open(sha256)
        try:
            key = find_key(sha256)
        except BaseException:
            raw.close()
            raise
        if key is None:
            raw.close()
            raise IntegrityError(
                f"blob {sha256} cannot be decrypted: no Akte holds a key for it (every Akte "
                "that filed it was disposed, or its key rows were removed)",
                [Problem(ProblemKind.BLOB_KEY_MISSING, f"blob {sha256}",
                         "no stored key opens this blob")])
        return io.BufferedReader(DecryptingReader(raw, key, sha256), buffer_size=CHUNK_SIZE)

    def exists(self, sha256: str) -> bool:
        """Return True if the blob is stored.

        Raises:
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
        """
        return self.inner.exists(sha256)

    def size(self, sha256: str) -> int:
        """Return the plaintext length of the blob, computed from the stored length.

        Raises:
            NotFoundError: no such blob.
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
            IntegrityError: the stored length is impossible for an encrypted blob.
            StorageError: the blob cannot be examined.
        """
        stored = self.inner.size(sha256)
        try:
            return plaintext_size(stored, segment_shift=self._shift)
        except ValueError as exc:
            problem = Problem(ProblemKind.BLOB_CORRUPT, f"blob {sha256}", str(exc))
            raise IntegrityError(f"blob {sha256} is damaged: {exc}", [problem]) from exc

    def delete(self, sha256: str) -> None:
        """Remove the blob if present (disposal, orphan collection).

        Raises:
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
        """
        self.inner.delete(sha256)

    def __iter__(self) -> Iterator[str]:
        """Yield the address of every stored blob."""
        return iter(self.inner)

    # -- writing -------------------------------------------------------------------------

    def put_with(self, stream: BinaryIO, max_size: int | None,
                 choose: KeyChoice) -> tuple[BlobInfo, bytes]:
        """Encrypt ``stream``, let ``choose(sha256, fresh_key)`` pick the stored key, publish.

        Returns:
            what was stored, and the data key it is stored under.

        Raises:
            UnsafeContent: the stream is longer than ``max_size``; nothing is stored.
            StorageError: the wrapped store failed.
        """
        fresh = new_key()
        draft, sha256, size = self._encrypt(stream, fresh, max_size)
        try:
            key = choose(sha256, fresh)
        except BaseException:
            draft.discard()
            raise
        created = self._place(draft, fresh, sha256, key)
        return BlobInfo(sha256=sha256, size=size, created=created), key

    def _encrypt(self, stream: BinaryIO, key: bytes, max_size: int | None
                 ) -> tuple[BlobDraft, str, int]:
        """Stream ``stream`` through the cipher into a new draft; hash the plaintext.

        Returns:
            the finished draft, the SHA-256 and the size of the plaintext.
        """
        if max_size is not None and max_size < 0:
            raise ValueError(f"max_size must be None or >= 0, not {max_size}")
        draft = self.inner.draft()
        try:
            encryptor = StreamEncryptor(key, segment_shift=self._shift)
            digest = hashlib.sha256()
            size = 0
            draft.write(encryptor.header)
            while chunk := stream.read(CHUNK_SIZE):
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise UnsafeContent(f"content is larger than the limit of {max_size} "
                                        "bytes; nothing was stored")
                digest.update(chunk)
                for segment in encryptor.update(chunk):
                    draft.write(segment)
            sha256 = digest.hexdigest()
            draft.write(encryptor.finalize(sha256, size))
            draft.close()
        except BaseException:
            draft.discard()
            raise
        return draft, sha256, size

    def _rekey(self, draft: BlobDraft, old: bytes, new: bytes, sha256: str) -> BlobDraft:
        """Re-encrypt a finished draft under another key; return the new draft."""
        raw = draft.reader()
        with io.BufferedReader(DecryptingReader(raw, old, sha256),
                               buffer_size=CHUNK_SIZE) as plain:
            fresh, digest, _ = self._encrypt(plain, new, None)
        draft.discard()
        if digest != sha256:  # cannot happen: the final segment authenticated the address
            fresh.discard()
            raise StorageError(f"re-encrypting blob {sha256} produced other content")
        return fresh

    def _place(self, draft: BlobDraft, draft_key: bytes, sha256: str, key: bytes) -> bool:
        """Publish a finished draft (under ``draft_key``) at ``sha256``, encrypted with ``key``.

        Returns:
            True if the address was new; False if a blob usable with ``key`` was there, or
            a blob that no stored key opens was replaced (then, as for any reused address,
            the committing session checks that no disposal deleted it meanwhile).
        """
        try:
            present = self._usable(sha256, key)
            if present is True:
                draft.discard()
                return False
            if key != draft_key:
                draft = self._rekey(draft, draft_key, key, sha256)
            if present is not None:  # a leftover that no stored key opens: replace it
                draft.publish(sha256, replace=True)
                return False
            return draft.publish(sha256)
        except BaseException:
            draft.discard()
            raise

    def _usable(self, sha256: str, key: bytes) -> bool | None:
        """Tell whether a blob is at ``sha256`` (None: no) and whether ``key`` opens it."""
        try:
            raw = self.inner.open(sha256)
        except NotFoundError:
            return None
        return decrypts_with(raw, key, sha256)


class EncryptedBlobStore(EncryptingBlobStore):
    """An :class:`EncryptingBlobStore` over a :class:`~eakte.storage.LocalBlobStore` folder.

    Folder stores use it when created with ``eakte.init(..., encrypt=True)``; a store
    opened by database URL takes one as ``blobs=``::

        blobs = EncryptedBlobStore("/srv/eakte/blobs", master_key="/etc/eakte/master.key")
        store = eakte.open("postgresql+psycopg://db/eakte", blobs=blobs)

    Args:
        root: the blob folder.
        master_key: the master key file or provider (see :mod:`eakte.crypto.masterkey`);
            None means ``$EAKTE_MASTER_KEY_FILE``.
        fsync: as for :class:`~eakte.storage.LocalBlobStore`.
        segment_shift: log2 of the plaintext bytes per segment (16: 64 KiB).

    Raises:
        MasterKeyError: no master key is given or configured.
        StorageError: the folders cannot be created.
    """

    def __init__(self, root: str | os.PathLike[str], *, master_key: MasterKey | None = None,
                 fsync: bool = True, segment_shift: int = SEGMENT_SHIFT) -> None:
        provider = resolve_master_key(master_key)
        if provider is None:
            raise MasterKeyError(
                "an encrypted blob store needs its master key: pass master_key= or set "
                "EAKTE_MASTER_KEY_FILE")
        self.folder: Final = LocalBlobStore(root, fsync=fsync)
        super().__init__(self.folder, KeyRing(provider), segment_shift=segment_shift)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    @property
    def root(self) -> Path:
        """The absolute folder holding the blobs."""
        return self.folder.root

    def path_for(self, sha256: str) -> Path:
        """Return the final file path of a blob (see :meth:`LocalBlobStore.path_for`).

        Raises:
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
        """
        return self.folder.path_for(sha256)

    def cleanup_temp(self, older_than_seconds: float = 3600) -> int:
        """Remove temporary files left behind by crashed writes (see ``LocalBlobStore``).

        Raises:
            StorageError: the temporary folder cannot be listed or a file removed.
        """
        return self.folder.cleanup_temp(older_than_seconds)


class SessionBlobs:
    """The encrypted store as one ORM session sees it: a :class:`~eakte.storage.BlobStore`.

    ``put`` reserves the blob's data key in the session's transaction and stages it; the
    session's commit wraps it for each Akte whose versions or renditions refer to the blob
    (nothing is wrapped for content that no row uses). ``open`` also finds blobs put
    earlier in the same, uncommitted transaction.
    """

    def __init__(self, base: EncryptingBlobStore, orm: OrmSession) -> None:
        self._base = base
        self._orm = orm

    def put(self, stream: BinaryIO, *, max_size: int | None = None) -> BlobInfo:
        """Store the bytes read from ``stream``, encrypted; see :meth:`BlobStore.put`.

        Raises:
            UnsafeContent: the stream is longer than ``max_size``; nothing is stored.
            StorageError: the blob store or the database failed.
            MasterKeyError: the key rows are wrapped by another master key.
            IntegrityError: the blob's key rows are damaged.
        """
        ring = self._base.keyring
        staged = ring.staged(self._orm)

        def choose(sha256: str, fresh: bytes) -> bytes:
            known = staged.get(sha256)
            if known is not None:
                return known
            return _db(lambda: ring.choose_dek(self._orm, sha256, fresh, ring.store.clock()))

        info, key = self._base.put_with(stream, max_size, choose)
        staged[info.sha256] = key
        return info

    def open(self, sha256: str) -> BinaryIO:
        """Return the blob's plaintext; see :meth:`EncryptedBlobStore.open`."""
        ring = self._base.keyring

        def find_key(sha256: str) -> bytes | None:
            key = ring.staged(self._orm).get(sha256)
            if key is None:
                key = _db(lambda: ring.find_dek(self._orm, sha256))
            return key

        return self._base.open_with(sha256, find_key)

    def exists(self, sha256: str) -> bool:
        """Return True if the blob is stored."""
        return self._base.exists(sha256)

    def size(self, sha256: str) -> int:
        """Return the plaintext length of the blob."""
        return self._base.size(sha256)

    def delete(self, sha256: str) -> None:
        """Remove the blob if present."""
        self._base.delete(sha256)

    def __iter__(self) -> Iterator[str]:
        """Yield the address of every stored blob."""
        return iter(self._base)


class AkteBlobs(SessionBlobs):
    """A view whose puts wrap the data key for one Akte, outside any session.

    Each put commits the key rows in a short transaction of its own and only then links
    the blob under its address. Use it for tools and tests; inside a session use
    :meth:`EncryptedBlobStore.in_session` (on SQLite a second transaction would wait for
    the session's write lock).
    """

    def __init__(self, base: EncryptingBlobStore, akte_id: int) -> None:
        self._base = base
        self._akte_id = akte_id

    def put(self, stream: BinaryIO, *, max_size: int | None = None) -> BlobInfo:
        """Store the bytes read from ``stream``, wrapping their key for the view's Akte.

        Raises:
            UnsafeContent: the stream is longer than ``max_size``; nothing is stored.
            StorageError: the blob store or the database failed.
            MasterKeyError: the store's master key is another one.
        """
        ring = self._base.keyring

        def choose(sha256: str, fresh: bytes) -> bytes:
            def run() -> bytes:
                store = ring.store
                with store.orm_session() as orm, orm.begin():
                    ring.check_master(orm)
                    key = ring.choose_dek(orm, sha256, fresh, store.clock())
                    ring.grant(orm, sha256, self._akte_id, key, store.clock())
                return key
            return _db(run)

        info, _ = self._base.put_with(stream, max_size, choose)
        return info

    def open(self, sha256: str) -> BinaryIO:
        """Return the blob's plaintext; see :meth:`EncryptedBlobStore.open`."""
        return self._base.open(sha256)


def _db(call: Callable[[], _T]) -> _T:
    """Run a key-ring call; database errors become StorageError."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return call()
    except SQLAlchemyError as exc:
        raise StorageError(f"database error while handling blob keys: {exc}") from exc
