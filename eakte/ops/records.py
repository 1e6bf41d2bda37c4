"""Akten: lookup, creation with the next Aktenzeichen, external ids, listing, changes, z.d.A."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from eakte._text_match import contains_text
from eakte._validate import check_meta, clean_text, lookup_id, lookup_key
from eakte.access import Permission
from eakte.aktenzeichen import validate_kennzeichen
from eakte.audit.events import Action
from eakte.errors import InvalidInput, NotFoundError, StateConflict
from eakte.model import Akte, AkteDisposal, AktenzeichenCounter, ExternalRef
from eakte.ops.plan import get_plan_unit
from eakte.types import AkteStatus, Confidentiality

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = [
    "close_akte",
    "create_akte",
    "external_ids",
    "find_akte",
    "get_akte",
    "list_akten",
    "reopen_akte",
    "update_akte",
]


def get_akte(uow: UnitOfWork, key: str | int) -> Akte:
    """Return an Akte by Aktenzeichen or numeric id.

    Raises:
        NotFoundError: no such Akte, or one the principal may not read.
    """
    if lookup_id(key):
        akte = uow.orm.get(Akte, key)
    elif not lookup_key(key):
        raise NotFoundError("Akte", key)
    else:
        akte = uow.orm.scalars(select(Akte).where(Akte.aktenzeichen == key.strip())).first()
    if akte is None:
        raise NotFoundError("Akte", key)
    uow.require(Permission.READ, akte, "read", hidden_as=("Akte", key))
    return akte


def _next_number(uow: UnitOfWork, unit_id: int, year: int) -> int:
    """Hand out the next running number for a unit and year, gap-free.

    The counter row is updated inside this transaction: concurrent creators wait on the
    row lock (PostgreSQL) or the write lock (SQLite), and a rollback returns the number.
    """
    dialect = uow.store.dialect
    values = {"unit_id": unit_id, "year": year, "last_number": 0}
    if dialect == "postgresql":
        stmt: Any = pg_insert(AktenzeichenCounter).values(values).on_conflict_do_nothing()
    else:
        stmt = sqlite_insert(AktenzeichenCounter).values(values).on_conflict_do_nothing()
    uow.orm.execute(stmt)
    number = uow.orm.execute(
        update(AktenzeichenCounter)
        .where(AktenzeichenCounter.unit_id == unit_id, AktenzeichenCounter.year == year)
        .values(last_number=AktenzeichenCounter.last_number + 1)
        .returning(AktenzeichenCounter.last_number)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return int(number)


def create_akte(
    uow: UnitOfWork,
    kennzeichen: str,
    title: str,
    *,
    org_unit: str | None = None,
    confidentiality: Confidentiality | str = Confidentiality.OPEN,
    external_ids: Iterable[tuple[str, str]] = (),
    metadata: dict[str, Any] | None = None,
    year: int | None = None,
) -> Akte:
    """Create an Akte under an Aktenplan unit with the next free Aktenzeichen.

    Args:
        kennzeichen: the Aktenplan unit.
        title: the Akte's title.
        org_unit: owning organisational unit.
        confidentiality: Vertraulichkeitsstufe.
        external_ids: ``(system, id)`` pairs under which Fachverfahren know the Akte.
        metadata: free-form JSON-compatible metadata.
        year: the year of the Aktenzeichen (default: the current year).

    Raises:
        NotFoundError: the Aktenplan unit does not exist.
        AccessDenied: the principal may not edit under that unit, or may not use the
            external ids of a system named in ``external_ids`` (whether or not the id
            is taken).
        InvalidInput: invalid title, confidentiality or metadata.
        StateConflict: an external id is already taken (said only to principals that
            hold its system).
    """
    uow.begin_write()
    unit = get_plan_unit(uow, validate_kennzeichen(kennzeichen))
    uow.require_unit(Permission.EDIT, unit.id, unit.kennzeichen, "create Akten")
    external_ids = list(external_ids)
    for system, _ in external_ids:
        uow.require_system(clean_text(system, "external system", max_len=100))
    title = clean_text(title, "title")
    if org_unit is not None:
        org_unit = clean_text(org_unit, "org unit", max_len=200)
    try:
        conf = Confidentiality(confidentiality)
    except ValueError as exc:
        raise InvalidInput(f"unknown confidentiality {confidentiality!r}") from exc
    meta = check_meta(metadata)
    now = uow.now()
    the_year = now.year if year is None else year
    if isinstance(the_year, bool) or not isinstance(the_year, int) or not (
        1900 <= the_year <= 9999
    ):
        raise InvalidInput(f"year must be between 1900 and 9999, not {year!r}")
    pattern = uow.store.aktenzeichen_pattern
    number = _next_number(uow, unit.id, the_year if pattern.per_year else 0)
    az = pattern.format(
        kennzeichen=unit.kennzeichen, number=number, year=the_year, org_unit=org_unit
    )
    akte = Akte(
        aktenzeichen=az,
        title=title,
        unit_id=unit.id,
        year=the_year,
        number=number,
        status=AkteStatus.OPEN.value,
        org_unit=org_unit,
        confidentiality=conf.value,
        meta=meta,
        created_at=now,
        created_by=uow.user,
    )
    uow.orm.add(akte)
    uow.flush()
    refs = [
        uow.add_external_ref(system, ext, "akte", akte.id) for system, ext in external_ids
    ]
    uow.record(
        Action.AKTE_CREATE, "akte", akte, aktenzeichen=az, title=title, unit=unit.kennzeichen,
        confidentiality=conf.value, org_unit=org_unit, external_ids=refs, metadata=meta,
    )
    return akte


def find_akte(uow: UnitOfWork, system: str, external_id: str) -> Akte:
    """Return the Akte an external system knows under ``external_id``.

    Raises:
        AccessDenied: the principal may not use the external ids of ``system``
            (whether or not the id exists).
        NotFoundError: no Akte has that external id (that the principal may read).
    """
    if not (lookup_key(system) and lookup_key(external_id)):
        raise NotFoundError("Akte", f"{system}:{external_id}")
    uow.require_system(system.strip())
    akte_id = uow.orm.scalar(
        select(ExternalRef.object_id).where(
            ExternalRef.system == system,
            ExternalRef.external_id == external_id,
            ExternalRef.object_type == "akte",
        )
    )
    if akte_id is None:
        raise NotFoundError("Akte", f"{system}:{external_id}")
    uow.require(Permission.READ, int(akte_id), "read",
                hidden_as=("Akte", f"{system}:{external_id}"))
    akte = uow.orm.get(Akte, int(akte_id))
    if akte is None:  # the reference outlived its Akte
        raise NotFoundError("Akte", f"{system}:{external_id}")
    return akte


def external_ids(uow: UnitOfWork, akte: Akte) -> list[str]:
    """Return the ``system:id`` keys under which external systems know ``akte``."""
    uow.require(Permission.READ, akte, "read")
    rows = uow.orm.execute(
        select(ExternalRef.system, ExternalRef.external_id)
        .where(ExternalRef.object_type == "akte", ExternalRef.object_id == akte.id)
        .order_by(ExternalRef.id)
    ).all()
    return [f"{s}:{e}" for s, e in rows]


def list_akten(uow: UnitOfWork, *, kennzeichen: str | None = None, query: str | None = None,
               status: AkteStatus | str | None = None) -> list[Akte]:
    """Return the Akten the principal may read, ordered by Aktenzeichen.

    Args:
        kennzeichen: only Akten of this Aktenplan unit.
        query: only Akten whose title, Aktenzeichen or an external id
            (``system:id``) contains this text, ignoring case; ``%`` and ``_`` are
            plain characters.
        status: only open or only closed (z.d.A.) Akten.

    Raises:
        NotFoundError: the Aktenplan unit does not exist.
        InvalidInput: an empty query or an unknown status.
    """
    stmt = select(Akte).where(uow.access.akte_filter()).order_by(Akte.aktenzeichen)
    if kennzeichen:
        stmt = stmt.where(Akte.unit_id == get_plan_unit(uow, kennzeichen).id)
    if status is not None:
        try:
            wanted = AkteStatus(status)
        except ValueError as exc:
            choices = ", ".join(s.value for s in AkteStatus)
            raise InvalidInput(f"unknown Akte status {status!r}; use {choices}") from exc
        stmt = stmt.where(Akte.status == wanted.value)
    if query is not None:
        text = clean_text(query, "query", max_len=500)
        external = select(ExternalRef.object_id).where(
            ExternalRef.object_type == "akte",
            contains_text(ExternalRef.system + ":" + ExternalRef.external_id, text))
        stmt = stmt.where(or_(contains_text(Akte.title, text),
                              contains_text(Akte.aktenzeichen, text),
                              Akte.id.in_(external)))
    return list(uow.orm.scalars(stmt))


def update_akte(uow: UnitOfWork, akte: Akte, *, title: str | None = None,
                metadata: dict[str, Any] | None = None) -> Akte:
    """Change an Akte's title or metadata (audited with old and new values).

    Raises:
        AccessDenied: the principal may not edit the Akte.
        InvalidInput: invalid title or metadata.
    """
    uow.begin_write()
    akte = uow.own(akte)
    uow.require(Permission.EDIT, akte, "change")
    uow.lock_akte(akte, exclusive=True)  # the old values audited below are current
    changes: dict[str, Any] = {}
    if title is not None:
        uow.change(akte, "title", clean_text(title, "title"), changes)
    if metadata is not None:
        uow.change(akte, "meta", check_meta(metadata), changes, name="metadata")
    if changes:
        uow.record(Action.AKTE_UPDATE, "akte", akte, aktenzeichen=akte.aktenzeichen, **changes)
    return akte


def close_akte(uow: UnitOfWork, akte: Akte) -> Akte:
    """Close an Akte (z.d.A.): it refuses new documents and versions until reopened.

    Raises:
        AccessDenied: the principal may not manage the Akte.
        StateConflict: the Akte is already closed.
    """
    uow.begin_write()
    akte = uow.own(akte)
    uow.require(Permission.MANAGE, akte, "close")
    akte = uow.lock_akte(akte, exclusive=True)
    if akte.status == AkteStatus.CLOSED:
        raise StateConflict(f"Akte {akte.aktenzeichen!r} is already closed (z.d.A.)")
    akte.status = AkteStatus.CLOSED.value
    akte.closed_at = uow.now()
    uow.record(Action.AKTE_CLOSE, "akte", akte, aktenzeichen=akte.aktenzeichen)
    return akte


def reopen_akte(uow: UnitOfWork, akte: Akte) -> Akte:
    """Reopen a closed Akte.

    Raises:
        AccessDenied: the principal may not manage the Akte.
        StateConflict: the Akte is open, or its Aussonderung has begun (offered or later).
    """
    uow.begin_write()
    akte = uow.own(akte)
    uow.require(Permission.MANAGE, akte, "reopen")
    akte = uow.lock_akte(akte, exclusive=True)
    if akte.status != AkteStatus.CLOSED:
        raise StateConflict(f"Akte {akte.aktenzeichen!r} is open; nothing to reopen")
    disposal = uow.orm.get(AkteDisposal, akte.id)
    if disposal is not None:
        raise StateConflict(
            f"Akte {akte.aktenzeichen!r} is in Aussonderung (state {disposal.state}) and "
            "cannot be reopened; set a legal hold to stop its disposal"
        )
    akte.status = AkteStatus.OPEN.value
    akte.closed_at = None
    uow.record(Action.AKTE_REOPEN, "akte", akte, aktenzeichen=akte.aktenzeichen)
    return akte

