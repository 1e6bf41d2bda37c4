"""Keep blobs encrypted (AES-256-GCM, segmented) in a content-addressed local folder.

Layout and durability are those of :class:`~eakte.storage.LocalBlobStore` (the same fan-out
folders, temp files, fsync and link helpers), but every file holds the blob encrypted in
the format of :mod:`eakte.crypto` under a random data key. Addresses stay the SHA-256 of
the *plaintext*, computed while the content streams through the cipher into the temporary
file: no plaintext ever touches the blob folder, not even in temporary files.

Data keys live in the store's database, wrapped per Akte (see :mod:`eakte._keyring`), so
``put`` needs to know where the content goes:

- inside a session, ``store.session_blobs(orm)`` (:meth:`EncryptedBlobStore.in_session`)
  stages each blob's data key in the session; the commit wraps it for every Akte whose
  versions or renditions refer to the blob, atomically with those rows;
- outside sessions, :meth:`EncryptedBlobStore.for_akte` wraps the key for one Akte and
  commits it before the file is linked under its address.

Reads (``open``) need no Akte: any wrapping of the blob whose Akte key still exists opens it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final, TypeVar

from eakte.crypto import (
    SEGMENT_SHIFT,
    DecryptingReader,
    StreamEncryptor,
    decrypts_with,
    new_key,
    plaintext_size,
)
from eakte.errors import (
    IntegrityError,
    InvalidInput,
    MasterKeyError,
    NotFoundError,
    Problem,
    StorageError,
)
from eakte.masterkey import MasterKey, resolve_master_key
from eakte.storage.base import BlobInfo
from eakte.storage.local import (
    _READ_ONLY,
    CHUNK_SIZE,
    LocalBlobStore,
    _check_max_size,
    _fsync_dir,
    _fsync_file,
    _remove,
    _storage_errors,
    _too_large,
    _write_all,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.orm import Session as OrmSession

    from eakte._keyring import KeyRing

__all__ = ["AkteBlobs", "EncryptedBlobStore", "SessionBlobs"]

_T = TypeVar("_T")


class EncryptedBlobStore(LocalBlobStore):
    """A :class:`~eakte.storage.BlobStore` in a folder whose files are encrypted.

    Create it with the master key and hand it to a Store; the Store binds it to its
    database, where the wrapped keys live::

        blobs = EncryptedBlobStore("/srv/eakte/blobs", master_key="/etc/eakte/master.key")
        store = eakte.open("postgresql+psycopg://db/eakte", blobs=blobs)

    Folder stores do this themselves when created with ``eakte.init(..., encrypt=True)``.
    ``open``, ``exists``, ``size`` (of the plaintext), ``delete`` and iteration work as on
    a plain folder; ``put`` goes through :meth:`in_session` or :meth:`for_akte`.

    Args:
        root: the blob folder.
        master_key: the master key file or provider (see :mod:`eakte.masterkey`); None
            means ``$EAKTE_MASTER_KEY_FILE``.
        fsync: as for :class:`~eakte.storage.LocalBlobStore`.
        segment_shift: log2 of the plaintext bytes per segment (16: 64 KiB).

    Raises:
        MasterKeyError: no master key is given or configured.
        StorageError: the folders cannot be created.
    """

    def __init__(self, root: str | os.PathLike[str], *, master_key: MasterKey | None = None,
                 fsync: bool = True, segment_shift: int = SEGMENT_SHIFT) -> None:
        from eakte._keyring import KeyRing

        provider = resolve_master_key(master_key)
        if provider is None:
            raise MasterKeyError(
                "an encrypted blob store needs its master key: pass master_key= or set "
                "EAKTE_MASTER_KEY_FILE")
        super().__init__(root, fsync=fsync)
        self._shift: Final = segment_shift
        #: The key ring holding the wrapped keys (bound to a Store when it opens).
        self.keyring: Final[KeyRing] = KeyRing(provider)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    # -- views for writing ---------------------------------------------------------------

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

    # -- reading -------------------------------------------------------------------------

    def open(self, sha256: str) -> BinaryIO:
        """Return the blob's plaintext as a stream that decrypts and checks as it reads.

        Raises:
            NotFoundError: no such blob.
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
            IntegrityError: no stored key opens the blob (crypto-shredded or key rows
                damaged), or, while reading, the file was altered.
            MasterKeyError: the key rows are wrapped by another master key.
            StorageError: the file or the database cannot be read.
        """
        path = self.path_for(sha256)
        with self.keyring.store.read_connection() as conn:
            key = self.keyring.find_dek(conn, sha256)
        return self._open_with(path, sha256, key)

    def _open_with(self, path: Path, sha256: str, key: bytes | None) -> BinaryIO:
        try:
            raw = path.open("rb")
        except FileNotFoundError as exc:
            raise NotFoundError(kind="Blob", key=sha256) from exc
        except OSError as exc:
            raise StorageError(f"cannot open blob file {path}: {exc.strerror or exc}") from exc
        if key is None:
            raw.close()
            raise IntegrityError(
                f"blob {sha256} cannot be decrypted: no Akte holds a key for it (every Akte "
                "that filed it was disposed, or its key rows were removed)",
                [Problem("blob.key_missing", f"blob {sha256}",
                         "no stored key opens this blob")])
        return io.BufferedReader(DecryptingReader(raw, key, sha256), buffer_size=CHUNK_SIZE)

    def size(self, sha256: str) -> int:
        """Return the plaintext length of the blob, computed from the file's length.

        Raises:
            NotFoundError: no such blob.
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
            StorageError: the file cannot be examined.
        """
        stored = super().size(sha256)
        try:
            return plaintext_size(stored, segment_shift=self._shift)
        except ValueError as exc:
            raise IntegrityError(f"blob {sha256} is damaged: {exc}",
                                 [Problem("blob.corrupt", f"blob {sha256}", str(exc))]) from exc

    # -- writing -------------------------------------------------------------------------

    def _encrypt_to_temp(self, stream: BinaryIO, key: bytes, max_size: int | None, *,
                         sync: bool) -> tuple[Path, str, int]:
        """Stream ``stream`` through the cipher into a new temp file; hash the plaintext.

        Returns:
            the temp file (read-only, flushed if ``sync``), the SHA-256 and the size.
        """
        _check_max_size(max_size)
        with _storage_errors(f"cannot create a temporary file in {self._tmp}"):
            fd, name = tempfile.mkstemp(prefix="put-", suffix=".tmp", dir=self._tmp)
        temp = Path(name)
        try:
            try:
                encryptor = StreamEncryptor(key, segment_shift=self._shift)
                digest = hashlib.sha256()
                size = 0
                with _storage_errors(f"cannot write temporary file {temp}"):
                    _write_all(fd, encryptor.header)
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise _too_large(max_size)
                    digest.update(chunk)
                    with _storage_errors(f"cannot write temporary file {temp}"):
                        for segment in encryptor.update(chunk):
                            _write_all(fd, segment)
                sha256 = digest.hexdigest()
                with _storage_errors(f"cannot write temporary file {temp}"):
                    _write_all(fd, encryptor.finalize(sha256, size))
                    os.chmod(temp, _READ_ONLY)
                    if sync:
                        os.fsync(fd)
            finally:
                with _storage_errors(f"cannot close temporary file {temp}"):
                    os.close(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                _remove(temp)
            raise
        return temp, sha256, size

    def _rekey(self, temp: Path, old: bytes, new: bytes, sha256: str, *, sync: bool) -> Path:
        """Re-encrypt a finished temp file under another key; return the new temp file."""
        with self._open_with(temp, sha256, old) as plain:
            fresh, digest, _ = self._encrypt_to_temp(plain, new, None, sync=sync)
        with contextlib.suppress(OSError):
            _remove(temp)
        if digest != sha256:  # cannot happen: the final segment authenticated the address
            with contextlib.suppress(OSError):
                _remove(fresh)
            raise StorageError(f"re-encrypting blob {sha256} produced other content")
        return fresh

    def _place(self, temp: Path, temp_key: bytes, sha256: str, key: bytes) -> bool:
        """Put a finished temp file (under ``temp_key``) at ``sha256``, encrypted with ``key``.

        Returns:
            True if the address was new; False if a file usable with ``key`` was there, or
            a file that no stored key opens was replaced (then, as for any reused address,
            the committing session checks that no disposal deleted it meanwhile).
        """
        pending: dict[str, Path] | None = getattr(self._local, "pending", None)
        final = self.path_for(sha256)
        try:
            if pending is not None and sha256 in pending:
                _remove(temp)
                return False
            present = self._usable(final, key, sha256)
            if present is True:
                _remove(temp)
                return False
            immediate = present is not None or pending is None  # into place right now
            if key != temp_key:
                temp = self._rekey(temp, temp_key, key, sha256, sync=self._fsync and immediate)
            elif self._fsync and immediate and pending is not None:
                with _storage_errors(f"cannot flush temporary file {temp}"):
                    _fsync_file(temp)
            if present is not None:  # a leftover that no stored key opens: replace it
                with _storage_errors(f"cannot replace blob file {final}"):
                    os.replace(temp, final)
                    if self._fsync:
                        _fsync_dir(final.parent)
                return False
            if pending is not None:  # linked when the batch ends
                pending[sha256] = temp
                return True
            return self._commit(temp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                _remove(temp)
            raise

    @staticmethod
    def _usable(final: Path, key: bytes, sha256: str) -> bool | None:
        """Tell whether a file is at ``final`` (None: no) and whether ``key`` opens it."""
        try:
            raw = final.open("rb")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read blob file {final}: {exc.strerror or exc}") from exc
        return decrypts_with(raw, key, sha256)

    def _put(self, stream: BinaryIO, max_size: int | None,
             choose: Callable[[str, bytes], bytes]) -> tuple[BlobInfo, bytes]:
        """Encrypt, let ``choose(sha256, fresh_key)`` pick the stored key, and place."""
        pending = getattr(self._local, "pending", None)
        fresh = new_key()
        temp, sha256, size = self._encrypt_to_temp(stream, fresh, max_size,
                                                   sync=self._fsync and pending is None)
        try:
            key = choose(sha256, fresh)
        except BaseException:
            with contextlib.suppress(OSError):
                _remove(temp)
            raise
        created = self._place(temp, fresh, sha256, key)
        return BlobInfo(sha256=sha256, size=size, created=created), key


class SessionBlobs:
    """The encrypted store as one ORM session sees it: a :class:`~eakte.storage.BlobStore`.

    ``put`` reserves the blob's data key in the session's transaction and stages it; the
    session's commit wraps it for each Akte whose versions or renditions refer to the blob
    (nothing is wrapped for content that no row uses). ``open`` also finds blobs put
    earlier in the same, uncommitted transaction.
    """

    def __init__(self, base: EncryptedBlobStore, orm: OrmSession) -> None:
        self._base = base
        self._orm = orm

    def put(self, stream: BinaryIO, *, max_size: int | None = None) -> BlobInfo:
        """Store the bytes read from ``stream``; see :meth:`LocalBlobStore.put`.

        Raises:
            UnsafeContent: the stream is longer than ``max_size``; nothing is stored.
            StorageError: the file system or the database failed.
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

        info, key = self._base._put(stream, max_size, choose)
        staged[info.sha256] = key
        return info

    def open(self, sha256: str) -> BinaryIO:
        """Return the blob's plaintext; see :meth:`EncryptedBlobStore.open`."""
        path = self._base.path_for(sha256)
        key = self._base.keyring.staged(self._orm).get(sha256)
        if key is None:
            key = _db(lambda: self._base.keyring.find_dek(self._orm, sha256))
        return self._base._open_with(path, sha256, key)

    def exists(self, sha256: str) -> bool:
        """Return True if the blob's file is stored."""
        return self._base.exists(sha256)

    def size(self, sha256: str) -> int:
        """Return the plaintext length of the blob."""
        return self._base.size(sha256)

    def delete(self, sha256: str) -> None:
        """Remove the blob's file if present."""
        self._base.delete(sha256)

    def __iter__(self) -> Iterator[str]:
        """Yield the address of every stored blob."""
        return iter(self._base)


class AkteBlobs(SessionBlobs):
    """A view whose puts wrap the data key for one Akte, outside any session.

    Each put commits the key rows in a short transaction of its own and only then links
    the file under its address. Use it for tools and tests; inside a session use
    :meth:`EncryptedBlobStore.in_session` (on SQLite a second transaction would wait for
    the session's write lock).
    """

    def __init__(self, base: EncryptedBlobStore, akte_id: int) -> None:
        self._base = base
        self._akte_id = akte_id

    def put(self, stream: BinaryIO, *, max_size: int | None = None) -> BlobInfo:
        """Store the bytes read from ``stream``, wrapping their key for the view's Akte.

        Raises:
            UnsafeContent: the stream is longer than ``max_size``; nothing is stored.
            StorageError: the file system or the database failed.
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

        info, _ = self._base._put(stream, max_size, choose)
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
