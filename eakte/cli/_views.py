"""Plain JSON-ready views of records objects, shared by the commands' JSON and human output."""

from __future__ import annotations

import base64
from typing import Any

from eakte.model import (
    Akte,
    AktenplanUnit,
    AuditEvent,
    Document,
    Principal,
    Rendition,
    Version,
    Vorgang,
)
from eakte.session import Session

__all__ = [
    "akte_summary",
    "akte_view",
    "document_summary",
    "document_view",
    "event_view",
    "plan_unit_view",
    "principal_view",
    "rendition_view",
    "version_view",
]


def plan_unit_view(unit: AktenplanUnit, parent: str | None) -> dict[str, Any]:
    """Return an Aktenplan unit; ``parent`` is the parent's Kennzeichen."""
    return {
        "id": unit.id,
        "kennzeichen": unit.kennzeichen,
        "title": unit.title,
        "parent": parent,
        "retention_years": unit.retention_years,
        "disposal": unit.disposal,
    }


def akte_summary(akte: Akte, kennzeichen: str) -> dict[str, Any]:
    """Return the fields of an Akte that listings show."""
    return {
        "id": akte.id,
        "aktenzeichen": akte.aktenzeichen,
        "title": akte.title,
        "status": akte.status,
        "kennzeichen": kennzeichen,
        "confidentiality": akte.confidentiality,
        "org_unit": akte.org_unit,
        "created_at": akte.created_at,
        "created_by": akte.created_by,
        "closed_at": akte.closed_at,
    }


def akte_view(session: Session, akte: Akte) -> dict[str, Any]:
    """Return an Akte with its external ids, Vorgänge and documents (newest versions)."""
    latest = session.latest_versions(akte)
    documents = []
    for document in session.documents(akte):
        version = latest.get(document.id)
        documents.append({
            "id": document.id,
            "title": document.title,
            "kind": document.kind,
            "vorgang_id": document.vorgang_id,
            "parent_document_id": document.parent_document_id,
            "version": document.version_count,
            "sha256": version.sha256 if version else None,
            "size": version.size if version else None,
            "mime": version.mime if version else None,
            "filename": version.filename if version else None,
        })
    return {
        **akte_summary(akte, akte.unit.kennzeichen),
        "external_ids": session.external_ids(akte),
        "metadata": akte.meta,
        "vorgaenge": [
            {"id": v.id, "title": v.title, "parent_id": v.parent_id, "status": v.status}
            for v in session.vorgaenge(akte)
        ],
        "documents": documents,
    }


def rendition_view(rendition: Rendition) -> dict[str, Any]:
    """Return a rendition of a version."""
    return {
        "kind": rendition.kind,
        "sha256": rendition.sha256,
        "size": rendition.size,
        "mime": rendition.mime,
        "filename": rendition.filename,
        "created_at": rendition.created_at,
        "created_by": rendition.created_by,
    }


def version_view(version: Version, renditions: list[Rendition]) -> dict[str, Any]:
    """Return a version with its further renditions."""
    return {
        "number": version.number,
        "sha256": version.sha256,
        "size": version.size,
        "mime": version.mime,
        "filename": version.filename,
        "comment": version.comment,
        "created_at": version.created_at,
        "created_by": version.created_by,
        "renditions": [rendition_view(r) for r in renditions],
    }


def document_summary(document: Document, version: Version, aktenzeichen: str) -> dict[str, Any]:
    """Return a document with its newest version's content fields (``eakte add`` output)."""
    return {
        "id": document.id,
        "title": document.title,
        "kind": document.kind,
        "aktenzeichen": aktenzeichen,
        "vorgang_id": document.vorgang_id,
        "version": version.number,
        "sha256": version.sha256,
        "size": version.size,
        "mime": version.mime,
        "filename": version.filename,
    }


def document_view(session: Session, document: Document) -> dict[str, Any]:
    """Return a document with its Akte, Vorgang and every version."""
    akte = session.get_akte(document.akte_id)
    vorgang: Vorgang | None = (
        session.get_vorgang(document.vorgang_id) if document.vorgang_id is not None else None
    )
    return {
        "id": document.id,
        "title": document.title,
        "aktenzeichen": akte.aktenzeichen,
        "akte_id": akte.id,
        "kind": document.kind,
        "vorgang": {"id": vorgang.id, "title": vorgang.title} if vorgang else None,
        "parent_document_id": document.parent_document_id,
        "document_date": document.document_date,
        "created_at": document.created_at,
        "created_by": document.created_by,
        "updated_at": document.updated_at,
        "metadata": document.meta,
        "versions": [
            version_view(v, session.renditions(v)) for v in session.versions(document)
        ],
    }


def event_view(event: AuditEvent) -> dict[str, Any]:
    """Return an audit event as scripts see it, with its hashed bytes (base64)."""
    return {
        "seq": event.seq,
        "time": event.time,
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": event.details,
        "hash": event.hash,
        "canonical": base64.b64encode(event.canonical).decode("ascii"),
    }


def principal_view(principal: Principal) -> dict[str, Any]:
    """Return a principal."""
    return {
        "name": principal.name,
        "kind": principal.kind,
        "display_name": principal.display_name,
        "org_unit": principal.org_unit,
        "is_admin": principal.is_admin,
        "clearance": principal.clearance,
        "active": principal.active,
    }
