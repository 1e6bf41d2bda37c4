"""Search bookkeeping: the index outbox and the recorded outcome of text extraction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from eakte.model.base import Base, BigId, bigid

__all__ = ["SearchOutbox", "TextExtraction"]


class SearchOutbox(Base):
    """A document whose index entry must be refreshed, written with the change itself.

    The indexer drains these rows after commit; a crash leaves them to be replayed, and
    replaying is harmless because indexing a document replaces its entry. Ids are never
    reused (``AUTOINCREMENT`` on SQLite, a sequence on PostgreSQL): an indexer deletes the
    rows it read by id, which must never hit a row written after it read them.
    """

    __tablename__ = "search_outbox"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[bigid]
    document_id: Mapped[int] = mapped_column(BigId, index=True)
    created_at: Mapped[datetime]


class TextExtraction(Base):
    """How text extraction went for one version: ok, needs OCR, unsupported or failed."""

    __tablename__ = "text_extractions"

    version_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("versions.id"), primary_key=True, autoincrement=False
    )
    status: Mapped[str] = mapped_column(String(20))
    chars: Mapped[int] = mapped_column(Integer())
    problems: Mapped[list[Any]] = mapped_column(JSON(), default=list)
    extracted_at: Mapped[datetime]
