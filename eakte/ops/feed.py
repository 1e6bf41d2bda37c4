"""The change feed read from the audit log, and the durable cursors of its followers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from eakte.access import Permission
from eakte.errors import InvalidInput
from eakte.feed import FEED_ACTIONS, ChangeEvent, FeedPage
from eakte.model import AdapterCursor, Akte, AuditEvent, AuditHead

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = ["changes", "feed_position", "save_feed_position"]


_MAX_LIMIT = 10_000


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def changes(uow: UnitOfWork, since: int = 0, *, limit: int = 500) -> FeedPage:
    """Return the changes after audit sequence ``since`` to Akten the principal may read.

    Access is decided now, from the current grants: a principal never sees events of
    an Akte it may not read, and a revoked grant hides that Akte's history too.

    Args:
        since: the last sequence already processed (0 for the beginning).
        limit: the most events to return (1–10 000).

    Raises:
        InvalidInput: ``since`` or ``limit`` out of range.
    """
    if isinstance(since, bool) or not isinstance(since, int) or since < 0:
        raise InvalidInput(f"since must be a sequence number ≥ 0, not {since!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {_MAX_LIMIT}, not {limit!r}")
    # Events up to the head are all committed (appends happen under the head lock, in
    # the same transaction as the head update), so the page may safely end there.
    head = int(uow.orm.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0)
    stmt = (select(AuditEvent)
            .where(AuditEvent.seq > since, AuditEvent.seq <= head,
                   AuditEvent.action.in_(FEED_ACTIONS), AuditEvent.akte_id.is_not(None))
            .order_by(AuditEvent.seq).limit(limit))
    if not uow.access.unrestricted:
        stmt = stmt.where(AuditEvent.akte_id.in_(
            select(Akte.id).where(uow.access.akte_filter())))
    rows = list(uow.orm.scalars(stmt))
    if uow.access.on_store(Permission.AUDIT):  # it may know the size of the log
        position = rows[-1].seq if len(rows) == limit else max(head, since)
    else:  # the head would tell how much else happened: stop at what it saw
        position = rows[-1].seq if rows else since
    ids = {int(r.akte_id) for r in rows if r.akte_id is not None}
    names = dict(uow.orm.execute(
        select(Akte.id, Akte.aktenzeichen).where(Akte.id.in_(ids))).all()
    ) if ids else {}
    return FeedPage([_change_event(r, names) for r in rows], position)


def _change_event(row: AuditEvent, names: dict[int, str]) -> ChangeEvent:
    details = dict(row.details)
    akte_id = int(row.akte_id or 0)
    object_id = int(row.object_id) if row.object_id.isdigit() else 0
    is_doc = row.object_type == "document"
    return ChangeEvent(
        sequence=row.seq, time=row.time, actor=row.actor,
        action=FEED_ACTIONS[row.action], audit_action=row.action,
        object_type=row.object_type, object_id=object_id, akte_id=akte_id,
        aktenzeichen=names.get(akte_id, str(details.get("aktenzeichen", ""))),
        vorgang_id=object_id if row.object_type == "vorgang" else _int(details.get("vorgang")),
        document_id=object_id if is_doc else None,
        version=_int(details.get("version")) if is_doc else None,
        details=details,
    )


def feed_position(uow: UnitOfWork, name: str) -> int:
    """Return the saved feed position of the follower ``name`` (0 if it has none)."""
    cursor = uow.orm.get(AdapterCursor, name)
    return int(cursor.position) if cursor is not None else 0


def save_feed_position(uow: UnitOfWork, name: str, position: int) -> None:
    """Save how far the follower ``name`` has processed the feed.

    The position commits with the session: after a crash before the commit, the
    follower gets those events again, never loses them.

    Raises:
        InvalidInput: an empty name or a negative position.
    """
    uow.begin_write()
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise InvalidInput("a feed follower needs a name of 1–100 characters")
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise InvalidInput(f"position must be a sequence number ≥ 0, not {position!r}")
    cursor = uow.orm.get(AdapterCursor, name)
    if cursor is None:
        uow.orm.add(AdapterCursor(name=name, position=position, updated_at=uow.now()))
    else:
        cursor.position = position
        cursor.updated_at = uow.now()

