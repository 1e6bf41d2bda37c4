"""Akten (record files) and their references into external systems."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eakte.model.aktenplan import AktenplanUnit
from eakte.model.base import Base, BigId, bigid, json_dict, uuid_str

if TYPE_CHECKING:
    from eakte.model.vorgang import Vorgang

__all__ = ["Akte", "ExternalRef"]


class Akte(Base):
    """A record file under one Aktenplan unit, identified by its Aktenzeichen.

    ``retention_years`` overrides the unit's default when ``retention_override`` is set
    (``None`` with the override then means unlimited).
    """

    __tablename__ = "akten"

    id: Mapped[bigid]
    uuid: Mapped[uuid_str]
    aktenzeichen: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(1000))
    unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("aktenplan_units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer())
    number: Mapped[int] = mapped_column(Integer())
    status: Mapped[str] = mapped_column(String(20), default="open")
    org_unit: Mapped[str | None] = mapped_column(String(200))
    confidentiality: Mapped[str] = mapped_column(String(20), default="offen")
    retention_override: Mapped[bool] = mapped_column(default=False)
    retention_years: Mapped[int | None] = mapped_column(Integer())
    meta: Mapped[json_dict]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime | None]

    unit: Mapped[AktenplanUnit] = relationship()
    vorgaenge: Mapped[list[Vorgang]] = relationship(
        back_populates="akte", order_by="Vorgang.id", viewonly=True
    )


class ExternalRef(Base):
    """A key under which an external system (a Fachverfahren) knows an object."""

    __tablename__ = "external_refs"
    __table_args__ = (
        UniqueConstraint("system", "external_id", "object_type", name="uq_external_refs_key"),
    )

    id: Mapped[bigid]
    system: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(500))
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(BigId, index=True)
    created_at: Mapped[datetime]
