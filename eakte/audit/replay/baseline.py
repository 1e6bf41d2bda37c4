"""The replay baseline of stores that existed before events carried everything to replay.

Such a store cannot be replayed from event 1. When it is migrated (revision 0009), one
``audit.replay_baseline`` event is appended to the chain, hashed like every other event:

- ``from_seq``: the last event before the baseline. Replay applies the events after it.
- ``principals``, ``memberships``, ``grants``, ``units``: the complete rights state and
  Aktenplan at that moment, the starting state of their replay (they are few).
- ``max_ids``: the highest id of each record table then. A row with a higher id must have
  been created by an event after ``from_seq``; a row at or below it, whose creation lies
  before, is checked only in the fields that later events set (and its versions, as ever).

Being an event, the baseline is protected by the chain and the signed checkpoints: moving
it forward to hide a change breaks both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from eakte.audit.events import Action
from eakte.audit.replay._stream import as_dict

__all__ = ["BASELINE_ACTION", "RECORD_TABLES", "REPLAYABLE", "Baseline", "load_baseline",
           "needs_baseline", "snapshot"]

BASELINE_ACTION = Action.AUDIT_REPLAY_BASELINE
#: Key in the ``store.init`` event of stores whose log replays from event 1.
REPLAYABLE = "replayable"
#: The record tables whose legacy rows the baseline bounds by id.
RECORD_TABLES = ("akten", "vorgaenge", "documents", "legal_holds")


@dataclass
class Baseline:
    """Where the replay starts, and from which state."""

    from_seq: int = 0
    max_ids: dict[str, int] = field(default_factory=dict)
    principals: list[list[Any]] = field(default_factory=list)
    memberships: list[list[Any]] = field(default_factory=list)
    grants: list[list[Any]] = field(default_factory=list)
    units: list[list[Any]] = field(default_factory=list)

    def legacy(self, table: str, row_id: int) -> bool:
        """True if a row of ``table`` with this id may predate the replayable log."""
        return row_id <= self.max_ids.get(table, 0)


def _table(conn: Connection, sql: str) -> list[list[Any]]:
    return [list(row) for row in conn.execute(text(sql))]


def snapshot(conn: Connection, from_seq: int) -> dict[str, Any]:
    """Return the details of a baseline event for the store's state as it is now."""
    max_ids = {t: int(conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {t}")).scalar_one())  # noqa: S608
               for t in RECORD_TABLES}
    return {
        "from_seq": from_seq,
        "max_ids": max_ids,
        "principals": [
            [int(r[0]), r[1], r[2], bool(r[3]), r[4], bool(r[5]), r[6]]
            for r in _table(conn, "SELECT id, name, kind, is_admin, clearance, active, org_unit "
                                  "FROM principals ORDER BY id")],
        "memberships": [[int(a), int(b)] for a, b in _table(
            conn, "SELECT member_id, group_id FROM memberships ORDER BY member_id, group_id")],
        "grants": [[int(r[0]), int(r[1]), r[2], r[3], int(r[4])] for r in _table(
            conn, "SELECT id, principal_id, role, target_type, target_id FROM grants "
                  "ORDER BY id")],
        "units": [[int(r[0]), r[1], r[2], None if r[3] is None else int(r[3]),
                   None if r[4] is None else int(r[4]), r[5]] for r in _table(
            conn, "SELECT id, kennzeichen, title, parent_id, retention_years, disposal "
                  "FROM aktenplan_units ORDER BY id")],
    }


def _replayable(conn: Connection) -> bool:
    """True if the store's first event says that its log replays from event 1."""
    first = conn.execute(text(
        "SELECT action, details FROM audit_events WHERE seq = 1")).first()
    return first is not None and first[0] == Action.STORE_INIT and (
        as_dict(first[1]).get(REPLAYABLE) is True)


def needs_baseline(conn: Connection) -> bool:
    """True for a store with events that neither replays from event 1 nor has a baseline."""
    if not conn.execute(text("SELECT seq FROM audit_events LIMIT 1")).first():
        return False
    has = conn.execute(text("SELECT seq FROM audit_events WHERE action = :a LIMIT 1"),
                       {"a": BASELINE_ACTION}).first()
    return has is None and not _replayable(conn)


def load_baseline(conn: Connection) -> tuple[Baseline, int | None]:
    """Return the store's baseline (the empty one for stores replayable from event 1).

    A baseline in a store whose log replays from event 1 is ignored: replay then starts
    at event 1 and finds whatever it would hide.

    Returns:
        the baseline and the sequence number of its event (None without one).
    """
    row = conn.execute(text(
        "SELECT seq, details FROM audit_events WHERE action = :a ORDER BY seq LIMIT 1"),
        {"a": BASELINE_ACTION}).first()
    if row is None or _replayable(conn):
        return Baseline(), None
    details = as_dict(row[1])

    def rows(name: str) -> list[list[Any]]:
        value = details.get(name)
        return [r for r in value if isinstance(r, list)] if isinstance(value, list) else []

    max_ids = details.get("max_ids")
    from_seq = details.get("from_seq")
    return Baseline(
        from_seq=from_seq if isinstance(from_seq, int) else int(row[0]),
        max_ids={str(k): v for k, v in max_ids.items() if isinstance(v, int)}
        if isinstance(max_ids, dict) else {},
        principals=rows("principals"), memberships=rows("memberships"),
        grants=rows("grants"), units=rows("units"),
    ), int(row[0])
