"""Aussonderung helpers: status views, retention dates, deletion records and blob deletion."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, union
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession

from eakte.errors import BlobCleanupWarning, EakteError
from eakte.model import (
    Akte,
    AkteDisposal,
    AuditHead,
    Document,
    LegalHold,
    Rendition,
    Version,
)
from eakte.model.lifecycle import disposed_akte_ids
from eakte.types import DisposalDecision, DisposalState

if TYPE_CHECKING:
    from eakte.store import Store

__all__ = [
    "DisposalStatus",
    "DueAkte",
    "add_years",
    "delete_unreferenced_blobs",
    "deletion_record",
    "describe",
    "hold_text",
    "hold_view",
    "referenced_by_survivors",
]

_CHUNK = 500


def add_years(day: date, years: int) -> date:
    """Return ``day`` plus ``years`` calendar years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def _day(value: datetime | None) -> str:
    return value.astimezone(UTC).date().isoformat() if value is not None else "?"


@dataclass(frozen=True)
class DueAkte:
    """A closed Akte whose retention period has expired and that is not disposed yet.

    Attributes:
        id: the Akte's id.
        uuid: the Akte's UUID (stable for exchange formats).
        aktenzeichen: its Aktenzeichen.
        title: its title.
        kennzeichen: the Aktenplan unit's Kennzeichen.
        closed_at: when it was closed (z.d.A.); the retention period ran from then.
        retention_years: the retention period that applied.
        due_since: the day the retention period expired.
        decision: the Aktenplan unit's default Aussonderungsart (A, V or B).
        state: ``due``, or how far its Aussonderung has come (offered, appraised, exported).
        appraised: the appraisal decision once appraised, else None.
    """

    id: int
    uuid: str
    aktenzeichen: str
    title: str
    kennzeichen: str
    closed_at: datetime
    retention_years: int
    due_since: date
    decision: DisposalDecision
    state: DisposalState
    appraised: DisposalDecision | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready view."""
        return {
            "aktenzeichen": self.aktenzeichen,
            "id": self.id,
            "uuid": self.uuid,
            "title": self.title,
            "kennzeichen": self.kennzeichen,
            "closed_at": self.closed_at.isoformat(),
            "retention_years": self.retention_years,
            "due_since": self.due_since.isoformat(),
            "decision": self.decision.value,
            "state": self.state.value,
            "appraised": self.appraised.value if self.appraised else None,
        }


def hold_view(hold: LegalHold) -> dict[str, Any]:
    """Return a JSON-ready view of a legal hold."""
    return {
        "id": hold.id,
        "active": hold.active,
        "reason": hold.reason,
        "set_by": hold.set_by,
        "set_at": hold.set_at.isoformat(),
        "released_by": hold.released_by,
        "released_at": hold.released_at.isoformat() if hold.released_at else None,
        "release_reason": hold.release_reason,
    }


@dataclass(frozen=True)
class DisposalStatus:
    """Where an Akte stands on its way to Aussonderung, as of a day.

    Attributes:
        akte_id: the Akte's id.
        aktenzeichen: its Aktenzeichen.
        state: the lifecycle state (open, retained, due, offered, appraised, exported,
            transferred, destroyed).
        closed_at: when it was closed (z.d.A.), or None while open.
        retention_years: the retention period in years; None means unlimited.
        retention_override: True when the Akte overrides its Aktenplan unit's default.
        retention_until: the day the retention period expires (None: open or unlimited).
        default_decision: the Aktenplan unit's default Aussonderungsart.
        decision: the appraisal decision (A or V) once appraised.
        decision_source: ``"archive"`` (0502) or ``"aktenplan"`` (two-stage procedure).
        active_holds: the legal holds in force; any of them blocks disposal.
        disposal: the recorded Aussonderung row (message ids, dates, Archivkennung), if any.
    """

    akte_id: int
    aktenzeichen: str
    state: DisposalState
    closed_at: datetime | None
    retention_years: int | None
    retention_override: bool
    retention_until: date | None
    default_decision: DisposalDecision
    decision: DisposalDecision | None
    decision_source: str | None
    active_holds: tuple[LegalHold, ...]
    disposal: AkteDisposal | None

    @property
    def on_hold(self) -> bool:
        """True while at least one legal hold is active."""
        return bool(self.active_holds)

    @property
    def archivkennung(self) -> str | None:
        """The archive's identifier after the transfer was confirmed (0506)."""
        return self.disposal.archivkennung if self.disposal else None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready view."""
        d = self.disposal

        def ts(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "aktenzeichen": self.aktenzeichen,
            "id": self.akte_id,
            "state": self.state.value,
            "closed_at": ts(self.closed_at),
            "retention_years": self.retention_years,
            "retention_override": self.retention_override,
            "retention_until": self.retention_until.isoformat() if self.retention_until else None,
            "default_decision": self.default_decision.value,
            "decision": self.decision.value if self.decision else None,
            "decision_source": self.decision_source,
            "on_hold": self.on_hold,
            "active_holds": [hold_view(h) for h in self.active_holds],
            "offered_at": ts(d.offered_at) if d else None,
            "offer_message_id": d.offer_message_id if d else None,
            "appraised_at": ts(d.appraised_at) if d else None,
            "appraisal_message_id": d.appraisal_message_id if d else None,
            "exported_at": ts(d.exported_at) if d else None,
            "export_message_id": d.export_message_id if d else None,
            "transferred_at": ts(d.transferred_at) if d else None,
            "transfer_message_id": d.transfer_message_id if d else None,
            "archivkennung": d.archivkennung if d else None,
            "destroyed_at": ts(d.destroyed_at) if d else None,
        }


def describe(status: DisposalStatus) -> str:
    """Say where an Akte stands and what must happen next (for error messages)."""
    d = status.disposal
    state = status.state
    if state == DisposalState.OPEN:
        return "is open; close it (z.d.A.) and let its retention period expire first"
    if state == DisposalState.RETAINED:
        if status.retention_until is None:
            return "has an unlimited retention period and never becomes due for disposal"
        return (f"is retained until {status.retention_until.isoformat()}; its retention "
                "period must expire first")
    if state == DisposalState.DUE:
        return ("is due but has not been offered to the archive; mark it offered (0501) "
                "first, appraise it by the Aktenplan default (two-stage procedure), or "
                "record the archive's appraisal received on paper")
    assert d is not None
    if state == DisposalState.OFFERED:
        return (f"was offered to the archive on {_day(d.offered_at)} and awaits its "
                "appraisal; record the appraisal (0502) first")
    if state == DisposalState.APPRAISED:
        if d.decision == DisposalDecision.ARCHIVE:
            return (f"was appraised A (archive) on {_day(d.appraised_at)}; export it to the "
                    "archive (0503) and confirm the transfer (0506) next")
        return (f"was appraised V (destroy) on {_day(d.appraised_at)}; destroy it next")
    if state == DisposalState.EXPORTED:
        return (f"was exported to the archive on {_day(d.exported_at)} (0503 "
                f"{d.export_message_id}); confirm the transfer (0506) next")
    if state == DisposalState.TRANSFERRED:
        return (f"was transferred to the archive on {_day(d.transferred_at)} (Archivkennung "
                f"{d.archivkennung}); its content is deleted")
    return f"was destroyed on {_day(d.destroyed_at)}; its content is deleted"


def hold_text(holds: Sequence[LegalHold]) -> str:
    """Describe active legal holds for an error message."""
    first = holds[0]
    more = f" and {len(holds) - 1} more" if len(holds) > 1 else ""
    return (f"legal hold {first.id} ({first.reason!r}, set on {_day(first.set_at)} by "
            f"{first.set_by}){more}")


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def referenced_by_survivors(orm: OrmSession, shas: Iterable[str]) -> set[str]:
    """Return which of ``shas`` a version or rendition of a non-disposed Akte refers to."""
    used: set[str] = set()
    for chunk in _chunks(sorted(set(shas))):
        survivors = Document.akte_id.not_in(disposed_akte_ids())
        stmt = union(
            select(Version.sha256)
            .join(Document, Document.id == Version.document_id)
            .where(Version.sha256.in_(chunk), survivors),
            select(Rendition.sha256)
            .join(Version, Version.id == Rendition.version_id)
            .join(Document, Document.id == Version.document_id)
            .where(Rendition.sha256.in_(chunk), survivors),
        )
        used.update(orm.execute(stmt).scalars())
    return used


def deletion_record(orm: OrmSession, akte: Akte) -> tuple[dict[str, Any], list[str]]:
    """Describe everything disposal deletes from ``akte``, inside the disposing transaction.

    The Akte's disposal state must be flushed already, so that its own versions no longer
    count as survivors.

    Returns:
        the audit details (documents with every version's and rendition's sha256 and size,
        blobs to delete and blobs kept because other Akten share them) and the blobs to
        delete after commit.
    """
    versions: dict[int, list[dict[str, Any]]] = {}
    by_version: dict[int, dict[str, Any]] = {}
    shas: set[str] = set()
    rows = orm.execute(
        select(Version.id, Version.document_id, Version.number, Version.uuid, Version.sha256,
               Version.size)
        .join(Document, Document.id == Version.document_id)
        .where(Document.akte_id == akte.id)
        .order_by(Version.document_id, Version.number)
    )
    for vid, doc_id, number, vuuid, sha, size in rows:
        entry = {"number": number, "uuid": vuuid, "sha256": sha, "size": size,
                 "renditions": []}
        versions.setdefault(doc_id, []).append(entry)
        by_version[vid] = entry
        shas.add(sha)
    renditions = orm.execute(
        select(Rendition.id, Rendition.version_id, Rendition.kind, Rendition.sha256,
               Rendition.size)
        .join(Version, Version.id == Rendition.version_id)
        .join(Document, Document.id == Version.document_id)
        .where(Document.akte_id == akte.id)
        .order_by(Rendition.id)
    )
    n_renditions = 0
    for rid, vid, kind, sha, size in renditions:
        by_version[vid]["renditions"].append(
            {"id": rid, "kind": kind, "sha256": sha, "size": size})
        shas.add(sha)
        n_renditions += 1
    documents = [
        {"id": doc_id, "uuid": doc_uuid, "versions": versions.get(doc_id, [])}
        for doc_id, doc_uuid in orm.execute(
            select(Document.id, Document.uuid).where(Document.akte_id == akte.id)
            .order_by(Document.id))
    ]
    shared = referenced_by_survivors(orm, shas)
    delete = sorted(shas - shared)
    details = {
        "aktenzeichen": akte.aktenzeichen,
        "akte_uuid": akte.uuid,
        "documents": documents,
        "document_count": len(documents),
        "version_count": len(by_version),
        "rendition_count": n_renditions,
        "blobs_deleted": delete,
        "blobs_shared": sorted(shared),
    }
    return details, delete


def delete_unreferenced_blobs(store: Store, shas: Sequence[str]) -> int:
    """Delete the blobs in ``shas`` that no surviving version or rendition refers to.

    Runs after the disposal committed. Each batch re-checks the references and deletes
    while holding the audit head lock, which every committing writer takes too; a writer
    that reused one of these blobs before it was deleted therefore either committed first
    (and the blob is kept) or finds it gone at commit and saves nothing. A failure leaves
    the remaining blobs as orphans (``verify`` notices) and warns.

    Returns:
        how many blobs were deleted.
    """
    deleted = 0
    try:
        for chunk in _chunks(list(shas)):
            with store.orm_session() as orm, orm.begin():
                orm.execute(
                    select(AuditHead.seq).where(AuditHead.id == 1).with_for_update())
                used = referenced_by_survivors(orm, chunk)
                for sha in chunk:
                    if sha not in used:
                        store.blobs.delete(sha)
                        deleted += 1
    except (EakteError, SQLAlchemyError, OSError) as exc:
        warnings.warn(
            f"the disposal was committed, but deleting its blobs failed after {deleted} "
            f"({exc}); the rest stay as orphan blobs that 'eakte verify' reports",
            BlobCleanupWarning,
            stacklevel=4,
        )
    return deleted
