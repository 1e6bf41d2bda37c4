"""Offline verification of the audit hash chain against the stored canonical bytes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select

from eakte.audit.log import GENESIS_HASH, format_time
from eakte.errors import Problem
from eakte.model import AuditEvent, AuditHead

__all__ = ["verify_chain"]

_COLUMNS = ("actor", "action", "object_type", "object_id")


def _problem(kind: str, seq: int, message: str) -> Problem:
    return Problem(kind=kind, subject=f"audit event {seq}", message=message, data={"seq": seq})


def _check_columns(row: Any, doc: dict[str, Any]) -> list[str]:
    """Return the names of columns whose value differs from the canonical bytes."""
    differ = [name for name in _COLUMNS if getattr(row, name) != doc.get(name)]
    if format_time(row.time) != doc.get("time"):
        differ.append("time")
    if row.details != doc.get("details"):
        differ.append("details")
    return differ


def verify_chain(
    conn: Connection,
    *,
    progress: Callable[[int], None] | None = None,
    batch: int = 10_000,
) -> tuple[int, list[Problem]]:
    """Recompute the audit chain and compare it with every stored event and the head.

    Detects edited events (bytes or columns), inserted, deleted and reordered events, and a
    truncated tail (head row disagrees with the last event). After a break the check goes on
    from the stored hash, so every altered place is reported, not only the first.

    Args:
        conn: an open connection to the store's database.
        progress: called with the number of events checked so far, every ``batch`` events.
        batch: rows fetched per round trip.

    Returns:
        the number of events checked and the problems found.
    """
    problems: list[Problem] = []
    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    sha256 = hashlib.sha256
    loads = json.loads
    stmt = select(
        AuditEvent.seq,
        AuditEvent.canonical,
        AuditEvent.hash,
        AuditEvent.time,
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.object_type,
        AuditEvent.object_id,
        AuditEvent.details,
    ).order_by(AuditEvent.seq)
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
    for row in result:
        seq = row.seq
        canon = bytes(row.canonical)
        if seq != expected_seq:
            problems.append(
                _problem(
                    "audit.sequence_gap",
                    seq,
                    f"expected event {expected_seq} next, found {seq}: "
                    f"{'events deleted' if seq > expected_seq else 'duplicate sequence'}",
                )
            )
        try:
            doc = loads(canon)
        except ValueError:
            problems.append(_problem("audit.undecodable", seq, "canonical bytes are not JSON"))
            doc = {}
        if doc and doc.get("seq") != seq:
            problems.append(
                _problem(
                    "audit.reordered",
                    seq,
                    f"row {seq} holds the bytes of event {doc.get('seq')} (moved or reordered)",
                )
            )
        elif doc:
            differ = _check_columns(row, doc)
            if differ:
                problems.append(
                    _problem(
                        "audit.column_mismatch",
                        seq,
                        f"column(s) {', '.join(differ)} differ from the hashed bytes (row edited)",
                    )
                )
        computed = sha256(bytes.fromhex(prev) + canon).hexdigest()
        if computed != row.hash:
            problems.append(
                _problem(
                    "audit.hash_mismatch",
                    seq,
                    "hash does not follow from the previous event and this event's bytes: "
                    "this event or the one before it was altered, inserted or removed",
                )
            )
        prev = row.hash
        expected_seq = seq + 1
        count += 1
        if progress is not None and count % batch == 0:
            progress(count)
    head = conn.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    last_seq = expected_seq - 1
    if head is None:
        problems.append(
            Problem("audit.head_missing", "audit head", "the chain head row is missing")
        )
    elif head.seq != last_seq or (count and head.hash != prev):
        problems.append(
            Problem(
                "audit.head_mismatch",
                "audit head",
                f"head records event {head.seq} ({head.hash[:12]}…) but the log ends at "
                f"event {last_seq}: events at the end were removed or the head was altered",
            )
        )
    if progress is not None:
        progress(count)
    return count, problems
