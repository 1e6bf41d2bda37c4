"""Vorgänge: cases inside an Akte, nestable as Teilvorgänge."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eakte.model.base import Base, BigId, bigid, json_dict, uuid_str

if TYPE_CHECKING:
    from eakte.model.akte import Akte

__all__ = ["Vorgang"]


class Vorgang(Base):
    """A case inside an Akte; ``parent_id`` makes it a Teilvorgang of another Vorgang."""

    __tablename__ = "vorgaenge"

    id: Mapped[bigid]
    uuid: Mapped[uuid_str]
    akte_id: Mapped[int] = mapped_column(BigId, ForeignKey("akten.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("vorgaenge.id"))
    title: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), default="open")
    meta: Mapped[json_dict]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime | None]

    akte: Mapped[Akte] = relationship(back_populates="vorgaenge")
