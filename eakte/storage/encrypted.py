"""Encrypted blob stores (kept here for existing imports).

The code lives in :mod:`eakte.crypto.blobstore`.
"""

from __future__ import annotations

from eakte.crypto.blobstore import (
    AkteBlobs,
    EncryptedBlobStore,
    EncryptingBlobStore,
    SessionBlobs,
)

__all__ = ["AkteBlobs", "EncryptedBlobStore", "EncryptingBlobStore", "SessionBlobs"]
