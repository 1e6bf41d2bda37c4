"""Signed checkpoints of the audit log (insert-only, like the events they cover)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eakte.model.base import Base, sha256_hex

__all__ = ["AuditCheckpoint"]


class AuditCheckpoint(Base):
    """A signed statement about the first ``seq`` events of the audit log.

    ``text`` is the signed checkpoint exactly as exported (``eakte-checkpoint v1``); the
    other columns repeat its fields for queries and are checked against it. The signing key
    is not here, only its public half.

    ``event_hashes`` holds the chain hashes of events ``base_seq + 1`` … ``seq`` (32 raw bytes
    each), where ``base_seq`` is the previous checkpoint: the blocks of all checkpoints tile
    the log, and the signed Merkle root authenticates them, so ``verify`` can name the first
    event that differs after the log was rewritten. ``frontier`` holds the roots of the
    perfect subtrees of the tree over events 1 … ``seq``, so the next checkpoint continues
    from here instead of hashing the whole log again.
    """

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=False)
    head_hash: Mapped[sha256_hex]
    merkle_root: Mapped[sha256_hex]
    time: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text())
    base_seq: Mapped[int] = mapped_column(BigInteger())
    event_hashes: Mapped[bytes] = mapped_column(LargeBinary())
    frontier: Mapped[bytes] = mapped_column(LargeBinary())
