"""Durable change-feed cursors, one per adapter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from eakte.model.base import Base

__all__ = ["AdapterCursor"]


class AdapterCursor(Base):
    """How far an adapter has followed the change feed (an audit sequence number)."""

    __tablename__ = "adapter_cursors"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger(), default=0)
    updated_at: Mapped[datetime]
