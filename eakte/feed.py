"""The change feed: what happened to the Akten a principal may see, after a cursor.

The feed is read from the audit log, so it holds exactly what was committed, in commit
order, and its cursor is the audit sequence number. Adapters poll it with a durable
position of their own (:meth:`FeedMixin.feed_position`); nothing is called back inside a
write transaction.

Example:
    >>> import eakte, tempfile
    >>> store = eakte.open(tempfile.mkdtemp())
    >>> with store.session() as s:
    ...     _ = s.add_plan_unit("630.10", "Baugenehmigungen")
    ...     _ = s.create_akte("630.10", "Neubau Lindenstraße 4")
    >>> with store.session() as s:
    ...     page = s.changes(since=0)
    >>> [(e.action, e.aktenzeichen) for e in page]  # doctest: +ELLIPSIS
    [('created', '630.10-0001/...')]
    >>> store.close()
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from eakte._unit_of_work import UnitOfWork
from eakte.access import Permission
from eakte.errors import InvalidInput
from eakte.model import AdapterCursor, Akte, AuditEvent, AuditHead

__all__ = ["FEED_ACTIONS", "ChangeEvent", "FeedMixin", "FeedPage"]

#: Audit action → feed action. Only these events appear in the feed.
FEED_ACTIONS: dict[str, str] = {
    "akte.create": "created",
    "akte.import": "created",
    "vorgang.create": "created",
    "document.file": "filed",
    "version.add": "version_added",
    "rendition.add": "rendition_added",
    "akte.update": "metadata_changed",
    "document.update": "metadata_changed",
    "vorgang.update": "metadata_changed",
    "akte.retention": "metadata_changed",
    "akte.close": "closed",
    "vorgang.close": "closed",
    "akte.reopen": "reopened",
    "vorgang.reopen": "reopened",
    "hold.set": "held",
    "hold.release": "released",
    "disposal.offered": "offered",
    "disposal.appraised": "appraised",
    "disposal.exported": "exported",
    "disposal.transferred": "transferred",
    "disposal.destroyed": "destroyed",
}
_MAX_LIMIT = 10_000


@dataclass(frozen=True)
class ChangeEvent:
    """One change, as the feed reports it.

    Attributes:
        sequence: the audit sequence number: the cursor to continue after.
        time: when it was committed (UTC).
        actor: who did it.
        action: the feed action (a value of :data:`FEED_ACTIONS`).
        audit_action: the audit log's action, e.g. ``"version.add"``.
        object_type: ``"akte"``, ``"vorgang"`` or ``"document"``.
        object_id: the object's id.
        akte_id: the Akte concerned.
        aktenzeichen: its Aktenzeichen.
        vorgang_id: the Vorgang, where there is one.
        document_id: the document, for document events.
        version: the version number, for filing and new versions.
        details: the audit event's details.
    """

    sequence: int
    time: datetime
    actor: str
    action: str
    audit_action: str
    object_type: str
    object_id: int
    akte_id: int
    aktenzeichen: str
    vorgang_id: int | None
    document_id: int | None
    version: int | None
    details: dict[str, Any] = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """Return the event as plain JSON-ready data."""
        return {
            "sequence": self.sequence, "time": self.time.isoformat(), "actor": self.actor,
            "action": self.action, "audit_action": self.audit_action,
            "object_type": self.object_type, "object_id": self.object_id,
            "akte_id": self.akte_id, "aktenzeichen": self.aktenzeichen,
            "vorgang_id": self.vorgang_id, "document_id": self.document_id,
            "version": self.version,
        }


@dataclass(frozen=True)
class FeedPage:
    """Events after a cursor, and where to continue.

    Save ``position`` and ask again from there. For a principal that may audit the whole
    store it is the audit log's head (or the last event of a full page): events it does
    not see, and audit events that are no changes, are passed over. For everyone else it
    is the sequence of the last event shown (or the position asked from, if none was):
    hidden events before it are passed over, those after it are looked at again on the
    next call (never shown), so the position never tells how much else happened.
    """

    events: list[ChangeEvent]
    position: int

    def __iter__(self) -> Iterator[ChangeEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, index: int) -> ChangeEvent:
        return self.events[index]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class FeedMixin(UnitOfWork):
    """The change feed and the durable cursors of its followers."""

    def changes(self, since: int = 0, *, limit: int = 500) -> FeedPage:
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
        head = int(self._orm.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0)
        stmt = (select(AuditEvent)
                .where(AuditEvent.seq > since, AuditEvent.seq <= head,
                       AuditEvent.action.in_(FEED_ACTIONS), AuditEvent.akte_id.is_not(None))
                .order_by(AuditEvent.seq).limit(limit))
        if not self.access.unrestricted:
            stmt = stmt.where(AuditEvent.akte_id.in_(
                select(Akte.id).where(self.access.akte_filter())))
        rows = list(self._orm.scalars(stmt))
        if self.access.on_store(Permission.AUDIT):  # it may know the size of the log
            position = rows[-1].seq if len(rows) == limit else max(head, since)
        else:  # the head would tell how much else happened: stop at what it saw
            position = rows[-1].seq if rows else since
        ids = {int(r.akte_id) for r in rows if r.akte_id is not None}
        names = dict(self._orm.execute(
            select(Akte.id, Akte.aktenzeichen).where(Akte.id.in_(ids))).all()
        ) if ids else {}
        return FeedPage([self._change_event(r, names) for r in rows], position)

    @staticmethod
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

    # -- durable cursors -----------------------------------------------------------------

    def feed_position(self, name: str) -> int:
        """Return the saved feed position of the follower ``name`` (0 if it has none)."""
        cursor = self._orm.get(AdapterCursor, name)
        return int(cursor.position) if cursor is not None else 0

    def save_feed_position(self, name: str, position: int) -> None:
        """Save how far the follower ``name`` has processed the feed.

        The position commits with the session: after a crash before the commit, the
        follower gets those events again, never loses them.

        Raises:
            InvalidInput: an empty name or a negative position.
        """
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise InvalidInput("a feed follower needs a name of 1–100 characters")
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise InvalidInput(f"position must be a sequence number ≥ 0, not {position!r}")
        self.begin_write()
        cursor = self._orm.get(AdapterCursor, name)
        if cursor is None:
            self._orm.add(AdapterCursor(name=name, position=position, updated_at=self._now()))
        else:
            cursor.position = position
            cursor.updated_at = self._now()
