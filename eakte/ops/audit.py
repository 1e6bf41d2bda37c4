"""Reading the audit log, within what the principal may audit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, select, true

from eakte.access import Permission
from eakte.model import Akte, AuditEvent

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = ["audit_count", "audit_events"]


def audit_events(
    uow: UnitOfWork, *, since: int = 0, limit: int | None = None,
    object_type: str | None = None, object_id: str | None = None,
) -> Iterator[AuditEvent]:
    """Yield committed audit events with a sequence number above ``since``.

    Auditors and administrators of the whole store see every event; those holding the
    auditor role on Aktenplan units or Akten see the events concerning those Akten.

    Raises:
        AccessDenied: the principal may audit nothing.
    """
    stmt = select(AuditEvent).where(AuditEvent.seq > since).order_by(AuditEvent.seq)
    stmt = stmt.where(_audit_scope(uow))
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if limit:
        stmt = stmt.limit(limit)
    yield from uow.orm.scalars(stmt.execution_options(yield_per=1000))


def audit_count(uow: UnitOfWork) -> int:
    """Return the number of committed audit events the principal may see.

    Raises:
        AccessDenied: the principal may audit nothing.
    """
    return int(uow.orm.scalar(
        select(func.count()).select_from(AuditEvent).where(_audit_scope(uow))) or 0)


def _audit_scope(uow: UnitOfWork) -> ColumnElement[bool]:
    """Return the SQL condition selecting the audit events the principal may see."""
    if uow.access.on_store(Permission.AUDIT):
        return true()
    audited = select(Akte.id).where(uow.access.akte_filter(Permission.AUDIT))
    if not uow.orm.scalar(select(func.count()).select_from(audited.subquery())):
        uow.require_store(Permission.AUDIT, "read the audit log")
    return AuditEvent.akte_id.in_(audited)

