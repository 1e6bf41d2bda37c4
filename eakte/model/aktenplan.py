"""Aktenplan units (the file plan) and the running-number counters behind Aktenzeichen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eakte.model.base import Base, BigId, bigid, uuid_str

__all__ = ["AktenplanUnit", "AktenzeichenCounter"]


class AktenplanUnit(Base):
    """One unit of the Aktenplan, e.g. ``630.10 Baugenehmigungen``.

    ``retention_years`` is the default Aufbewahrungsfrist in years after closing; ``None``
    means unlimited. ``disposal`` is the default Aussonderungsart (A, V or B).
    """

    __tablename__ = "aktenplan_units"

    id: Mapped[bigid]
    uuid: Mapped[uuid_str]
    kennzeichen: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("aktenplan_units.id"))
    retention_years: Mapped[int | None] = mapped_column(Integer())
    disposal: Mapped[str] = mapped_column(String(1), default="B")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))

    parent: Mapped[AktenplanUnit | None] = relationship(remote_side="AktenplanUnit.id")


class AktenzeichenCounter(Base):
    """The last running number handed out per Aktenplan unit and year (gap-free)."""

    __tablename__ = "aktenzeichen_counters"

    unit_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("aktenplan_units.id"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer(), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger(), default=0)
