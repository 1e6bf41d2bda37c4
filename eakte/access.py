"""Who may do what: roles, permissions and the policy every Session consults.

A principal acts through its own grants and those of its groups and organisational units
(Organisationseinheiten). A grant gives a :class:`~eakte.types.Role` on the whole store, on
an Aktenplan unit (inherited by its sub-units and their Akten) or on one Akte (inherited by
its Vorgänge and documents). The Akte's confidentiality is a second gate: a principal whose
clearance is below it gets no permission on that Akte at all, whatever its grants.

Two further kinds of right stand beside the Akten: the ``owner`` role on an external system
(``system:NAME``) lets a principal use that system's external ids (store administrators hold
every system), and store-wide jobs (:class:`StoreJob`: verify, checkpoints, repair,
reindex) need the auditor or administrator role on the whole store.

Example:
    >>> from eakte.access import permissions_of
    >>> sorted(p.value for p in permissions_of("editor"))
    ['edit', 'read']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session as OrmSession

from eakte.model import Akte, AktenplanUnit, ExternalSystem, Grant, Membership, Principal
from eakte.types import Confidentiality, Role

__all__ = [
    "AccessPolicy",
    "Permission",
    "StoreJob",
    "clearance_allows",
    "permissions_of",
]


class Permission(StrEnum):
    """A single thing a role allows."""

    #: see metadata, read content, search, follow the change feed.
    READ = "read"
    #: file documents, add versions and Vorgänge, change metadata, close Vorgänge.
    EDIT = "edit"
    #: close and reopen Akten, retention, legal holds, Aussonderung.
    MANAGE = "manage"
    #: users, groups, grants, the Aktenplan.
    ADMINISTER = "administer"
    #: read the audit log.
    AUDIT = "audit"


class StoreJob(StrEnum):
    """A job over the whole store; what it reports or changes concerns every Akte.

    Verifying and reading or creating checkpoints need the auditor (or administrator) role
    on the whole store; repair, reindex and the master key the administrator role.
    """

    VERIFY = "verify the store"
    READ_CHECKPOINTS = "read checkpoints"
    CREATE_CHECKPOINT = "create checkpoints"
    REPAIR = "repair the store"
    REINDEX = "rebuild the search index"
    MANAGE_KEYS = "manage the master key"


_ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.READER: frozenset({Permission.READ}),
    Role.EDITOR: frozenset({Permission.READ, Permission.EDIT}),
    Role.MANAGER: frozenset({Permission.READ, Permission.EDIT, Permission.MANAGE}),
    Role.ADMINISTRATOR: frozenset(Permission),
    Role.AUDITOR: frozenset({Permission.AUDIT}),
    Role.OWNER: frozenset(),  # on systems only: see AccessPolicy.may_use_system
}
#: Store-wide job → the store-wide permissions of which any one allows it.
_JOB_PERMISSIONS: dict[StoreJob, frozenset[Permission]] = {
    StoreJob.VERIFY: frozenset({Permission.AUDIT, Permission.ADMINISTER}),
    StoreJob.READ_CHECKPOINTS: frozenset({Permission.AUDIT, Permission.ADMINISTER}),
    StoreJob.CREATE_CHECKPOINT: frozenset({Permission.AUDIT, Permission.ADMINISTER}),
    StoreJob.REPAIR: frozenset({Permission.ADMINISTER}),
    StoreJob.REINDEX: frozenset({Permission.ADMINISTER}),
    StoreJob.MANAGE_KEYS: frozenset({Permission.ADMINISTER}),
}
_ROLE_NAMES = frozenset(role.value for role in Role)
_LEVELS = {Confidentiality.OPEN.value: 0, Confidentiality.VS_NFD.value: 1}
_TOP_LEVEL = Confidentiality.VS_NFD.value
_NONE: frozenset[Permission] = frozenset()


def permissions_of(role: Role | str) -> frozenset[Permission]:
    """Return the permissions a role gives.

    Raises:
        ValueError: unknown role.
    """
    return _ROLE_PERMISSIONS[Role(role)]


def clearance_allows(clearance: str, confidentiality: str) -> bool:
    """Return whether a principal cleared for ``clearance`` may see an Akte so classified.

    Unknown levels are treated as the highest: they never open anything by accident.
    """
    top = max(_LEVELS.values()) + 1
    return _LEVELS.get(clearance, -1) >= _LEVELS.get(confidentiality, top)


@dataclass
class AccessPolicy:
    """The effective rights of one principal, loaded once per session from the grants.

    Build it with :meth:`load`. Nothing here is copied into other places (such as the search
    index): every check asks the policy, so a revoked grant takes effect with the next
    session.

    Attributes:
        principal: the acting principal's name.
        clearance: the highest confidentiality the principal may see.
        store: permissions on the whole store.
        units: Aktenplan unit id → permissions (inheritance already applied).
        akten: Akte id → permissions from grants on that Akte itself.
        systems: names of the external systems the principal holds the owner role on.
    """

    principal: str
    clearance: str
    store: frozenset[Permission]
    units: dict[int, frozenset[Permission]] = field(default_factory=dict)
    akten: dict[int, frozenset[Permission]] = field(default_factory=dict)
    systems: frozenset[str] = frozenset()

    @classmethod
    def load(cls, orm: OrmSession, principal: Principal) -> AccessPolicy:
        """Load the grants of ``principal``, its groups and organisational units."""
        ids = _principal_ids(orm, principal.id)
        store: set[Permission] = set(_ROLE_PERMISSIONS[Role.ADMINISTRATOR]
                                     if principal.is_admin else ())
        direct_units: dict[int, set[Permission]] = {}
        akten: dict[int, set[Permission]] = {}
        system_ids: set[int] = set()
        rows = orm.execute(
            select(Grant.role, Grant.target_type, Grant.target_id)
            .where(Grant.principal_id.in_(ids))
        ).all()
        for role, target_type, target_id in rows:
            perms = _ROLE_PERMISSIONS[Role(role)] if role in _ROLE_NAMES else _NONE
            if target_type == "store":
                store |= perms
            elif target_type == "unit":
                direct_units.setdefault(int(target_id), set()).update(perms)
            elif target_type == "akte":
                akten.setdefault(int(target_id), set()).update(perms)
            elif target_type == "system" and role == Role.OWNER.value:
                system_ids.add(int(target_id))
        units = _inherit(orm, direct_units) if direct_units else {}
        systems = frozenset(orm.scalars(
            select(ExternalSystem.name).where(ExternalSystem.id.in_(sorted(system_ids)))
        )) if system_ids else frozenset()
        return cls(
            principal=principal.name,
            clearance=principal.clearance or Confidentiality.OPEN.value,
            store=frozenset(store),
            units={k: frozenset(v) for k, v in units.items()},
            akten={k: frozenset(v) for k, v in akten.items()},
            systems=systems,
        )

    # -- checks ----------------------------------------------------------------------------

    def on_store(self, permission: Permission) -> bool:
        """Return whether the principal holds ``permission`` on the whole store."""
        return permission in self.store

    def on_unit(self, unit_id: int) -> frozenset[Permission]:
        """Return the permissions on an Aktenplan unit (its Akten may add more)."""
        return self.store | self.units.get(unit_id, _NONE)

    def on_akte(self, akte_id: int, unit_id: int, confidentiality: str) -> frozenset[Permission]:
        """Return the permissions on an Akte (and so on its Vorgänge and documents)."""
        if not clearance_allows(self.clearance, confidentiality):
            return _NONE
        return self.store | self.units.get(unit_id, _NONE) | self.akten.get(akte_id, _NONE)

    def may_use_system(self, system: str) -> bool:
        """Return whether the principal may use the external ids of ``system``.

        Store administrators hold every system; others need the owner role on it.
        """
        return Permission.ADMINISTER in self.store or system in self.systems

    @staticmethod
    def job_roles(job: StoreJob) -> tuple[Role, ...]:
        """Return the roles that, granted on the whole store, allow ``job``."""
        needed = _JOB_PERMISSIONS[job]
        return tuple(role for role in (Role.AUDITOR, Role.ADMINISTRATOR)
                     if _ROLE_PERMISSIONS[role] & needed)

    def may_run(self, job: StoreJob) -> bool:
        """Return whether the principal may run the store-wide ``job``."""
        return bool(_JOB_PERMISSIONS[job] & self.store)

    @property
    def unrestricted(self) -> bool:
        """True if the principal may read every Akte (the store-wide grant and clearance)."""
        return Permission.READ in self.store and self.clearance == _TOP_LEVEL

    def akte_filter(self, permission: Permission = Permission.READ) -> ColumnElement[bool]:
        """Return a SQL condition matching the Akten on which ``permission`` is held.

        Combine it with any query over :class:`~eakte.model.Akte`.
        """
        cleared = [level for level in _LEVELS if clearance_allows(self.clearance, level)]
        gate = Akte.confidentiality.in_(cleared)
        if permission in self.store:
            return gate if not self.unrestricted else true()
        unit_ids = sorted(u for u, perms in self.units.items() if permission in perms)
        akte_ids = sorted(a for a, perms in self.akten.items() if permission in perms)
        if not unit_ids and not akte_ids:
            return false()
        scope = []
        if unit_ids:
            scope.append(Akte.unit_id.in_(unit_ids))
        if akte_ids:
            scope.append(Akte.id.in_(akte_ids))
        return gate & or_(*scope)

    def akte_ids(self, orm: OrmSession,
                 permission: Permission = Permission.READ) -> frozenset[int] | None:
        """Return the ids of the Akten with ``permission``; ``None`` means all of them."""
        if permission == Permission.READ and self.unrestricted:
            return None
        return frozenset(orm.scalars(select(Akte.id).where(self.akte_filter(permission))))


def _principal_ids(orm: OrmSession, principal_id: int) -> list[int]:
    """Return the principal and every group or organisational unit it belongs to.

    Memberships are followed through other groups (cycles are harmless); deactivated
    groups give nothing.
    """
    found = {principal_id}
    frontier = [principal_id]
    while frontier:
        rows = orm.execute(
            select(Membership.group_id)
            .join(Principal, Principal.id == Membership.group_id)
            .where(Membership.member_id.in_(frontier), Principal.active.is_(True))
        ).scalars().all()
        frontier = [g for g in rows if g not in found]
        found.update(frontier)
    return sorted(found)


def _inherit(orm: OrmSession,
             direct: dict[int, set[Permission]]) -> dict[int, set[Permission]]:
    """Spread unit grants down the Aktenplan tree to every sub-unit."""
    parent: dict[int, int | None] = {}
    children: dict[int, list[int]] = {}
    for unit_id, parent_id in orm.execute(select(AktenplanUnit.id, AktenplanUnit.parent_id)):
        parent[unit_id] = parent_id
        if parent_id is not None:
            children.setdefault(parent_id, []).append(unit_id)
    result: dict[int, set[Permission]] = {}
    for root in _roots(direct, parent):
        stack: list[tuple[int, frozenset[Permission]]] = [(root, _NONE)]
        while stack:
            uid, inherited = stack.pop()
            merged = inherited | direct.get(uid, set())
            result.setdefault(uid, set()).update(merged)
            stack.extend((child, merged) for child in children.get(uid, ()))
    return result


def _roots(direct: Iterable[int], parent: dict[int, int | None]) -> list[int]:
    """Return the granted units without a granted ancestor (where the walk starts)."""
    granted = set(direct)
    roots = []
    for unit_id in granted:
        up, seen = parent.get(unit_id), {unit_id}
        while up is not None and up not in granted and up not in seen:
            seen.add(up)
            up = parent.get(up)
        if up is None or up not in granted or up in seen:
            roots.append(unit_id)
    return roots
