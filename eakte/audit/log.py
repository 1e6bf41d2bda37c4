"""Append audit events to the hash chain: canonical encoding, chain hash, locked append."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session as OrmSession

from eakte.model import AuditEvent, AuditHead

__all__ = [
    "CANONICAL_FORMAT",
    "GENESIS_HASH",
    "PendingEvent",
    "append_events",
    "canonical_bytes",
    "chain_hash",
    "event_akte_id",
    "format_time",
]

#: Version of the canonical event encoding; part of every encoded event.
CANONICAL_FORMAT = 1
#: The "previous hash" of the first event.
GENESIS_HASH = "0" * 64


@dataclass
class PendingEvent:
    """An audit event recorded during a session, appended to the chain at commit.

    ``target`` may be an ORM object whose primary key is only known after flush; it is
    resolved when the event is appended.
    """

    action: str
    object_type: str
    target: Any
    details: dict[str, Any] = field(default_factory=dict)


def format_time(value: datetime) -> str:
    """Return the canonical text form of a timestamp (UTC, microseconds, ``Z``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(
    *,
    seq: int,
    time: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: Mapping[str, Any],
) -> bytes:
    """Encode one event as the exact bytes that are hashed and stored.

    The encoding is UTF-8 JSON with sorted keys and no insignificant white space, so that
    anyone can recompute it from the columns, without eakte.
    """
    doc = {
        "v": CANONICAL_FORMAT,
        "seq": seq,
        "time": format_time(time),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def chain_hash(previous_hash: str, canonical: bytes) -> str:
    """Return the hex SHA-256 over the previous hash (32 raw bytes) and ``canonical``."""
    return hashlib.sha256(bytes.fromhex(previous_hash) + canonical).hexdigest()


def event_akte_id(object_type: str, object_id: str, details: Mapping[str, Any]) -> int | None:
    """Return the Akte an event concerns, as recorded in the event itself.

    The Akte's own events name it as their object; events about its Vorgänge, documents and
    versions carry its id as ``details["akte"]``. Store-wide events (users, grants, the
    Aktenplan, exchange messages) concern no single Akte.
    """
    if object_type == "akte" and object_id.isdigit():
        return int(object_id)
    akte = details.get("akte")
    if isinstance(akte, int) and not isinstance(akte, bool):
        return akte
    return None


def _object_id(target: Any) -> str:
    if target is None:
        return ""
    if isinstance(target, str | int):
        return str(target)
    return str(target.id)


def _plain(value: Any) -> Any:
    """Turn ORM objects into their ids and dates into text so details are plain JSON."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return format_time(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, str | int | bool):
        return value
    if hasattr(value, "__table__"):
        return value.id
    return str(value)


def append_events(
    session: OrmSession, actor: str, events: Sequence[PendingEvent], now: datetime
) -> list[tuple[int, str]]:
    """Append ``events`` to the chain inside the caller's transaction.

    The chain head row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write
    transaction is already exclusive), so concurrent writers append one after the other and
    the chain cannot fork. Call this last in a transaction to keep the lock short.

    Returns:
        ``(seq, hash)`` of each appended event.
    """
    if not events:
        return []
    head = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    ).one()
    seq, prev = int(head.seq), str(head.hash)
    rows: list[dict[str, Any]] = []
    result: list[tuple[int, str]] = []
    for ev in events:
        seq += 1
        object_id = _object_id(ev.target)
        details = _plain(ev.details)
        canon = canonical_bytes(
            seq=seq,
            time=now,
            actor=actor,
            action=ev.action,
            object_type=ev.object_type,
            object_id=object_id,
            details=details,
        )
        prev = chain_hash(prev, canon)
        rows.append(
            {
                "seq": seq,
                "time": now,
                "actor": actor,
                "action": ev.action,
                "object_type": ev.object_type,
                "object_id": object_id,
                "details": details,
                "akte_id": event_akte_id(ev.object_type, object_id, details),
                "canonical": canon,
                "hash": prev,
            }
        )
        result.append((seq, prev))
    session.execute(insert(AuditEvent), rows)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
    return result
