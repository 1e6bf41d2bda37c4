"""The change feed: what happened to the Akten a principal may see, after a cursor.

The feed is read from the audit log, so it holds exactly what was committed, in commit
order, and its cursor is the audit sequence number. Adapters poll it with a durable
position of their own (:meth:`~eakte.Session.feed_position`); nothing is called back inside a
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

from eakte.audit.events import Action

__all__ = ["FEED_ACTIONS", "ChangeEvent", "FeedPage"]

#: Audit action → feed action. Only these events appear in the feed.
FEED_ACTIONS: dict[str, str] = {
    Action.AKTE_CREATE: "created",
    Action.AKTE_IMPORT: "created",
    Action.VORGANG_CREATE: "created",
    Action.DOCUMENT_FILE: "filed",
    Action.VERSION_ADD: "version_added",
    Action.RENDITION_ADD: "rendition_added",
    Action.AKTE_UPDATE: "metadata_changed",
    Action.DOCUMENT_UPDATE: "metadata_changed",
    Action.VORGANG_UPDATE: "metadata_changed",
    Action.AKTE_RETENTION: "metadata_changed",
    Action.AKTE_CLOSE: "closed",
    Action.VORGANG_CLOSE: "closed",
    Action.AKTE_REOPEN: "reopened",
    Action.VORGANG_REOPEN: "reopened",
    Action.HOLD_SET: "held",
    Action.HOLD_RELEASE: "released",
    Action.DISPOSAL_OFFERED: "offered",
    Action.DISPOSAL_APPRAISED: "appraised",
    Action.DISPOSAL_EXPORTED: "exported",
    Action.DISPOSAL_TRANSFERRED: "transferred",
    Action.DISPOSAL_DESTROYED: "destroyed",
}


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
