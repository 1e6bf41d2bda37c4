"""Replay of the rights state and the Aktenplan: principals, memberships, grants, units.

Rule table (event → what it sets; object id = principal name or unit id):

=====================  ====================================================================
``principal.create``   a principal: ``id``, ``kind``, ``is_admin``, ``clearance`` (default
                       ``offen``), ``org_unit``, ``active`` true; a user joins ``groups``
``principal.join``     membership of the principal in ``group``
``principal.clearance`` ``clearance`` ← ``clearance.new``
``grant.add``          grant ``grant``: ``principal_id``, ``role``, ``target_type``,
                       ``target_id``; on a system (``target_type`` ``system``) also the
                       external system ``target_id``: ``name`` ← ``system`` (its row is
                       registered by the first grant that names it and never removed)
``grant.revoke``       grant ``grant`` is gone
``plan.create``        unit: ``kennzeichen``, ``title``, ``parent_id`` (of ``parent``),
                       ``retention_years``, ``disposal``
=====================  ====================================================================

These objects are few (administrative data, not records), so their replayed state is held
in memory: a few hundred bytes per principal, grant, membership and unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from eakte.audit.events import Action
from eakte.audit.problems import Record
from eakte.audit.replay._findings import Findings
from eakte.audit.replay._stream import as_dict, events_in_order, rows
from eakte.audit.replay.baseline import Baseline

__all__ = ["ACTIONS", "AdminState", "check_admin", "replay_admin"]

ACTIONS = (Action.PRINCIPAL_CREATE, Action.PRINCIPAL_JOIN, Action.PRINCIPAL_CLEARANCE,
           Action.GRANT_ADD, Action.GRANT_REVOKE, Action.PLAN_CREATE)
_GRANT_FIELDS = ("principal_id", "role", "target_type", "target_id")
_UNIT_FIELDS = ("kennzeichen", "title", "parent_id", "retention_years", "disposal")


@dataclass
class AdminState:
    """The replayed principals (by name), memberships, grants (by id) and units (by id)."""

    principals: dict[str, dict[str, Any]] = field(default_factory=dict)
    memberships: set[tuple[str, str]] = field(default_factory=set)
    grants: dict[int, dict[str, Any]] = field(default_factory=dict)
    units: dict[int, dict[str, Any]] = field(default_factory=dict)
    unit_ids: dict[str, int] = field(default_factory=dict)
    systems: dict[int, dict[str, Any]] = field(default_factory=dict)



def _from_baseline(baseline: Baseline) -> AdminState:
    state = AdminState()
    names: dict[Any, str] = {}
    for pid, name, kind, is_admin, clearance, active, org_unit in (
            r[:7] for r in baseline.principals if len(r) >= 7):
        names[pid] = str(name)
        state.principals[str(name)] = {"id": pid, "kind": kind, "is_admin": bool(is_admin),
                                       "clearance": clearance, "active": bool(active),
                                       "org_unit": org_unit}
    for member, group in (r[:2] for r in baseline.memberships if len(r) >= 2):
        if member in names and group in names:
            state.memberships.add((names[member], names[group]))
    for gid, pid, role, target_type, target_id in (r[:5] for r in baseline.grants
                                                   if len(r) >= 5):
        state.grants[int(gid)] = {"principal_id": pid, "role": role,
                                  "target_type": target_type, "target_id": target_id}
    for uid, kz, title, parent_id, years, disposal in (r[:6] for r in baseline.units
                                                       if len(r) >= 6):
        state.units[int(uid)] = {"kennzeichen": kz, "title": title, "parent_id": parent_id,
                                 "retention_years": years, "disposal": disposal}
        state.unit_ids[str(kz)] = int(uid)
    return state


def _create_principal(state: AdminState, name: str, d: dict[str, Any]) -> None:
    state.principals[name] = {
        "id": d.get("id"), "kind": d.get("kind", "user"), "is_admin": bool(d.get("is_admin")),
        "clearance": d.get("clearance", "offen"), "active": True,
        "org_unit": d.get("org_unit")}
    groups = d.get("groups")
    for group in groups if isinstance(groups, list) else ():
        state.memberships.add((name, str(group)))


def _clearance(state: AdminState, name: str, d: dict[str, Any]) -> None:
    change = d.get("clearance")
    if name in state.principals and isinstance(change, dict):
        state.principals[name]["clearance"] = change.get("new")


def _grant_target(state: AdminState, d: dict[str, Any]) -> Any:
    if "target_id" in d:
        return d["target_id"]
    if d.get("target_type") == "store":
        return 0
    if d.get("target_type") == "unit":
        return state.unit_ids.get(str(d.get("on")))
    return d.get("akte")


def _grant_key(state: AdminState, name: str, d: dict[str, Any]) -> dict[str, Any]:
    holder = state.principals.get(name, {})
    return {"principal_id": d.get("principal_id", holder.get("id")), "role": d.get("role"),
            "target_type": d.get("target_type"), "target_id": _grant_target(state, d)}


def _grant_add(state: AdminState, name: str, d: dict[str, Any]) -> None:
    if isinstance(d.get("grant"), int):
        state.grants[d["grant"]] = _grant_key(state, name, d)
    if d.get("target_type") == "system" and isinstance(d.get("target_id"), int):
        state.systems[d["target_id"]] = {"name": d.get("system")}


def _grant_revoke(state: AdminState, name: str, d: dict[str, Any]) -> None:
    gid = d.get("grant")
    if not isinstance(gid, int):
        key = _grant_key(state, name, d)
        gid = next((g for g, v in state.grants.items() if v == key), None)
    state.grants.pop(gid, None)  # type: ignore[arg-type]


def _plan_create(state: AdminState, object_id: str, d: dict[str, Any]) -> None:
    if not object_id.isdigit():
        return
    parent = d.get("parent")
    uid = int(object_id)
    state.units[uid] = {"kennzeichen": d.get("kennzeichen"), "title": d.get("title"),
                        "parent_id": state.unit_ids.get(parent) if parent else None,
                        "retention_years": d.get("retention_years"),
                        "disposal": d.get("disposal", "B")}
    state.unit_ids[str(d.get("kennzeichen"))] = uid


_RULES = {
    Action.PRINCIPAL_CREATE: _create_principal,
    Action.PRINCIPAL_JOIN: lambda st, name, d: st.memberships.add((name, str(d.get("group")))),
    Action.PRINCIPAL_CLEARANCE: _clearance,
    Action.GRANT_ADD: _grant_add,
    Action.GRANT_REVOKE: _grant_revoke,
    Action.PLAN_CREATE: _plan_create,
}


def replay_admin(conn: Connection, baseline: Baseline) -> tuple[AdminState, int]:
    """Replay the rights events after the baseline; return the state and events applied."""
    state = _from_baseline(baseline)
    applied = 0
    for seq, action, _type, object_id, raw in events_in_order(conn, ACTIONS):
        if seq <= baseline.from_seq:
            continue
        _RULES[action](state, str(object_id), as_dict(raw))
        applied += 1
    return state, applied


def check_admin(conn: Connection, state: AdminState, findings: Findings) -> None:
    """Compare principals, memberships, grants and units with the replayed state."""
    seen: set[str] = set()
    ids: dict[int, str] = {}
    for pid, name, kind, is_admin, clearance, active, org_unit in rows(
            conn, "SELECT id, name, kind, is_admin, clearance, active, org_unit "
                  "FROM principals ORDER BY id"):
        ids[int(pid)] = name
        subject = f"principal {name}"
        expected = state.principals.get(name)
        if expected is None:
            findings.unaudited(Record.PRINCIPAL, subject, {"principal_id": pid})
            continue
        seen.add(name)
        row = {"id": pid, "kind": kind, "is_admin": bool(is_admin), "clearance": clearance,
               "active": bool(active), "org_unit": org_unit}
        wanted = {k: v for k, v in expected.items() if k != "id" or v is not None}
        findings.compare(Record.PRINCIPAL, subject, row, wanted, {"principal_id": pid})
    for name in sorted(set(state.principals) - seen):
        findings.missing(Record.PRINCIPAL, f"principal {name}")
    found: set[tuple[str, str]] = set()
    for member, group in rows(conn, "SELECT member_id, group_id FROM memberships "
                                    "ORDER BY member_id, group_id"):
        pair = (ids.get(int(member), f"#{member}"), ids.get(int(group), f"#{group}"))
        found.add(pair)
        if pair not in state.memberships:
            findings.unaudited(Record.MEMBERSHIP, f"membership {pair[0]} in {pair[1]}",
                               {"member_id": member, "group_id": group})
    for member_name, group_name in sorted(state.memberships - found):
        findings.missing(Record.MEMBERSHIP, f"membership {member_name} in {group_name}")
    _check_by_id(conn, Record.GRANT, "SELECT id, principal_id, role, target_type, target_id "
                 "FROM grants ORDER BY id", _GRANT_FIELDS, state.grants, findings)
    _check_by_id(conn, Record.UNIT, "SELECT id, kennzeichen, title, parent_id, retention_years, "
                 "disposal FROM aktenplan_units ORDER BY id", _UNIT_FIELDS, state.units,
                 findings)
    _check_by_id(conn, Record.SYSTEM, "SELECT id, name FROM external_systems ORDER BY id",
                 ("name",), state.systems, findings)


def _check_by_id(conn: Connection, aggregate: Record, sql: str, names: tuple[str, ...],
                 expected: dict[int, dict[str, Any]], findings: Findings) -> None:
    seen: set[int] = set()
    for row_id, *values in rows(conn, sql):
        subject = f"{aggregate} {row_id}"
        wanted = expected.get(int(row_id))
        if wanted is None:
            findings.unaudited(aggregate, subject, {"id": row_id})
            continue
        seen.add(int(row_id))
        findings.compare(aggregate, subject, dict(zip(names, values, strict=True)), wanted,
                         {"id": row_id})
    for row_id in sorted(set(expected) - seen):
        findings.missing(aggregate, f"{aggregate} {row_id}", {"id": row_id})
