"""Principals (users, groups, organisational units), external systems and store settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eakte.model.base import Base, BigId, bigid

__all__ = ["ExternalSystem", "Grant", "Membership", "Principal", "Setting"]


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
    #: the highest confidentiality level this principal may see (``offen`` or ``vs-nfd``).
    clearance: Mapped[str] = mapped_column(String(20), default="offen", server_default="offen")
    created_at: Mapped[datetime]


class Membership(Base):
    """A principal belonging to a group or an organisational unit (also a principal)."""

    __tablename__ = "memberships"

    member_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("principals.id"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("principals.id"), primary_key=True, index=True
    )
    created_at: Mapped[datetime]


class Grant(Base):
    """A role given to a principal on the store (``target_id`` 0), a unit, an Akte or a system.

    Grants are inherited downwards: unit → sub-units → Akten → Vorgänge → documents. A grant
    on an external system (``target_type`` ``"system"``, ``target_id`` an
    :class:`ExternalSystem`) lets the principal use that system's external ids.
    """

    __tablename__ = "grants"
    __table_args__ = (
        UniqueConstraint("principal_id", "role", "target_type", "target_id",
                         name="uq_grants_key"),
    )

    id: Mapped[bigid]
    principal_id: Mapped[int] = mapped_column(BigId, ForeignKey("principals.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    target_type: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class ExternalSystem(Base):
    """An external system (a Fachverfahren) whose ids principals may be granted to use.

    A row exists once a grant has named the system; it only gives grants a target.
    """

    __tablename__ = "external_systems"

    id: Mapped[bigid]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]


class Setting(Base):
    """A store-wide setting (Aktenzeichen pattern, store id, …) as a key/value pair."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text())
