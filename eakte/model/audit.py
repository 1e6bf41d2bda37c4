"""Audit events (append-only, hash-chained) and the chain head."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from eakte.model.base import Base, sha256_hex

__all__ = ["AuditEvent", "AuditHead"]


class AuditEvent(Base):
    """One entry of the audit log.

    ``canonical`` holds the exact bytes that were hashed; the other columns are a queryable
    copy that :func:`eakte.audit.verify_chain` checks against those bytes.
    ``hash`` is SHA-256 over the previous event's hash (32 bytes) followed by ``canonical``.
    """

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=False)
    time: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON())
    #: the Akte the event concerns (derived from the event; access filtering of the audit
    #: view and the change feed). ``None`` for store-wide events.
    akte_id: Mapped[int | None] = mapped_column(BigInteger(), index=True)
    canonical: Mapped[bytes] = mapped_column(LargeBinary())
    hash: Mapped[sha256_hex]


class AuditHead(Base):
    """The single row holding the newest sequence number and hash of the chain.

    Writers lock this row to append, which serialises appends across processes so
    concurrent writers can never fork the chain.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer(), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger())
    hash: Mapped[sha256_hex]
