"""Documents: the filed items of an Akte or Vorgang, each with immutable versions."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eakte.model.base import Base, BigId, bigid, json_dict, uuid_str

if TYPE_CHECKING:
    from eakte.model.version import Version

__all__ = ["Document"]


class Document(Base):
    """A document filed in an Akte (optionally in a Vorgang).

    ``version_count`` is the number of the newest version; it is the per-document counter
    that hands out version numbers, so adding version 1,000 costs the same as version 2.
    ``parent_document_id`` marks an Anlage (attachment) of another document.
    """

    __tablename__ = "documents"

    id: Mapped[bigid]
    uuid: Mapped[uuid_str]
    akte_id: Mapped[int] = mapped_column(BigId, ForeignKey("akten.id"), index=True)
    vorgang_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("vorgaenge.id"), index=True)
    parent_document_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("documents.id"))
    title: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(20), default="internal")
    document_date: Mapped[date | None] = mapped_column(Date())
    meta: Mapped[json_dict]
    version_count: Mapped[int] = mapped_column(Integer(), default=0)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]

    versions: Mapped[list[Version]] = relationship(
        back_populates="document", order_by="Version.number", viewonly=True
    )
