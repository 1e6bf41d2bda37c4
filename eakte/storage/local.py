"""Keep blobs as read-only files in a content-addressed folder on the local file system.

Layout: ``root/<sha[:2]>/<sha[2:]>`` for finished blobs and ``root/tmp/`` for writes in
progress. A blob only ever appears under its final name through one atomic ``os.replace``
(hard link, or ``os.replace`` as fallback) of a fully written and fsynced temporary file,
so readers never see partial content and no writer replaces another's blob.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from eakte.errors import InvalidInput, NotFoundError, StorageError, UnsafeContent
from eakte.storage.base import BlobInfo

__all__ = ["LocalBlobStore", "LocalDraft"]

CHUNK_SIZE: Final = 1024 * 1024
"""How many bytes ``put`` reads from its stream at a time."""

_SHA256: Final = re.compile(r"[0-9a-f]{64}")
_FANOUT: Final = re.compile(r"[0-9a-f]{2}")
_REST: Final = re.compile(r"[0-9a-f]{62}")
_READ_ONLY: Final = 0o444
_WRITABLE: Final = 0o644
_TEMP_DIR: Final = "tmp"


def _check_sha256(value: str) -> str:
    """Return ``value`` if it is a blob address, else raise.

    Shared by every built-in backend; it runs before any path or key is built.

    Raises:
        InvalidInput: ``value`` is not exactly 64 lowercase hex characters.
    """
    if not isinstance(value, str) or _SHA256.fullmatch(value) is None:
        raise InvalidInput(
            f"malformed blob address {value!r:.80}: expected a SHA-256 as 64 lowercase hex "
            "characters"
        )
    return value


def _check_max_size(max_size: int | None) -> None:
    """Reject a negative size limit (programmer misuse, hence ValueError)."""
    if max_size is not None and max_size < 0:
        raise ValueError(f"max_size must be None or >= 0, not {max_size}")


def _too_large(max_size: int) -> UnsafeContent:
    """Return the error for a stream longer than ``max_size`` bytes."""
    return UnsafeContent(
        f"content is larger than the limit of {max_size} bytes; nothing was stored"
    )


@contextlib.contextmanager
def _storage_errors(message: str) -> Iterator[None]:
    """Re-raise any ``OSError`` inside the block as :class:`StorageError` with ``message``."""
    try:
        yield
    except OSError as exc:
        raise StorageError(f"{message}: {exc.strerror or exc}") from exc


def _fsync_dir(path: Path) -> None:
    """Flush a directory's entries to disk (a no-op on Windows, which cannot open folders)."""
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    """Flush one file's content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs(path: Path) -> bool:
    """Flush the whole file system holding ``path`` with one ``syncfs`` call (Linux).

    Returns:
        False where ``syncfs`` is not available; the caller then fsyncs file by file.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)
    return True


