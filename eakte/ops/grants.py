"""Grants: giving, taking back and listing roles on the store, units, Akten, systems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from eakte._validate import clean_text
from eakte.access import Permission
from eakte.audit.events import Action
from eakte.errors import InvalidInput, NotFoundError
from eakte.model import Akte, AktenplanUnit, ExternalSystem, Grant, Principal
from eakte.ops.principals import STORE_TARGET, find_principal
from eakte.types import Role

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = ["STORE_TARGET", "SYSTEM_PREFIX", "GrantInfo", "grant", "grants", "revoke"]

#: Prefix of a grant target naming an external system: ``system:bauportal``.
SYSTEM_PREFIX = "system:"


@dataclass(frozen=True)
class GrantInfo:
    """A grant as listed: who holds which role on what.

    Attributes:
        principal: the principal's name.
        role: the role.
        target_type: ``"store"``, ``"unit"``, ``"akte"`` or ``"system"``.
        target: ``"*"``, the Aktenplan Kennzeichen, the Aktenzeichen or ``system:NAME``.
        created_by: who gave it.
    """

    principal: str
    role: Role
    target_type: str
    target: str
    created_by: str


def _system_target(uow: UnitOfWork, key: str, *, create: bool) -> tuple[str, int, str]:
    """Resolve ``system:NAME`` to ``(type, id, label)``, registering NAME if asked.

    Raises:
        InvalidInput: the name is empty, too long or has control characters.
        NotFoundError: the system is unknown and ``create`` is False.
    """
    name = clean_text(key[len(SYSTEM_PREFIX):], "external system", max_len=100)
    label = SYSTEM_PREFIX + name
    found = uow.orm.scalars(select(ExternalSystem).where(ExternalSystem.name == name)
                            ).first()
    if found is None:
        if not create:
            raise NotFoundError("System", label)
        found = ExternalSystem(name=name, created_at=uow.now())
        uow.orm.add(found)
        uow.flush()
    return "system", found.id, label


def _target(uow: UnitOfWork, target: str | Akte | AktenplanUnit | None, *,
            create: bool = False) -> tuple[str, int, str]:
    """Resolve a grant target to ``(type, id, label)``.

    Raises:
        NotFoundError: no Aktenplan unit or Akte has that key.
    """
    if target is None or target == STORE_TARGET:
        return "store", 0, STORE_TARGET
    if isinstance(target, Akte):
        return "akte", target.id, target.aktenzeichen
    if isinstance(target, AktenplanUnit):
        return "unit", target.id, target.kennzeichen
    key = target.strip()
    if key.startswith(SYSTEM_PREFIX):
        return _system_target(uow, key, create=create)
    unit = uow.orm.scalars(
        select(AktenplanUnit).where(AktenplanUnit.kennzeichen == key)).first()
    if unit is not None:
        return "unit", unit.id, unit.kennzeichen
    akte = uow.orm.scalars(select(Akte).where(Akte.aktenzeichen == key)).first()
    if akte is not None:
        return "akte", akte.id, akte.aktenzeichen
    raise NotFoundError("Aktenplan unit or Akte", key)


def _require_granting(uow: UnitOfWork, target_type: str, target_id: int, label: str) -> None:
    if target_type == "store":
        uow.require_store(Permission.ADMINISTER, "grant roles")
    elif target_type == "system":
        uow.require_store(Permission.ADMINISTER, "grant the use of external systems")
    elif target_type == "unit":
        uow.require_unit(Permission.ADMINISTER, target_id, label, "grant roles")
    else:
        uow.require(Permission.ADMINISTER, target_id, "grant roles",
                    hidden_as=("Aktenplan unit or Akte", label))


def _find_grant(uow: UnitOfWork, principal: str, role: Role | str,
                target: str | Akte | AktenplanUnit | None, *, create: bool = False
                ) -> tuple[Grant | None, Grant, dict[str, Any]]:
    """Check that the caller may grant on ``target`` and look the grant up.

    Returns the existing grant (or None), the grant as it would be created, and the
    details for its audit event.
    """
    the_role = _role(role)
    if isinstance(target, str) and target.strip().startswith(SYSTEM_PREFIX):
        # everything is checked before a grant registers the system's name
        _require_granting(uow, "system", 0, target.strip())
        _check_role_fits(the_role, "system", target.strip())
        holder = find_principal(uow, principal)
        target_type, target_id, label = _target(uow, target, create=create)
    else:
        target_type, target_id, label = _target(uow, target)
        _require_granting(uow, target_type, target_id, label)
        _check_role_fits(the_role, target_type, label)
        holder = find_principal(uow, principal)
    wanted = Grant(principal_id=holder.id, role=the_role.value, target_type=target_type,
                   target_id=target_id, created_at=uow.now(), created_by=uow.user)
    existing = uow.orm.scalars(select(Grant).where(
        Grant.principal_id == holder.id, Grant.role == the_role.value,
        Grant.target_type == target_type, Grant.target_id == target_id)).first()
    details: dict[str, Any] = {"principal": holder.name, "role": the_role.value,
                               "target_type": target_type, "on": label,
                               "akte": target_id if target_type == "akte" else None,
                               "principal_id": holder.id, "target_id": target_id}
    if target_type == "system":
        details["system"] = label[len(SYSTEM_PREFIX):]
    return existing, wanted, details


def grant(uow: UnitOfWork, principal: str, role: Role | str,
          target: str | Akte | AktenplanUnit | None = None) -> Grant:
    """Give ``principal`` a role on a target.

    The target is an Aktenplan Kennzeichen, an Aktenzeichen, the whole store (``None``
    or ``"*"``), or an external system (``"system:NAME"``, with the ``owner`` role: the
    principal may then use that system's external ids). Granting an existing grant
    again changes nothing. Only administrators (of the store, or of the target's unit
    or Akte; of the store for systems) may grant.

    Raises:
        AccessDenied: the acting principal may not administer the target.
        NotFoundError: unknown principal or target.
        InvalidInput: unknown role, or a role that does not fit the target.
    """
    uow.begin_write()
    existing, grant, details = _find_grant(uow, principal, role, target, create=True)
    if existing is not None:
        return existing
    uow.orm.add(grant)
    uow.flush()
    uow.forget_access()
    uow.record(Action.GRANT_ADD, "principal", details.pop("principal"), grant=grant.id,
               **details)
    return grant


def revoke(uow: UnitOfWork, principal: str, role: Role | str,
           target: str | Akte | AktenplanUnit | None = None) -> bool:
    """Take a role back; return False if the principal did not hold it there.

    Raises:
        AccessDenied: the acting principal may not administer the target.
        NotFoundError: unknown principal or target.
        InvalidInput: unknown role, or a role that does not fit the target.
    """
    uow.begin_write()
    try:
        existing, _, details = _find_grant(uow, principal, role, target)
    except NotFoundError as exc:
        if exc.kind != "System":
            raise
        find_principal(uow, principal)
        return False  # a system nobody was ever granted: nothing to take back
    if existing is None:
        return False
    grant_id = existing.id
    uow.orm.delete(existing)
    uow.flush()
    uow.forget_access()
    uow.record(Action.GRANT_REVOKE, "principal", details.pop("principal"), grant=grant_id,
               **details)
    return True


def grants(uow: UnitOfWork, principal: str | None = None) -> list[GrantInfo]:
    """List grants, all or those of one principal (administrators and auditors only).

    Raises:
        AccessDenied: the acting principal may neither administer nor audit the store.
    """
    if not uow.access.on_store(Permission.AUDIT):
        uow.require_store(Permission.ADMINISTER, "list grants")
    stmt = (select(Grant, Principal.name).join(Principal, Principal.id == Grant.principal_id)
            .order_by(Principal.name, Grant.id))
    if principal is not None:
        stmt = stmt.where(Principal.id == find_principal(uow, principal).id)
    units = dict(uow.orm.execute(select(AktenplanUnit.id, AktenplanUnit.kennzeichen))
                 .all())
    systems = dict(uow.orm.execute(select(ExternalSystem.id, ExternalSystem.name)).all())
    result = []
    for grant, name in uow.orm.execute(stmt):
        if grant.target_type == "store":
            label = STORE_TARGET
        elif grant.target_type == "unit":
            label = units.get(grant.target_id, f"unit {grant.target_id}")
        elif grant.target_type == "system":
            label = SYSTEM_PREFIX + systems.get(grant.target_id, f"? ({grant.target_id})")
        else:
            label = uow.orm.scalar(
                select(Akte.aktenzeichen).where(Akte.id == grant.target_id)) or "?"
        result.append(GrantInfo(principal=name, role=Role(grant.role),
                                target_type=grant.target_type, target=label,
                                created_by=grant.created_by))
    return result


def _check_role_fits(role: Role, target_type: str, label: str) -> None:
    """Refuse roles on targets they mean nothing on (owner is for systems, and only it).

    Raises:
        InvalidInput: the role does not fit the target.
    """
    if target_type == "system" and role != Role.OWNER:
        raise InvalidInput(f"{label} takes the owner role only (it lets a Fachverfahren use "
                           f"the system's external ids): grant owner on {label}")
    if target_type != "system" and role == Role.OWNER:
        raise InvalidInput(f"the owner role is granted on external systems only "
                           f"(system:NAME), not on {label}")


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        names = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {role!r}; roles are {names}") from exc
