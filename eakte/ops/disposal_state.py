"""Where Akten stand on their way to Aussonderung: one Akte's status, and the Akten due."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, exists, or_, select

from eakte._disposal import DisposalStatus, DueAkte, add_years
from eakte.access import Permission
from eakte.errors import InvalidInput
from eakte.model import Akte, AkteDisposal, AktenplanUnit, LegalHold
from eakte.model.lifecycle import FINAL_DISPOSAL_STATES
from eakte.ops.retention import active_holds, plan_unit_of
from eakte.types import AkteStatus, DisposalDecision, DisposalState

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = ["as_of_day", "disposal_due", "disposal_status", "status_of"]


def as_of_day(uow: UnitOfWork, as_of: date | None) -> date:
    """Return the day (UTC) a status is computed for: ``as_of``, or today.

    Raises:
        InvalidInput: ``as_of`` is not a date.
    """
    if as_of is None:
        return uow.now().astimezone(UTC).date()
    if isinstance(as_of, datetime):
        return as_of.astimezone(UTC).date() if as_of.tzinfo else as_of.date()
    if not isinstance(as_of, date):
        raise InvalidInput(f"as_of must be a date, not {type(as_of).__name__}")
    return as_of


def status_of(uow: UnitOfWork, akte: Akte, disposal: AkteDisposal | None, holds: list[LegalHold],
              today: date) -> DisposalStatus:
    """Return the Akte's status from its disposal row and active holds, as of ``today``."""
    unit = plan_unit_of(uow, akte)
    years = akte.retention_years if akte.retention_override else unit.retention_years
    until = (add_years(akte.closed_at.astimezone(UTC).date(), years)
             if akte.closed_at is not None and years is not None else None)
    if disposal is not None:
        state = DisposalState(disposal.state)
    elif akte.status != AkteStatus.CLOSED:
        state = DisposalState.OPEN
    elif until is None or today < until:
        state = DisposalState.RETAINED
    else:
        state = DisposalState.DUE
    decision = disposal.decision if disposal is not None else None
    return DisposalStatus(
        akte_id=akte.id, aktenzeichen=akte.aktenzeichen, state=state,
        closed_at=akte.closed_at, retention_years=years,
        retention_override=akte.retention_override, retention_until=until,
        default_decision=DisposalDecision(unit.disposal),
        decision=DisposalDecision(decision) if decision else None,
        decision_source=disposal.decision_source if disposal is not None else None,
        active_holds=tuple(holds), disposal=disposal,
    )


def disposal_status(uow: UnitOfWork, akte: Akte, *, as_of: date | None = None) -> DisposalStatus:
    """Return where the Akte stands on its way to Aussonderung (as of today by default).

    Raises:
        InvalidInput: ``as_of`` is not a date.
    """
    today = as_of_day(uow, as_of)
    akte = uow.own(akte)
    uow.require(Permission.READ, akte, "read")
    uow.flush()  # populate_existing must not overwrite pending changes
    disposal = uow.orm.get(AkteDisposal, akte.id, populate_existing=True)
    return status_of(uow, akte, disposal, active_holds(uow, akte), today)


def disposal_due(uow: UnitOfWork, as_of: date | None = None) -> list[DueAkte]:
    """Return the Akten due for disposal, ordered by Aktenzeichen.

    Due are closed Akten whose retention period expired on or before ``as_of`` (default:
    today, UTC), that carry no active legal hold and are not disposed yet; Akten whose
    Aussonderung is under way are included with their state. Unlimited retention is
    never due.

    Raises:
        InvalidInput: ``as_of`` is not a date.
    """
    today = as_of_day(uow, as_of)
    held = exists().where(LegalHold.akte_id == Akte.id, LegalHold.released_at.is_(None))
    closed_before: ColumnElement[bool] = Akte.closed_at.is_not(None)
    if today < date.max:  # retention is never negative: later closings cannot be due
        closed_before = Akte.closed_at < datetime.combine(
            today + timedelta(days=1), time(0), tzinfo=UTC)
    stmt = (
        select(Akte, AktenplanUnit, AkteDisposal)
        .join(AktenplanUnit, AktenplanUnit.id == Akte.unit_id)
        .outerjoin(AkteDisposal, AkteDisposal.akte_id == Akte.id)
        .where(Akte.status == AkteStatus.CLOSED.value, closed_before, ~held,
               uow.access.akte_filter(),
               or_(AkteDisposal.state.is_(None),
                   AkteDisposal.state.not_in(FINAL_DISPOSAL_STATES)))
        .order_by(Akte.aktenzeichen)
    )
    due: list[DueAkte] = []
    for akte, unit, disposal in uow.orm.execute(stmt):
        years = akte.retention_years if akte.retention_override else unit.retention_years
        if years is None or akte.closed_at is None:
            continue
        until = add_years(akte.closed_at.astimezone(UTC).date(), years)
        if until > today:
            continue
        due.append(DueAkte(
            id=akte.id, uuid=akte.uuid, aktenzeichen=akte.aktenzeichen, title=akte.title,
            kennzeichen=unit.kennzeichen, closed_at=akte.closed_at, retention_years=years,
            due_since=until, decision=DisposalDecision(unit.disposal),
            state=DisposalState(disposal.state) if disposal else DisposalState.DUE,
            appraised=(DisposalDecision(disposal.decision)
                       if disposal is not None and disposal.decision else None),
        ))
    return due
