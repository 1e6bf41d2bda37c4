"""Vorgänge of an Akte: creation, lookup, listing, z.d.A. and reopening."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from eakte._validate import check_meta, clean_text, lookup_id
from eakte.access import Permission
from eakte.audit.events import Action
from eakte.errors import InvalidInput, NotFoundError, StateConflict
from eakte.model import Akte, Vorgang
from eakte.ops.records import get_akte
from eakte.types import AkteStatus

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = [
    "close_vorgang",
    "create_vorgang",
    "find_vorgang",
    "get_vorgang",
    "reopen_vorgang",
    "vorgaenge",
]


def create_vorgang(
    uow: UnitOfWork,
    akte: Akte,
    title: str,
    *,
    parent: Vorgang | None = None,
    metadata: dict[str, Any] | None = None,
) -> Vorgang:
    """Create a Vorgang in ``akte`` (a Teilvorgang when ``parent`` is given).

    Raises:
        AccessDenied: the principal may not edit the Akte.
        StateConflict: the Akte or the parent Vorgang is closed.
        InvalidInput: invalid title, or ``parent`` belongs to another Akte.
    """
    uow.begin_write()
    akte = uow.own(akte)
    uow.require(Permission.EDIT, akte, "create Vorgänge")
    parent = uow.own(parent) if parent is not None else None
    uow.require_open(akte, parent.id if parent is not None else None)
    title = clean_text(title, "title")
    if parent is not None and parent.akte_id != akte.id:
        raise InvalidInput("a Teilvorgang must be in the same Akte as its parent Vorgang")
    vorgang = Vorgang(
        akte_id=akte.id,
        parent_id=parent.id if parent else None,
        title=title,
        status=AkteStatus.OPEN.value,
        meta=check_meta(metadata),
        created_at=uow.now(),
        created_by=uow.user,
    )
    uow.orm.add(vorgang)
    uow.record(Action.VORGANG_CREATE, "vorgang", vorgang, akte=akte, title=title,
               aktenzeichen=akte.aktenzeichen, parent=parent)
    return vorgang


def get_vorgang(uow: UnitOfWork, vorgang_id: int) -> Vorgang:
    """Return a Vorgang by id.

    Raises:
        NotFoundError: no such Vorgang (that the principal may read).
    """
    vorgang = uow.orm.get(Vorgang, vorgang_id) if lookup_id(vorgang_id) else None
    if vorgang is None:
        raise NotFoundError("Vorgang", vorgang_id)
    uow.require(Permission.READ, vorgang.akte_id, "read", object_type="vorgang",
                target=vorgang_id, hidden_as=("Vorgang", vorgang_id))
    return vorgang


def find_vorgang(uow: UnitOfWork, akte: Akte, title: str) -> Vorgang | None:
    """Return the first Vorgang of ``akte`` with exactly this title, if any."""
    uow.require(Permission.READ, akte, "read")
    return uow.orm.scalars(
        select(Vorgang).where(Vorgang.akte_id == akte.id, Vorgang.title == title.strip())
        .order_by(Vorgang.id)
    ).first()


def vorgaenge(uow: UnitOfWork, akte: Akte) -> list[Vorgang]:
    """Return the Vorgänge of an Akte in creation order."""
    uow.require(Permission.READ, akte, "read")
    return list(uow.orm.scalars(
        select(Vorgang).where(Vorgang.akte_id == akte.id).order_by(Vorgang.id)))


def _locked_for_status(uow: UnitOfWork, vorgang: Vorgang) -> tuple[Vorgang, Akte]:
    """Check the right to close or reopen, lock the Akte and reload the Vorgang's status."""
    vorgang = uow.own(vorgang)
    uow.require(Permission.EDIT, vorgang.akte_id, "close or reopen Vorgänge",
                object_type="vorgang", target=vorgang.id,
                hidden_as=("Vorgang", vorgang.id))
    akte = uow.lock_akte(get_akte(uow, vorgang.akte_id), exclusive=True)
    uow.flush()  # refresh must not discard this session's pending changes
    uow.orm.refresh(vorgang)
    return vorgang, akte


def close_vorgang(uow: UnitOfWork, vorgang: Vorgang) -> Vorgang:
    """Close a Vorgang (z.d.A.): it and its Teilvorgänge refuse new documents.

    Raises:
        StateConflict: the Vorgang is closed already, or its Akte was disposed.
    """
    uow.begin_write()
    vorgang, akte = _locked_for_status(uow, vorgang)
    if uow.is_disposed(akte):
        raise StateConflict(f"Akte {akte.aktenzeichen!r} was disposed; nothing can change")
    if vorgang.status == AkteStatus.CLOSED:
        raise StateConflict(f"Vorgang {vorgang.id} {vorgang.title!r} is already closed "
                            "(z.d.A.)")
    vorgang.status = AkteStatus.CLOSED.value
    vorgang.closed_at = uow.now()
    uow.record(Action.VORGANG_CLOSE, "vorgang", vorgang, akte=akte,
               aktenzeichen=akte.aktenzeichen, title=vorgang.title)
    return vorgang


def reopen_vorgang(uow: UnitOfWork, vorgang: Vorgang) -> Vorgang:
    """Reopen a closed Vorgang.

    Raises:
        StateConflict: the Vorgang is open, its Akte or its parent Vorgang is closed.
    """
    uow.begin_write()
    vorgang, akte = _locked_for_status(uow, vorgang)
    if vorgang.status != AkteStatus.CLOSED:
        raise StateConflict(f"Vorgang {vorgang.id} {vorgang.title!r} is open; nothing to "
                            "reopen")
    if akte.status == AkteStatus.CLOSED:
        raise StateConflict(f"Akte {akte.aktenzeichen!r} is closed (z.d.A.); reopen the "
                            "Akte before its Vorgänge")
    if vorgang.parent_id is not None:
        parent = uow.orm.get(Vorgang, vorgang.parent_id, populate_existing=True)
        if parent is not None and parent.status == AkteStatus.CLOSED:
            raise StateConflict(f"the parent Vorgang {parent.id} {parent.title!r} is "
                                "closed; reopen it first")
    vorgang.status = AkteStatus.OPEN.value
    vorgang.closed_at = None
    uow.record(Action.VORGANG_REOPEN, "vorgang", vorgang, akte=akte,
               aktenzeichen=akte.aktenzeichen, title=vorgang.title)
    return vorgang

