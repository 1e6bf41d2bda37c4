"""Replay of Akten (with their legal holds and disposal state) and Vorgänge.

Rule table for Akten (object id = Akte id):

========================  ================================================================
``akte.create``           ``aktenzeichen``, ``title``, ``unit_id`` (of ``unit``),
                          ``confidentiality``, ``org_unit``; status ``open``; no own
                          retention; no disposal row
``akte.update``           ``title`` ← ``title.new``
``akte.close``            ``status`` ← ``closed``
``akte.reopen``           ``status`` ← ``open``
``akte.retention``        ``retention_override``, ``retention_years`` ← ``new``
``hold.set``              hold ``hold``: active, ``reason``
``hold.release``          hold ``hold``: released
``disposal.offered``      disposal row: ``state`` offered, ``offer_message_id``
``disposal.appraised``    ``state`` appraised, ``decision``, ``decision_source`` ←
                          ``source``, ``appraisal_message_id`` (creates the row when due)
``disposal.exported``     ``state`` exported, ``export_message_id``
``disposal.transferred``  ``state`` transferred, ``archivkennung``, ``transfer_message_id``
``disposal.destroyed``    ``state`` destroyed
``disposal.deleted``      the content is deleted (blobs are no longer expected)
========================  ================================================================

Rule table for Vorgänge (object id = Vorgang id): ``vorgang.create`` sets ``akte_id``,
``parent_id``, ``title``, ``status`` (``open`` unless given); ``vorgang.close`` and
``vorgang.reopen`` set ``status``.

Both passes are merge-joins of the events (sorted by object and sequence in the database)
with the rows in id order: memory holds one object's events and rows at a time, plus the
ids of Akten whose content a disposal deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from eakte.audit.events import Action
from eakte.audit.problems import Record
from eakte.audit.replay._findings import Findings
from eakte.audit.replay._stream import as_dict, events_by_object, grouped, merge, rows
from eakte.audit.replay.baseline import Baseline

__all__ = ["AKTE_ACTIONS", "VORGANG_ACTIONS", "check_akten", "check_vorgaenge"]

_State = dict[str, Any]

_DISPOSAL_FIELDS = ("state", "decision", "decision_source", "offer_message_id",
                    "appraisal_message_id", "export_message_id", "transfer_message_id",
                    "archivkennung")


class _Akte:
    """What the events say about one Akte; only the fields an event set are known."""

    __slots__ = ("created", "deleted", "disposal", "disposal_known", "fields", "holds")

    def __init__(self) -> None:
        self.created = False
        self.deleted = False
        self.fields: _State = {}
        self.disposal: _State | None = None  # known disposal fields (None: no row known)
        self.disposal_known = False  # True: whether a row exists is known (no row, or row)
        self.holds: dict[int, _State] = {}


def _create(a: _Akte, d: dict[str, Any], units: dict[str, int]) -> None:
    a.created = True
    a.disposal_known = True
    a.fields = {"aktenzeichen": d.get("aktenzeichen"), "title": d.get("title"),
                "unit_id": units.get(str(d.get("unit"))),
                "confidentiality": d.get("confidentiality", "offen"),
                "org_unit": d.get("org_unit"), "status": "open",
                "retention_override": False, "retention_years": None}


def _update(a: _Akte, d: dict[str, Any], units: dict[str, int]) -> None:
    if isinstance(d.get("title"), dict):
        a.fields["title"] = d["title"].get("new")


def _retention(a: _Akte, d: dict[str, Any], units: dict[str, int]) -> None:
    new = d.get("new")
    if isinstance(new, dict):
        a.fields["retention_override"] = bool(new.get("override"))
        a.fields["retention_years"] = new.get("years")


def _status(value: str) -> Callable[[_Akte, dict[str, Any], dict[str, int]], None]:
    def apply(a: _Akte, d: dict[str, Any], units: dict[str, int]) -> None:
        a.fields["status"] = value
    return apply


def _hold_set(a: _Akte, d: dict[str, Any], units: dict[str, int]) -> None:
    if isinstance(d.get("hold"), int):
        a.holds[d["hold"]] = {"reason": d.get("reason"), "active": True}


def _hold_release(a: _Akte, d: dict[str, Any], units: dict[str, int]) -> None:
    hold = a.holds.get(d.get("hold"))  # type: ignore[arg-type]
    if hold is not None:
        hold["active"] = False
    elif isinstance(d.get("hold"), int):  # a hold set before the baseline
        a.holds[d["hold"]] = {"active": False}


def _disposal(state: str, *, creates: bool = False, **names: str
              ) -> Callable[[_Akte, dict[str, Any], dict[str, int]], None]:
    """Return the rule of one disposal step; ``creates``: it always makes a new row."""
    def apply(a: _Akte, d: dict[str, Any], units: dict[str, int]) -> None:
        if a.disposal is None:
            full = creates or a.disposal_known
            a.disposal = dict.fromkeys(_DISPOSAL_FIELDS) if full else {}
        a.disposal_known = True
        a.disposal["state"] = state
        for column, key in names.items():
            a.disposal[column] = d.get(key)
    return apply


def _deleted(a: _Akte, d: dict[str, Any], units: dict[str, int]) -> None:
    a.deleted = True


_AKTE_RULES: dict[Action, Callable[[_Akte, dict[str, Any], dict[str, int]], None]] = {
    Action.AKTE_CREATE: _create,
    Action.AKTE_UPDATE: _update,
    Action.AKTE_CLOSE: _status("closed"),
    Action.AKTE_REOPEN: _status("open"),
    Action.AKTE_RETENTION: _retention,
    Action.HOLD_SET: _hold_set,
    Action.HOLD_RELEASE: _hold_release,
    Action.DISPOSAL_OFFERED: _disposal("offered", creates=True,
                                  offer_message_id="message_id"),
    Action.DISPOSAL_APPRAISED: _disposal("appraised", decision="decision",
                                    decision_source="source",
                                    appraisal_message_id="message_id"),
    Action.DISPOSAL_EXPORTED: _disposal("exported", export_message_id="message_id"),
    Action.DISPOSAL_TRANSFERRED: _disposal("transferred", archivkennung="archivkennung",
                                      transfer_message_id="message_id"),
    Action.DISPOSAL_DESTROYED: _disposal("destroyed"),
    Action.DISPOSAL_DELETED: _deleted,
}
AKTE_ACTIONS = tuple(_AKTE_RULES)
_ALWAYS = frozenset({Action.DISPOSAL_DELETED})  # deletion records count from event 1


def _fold(events: list[tuple[Any, ...]], baseline: Baseline, units: dict[str, int]) -> _Akte:
    akte = _Akte()
    for _key, seq, action, raw in events:
        if seq <= baseline.from_seq and action not in _ALWAYS:
            continue
        _AKTE_RULES[action](akte, as_dict(raw), units)
    return akte


def check_akten(conn: Connection, baseline: Baseline, units: dict[str, int],
                findings: Findings) -> tuple[int, set[int]]:
    """Compare Akten, their holds and disposal rows with the replayed events.

    Returns:
        the number of Akten compared, and the ids of Akten with a deletion record.
    """
    events = grouped(events_by_object(conn, "akte", AKTE_ACTIONS))
    akten = grouped(rows(conn, "SELECT id, aktenzeichen, title, unit_id, status, "
                               "confidentiality, org_unit, retention_override, "
                               "retention_years FROM akten ORDER BY id"))
    holds = grouped(rows(conn, "SELECT akte_id, id, reason, CASE WHEN released_at IS NULL "
                               "THEN 1 ELSE 0 END FROM legal_holds ORDER BY akte_id, id"))
    columns = ", ".join(_DISPOSAL_FIELDS)
    disposal = grouped(rows(conn, f"SELECT akte_id, {columns} FROM akte_disposal "  # noqa: S608
                                  "ORDER BY akte_id"))
    deleted: set[int] = set()
    count = 0
    for akte_id, (evs, akte_rows, hold_rows, disposal_rows) in merge(
            events, akten, holds, disposal):
        akte = _fold(evs, baseline, units)
        if akte.deleted:
            deleted.add(akte_id)
        subject = f"akte {akte_id}"
        data = {"akte_id": akte_id}
        if akte_rows:
            count += 1
            row = dict(zip(("aktenzeichen", "title", "unit_id", "status", "confidentiality",
                            "org_unit", "retention_override", "retention_years"),
                           akte_rows[0][1:], strict=True))
            row["retention_override"] = bool(row["retention_override"])
            if not akte.created and not baseline.legacy("akten", akte_id):
                findings.unaudited(Record.AKTE, subject, data)
            else:
                findings.compare(Record.AKTE, subject, row, akte.fields, data)
        elif akte.created:
            findings.missing(Record.AKTE, subject, data)
        _check_holds(akte_id, akte, hold_rows, baseline, findings)
        _check_disposal(akte_id, akte, disposal_rows, findings)
    return count, deleted


def _check_holds(akte_id: int, akte: _Akte, hold_rows: list[tuple[Any, ...]],
                 baseline: Baseline, findings: Findings) -> None:
    seen = set()
    for _akte, hold_id, reason, active in hold_rows:
        subject = f"hold {hold_id}"
        data = {"akte_id": akte_id, "hold_id": hold_id}
        wanted = akte.holds.get(int(hold_id))
        seen.add(int(hold_id))
        if wanted is None:
            if not baseline.legacy("legal_holds", int(hold_id)):
                findings.unaudited(Record.HOLD, subject, data,
                                   what=f"no audit event set it on akte {akte_id}")
            continue
        findings.compare(Record.HOLD, subject, {"reason": reason, "active": bool(active)}, wanted,
                         data)
    for hold_id, wanted in akte.holds.items():
        if hold_id not in seen and "reason" in wanted:
            findings.missing(Record.HOLD, f"hold {hold_id}", {"akte_id": akte_id,
                                                          "hold_id": hold_id})


def _check_disposal(akte_id: int, akte: _Akte, disposal_rows: list[tuple[Any, ...]],
                    findings: Findings) -> None:
    subject = f"akte {akte_id} disposal"
    data = {"akte_id": akte_id}
    if disposal_rows:
        if akte.disposal is None:
            if akte.disposal_known:
                findings.unaudited(Record.DISPOSAL, subject, data,
                                   what="no audit event began the Akte's Aussonderung")
            return
        row = dict(zip(_DISPOSAL_FIELDS, disposal_rows[0][1:], strict=True))
        findings.compare(Record.DISPOSAL, subject, row, akte.disposal, data)
    elif akte.disposal is not None and akte.disposal_known:
        findings.missing(Record.DISPOSAL, subject, data)


def _vorgang(events: list[tuple[Any, ...]], baseline: Baseline) -> tuple[bool, _State]:
    created, fields = False, {}
    for _key, seq, action, raw in events:
        if seq <= baseline.from_seq:
            continue
        d = as_dict(raw)
        if action == Action.VORGANG_CREATE:
            created = True
            fields = {"akte_id": d.get("akte"), "parent_id": d.get("parent"),
                      "title": d.get("title"), "status": d.get("status", "open")}
        else:
            fields["status"] = "closed" if action == Action.VORGANG_CLOSE else "open"
    return created, fields


VORGANG_ACTIONS = (Action.VORGANG_CREATE, Action.VORGANG_CLOSE, Action.VORGANG_REOPEN)


def check_vorgaenge(conn: Connection, baseline: Baseline, findings: Findings) -> int:
    """Compare Vorgänge with the replayed events; return how many rows were compared."""
    events = grouped(events_by_object(conn, "vorgang", VORGANG_ACTIONS))
    vorgaenge = grouped(rows(conn, "SELECT id, akte_id, parent_id, title, status "
                                   "FROM vorgaenge ORDER BY id"))
    count = 0
    for vorgang_id, (evs, found) in merge(events, vorgaenge):
        created, fields = _vorgang(evs, baseline)
        subject = f"vorgang {vorgang_id}"
        data = {"vorgang_id": vorgang_id}
        if found:
            count += 1
            row = dict(zip(("akte_id", "parent_id", "title", "status"), found[0][1:],
                           strict=True))
            if not created and not baseline.legacy("vorgaenge", vorgang_id):
                findings.unaudited(Record.VORGANG, subject, data)
            else:
                findings.compare(Record.VORGANG, subject, row, fields, data)
        elif created:
            findings.missing(Record.VORGANG, subject, data)
    return count
