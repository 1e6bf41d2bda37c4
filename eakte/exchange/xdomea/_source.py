"""Reading what an xdomea export needs from the database, in bounded batches.

Documents are read per container (the Akte itself, each Vorgang) with keyset pagination,
and each batch brings its versions, renditions, Anlagen and audit history along in a few
``IN`` queries. Only plain column tuples are loaded (no ORM identity map), so memory stays
flat however many documents an Akte holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from eakte.audit.events import Action
from eakte.model import (
    Akte,
    AkteDisposal,
    AktenplanUnit,
    AuditEvent,
    Document,
    ExternalRef,
    Rendition,
    Version,
    Vorgang,
)

__all__ = [
    "AkteRow",
    "DocumentRow",
    "HistoryRow",
    "RenditionRow",
    "VersionRow",
    "VorgangRow",
    "history",
    "iter_documents",
    "load_akte",
    "load_vorgaenge",
]

BATCH = 500
#: Audit actions that are reads, refusals or exports, not changes: they are not part of an
#: object's history (and a refusal names another principal's attempt, which the receiver
#: has no business seeing).
_NOT_HISTORY = (Action.CONTENT_READ, Action.ACCESS_DENIED,
                *(action for action in Action if action.object_kind == "export"))


@dataclass(frozen=True)
class HistoryRow:
    """One audit event of an object (becomes ``HistorienProtokollInformation``)."""

    time: datetime
    actor: str
    action: str
    details: dict[str, Any]


@dataclass(frozen=True)
class AkteRow:
    """What the export writes about an Akte."""

    id: int
    uuid: str
    aktenzeichen: str
    title: str
    status: str
    created_at: datetime
    closed_at: datetime | None
    org_unit: str | None
    confidentiality: str
    meta: dict[str, Any]
    retention_years: int | None  # None: unlimited
    decision: str
    kennzeichen: str
    unit_title: str
    disposal_state: str | None
    offer_message_id: str | None
    export_message_id: str | None
    external_ids: tuple[str, ...]
    retention_until: date | None = None


@dataclass(frozen=True)
class VorgangRow:
    """What the export writes about a Vorgang."""

    id: int
    uuid: str
    parent_id: int | None
    title: str
    status: str
    created_at: datetime
    closed_at: datetime | None
    meta: dict[str, Any]


@dataclass(frozen=True)
class RenditionRow:
    """A further rendition of a version."""

    id: int
    kind: str
    sha256: str
    size: int
    mime: str
    filename: str
    created_at: datetime
    created_by: str


@dataclass
class VersionRow:
    """A version with its renditions."""

    id: int
    uuid: str
    number: int
    sha256: str
    size: int
    mime: str
    filename: str
    comment: str | None
    created_at: datetime
    created_by: str
    renditions: list[RenditionRow] = field(default_factory=list)


@dataclass
class DocumentRow:
    """A document with its versions, Anlagen and history."""

    id: int
    uuid: str
    title: str
    kind: str
    document_date: date | None
    meta: dict[str, Any]
    created_at: datetime
    created_by: str
    versions: list[VersionRow] = field(default_factory=list)
    anlagen: list[DocumentRow] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)


def load_akte(orm: OrmSession, akte: Akte, retention_until: date | None = None) -> AkteRow:
    """Return the export view of ``akte`` (effective retention and disposal decision)."""
    unit = orm.get(AktenplanUnit, akte.unit_id)
    assert unit is not None  # a foreign key guarantees it
    disposal = orm.get(AkteDisposal, akte.id)
    retention = akte.retention_years if akte.retention_override else unit.retention_years
    decision = (disposal.decision if disposal is not None and disposal.decision
                else unit.disposal)
    refs = orm.execute(
        select(ExternalRef.system, ExternalRef.external_id)
        .where(ExternalRef.object_type == "akte", ExternalRef.object_id == akte.id)
        .order_by(ExternalRef.id)
    ).all()
    return AkteRow(
        id=akte.id, uuid=akte.uuid, aktenzeichen=akte.aktenzeichen, title=akte.title,
        status=akte.status, created_at=akte.created_at, closed_at=akte.closed_at,
        org_unit=akte.org_unit, confidentiality=akte.confidentiality, meta=dict(akte.meta),
        retention_years=retention, decision=decision, kennzeichen=unit.kennzeichen,
        unit_title=unit.title,
        disposal_state=disposal.state if disposal is not None else None,
        offer_message_id=disposal.offer_message_id if disposal is not None else None,
        export_message_id=disposal.export_message_id if disposal is not None else None,
        external_ids=tuple(f"{s}:{e}" for s, e in refs), retention_until=retention_until,
    )


def load_vorgaenge(orm: OrmSession, akte_id: int) -> list[VorgangRow]:
    """Return every Vorgang of an Akte in creation order."""
    rows = orm.execute(
        select(Vorgang.id, Vorgang.uuid, Vorgang.parent_id, Vorgang.title, Vorgang.status,
               Vorgang.created_at, Vorgang.closed_at, Vorgang.meta)
        .where(Vorgang.akte_id == akte_id).order_by(Vorgang.id)
    ).all()
    return [VorgangRow(r.id, r.uuid, r.parent_id, r.title, r.status, r.created_at,
                       r.closed_at, dict(r.meta or {})) for r in rows]


def history(orm: OrmSession, object_type: str, ids: Sequence[int]
            ) -> dict[int, list[HistoryRow]]:
    """Return the audit events (changes, not reads) of objects, oldest first, per object id."""
    out: dict[int, list[HistoryRow]] = defaultdict(list)
    if not ids:
        return out
    keys = [str(i) for i in ids]
    rows = orm.execute(
        select(AuditEvent.object_id, AuditEvent.time, AuditEvent.actor, AuditEvent.action,
               AuditEvent.details)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id.in_(keys),
               AuditEvent.action.not_in(_NOT_HISTORY))
        .order_by(AuditEvent.seq)
    )
    for object_id, time, actor, action, details in rows:
        out[int(object_id)].append(HistoryRow(
            time, actor, action, details if isinstance(details, dict) else {}))
    return out


def _versions(orm: OrmSession, doc_ids: Sequence[int]) -> dict[int, list[VersionRow]]:
    by_doc: dict[int, list[VersionRow]] = defaultdict(list)
    by_id: dict[int, VersionRow] = {}
    for r in orm.execute(
        select(Version.id, Version.uuid, Version.document_id, Version.number, Version.sha256,
               Version.size, Version.mime, Version.filename, Version.comment,
               Version.created_at, Version.created_by)
        .where(Version.document_id.in_(doc_ids))
        .order_by(Version.document_id, Version.number)
    ):
        row = VersionRow(r.id, r.uuid, r.number, r.sha256, r.size, r.mime, r.filename,
                         r.comment, r.created_at, r.created_by)
        by_doc[r.document_id].append(row)
        by_id[r.id] = row
    if by_id:
        for rr in orm.execute(
            select(Rendition.id, Rendition.version_id, Rendition.kind, Rendition.sha256,
                   Rendition.size, Rendition.mime, Rendition.filename, Rendition.created_at,
                   Rendition.created_by)
            .where(Rendition.version_id.in_(list(by_id)))
            .order_by(Rendition.version_id, Rendition.id)
        ):
            by_id[rr.version_id].renditions.append(RenditionRow(
                rr.id, rr.kind, rr.sha256, rr.size, rr.mime, rr.filename, rr.created_at,
                rr.created_by))
    return by_doc


_DOC_COLUMNS = (Document.id, Document.uuid, Document.title, Document.kind,
                Document.document_date, Document.meta, Document.created_at,
                Document.created_by)


def _complete(orm: OrmSession, rows: Sequence[Any], *, with_versions: bool, depth: int = 0
              ) -> list[DocumentRow]:
    docs = [DocumentRow(r.id, r.uuid, r.title, r.kind, r.document_date, dict(r.meta or {}),
                        r.created_at, r.created_by) for r in rows]
    ids = [d.id for d in docs]
    if not ids:
        return docs
    if with_versions:
        versions = _versions(orm, ids)
        for doc in docs:
            doc.versions = versions.get(doc.id, [])
    events = history(orm, "document", ids)
    for doc in docs:
        doc.history = events.get(doc.id, [])
    if depth < 20:  # Anlagen of Anlagen: bounded, a cycle cannot exist but be safe
        children = orm.execute(
            select(*_DOC_COLUMNS, Document.parent_document_id)
            .where(Document.parent_document_id.in_(ids)).order_by(Document.id)
        ).all()
        if children:
            completed = _complete(orm, children, with_versions=with_versions, depth=depth + 1)
            by_parent: dict[int, list[DocumentRow]] = defaultdict(list)
            for row, child in zip(children, completed, strict=True):
                by_parent[row.parent_document_id].append(child)
            for doc in docs:
                doc.anlagen = by_parent.get(doc.id, [])
    return docs


def iter_documents(orm: OrmSession, akte_id: int, vorgang_id: int | None, *,
                   with_versions: bool, batch: int = BATCH) -> Iterator[DocumentRow]:
    """Yield the documents of one container (Anlagen nested), in filing order.

    Args:
        orm: the session to read with.
        akte_id: the Akte.
        vorgang_id: the Vorgang, or None for documents filed directly in the Akte.
        with_versions: also load versions and renditions (0503), not only metadata (0501).
        batch: documents per round of queries.
    """
    last = 0
    while True:
        stmt = (select(*_DOC_COLUMNS)
                .where(Document.akte_id == akte_id, Document.parent_document_id.is_(None),
                       Document.id > last)
                .order_by(Document.id).limit(batch))
        stmt = stmt.where(Document.vorgang_id.is_(None) if vorgang_id is None
                          else Document.vorgang_id == vorgang_id)
        rows = orm.execute(stmt).all()
        if not rows:
            return
        last = rows[-1].id
        yield from _complete(orm, rows, with_versions=with_versions)
