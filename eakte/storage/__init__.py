"""Blob storage: the :class:`BlobStore` protocol and the built-in backends.

A blob is an immutable byte string addressed by its SHA-256 (64 lowercase hex characters).
Backends keep bytes only; which version refers to which blob lives in the database.
"""

from __future__ import annotations

from eakte.storage.base import BlobDraft, BlobInfo, BlobStore, DraftingBlobStore
from eakte.storage.encrypted import EncryptedBlobStore, EncryptingBlobStore
from eakte.storage.local import LocalBlobStore
from eakte.storage.memory import MemoryBlobStore

__all__ = [
    "BlobDraft",
    "BlobInfo",
    "BlobStore",
    "DraftingBlobStore",
    "EncryptedBlobStore",
    "EncryptingBlobStore",
    "LocalBlobStore",
    "MemoryBlobStore",
]
