"""Retention periods and legal holds of Akten."""

from __future__ import annotations

from datetime import UTC, date
from typing import TYPE_CHECKING

from sqlalchemy import select

from eakte._disposal import add_years
from eakte._validate import clean_text
from eakte.access import Permission
from eakte.audit.events import Action
from eakte.errors import InvalidInput, NotFoundError, StateConflict
from eakte.model import Akte, AkteDisposal, AktenplanUnit, LegalHold

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = [
    "active_holds",
    "holds",
    "lock_for_lifecycle",
    "plan_unit_of",
    "release_hold",
    "retention_until",
    "retention_years",
    "set_hold",
    "set_retention",
]


#: An Akte locked for a lifecycle step, its disposal row and its active legal holds.
LifecycleContext = tuple[Akte, AkteDisposal | None, list[LegalHold]]


def plan_unit_of(uow: UnitOfWork, akte: Akte) -> AktenplanUnit:
    """Return the Aktenplan unit the Akte is filed under."""
    unit = uow.orm.get(AktenplanUnit, akte.unit_id)
    assert unit is not None  # foreign key
    return unit


def retention_years(uow: UnitOfWork, akte: Akte) -> int | None:
    """Return the Akte's retention period in years (``None``: unlimited).

    It is the Akte's own value when one was set with :meth:`set_retention`, else the
    default of its Aktenplan unit.
    """
    akte = uow.own(akte)
    uow.require(Permission.READ, akte, "read")
    return akte.retention_years if akte.retention_override else (
        plan_unit_of(uow, akte).retention_years)


def retention_until(uow: UnitOfWork, akte: Akte) -> date | None:
    """Return the day the retention period expires: closing day (UTC) plus the years.

    ``None`` while the Akte is open or when its retention is unlimited. It is computed,
    never stored, so that changing the retention or reopening cannot leave it stale.
    """
    akte = uow.own(akte)
    years = retention_years(uow, akte)
    if akte.closed_at is None or years is None:
        return None
    return add_years(akte.closed_at.astimezone(UTC).date(), years)


def set_retention(uow: UnitOfWork, akte: Akte, years: int | None) -> Akte:
    """Give the Akte its own retention period, overriding its Aktenplan unit's default.

    Args:
        akte: the Akte.
        years: years after closing (0–1000); ``None`` means unlimited.

    Raises:
        InvalidInput: ``years`` is not a whole number 0–1000 or None.
        StateConflict: the Akte's Aussonderung has begun (offered or later).
    """
    uow.begin_write()
    if years is not None and (isinstance(years, bool) or not isinstance(years, int)
                              or not 0 <= years <= 1000):
        raise InvalidInput(f"retention years must be 0..1000 or None, not {years!r}")
    akte, disposal, _ = lock_for_lifecycle(uow, akte)
    if disposal is not None:
        raise StateConflict(
            f"cannot change the retention of Akte {akte.aktenzeichen!r}: its Aussonderung "
            f"has begun (state {disposal.state})")
    old = retention_years(uow, akte)
    old_override = akte.retention_override
    akte.retention_override = True
    akte.retention_years = years
    uow.record(Action.AKTE_RETENTION, "akte", akte, aktenzeichen=akte.aktenzeichen,
               old={"years": old, "override": old_override},
               new={"years": years, "override": True},
               retention_until=retention_until(uow, akte))
    return akte


def active_holds(uow: UnitOfWork, akte: Akte) -> list[LegalHold]:
    """Return the Akte's legal holds in force, reloaded from the database."""
    uow.flush()  # populate_existing must not overwrite pending changes
    return list(uow.orm.scalars(
        select(LegalHold)
        .where(LegalHold.akte_id == akte.id, LegalHold.released_at.is_(None))
        .order_by(LegalHold.id)
        .execution_options(populate_existing=True)))


def lock_for_lifecycle(uow: UnitOfWork, akte: Akte) -> LifecycleContext:
    """Lock the Akte and read its current disposal row and active holds."""
    own = uow.own(akte)
    uow.require(Permission.MANAGE, own, "manage retention, holds or Aussonderung")
    own = uow.lock_akte(own, exclusive=True)
    uow.flush()  # populate_existing must not overwrite pending changes
    disposal = uow.orm.get(AkteDisposal, own.id, populate_existing=True)
    return own, disposal, active_holds(uow, own)


def set_hold(uow: UnitOfWork, akte: Akte, reason: str) -> LegalHold:
    """Put a legal hold on an Akte: it blocks offering, export, transfer and destruction.

    Raises:
        InvalidInput: the reason is empty or too long.
        StateConflict: the Akte was disposed already.
    """
    uow.begin_write()
    reason = clean_text(reason, "hold reason", max_len=2000)
    akte, disposal, _ = lock_for_lifecycle(uow, akte)
    if disposal is not None and disposal.disposed:
        raise StateConflict(f"Akte {akte.aktenzeichen!r} was disposed ({disposal.state}); "
                            "there is no content left to hold")
    hold = LegalHold(akte_id=akte.id, reason=reason, set_by=uow.user, set_at=uow.now())
    uow.orm.add(hold)
    uow.flush()
    uow.record(Action.HOLD_SET, "akte", akte, aktenzeichen=akte.aktenzeichen, hold=hold.id,
               reason=reason)
    return hold


def release_hold(uow: UnitOfWork, akte: Akte, reason: str | None = None, *,
                 hold: LegalHold | int | None = None) -> list[LegalHold]:
    """Release the Akte's active legal holds (or only ``hold``).

    Raises:
        InvalidInput: the reason is empty or too long.
        NotFoundError: ``hold`` is no active hold of this Akte.
        StateConflict: the Akte has no active legal hold.
    """
    uow.begin_write()
    text = clean_text(reason, "release reason", max_len=2000) if reason is not None else None
    akte, _, active = lock_for_lifecycle(uow, akte)
    if not active:
        raise StateConflict(f"Akte {akte.aktenzeichen!r} has no active legal hold")
    if hold is not None:
        wanted = hold if isinstance(hold, int) else hold.id
        active = [h for h in active if h.id == wanted]
        if not active:
            raise NotFoundError("legal hold", wanted,
                                f"Akte {akte.aktenzeichen!r} has no active legal hold "
                                f"{wanted}")
    now = uow.now()
    for item in active:
        item.released_at = now
        item.released_by = uow.user
        item.release_reason = text
        uow.record(Action.HOLD_RELEASE, "akte", akte, aktenzeichen=akte.aktenzeichen,
                   hold=item.id, reason=text, hold_reason=item.reason)
    return active


def holds(uow: UnitOfWork, akte: Akte) -> list[LegalHold]:
    """Return every legal hold of the Akte, active and released, oldest first."""
    akte = uow.own(akte)
    uow.require(Permission.READ, akte, "read")
    return list(uow.orm.scalars(
        select(LegalHold).where(LegalHold.akte_id == akte.id).order_by(LegalHold.id)))

