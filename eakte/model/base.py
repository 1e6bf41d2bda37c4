"""Declarative base, shared column types and the immutability guard for all models."""

from __future__ import annotations

import uuid as uuid_module
from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, mapped_column

__all__ = [
    "Base",
    "BigId",
    "UTCDateTime",
    "bigid",
    "json_dict",
    "new_uuid",
    "sha256_hex",
    "utc_ts",
    "uuid_str",
]

#: Integer primary keys: BIGINT on PostgreSQL, the rowid alias INTEGER on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned timezone-aware (UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and normalise to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; eakte stores timezone-aware UTC timestamps")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_uuid() -> str:
    """Return a random UUID as a string (stable identity for exchange formats)."""
    return str(uuid_module.uuid4())


bigid = Annotated[int, mapped_column(BigId, primary_key=True, autoincrement=True)]
utc_ts = Annotated[datetime, mapped_column(UTCDateTime())]
sha256_hex = Annotated[str, mapped_column(String(64))]
uuid_str = Annotated[str, mapped_column(String(36), unique=True, default=new_uuid)]
json_dict = Annotated[dict[str, Any], mapped_column(JSON(), default=dict)]


class Base(DeclarativeBase):
    """Declarative base of every eakte table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012
