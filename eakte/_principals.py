"""Session operations on principals: users, groups, organisational units, grants."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from eakte._unit_of_work import UnitOfWork, clean_text
from eakte.access import Permission
from eakte.errors import InvalidInput, NotFoundError, StateConflict
from eakte.model import Akte, AktenplanUnit, ExternalSystem, Grant, Membership, Principal
from eakte.types import Confidentiality, PrincipalKind, Role

__all__ = ["GrantInfo", "PrincipalsMixin"]

#: What ``grant``/``revoke`` accept as the target meaning "the whole store".
STORE_TARGET = "*"
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


class PrincipalsMixin(UnitOfWork):
    """Users, groups and organisational units, their memberships and grants."""

    def _principal(self, name: str) -> Principal:
        found = self._orm.scalars(select(Principal).where(Principal.name == name.strip())).first()
        if found is None:
            raise NotFoundError("Principal", name)
        return found

    def _add_principal(self, name: str, kind: PrincipalKind, *, display_name: str | None,
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
        if self._orm.scalar(select(Principal.id).where(Principal.name == name)):
            raise StateConflict(f"principal {name!r} exists already")
        principal = Principal(name=name, kind=kind.value, display_name=display_name,
                              is_admin=is_admin, clearance=level, created_at=self._now())
        self._orm.add(principal)
        self._flush()
        return principal

    def add_user(
        self,
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
        self._require_store(Permission.ADMINISTER, "create users")
        user = self._add_principal(name, PrincipalKind.USER, display_name=display_name,
                                   is_admin=is_admin, clearance=str(clearance))
        joined = []
        if org_unit is not None:
            unit = self._group(org_unit, PrincipalKind.ORG_UNIT)
            user.org_unit = unit.name
            joined.append(self._join(user, unit))
        joined.extend(self._join(user, self._group(g, PrincipalKind.GROUP)) for g in groups)
        self._audit("principal.create", "principal", user.name, kind="user", is_admin=is_admin,
                    org_unit=user.org_unit, clearance=user.clearance, groups=joined, id=user.id)
        return user

    def add_group(self, name: str, *, kind: PrincipalKind | str = PrincipalKind.GROUP,
                  display_name: str | None = None) -> Principal:
        """Create a group or organisational unit (administrators only).

        Raises:
            AccessDenied: the acting principal is no administrator.
            StateConflict: the name is taken.
            InvalidInput: malformed name or kind.
        """
        self._require_store(Permission.ADMINISTER, "create groups")
        try:
            the_kind = PrincipalKind(kind)
        except ValueError as exc:
            raise InvalidInput(f"unknown principal kind {kind!r}") from exc
        if the_kind == PrincipalKind.USER:
            raise InvalidInput("use add_user to create users")
        group = self._add_principal(name, the_kind, display_name=display_name)
        self._audit("principal.create", "principal", group.name, kind=the_kind.value,
                    id=group.id)
        return group

    def _group(self, name: str, kind: PrincipalKind) -> Principal:
        """Return the group or organisational unit ``name``, creating it if missing."""
        found = self._orm.scalars(select(Principal).where(Principal.name == name.strip())).first()
        if found is None:
            found = self._add_principal(name, kind, display_name=None)
            self._audit("principal.create", "principal", found.name, kind=kind.value,
                        id=found.id)
        elif found.kind != kind.value:
            raise InvalidInput(f"{name!r} is a {found.kind}, not a {kind.value}")
        return found

    def _join(self, member: Principal, group: Principal) -> str:
        exists = self._orm.get(Membership, (member.id, group.id))
        if exists is None:
            self._orm.add(Membership(member_id=member.id, group_id=group.id,
                                     created_at=self._now()))
            self._flush()
        self._forget_access()
        return group.name

    def add_member(self, member: str, group: str) -> None:
        """Put a user (or group) into a group or organisational unit (administrators only).

        Raises:
            AccessDenied: the acting principal is no administrator.
            NotFoundError: either principal does not exist.
            InvalidInput: ``group`` is a user, or the membership would contain itself.
        """
        self._require_store(Permission.ADMINISTER, "change memberships")
        who, into = self._principal(member), self._principal(group)
        if into.kind == PrincipalKind.USER.value:
            raise InvalidInput(f"{group!r} is a user; members go into groups and org units")
        if who.id == into.id:
            raise InvalidInput("a group cannot contain itself")
        self._join(who, into)
        self._audit("principal.join", "principal", who.name, group=into.name)

    def set_clearance(self, name: str, clearance: Confidentiality | str) -> Principal:
        """Set the highest confidentiality a principal may see (administrators only).

        Raises:
            AccessDenied: the acting principal is no administrator.
            NotFoundError: no such principal.
            InvalidInput: unknown level.
        """
        self._require_store(Permission.ADMINISTER, "change clearances")
        principal = self._principal(name)
        try:
            level = Confidentiality(clearance).value
        except ValueError as exc:
            raise InvalidInput(f"unknown clearance {clearance!r}; use offen or vs-nfd") from exc
        changes: dict[str, object] = {}
        self._change(principal, "clearance", level, changes)
        if changes:
            self._audit("principal.clearance", "principal", principal.name, **changes)
            self._forget_access()
        return principal

    def principals(self) -> list[Principal]:
        """Return every principal by name (administrators and auditors only).

        Raises:
            AccessDenied: the acting principal may neither administer nor audit.
        """
        if not self.access.on_store(Permission.AUDIT):
            self._require_store(Permission.ADMINISTER, "list principals")
        return list(self._orm.scalars(select(Principal).order_by(Principal.name)))

    # -- grants ----------------------------------------------------------------------------

    def _system_target(self, key: str, *, create: bool) -> tuple[str, int, str]:
        """Resolve ``system:NAME`` to ``(type, id, label)``, registering NAME if asked.

        Raises:
            InvalidInput: the name is empty, too long or has control characters.
            NotFoundError: the system is unknown and ``create`` is False.
        """
        name = clean_text(key[len(SYSTEM_PREFIX):], "external system", max_len=100)
        label = SYSTEM_PREFIX + name
        found = self._orm.scalars(select(ExternalSystem).where(ExternalSystem.name == name)
                                  ).first()
        if found is None:
            if not create:
                raise NotFoundError("System", label)
            found = ExternalSystem(name=name, created_at=self._now())
            self._orm.add(found)
            self._flush()
        return "system", found.id, label

    def _target(self, target: str | Akte | AktenplanUnit | None, *,
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
            return self._system_target(key, create=create)
        unit = self._orm.scalars(
            select(AktenplanUnit).where(AktenplanUnit.kennzeichen == key)).first()
        if unit is not None:
            return "unit", unit.id, unit.kennzeichen
        akte = self._orm.scalars(select(Akte).where(Akte.aktenzeichen == key)).first()
        if akte is not None:
            return "akte", akte.id, akte.aktenzeichen
        raise NotFoundError("Aktenplan unit or Akte", key)

    def _require_granting(self, target_type: str, target_id: int, label: str) -> None:
        if target_type == "store":
            self._require_store(Permission.ADMINISTER, "grant roles")
        elif target_type == "system":
            self._require_store(Permission.ADMINISTER, "grant the use of external systems")
        elif target_type == "unit":
            self._require_unit(Permission.ADMINISTER, target_id, label, "grant roles")
        else:
            self._require(Permission.ADMINISTER, target_id, "grant roles",
                          hidden_as=("Aktenplan unit or Akte", label))

    def _find_grant(self, principal: str, role: Role | str,
                    target: str | Akte | AktenplanUnit | None, *, create: bool = False
                    ) -> tuple[Grant | None, Grant, dict[str, Any]]:
        """Check that the caller may grant on ``target`` and look the grant up.

        Returns the existing grant (or None), the grant as it would be created, and the
        details for its audit event.
        """
        the_role = _role(role)
        if isinstance(target, str) and target.strip().startswith(SYSTEM_PREFIX):
            # everything is checked before a grant registers the system's name
            self._require_granting("system", 0, target.strip())
            _check_role_fits(the_role, "system", target.strip())
            holder = self._principal(principal)
            target_type, target_id, label = self._target(target, create=create)
        else:
            target_type, target_id, label = self._target(target)
            self._require_granting(target_type, target_id, label)
            _check_role_fits(the_role, target_type, label)
            holder = self._principal(principal)
        wanted = Grant(principal_id=holder.id, role=the_role.value, target_type=target_type,
                       target_id=target_id, created_at=self._now(), created_by=self.user)
        existing = self._orm.scalars(select(Grant).where(
            Grant.principal_id == holder.id, Grant.role == the_role.value,
            Grant.target_type == target_type, Grant.target_id == target_id)).first()
        details: dict[str, Any] = {"principal": holder.name, "role": the_role.value,
                                   "target_type": target_type, "on": label,
                                   "akte": target_id if target_type == "akte" else None,
                                   "principal_id": holder.id, "target_id": target_id}
        if target_type == "system":
            details["system"] = label[len(SYSTEM_PREFIX):]
        return existing, wanted, details

    def grant(self, principal: str, role: Role | str,
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
        existing, grant, details = self._find_grant(principal, role, target, create=True)
        if existing is not None:
            return existing
        self._orm.add(grant)
        self._flush()
        self._forget_access()
        self._audit("grant.add", "principal", details.pop("principal"), grant=grant.id,
                    **details)
        return grant

    def revoke(self, principal: str, role: Role | str,
               target: str | Akte | AktenplanUnit | None = None) -> bool:
        """Take a role back; return False if the principal did not hold it there.

        Raises:
            AccessDenied: the acting principal may not administer the target.
            NotFoundError: unknown principal or target.
            InvalidInput: unknown role, or a role that does not fit the target.
        """
        try:
            existing, _, details = self._find_grant(principal, role, target)
        except NotFoundError as exc:
            if exc.kind != "System":
                raise
            self._principal(principal)
            return False  # a system nobody was ever granted: nothing to take back
        if existing is None:
            return False
        grant_id = existing.id
        self._orm.delete(existing)
        self._flush()
        self._forget_access()
        self._audit("grant.revoke", "principal", details.pop("principal"), grant=grant_id,
                    **details)
        return True

    def grants(self, principal: str | None = None) -> list[GrantInfo]:
        """List grants, all or those of one principal (administrators and auditors only).

        Raises:
            AccessDenied: the acting principal may neither administer nor audit the store.
        """
        if not self.access.on_store(Permission.AUDIT):
            self._require_store(Permission.ADMINISTER, "list grants")
        stmt = (select(Grant, Principal.name).join(Principal, Principal.id == Grant.principal_id)
                .order_by(Principal.name, Grant.id))
        if principal is not None:
            stmt = stmt.where(Principal.id == self._principal(principal).id)
        units = dict(self._orm.execute(select(AktenplanUnit.id, AktenplanUnit.kennzeichen))
                     .all())
        systems = dict(self._orm.execute(select(ExternalSystem.id, ExternalSystem.name)).all())
        result = []
        for grant, name in self._orm.execute(stmt):
            if grant.target_type == "store":
                label = STORE_TARGET
            elif grant.target_type == "unit":
                label = units.get(grant.target_id, f"unit {grant.target_id}")
            elif grant.target_type == "system":
                label = SYSTEM_PREFIX + systems.get(grant.target_id, f"? ({grant.target_id})")
            else:
                label = self._orm.scalar(
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
