"""Key rows of encrypted stores: Akte keys, data-key wrappings, and one row per encrypted blob.

No row holds a usable key: Akte keys are wrapped by the master key (kept outside the
database), data keys by an Akte key. Deleting an Akte's key and its wrappings
(crypto-shredding at disposal) makes every copy of its blobs unreadable, except blobs that
another Akte files too, which stay readable through that Akte's wrapping.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from eakte.model.base import Base, BigId, sha256_hex

__all__ = ["AkteKey", "BlobKey", "EncryptedBlob"]


class AkteKey(Base):
    """An Akte's key (KEK), wrapped by the master key named ``master_key_id``.

    Created when the Akte's first encrypted content is committed; re-wrapped (never
    changed) by a master key rotation; deleted when the Akte is disposed.
    """

    __tablename__ = "akte_keys"

    akte_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("akten.id"), primary_key=True, autoincrement=False
    )
    master_key_id: Mapped[str] = mapped_column(String(64), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[datetime]


class BlobKey(Base):
    """A blob's data key (DEK) wrapped by the key of one Akte that files the blob.

    A blob filed into several Akten has one encrypted file and one data key, wrapped once
    per Akte. The wrapping is bound to the blob's address and the Akte id.
    """

    __tablename__ = "blob_keys"

    sha256: Mapped[sha256_hex] = mapped_column(primary_key=True)
    akte_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("akte_keys.akte_id"), primary_key=True, autoincrement=False,
        index=True,
    )
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[datetime]


class EncryptedBlob(Base):
    """One row per blob address ever written encrypted: which data key its file uses.

    ``key_check`` is a public fingerprint of the data key (see :func:`eakte.crypto.aead.key_check`).
    Writers lock this row while they choose the data key of new content, so concurrent
    writers of the same content agree on one key. Rows stay after the blob is deleted
    (they hold no secret; the SHA-256 is in the audit log's deletion record anyway).
    """

    __tablename__ = "encrypted_blobs"

    sha256: Mapped[sha256_hex] = mapped_column(primary_key=True)
    key_check: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
