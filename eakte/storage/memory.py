"""Keep blobs in a per-instance dictionary: the reference backend for tests and embedders."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO

from eakte.errors import NotFoundError
from eakte.storage.base import BlobInfo
from eakte.storage.local import CHUNK_SIZE, _check_max_size, _check_sha256, _too_large

__all__ = ["MemoryBlobStore", "MemoryDraft"]


class MemoryBlobStore:
    """A :class:`~eakte.storage.BlobStore` that lives in memory and is lost with the process.

    Example::

        blobs = MemoryBlobStore()
        info = blobs.put_bytes(b"hello")
        assert blobs.open(info.sha256).read() == b"hello"

    Each instance has its own blobs (there is no shared class-level state), and all methods
    are safe to call from several threads.
    """

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        with self._lock:
            count = len(self._blobs)
        return f"<{type(self).__name__} with {count} blobs>"

    def put(self, stream: BinaryIO, *, max_size: int | None = None) -> BlobInfo:
        """Store the bytes read from ``stream`` (from its current position to its end).

        Args:
            stream: a readable binary stream; read in chunks of ``CHUNK_SIZE`` bytes.
            max_size: refuse content longer than this many bytes.

        Returns:
            The address and size; ``created`` is False if the blob was already stored.

        Raises:
            UnsafeContent: the stream is longer than ``max_size``; nothing is stored.
        """
        _check_max_size(max_size)
        digest = hashlib.sha256()
        chunks: list[bytes] = []
        size = 0
        while chunk := stream.read(CHUNK_SIZE):
            size += len(chunk)
            if max_size is not None and size > max_size:
                raise _too_large(max_size)
            digest.update(chunk)
            chunks.append(bytes(chunk))
        sha256 = digest.hexdigest()
        with self._lock:
            created = sha256 not in self._blobs
            if created:
                self._blobs[sha256] = b"".join(chunks)
        return BlobInfo(sha256=sha256, size=size, created=created)

    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store ``data``; see :meth:`put`."""
        return self.put(io.BytesIO(data))

    def draft(self) -> MemoryDraft:
        """Return a new in-memory draft to publish under an address later (``BlobDraft``)."""
        return MemoryDraft(self._publish_draft)

    def _publish_draft(self, sha256: str, data: bytes, replace: bool) -> bool:
        """Store ``data`` at ``sha256``; see :meth:`MemoryDraft.publish`."""
        _check_sha256(sha256)
        with self._lock:
            created = sha256 not in self._blobs
            if created or replace:
                self._blobs[sha256] = data
        return created

    def open(self, sha256: str) -> BinaryIO:
        """Return a readable in-memory stream of the blob.

        Raises:
            NotFoundError: no such blob.
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
        """
        return io.BytesIO(self._get(sha256))

    def exists(self, sha256: str) -> bool:
        """Return True if the blob is stored.

        Raises:
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
        """
        _check_sha256(sha256)
        with self._lock:
            return sha256 in self._blobs

    def size(self, sha256: str) -> int:
        """Return the stored length of the blob in bytes.

        Raises:
            NotFoundError: no such blob.
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
        """
        return len(self._get(sha256))

    def delete(self, sha256: str) -> None:
        """Remove the blob if present; deleting a missing blob is not an error.

        Raises:
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
        """
        _check_sha256(sha256)
        with self._lock:
            self._blobs.pop(sha256, None)

    def __iter__(self) -> Iterator[str]:
        """Return an iterator over a snapshot of the stored addresses, in no particular order."""
        with self._lock:
            return iter(list(self._blobs))

    def _get(self, sha256: str) -> bytes:
        """Return the stored bytes or raise NotFoundError / InvalidInput."""
        _check_sha256(sha256)
        with self._lock:
            data = self._blobs.get(sha256)
        if data is None:
            raise NotFoundError(kind="Blob", key=sha256)
        return data


class MemoryDraft:
    """Bytes collected in memory: a ``BlobDraft`` of a :class:`MemoryBlobStore`."""

    def __init__(self, publish: Callable[[str, bytes, bool], bool]) -> None:
        self._chunks: list[bytes] | None = []
        self._data: bytes | None = None
        self._publish = publish

    def write(self, data: bytes) -> None:
        """Append ``data``."""
        if self._chunks is None:
            raise ValueError("the draft is closed")
        self._chunks.append(bytes(data))

    def close(self) -> None:
        """Finish writing."""
        if self._chunks is not None:
            self._data = b"".join(self._chunks)
            self._chunks = None

    def reader(self) -> BinaryIO:
        """Return the bytes written as a stream."""
        self.close()
        return io.BytesIO(self._data or b"")

    def publish(self, sha256: str, *, replace: bool = False) -> bool:
        """Store the bytes at ``sha256``; keep an existing blob unless ``replace``.

        Returns:
            True if the address was new.

        Raises:
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
        """
        self.close()
        data, self._data = self._data or b"", None
        return self._publish(sha256, data, replace)

    def discard(self) -> None:
        """Drop the bytes."""
        self._chunks = None
        self._data = None
