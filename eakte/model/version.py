"""Immutable versions of a document's content and their renditions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eakte.model.base import Base, BigId, bigid, sha256_hex, uuid_str

if TYPE_CHECKING:
    from eakte.model.document import Document

__all__ = ["Rendition", "Version"]


class Version(Base):
    """One immutable state of a document's content (its original rendition).

    Rows are insert-only: the ORM refuses UPDATE and DELETE, and database triggers do too.
    """

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("document_id", "number", name="uq_versions_number"),)

    id: Mapped[bigid]
    uuid: Mapped[uuid_str]
    document_id: Mapped[int] = mapped_column(BigId, ForeignKey("documents.id"))
    number: Mapped[int] = mapped_column(Integer())
    sha256: Mapped[sha256_hex] = mapped_column(index=True)
    size: Mapped[int] = mapped_column(BigInteger())
    mime: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(1000))
    comment: Mapped[str | None] = mapped_column(Text())
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))

    document: Mapped[Document] = relationship(back_populates="versions")
    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="version", order_by="Rendition.id", viewonly=True
    )


class Rendition(Base):
    """A further representation of a version's content, e.g. a PDF/A of a DOCX original."""

    __tablename__ = "renditions"
    __table_args__ = (UniqueConstraint("version_id", "kind", name="uq_renditions_kind"),)

    id: Mapped[bigid]
    version_id: Mapped[int] = mapped_column(BigId, ForeignKey("versions.id"))
    kind: Mapped[str] = mapped_column(String(50))
    sha256: Mapped[sha256_hex] = mapped_column(index=True)
    size: Mapped[int] = mapped_column(BigInteger())
    mime: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))

    version: Mapped[Version] = relationship(back_populates="renditions")
