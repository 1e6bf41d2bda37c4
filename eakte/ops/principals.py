"""Principals: users, groups and organisational units and their memberships."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select

from eakte._validate import clean_text
from eakte.access import Permission
from eakte.audit.events import Action
from eakte.errors import InvalidInput, NotFoundError, StateConflict
from eakte.model import Membership, Principal
from eakte.types import Confidentiality, PrincipalKind

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = [
    "STORE_TARGET",
    "add_group",
    "add_member",
    "add_user",
    "find_principal",
    "principals",
    "set_clearance",
]

#: What ``grant``/``revoke`` accept as the target meaning "the whole store" (so no
#: principal may be named so).
STORE_TARGET = "*"


def find_principal(uow: UnitOfWork, name: str) -> Principal:
    """Return the principal called ``name``.

    Raises:
        NotFoundError: there is none.
    """
    found = uow.orm.scalars(select(Principal).where(Principal.name == name.strip())).first()
    if found is None:
        raise NotFoundError("Principal", name)
    return found


def _add_principal(uow: UnitOfWork, name: str, kind: PrincipalKind, *, display_name: str | None,
                   is_admin: bool = False, clearance: str = "offen") -> Principal:
    name = clean_text(name, f"{kind.value} name", max_len=200)
    if name == STORE_TARGET or (kind == PrincipalKind.USER
                                and any(ch.isspace() for ch in name)):
        raise InvalidInput(f"{name!r} is not a valid {kind.value} name "
                           "(not '*'; user names without spaces)")
    if display_name is not None:
        display_name = clean_text(display_name, "display name", max_len=300)
    try:
        level = Confidentiality(clearance).value
    except ValueError as exc:
        raise InvalidInput(f"unknown clearance {clearance!r}; use offen or vs-nfd") from exc
    if uow.orm.scalar(select(Principal.id).where(Principal.name == name)):
        raise StateConflict(f"principal {name!r} exists already")
    principal = Principal(name=name, kind=kind.value, display_name=display_name,
                          is_admin=is_admin, clearance=level, created_at=uow.now())
    uow.orm.add(principal)
    uow.flush()
    return principal


def add_user(
    uow: UnitOfWork,
    name: str,
    *,
    display_name: str | None = None,
    org_unit: str | None = None,
    groups: Iterable[str] = (),
    is_admin: bool = False,
    clearance: Confidentiality | str = Confidentiality.OPEN,
) -> Principal:
    """Create a user principal (administrators only).

    Groups and the organisational unit are created if they do not exist yet.

    Args:
        name: the login name.
        display_name: the full name to show.
        org_unit: the user's Organisationseinheit (a principal of its own).
        groups: groups the user belongs to.
        is_admin: make the user an administrator of the whole store.
        clearance: the highest confidentiality the user may see.

    Raises:
        AccessDenied: the acting principal is no administrator.
        StateConflict: the name is taken.
        InvalidInput: the name, clearance or a group name is malformed.
    """
    uow.begin_write()
    uow.require_store(Permission.ADMINISTER, "create users")
    user = _add_principal(uow, name, PrincipalKind.USER, display_name=display_name,
                          is_admin=is_admin, clearance=str(clearance))
    joined = []
    if org_unit is not None:
        unit = _group(uow, org_unit, PrincipalKind.ORG_UNIT)
        user.org_unit = unit.name
        joined.append(_join(uow, user, unit))
    joined.extend(_join(uow, user, _group(uow, g, PrincipalKind.GROUP)) for g in groups)
    uow.record(Action.PRINCIPAL_CREATE, "principal", user.name, kind="user", is_admin=is_admin,
               org_unit=user.org_unit, clearance=user.clearance, groups=joined, id=user.id)
    return user


def add_group(uow: UnitOfWork, name: str, *, kind: PrincipalKind | str = PrincipalKind.GROUP,
              display_name: str | None = None) -> Principal:
    """Create a group or organisational unit (administrators only).

    Raises:
        AccessDenied: the acting principal is no administrator.
        StateConflict: the name is taken.
        InvalidInput: malformed name or kind.
    """
    uow.begin_write()
    uow.require_store(Permission.ADMINISTER, "create groups")
    try:
        the_kind = PrincipalKind(kind)
    except ValueError as exc:
        raise InvalidInput(f"unknown principal kind {kind!r}") from exc
    if the_kind == PrincipalKind.USER:
        raise InvalidInput("use add_user to create users")
    group = _add_principal(uow, name, the_kind, display_name=display_name)
    uow.record(Action.PRINCIPAL_CREATE, "principal", group.name, kind=the_kind.value,
               id=group.id)
    return group


def _group(uow: UnitOfWork, name: str, kind: PrincipalKind) -> Principal:
    """Return the group or organisational unit ``name``, creating it if missing."""
    found = uow.orm.scalars(select(Principal).where(Principal.name == name.strip())).first()
    if found is None:
        found = _add_principal(uow, name, kind, display_name=None)
        uow.record(Action.PRINCIPAL_CREATE, "principal", found.name, kind=kind.value,
                   id=found.id)
    elif found.kind != kind.value:
        raise InvalidInput(f"{name!r} is a {found.kind}, not a {kind.value}")
    return found


def _join(uow: UnitOfWork, member: Principal, group: Principal) -> str:
    exists = uow.orm.get(Membership, (member.id, group.id))
    if exists is None:
        uow.orm.add(Membership(member_id=member.id, group_id=group.id,
                               created_at=uow.now()))
        uow.flush()
    uow.forget_access()
    return group.name


def add_member(uow: UnitOfWork, member: str, group: str) -> None:
    """Put a user (or group) into a group or organisational unit (administrators only).

    Raises:
        AccessDenied: the acting principal is no administrator.
        NotFoundError: either principal does not exist.
        InvalidInput: ``group`` is a user, or the membership would contain itself.
    """
    uow.begin_write()
    uow.require_store(Permission.ADMINISTER, "change memberships")
    who, into = find_principal(uow, member), find_principal(uow, group)
    if into.kind == PrincipalKind.USER.value:
        raise InvalidInput(f"{group!r} is a user; members go into groups and org units")
    if who.id == into.id:
        raise InvalidInput("a group cannot contain itself")
    _join(uow, who, into)
    uow.record(Action.PRINCIPAL_JOIN, "principal", who.name, group=into.name)


def set_clearance(uow: UnitOfWork, name: str, clearance: Confidentiality | str) -> Principal:
    """Set the highest confidentiality a principal may see (administrators only).

    Raises:
        AccessDenied: the acting principal is no administrator.
        NotFoundError: no such principal.
        InvalidInput: unknown level.
    """
    uow.begin_write()
    uow.require_store(Permission.ADMINISTER, "change clearances")
    principal = find_principal(uow, name)
    try:
        level = Confidentiality(clearance).value
    except ValueError as exc:
        raise InvalidInput(f"unknown clearance {clearance!r}; use offen or vs-nfd") from exc
    changes: dict[str, object] = {}
    uow.change(principal, "clearance", level, changes)
    if changes:
        uow.record(Action.PRINCIPAL_CLEARANCE, "principal", principal.name, **changes)
        uow.forget_access()
    return principal


def principals(uow: UnitOfWork) -> list[Principal]:
    """Return every principal by name (administrators and auditors only).

    Raises:
        AccessDenied: the acting principal may neither administer nor audit.
    """
    if not uow.access.on_store(Permission.AUDIT):
        uow.require_store(Permission.ADMINISTER, "list principals")
    return list(uow.orm.scalars(select(Principal).order_by(Principal.name)))

