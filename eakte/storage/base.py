"""The :class:`BlobStore` protocol and :class:`BlobInfo`, shared by every blob backend.

A blob is an immutable byte string addressed by its SHA-256 (64 lowercase hex characters).
Backends keep bytes only; which version refers to which blob lives in the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

__all__ = ["BlobInfo", "BlobStore"]


@dataclass(frozen=True)
class BlobInfo:
    """What a store knows after writing a blob.

    Attributes:
        sha256: the content address (64 lowercase hex characters).
        size: length in bytes.
        created: True if these bytes were new to the store, False if deduplicated.
    """

    sha256: str
    size: int
    created: bool


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed, immutable byte storage.

    Contract (RFC 2119 words):

    - ``put`` MUST compute the SHA-256 of exactly the bytes read from the stream, and MUST make
      the blob durable (on a local disk: fsync of file and directory) before returning.
    - ``put`` SHALL be idempotent for identical content and MUST NOT overwrite an existing blob.
    - A reader MUST never observe a partially written blob under its final address.
    - ``open`` MUST raise :class:`~eakte.errors.NotFoundError` (kind ``"Blob"``) for an
      unknown address and :class:`~eakte.errors.InvalidInput` for a malformed one.
    - Backend exceptions MUST be wrapped in :class:`~eakte.errors.StorageError`.
    - ``delete`` is for disposal and orphan collection only; it MUST be idempotent.
    """

    def put(self, stream: BinaryIO, *, max_size: int | None = None) -> BlobInfo:
        """Store the bytes read from ``stream`` and return their address.

        Raises:
            UnsafeContent: the stream is longer than ``max_size``; nothing is stored.
            StorageError: the backend failed.
        """
        ...

    def open(self, sha256: str) -> BinaryIO:
        """Return a readable binary stream of the blob.

        Raises:
            NotFoundError: no such blob.
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
        """
        ...

    def exists(self, sha256: str) -> bool:
        """Return True if the blob is stored."""
        ...

    def size(self, sha256: str) -> int:
        """Return the stored length of the blob in bytes.

        Raises:
            NotFoundError: no such blob.
        """
        ...

    def delete(self, sha256: str) -> None:
        """Remove the blob if present (disposal, orphan collection)."""
        ...

    def __iter__(self) -> Iterator[str]:
        """Yield the address of every stored blob, in no particular order."""
        ...
