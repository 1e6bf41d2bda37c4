"""The :class:`BlobStore` protocol and :class:`BlobInfo`, shared by every blob backend.

A blob is an immutable byte string addressed by its SHA-256 (64 lowercase hex characters).
Backends keep bytes only; which version refers to which blob lives in the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Protocol, cast, runtime_checkable

if TYPE_CHECKING:
    from sqlalchemy.orm import Session as OrmSession

    from eakte._commit import CommitPipeline
    from eakte.context import StoreContext

__all__ = [
    "BlobDraft",
    "BlobInfo",
    "BlobStore",
    "DraftingBlobStore",
    "attach_to_store",
    "innermost",
    "session_view",
]


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

    Optional members, which a Store uses when present (see :func:`attach_to_store` and
    :func:`session_view`): ``attach(store, sessions)``, called once by the Store that the
    blob store belongs to, and ``in_session(orm)``, the blob store as one ORM session sees
    it. A store without them is the same for every session, which is what plain stores are.
    A wrapper names the store it wraps in its ``inner`` attribute (see :func:`innermost`).
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


class BlobDraft(Protocol):
    """Bytes on their way into a blob store whose address is known only once all are written.

    A wrapper that keeps other bytes than it is given (an encrypting one) writes them to a
    draft and publishes the draft under the address of the bytes it was given. Nothing of a
    draft is visible under any address before :meth:`publish`.
    """

    def write(self, data: bytes) -> None:
        """Append ``data``.

        Raises:
            StorageError: the backend failed.
        """
        ...

    def close(self) -> None:
        """Finish writing; the draft can then be read back or published.

        Raises:
            StorageError: the backend failed.
        """
        ...

    def reader(self) -> BinaryIO:
        """Return the bytes written so far as a readable stream (closes the draft first).

        Raises:
            StorageError: the backend failed.
        """
        ...

    def publish(self, sha256: str, *, replace: bool = False) -> bool:
        """Make the draft the blob stored at ``sha256``, durably (as ``put`` would).

        An existing blob at the address is kept and the draft dropped, unless ``replace``;
        then the draft takes its place.

        Returns:
            True if the address was new.

        Raises:
            InvalidInput: ``sha256`` is not 64 lowercase hex characters.
            StorageError: the backend failed; the draft is dropped.
        """
        ...

    def discard(self) -> None:
        """Drop the draft; a no-op once it is published or dropped."""
        ...


@runtime_checkable
class DraftingBlobStore(BlobStore, Protocol):
    """A :class:`BlobStore` that can also store bytes under an address the caller names.

    This is what a wrapper such as :class:`~eakte.crypto.blobstore.EncryptingBlobStore`
    needs of the store it wraps.
    """

    def draft(self) -> BlobDraft:
        """Return a new, empty draft (see :class:`BlobDraft`).

        Raises:
            StorageError: the backend failed.
        """
        ...


def attach_to_store(blobs: BlobStore, store: StoreContext, pipeline: CommitPipeline) -> None:
    """Tell ``blobs`` which store it belongs to, if it wants to know (``attach``).

    Raises:
        ValueError: the blob store belongs to another store already.
    """
    attach = getattr(blobs, "attach", None)
    if callable(attach):
        attach(store, pipeline)


def session_view(blobs: BlobStore, orm: OrmSession) -> BlobStore:
    """Return ``blobs`` as seen from one ORM session: its ``in_session(orm)``, or itself."""
    in_session = getattr(blobs, "in_session", None)
    if callable(in_session):
        return cast(BlobStore, in_session(orm))
    return blobs


def innermost(blobs: BlobStore) -> BlobStore:
    """Return the store at the bottom of a chain of wrappers (each naming its ``inner``)."""
    while (inner := getattr(blobs, "inner", None)) is not None:
        blobs = cast(BlobStore, inner)
    return blobs
