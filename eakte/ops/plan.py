"""The Aktenplan: adding, looking up and listing its units."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from eakte._validate import clean_text, lookup_key
from eakte.access import Permission
from eakte.aktenzeichen import validate_kennzeichen
from eakte.audit.events import Action
from eakte.errors import InvalidInput, NotFoundError, StateConflict
from eakte.model import AktenplanUnit
from eakte.types import DisposalDecision

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = ["add_plan_unit", "get_plan_unit", "plan_units"]


def add_plan_unit(
    uow: UnitOfWork,
    kennzeichen: str,
    title: str,
    *,
    parent: str | None = None,
    retention_years: int | None = 10,
    disposal: DisposalDecision | str = DisposalDecision.APPRAISE,
) -> AktenplanUnit:
    """Add a unit to the Aktenplan.

    Args:
        kennzeichen: e.g. ``"630.10"``.
        title: e.g. ``"Baugenehmigungen"``.
        parent: Kennzeichen of the parent unit.
        retention_years: default Aufbewahrungsfrist; ``None`` means unlimited.
        disposal: default Aussonderungsart (A, V or B).

    Raises:
        AccessDenied: the principal is no administrator of the store (or of ``parent``).
        InvalidInput: invalid Kennzeichen, title, retention or disposal.
        NotFoundError: the parent does not exist.
        StateConflict: the Kennzeichen exists already.
    """
    uow.begin_write()
    parent_unit = get_plan_unit(uow, parent) if parent else None
    if parent_unit is None:
        uow.require_store(Permission.ADMINISTER, "add Aktenplan units")
    else:
        uow.require_unit(Permission.ADMINISTER, parent_unit.id, parent_unit.kennzeichen,
                         "add Aktenplan units")
    kz = validate_kennzeichen(kennzeichen)
    title = clean_text(title, "title", max_len=500)
    try:
        decision = DisposalDecision(disposal)
    except ValueError as exc:
        raise InvalidInput(f"disposal must be A, V or B, not {disposal!r}") from exc
    if retention_years is not None and (
        isinstance(retention_years, bool)
        or not isinstance(retention_years, int)
        or not 0 <= retention_years <= 1000
    ):
        raise InvalidInput(f"retention_years must be 0..1000 or None, not {retention_years!r}")
    if uow.orm.scalar(select(AktenplanUnit.id).where(AktenplanUnit.kennzeichen == kz)):
        raise StateConflict(f"Aktenplan unit {kz!r} exists already")
    unit = AktenplanUnit(
        kennzeichen=kz,
        title=title,
        parent_id=parent_unit.id if parent_unit else None,
        retention_years=retention_years,
        disposal=decision.value,
        created_at=uow.now(),
        created_by=uow.user,
    )
    uow.orm.add(unit)
    uow.record(
        Action.PLAN_CREATE, "aktenplan_unit", unit, kennzeichen=kz, title=title,
        parent=parent_unit.kennzeichen if parent_unit else None,
        retention_years=retention_years, disposal=decision.value,
    )
    return unit


def get_plan_unit(uow: UnitOfWork, kennzeichen: str) -> AktenplanUnit:
    """Return the Aktenplan unit with this Kennzeichen.

    Raises:
        NotFoundError: no such unit.
    """
    if not lookup_key(kennzeichen):
        raise NotFoundError("Aktenplan unit", kennzeichen)
    unit = uow.orm.scalars(
        select(AktenplanUnit).where(AktenplanUnit.kennzeichen == kennzeichen.strip())
    ).first()
    if unit is None:
        raise NotFoundError("Aktenplan unit", kennzeichen)
    return unit


def plan_units(uow: UnitOfWork) -> list[AktenplanUnit]:
    """Return the whole Aktenplan ordered by Kennzeichen."""
    return list(uow.orm.scalars(select(AktenplanUnit).order_by(AktenplanUnit.kennzeichen)))

