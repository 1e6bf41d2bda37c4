"""Principals (users, groups, organisational units) and store settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eakte.model.base import Base, bigid

__all__ = ["Principal", "Setting"]


class Principal(Base):
    """Someone or something that acts on the store; every audit event names one."""

    __tablename__ = "principals"

    id: Mapped[bigid]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="user")
    display_name: Mapped[str | None] = mapped_column(String(300))
    org_unit: Mapped[str | None] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class Setting(Base):
    """A store-wide setting (Aktenzeichen pattern, store id, …) as a key/value pair."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text())