def _remove(path: Path) -> bool:
    """Make ``path`` writable and unlink it; return False if it was already gone."""
    try:
        os.chmod(path, _WRITABLE)
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``, looping over short writes."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class LocalBlobStore:
    """A :class:`~eakte.storage.BlobStore` in a folder, one read-only file per blob.

    Example::

        blobs = LocalBlobStore("/srv/eakte/blobs")
        info = blobs.put_bytes(b"%PDF-1.7 ...")
        with blobs.open(info.sha256) as f:
            data = f.read()

    ``put`` never overwrites: if a file already sits at the final address it is kept as is,
    even if it was damaged on disk. Such corruption is found by ``eakte verify``, which
    re-hashes stored blobs, not by ``put``.

    Args:
        root: the folder to keep blobs in; it and ``root/tmp`` are created if missing.
        fsync: flush files and folders to disk before ``put`` returns. Only switch this off
            for throw-away stores (tests, benchmarks): a crash may then lose acknowledged blobs.

    Raises:
        StorageError: the folders cannot be created.
    """

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self._root: Final = Path(root).absolute()
        self._tmp: Final = self._root / _TEMP_DIR
        self._fsync: Final = fsync
        self._local = threading.local()  # per-thread pending puts of an open batch()
        with _storage_errors(f"cannot create blob folder {self._tmp}"):
            self._tmp.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self._root)!r})"

    @property
    def root(self) -> Path:
        """The absolute folder holding the blobs."""
        return self._root

    def path_for(self, sha256: str) -> Path:
        """Return the final file path of a blob, whether it exists or not.

        Args:
            sha256: the blob address.

        Returns:
            ``root/<sha256[:2]>/<sha256[2:]>``.

        Raises:
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
        """
        sha256 = _check_sha256(sha256)
        return self._root / sha256[:2] / sha256[2:]

    def put(self, stream: BinaryIO, *, max_size: int | None = None) -> BlobInfo:
        """Store the bytes read from ``stream`` (from its current position to its end).

        Args:
            stream: a readable binary stream; read in chunks of ``CHUNK_SIZE`` bytes.
            max_size: refuse content longer than this many bytes.

        Returns:
            The address and size; ``created`` is False if the blob was already stored.

        Raises:
            UnsafeContent: the stream is longer than ``max_size``; nothing is stored.
            StorageError: the file system failed; nothing is stored under the address.
        """
        _check_max_size(max_size)
        with _storage_errors(f"cannot create a temporary file in {self._tmp}"):
            fd, name = tempfile.mkstemp(prefix="put-", suffix=".tmp", dir=self._tmp)
        temp = Path(name)
        try:
            pending: dict[str, Path] | None = getattr(self._local, "pending", None)
            try:
                sha256, size = self._fill(fd, temp, stream, max_size,
                                          sync=self._fsync and pending is None)
            finally:
                with _storage_errors(f"cannot close temporary file {temp}"):
                    os.close(fd)
            final = self.path_for(sha256)
            with _storage_errors(f"cannot check for blob file {final}"):
                if final.exists() or (pending is not None and sha256 in pending):
                    os.unlink(temp)
                    return BlobInfo(sha256=sha256, size=size, created=False)
            if pending is not None:  # published when the batch ends
                pending[sha256] = temp
                return BlobInfo(sha256=sha256, size=size, created=True)
            created = self._commit(temp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                _remove(temp)
            raise
        return BlobInfo(sha256=sha256, size=size, created=created)

    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store ``data``; see :meth:`put`.

        Raises:
            StorageError: the file system failed.
        """
        return self.put(io.BytesIO(data))

    def draft(self) -> LocalDraft:
        """Return a new temporary file to publish under an address later (see ``BlobDraft``).

        Drafts take part in :meth:`batch` like puts do.

        Raises:
            StorageError: the temporary file cannot be created.
        """
        with _storage_errors(f"cannot create a temporary file in {self._tmp}"):
            fd, name = tempfile.mkstemp(prefix="put-", suffix=".tmp", dir=self._tmp)
        return LocalDraft(fd, Path(name), self._publish_draft)

    def _publish_draft(self, temp: Path, sha256: str, replace: bool) -> bool:
        """Put a finished draft file at ``sha256``; see :meth:`LocalDraft.publish`."""
        try:
            final = self.path_for(sha256)
            pending: dict[str, Path] | None = getattr(self._local, "pending", None)
            if pending is not None and sha256 in pending:
                _remove(temp)
                return False
            with _storage_errors(f"cannot check for blob file {final}"):
                present = final.exists()
            if present and not replace:
                _remove(temp)
                return False
            if present or pending is None:  # into place right now: make it durable first
                if self._fsync:
                    with _storage_errors(f"cannot flush temporary file {temp}"):
                        _fsync_file(temp)
            if present:
                with _storage_errors(f"cannot replace blob file {final}"):
                    os.replace(temp, final)
                    if self._fsync:
                        _fsync_dir(final.parent)
                return False
            if pending is not None:  # published when the batch ends
                pending[sha256] = temp
                return True
            return self._commit(temp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                _remove(temp)
            raise

    def open(self, sha256: str) -> BinaryIO:
        """Return the blob as a binary file opened for reading; the caller closes it.

        Raises:
            NotFoundError: no such blob.
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
            StorageError: the file exists but cannot be opened.
        """
        path = self.path_for(sha256)
        try:
            return path.open("rb")
        except FileNotFoundError as exc:
            raise NotFoundError(kind="Blob", key=sha256) from exc
        except OSError as exc:
            raise StorageError(f"cannot open blob file {path}: {exc.strerror or exc}") from exc

    def exists(self, sha256: str) -> bool:
        """Return True if the blob is stored.

        Raises:
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
            StorageError: the file system cannot tell (e.g. permissions).
        """
        path = self.path_for(sha256)
        with _storage_errors(f"cannot check for blob file {path}"):
            return path.is_file()

    def size(self, sha256: str) -> int:
        """Return the stored length of the blob in bytes.

        Raises:
            NotFoundError: no such blob.
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
            StorageError: the file cannot be examined.
        """
        path = self.path_for(sha256)
        try:
            return path.stat().st_size
        except FileNotFoundError as exc:
            raise NotFoundError(kind="Blob", key=sha256) from exc
        except OSError as exc:
            raise StorageError(f"cannot stat blob file {path}: {exc.strerror or exc}") from exc

    def delete(self, sha256: str) -> None:
        """Remove the blob if present; deleting a missing blob is not an error.

        Raises:
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
            StorageError: the file cannot be removed.
        """
        path = self.path_for(sha256)
        with _storage_errors(f"cannot delete blob file {path}"):
            if _remove(path) and self._fsync:
                _fsync_dir(path.parent)

    def __iter__(self) -> Iterator[str]:
        """Yield the address of every stored blob, in no particular order.

        Anything that is not a blob (``tmp/``, stray files, wrong names) is skipped.

        Raises:
            StorageError: a folder cannot be listed.
        """
        with (
            _storage_errors(f"cannot list blob folder {self._root}"),
            os.scandir(self._root) as entries,
        ):
            prefixes = [
                e.name
                for e in entries
                if _FANOUT.fullmatch(e.name) and e.is_dir(follow_symlinks=False)
            ]
        for prefix in prefixes:
            folder = self._root / prefix
            with (
                _storage_errors(f"cannot list blob folder {folder}"),
                os.scandir(folder) as entries,
            ):
                names = [
                    e.name
                    for e in entries
                    if _REST.fullmatch(e.name) and e.is_file(follow_symlinks=False)
                ]
            for name in names:
                yield prefix + name

    def cleanup_temp(self, older_than_seconds: float = 3600) -> int:
        """Remove temporary files left behind by writes that crashed.

        Only files not modified for ``older_than_seconds`` are removed, so writes still in
        progress (which keep touching their file) survive with the default of one hour.

        Args:
            older_than_seconds: minimum age, by modification time, of a file to remove.

        Returns:
            How many files were removed.

        Raises:
            StorageError: the temporary folder cannot be listed or a file cannot be removed.
        """
        cutoff = time.time() - older_than_seconds
        removed = 0
        with _storage_errors(f"cannot clean temporary folder {self._tmp}"):
            with os.scandir(self._tmp) as entries:
                stale = [
                    Path(e.path)
                    for e in entries
                    if e.is_file(follow_symlinks=False)
                    and e.stat(follow_symlinks=False).st_mtime < cutoff
                ]
            for path in stale:
                if _remove(path):
                    removed += 1
        return removed

    def _fill(self, fd: int, temp: Path, stream: BinaryIO, max_size: int | None, *,
              sync: bool) -> tuple[str, int]:
        """Copy ``stream`` into the open temp file, hashing; make it read-only and durable."""
        digest = hashlib.sha256()
        size = 0
        while chunk := stream.read(CHUNK_SIZE):
            size += len(chunk)
            if max_size is not None and size > max_size:
                raise _too_large(max_size)
            digest.update(chunk)
            with _storage_errors(f"cannot write temporary file {temp}"):
                _write_all(fd, chunk)
        with _storage_errors(f"cannot flush temporary file {temp}"):
            os.chmod(temp, _READ_ONLY)
            if sync:
                os.fsync(fd)
        return digest.hexdigest(), size

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Make the puts of this thread inside the block durable together, at its end.

        Inside the block ``put`` writes and hashes each blob but publishes none; on a
        normal exit all contents are flushed to disk at once (one ``syncfs`` on Linux,
        else one fsync per file), then linked under their addresses, then the folders are
        flushed. A blob therefore never appears under its address before its bytes are
        durable, and callers commit database rows only after the block. On an exception
        nothing is published and the temporary files are removed.

        Raises:
            StorageError: the file system failed; nothing of the batch is published.
        """
        if getattr(self._local, "pending", None) is not None:
            yield  # nested: the outer batch publishes
            return
        pending: dict[str, Path] = {}
        self._local.pending = pending
        try:
            yield
        except BaseException:
            self._local.pending = None
            for temp in pending.values():
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            raise
        self._local.pending = None
        self._publish(pending)

    def _publish(self, pending: dict[str, Path]) -> None:
        """Flush, link and flush again the temp files of a finished batch."""
        try:
            if self._fsync:
                with _storage_errors("cannot flush new blobs to disk"):
                    if not _syncfs(self._root):
                        for temp in pending.values():
                            _fsync_file(temp)
            folders: set[Path] = set()
            new_folder = False
            for sha256, temp in pending.items():
                final = self.path_for(sha256)
                with _storage_errors(f"cannot move blob into place at {final}"):
                    try:
                        final.parent.mkdir()
                        new_folder = True
                    except FileExistsError:
                        pass
                    try:
                        os.link(temp, final)
                    except FileExistsError:
                        pass
                    except OSError:
                        os.replace(temp, final)
                folders.add(final.parent)
            if self._fsync:
                with _storage_errors("cannot flush blob folders to disk"):
                    if not _syncfs(self._root):
                        for folder in folders:
                            _fsync_dir(folder)
                        if new_folder:
                            _fsync_dir(self._root)
        finally:
            for temp in pending.values():
                with contextlib.suppress(OSError):
                    os.unlink(temp)

    def _commit(self, temp: Path, final: Path) -> bool:
        """Move a finished temp file to its final address and flush the folder entries.

        A hard link creates the final name only if it is absent, so two writers racing on
        the same content can never replace each other's file; where the file system has no
        hard links, ``os.replace`` of identical bytes is the fallback.

        Returns:
            False if another writer stored the same blob first.
        """
        folder = final.parent
        with _storage_errors(f"cannot create blob folder {folder}"):
            try:
                folder.mkdir()
                new_folder = True
            except FileExistsError:
                new_folder = False
        with _storage_errors(f"cannot move blob into place at {final}"):
            try:
                os.link(temp, final)
            except FileExistsError:
                os.unlink(temp)  # not _remove: chmod would reach the shared inode
                return False
            except OSError:  # no hard links here (some network or FAT file systems)
                os.replace(temp, final)
            else:
                os.unlink(temp)
        if self._fsync:
            with _storage_errors(f"cannot flush blob folder {folder} to disk"):
                _fsync_dir(folder)
                if new_folder:
                    _fsync_dir(self._root)
        return True


class LocalDraft:
    """A temporary file in the blob folder's ``tmp/``: a ``BlobDraft`` of a local store."""

    def __init__(self, fd: int, path: Path,
                 publish: Callable[[Path, str, bool], bool]) -> None:
        self._fd: int | None = fd
        self._path = path
        self._publish = publish
        self._done = False

    def write(self, data: bytes) -> None:
        """Append ``data`` to the file.

        Raises:
            StorageError: the write failed.
        """
        if self._fd is None:
            raise ValueError("the draft is closed")
        with _storage_errors(f"cannot write temporary file {self._path}"):
            _write_all(self._fd, data)

    def close(self) -> None:
        """Close the file and make it read-only (as every blob file is).

        Raises:
            StorageError: the file cannot be closed.
        """
        fd, self._fd = self._fd, None
        if fd is not None:
            with _storage_errors(f"cannot close temporary file {self._path}"):
                try:
                    os.chmod(self._path, _READ_ONLY)
                finally:
                    os.close(fd)

    def reader(self) -> BinaryIO:
        """Return the file's bytes for reading.

        Raises:
            StorageError: the file cannot be opened.
        """
        self.close()
        with _storage_errors(f"cannot read temporary file {self._path}"):
            return self._path.open("rb")

    def publish(self, sha256: str, *, replace: bool = False) -> bool:
        """Link the file under ``sha256`` (at the end of an open batch, if one is open).

        Returns:
            True if the address was new.

        Raises:
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
            StorageError: the file system failed; the draft is removed.
        """
        self.close()
        self._done = True
        return self._publish(self._path, sha256, replace)

    def discard(self) -> None:
        """Remove the file, unless it was published."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if not self._done:
            self._done = True
            with contextlib.suppress(OSError):
                _remove(self._path)
