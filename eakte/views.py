"""JSON views of records objects: the one place that says what Akte, Document … look like.

The command line's ``--json`` output and its tables are built from these, and so is every
other JSON interface (an HTTP service, an export of listings); so the same object has the
same shape everywhere. Each function returns a new ``dict`` of JSON-ready values: strings,
numbers, booleans, None, lists, dicts, and ``datetime``/``date`` objects that the caller's
JSON encoder writes in ISO 8601 (the CLI's does). Keys and their meaning are stable; new
keys may be added.

A view reads nothing the caller may not read: views that need more than the object itself
take the :class:`~eakte.Session` to read through, so its access checks apply.

Example:
    >>> from eakte.views import akte_view                      # doctest: +SKIP
    >>> with store.session("mueller") as s:                    # doctest: +SKIP
    ...     print(json.dumps(akte_view(s, s.get_akte("630.10-1/2026")), default=str))
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
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
    from eakte.search.base import SearchHit
    from eakte.session import Session

__all__ = [
    "JsonObject",
    "akte_summary",
    "akte_view",
    "document_summary",
    "document_view",
    "event_view",
    "plan_unit_view",
    "principal_view",
    "rendition_view",
    "search_hit_view",
    "version_view",
    "vorgang_view",
]

#: A JSON object as the views return it: text keys, JSON-ready values (see above).
JsonObject: TypeAlias = dict[str, Any]


def plan_unit_view(unit: AktenplanUnit, parent: str | None) -> JsonObject:
    """Return an Aktenplan unit; ``parent`` is the parent's Kennzeichen (None: top level).

    Keys: ``id``, ``kennzeichen``, ``title``, ``parent``, ``retention_years``, ``disposal``.
    """
    return {
        "id": unit.id,
        "kennzeichen": unit.kennzeichen,
        "title": unit.title,
        "parent": parent,
        "retention_years": unit.retention_years,
        "disposal": unit.disposal,
    }


def akte_summary(akte: Akte, kennzeichen: str) -> JsonObject:
    """Return the fields of an Akte that listings show; ``kennzeichen``: its unit's.

    Keys: ``id``, ``aktenzeichen``, ``title``, ``status`` (``open``/``closed``),
    ``kennzeichen``, ``confidentiality``, ``org_unit``, ``created_at``, ``created_by``,
    ``closed_at``.
    """
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


def akte_view(session: Session, akte: Akte) -> JsonObject:
    """Return an Akte with its external ids, Vorgänge and documents (newest versions).

    Keys: those of :func:`akte_summary`, plus ``external_ids`` (``SYSTEM:ID`` strings),
    ``metadata``, ``vorgaenge`` (:func:`vorgang_view` each) and ``documents`` (``id``,
    ``title``, ``kind``, ``vorgang_id``, ``parent_document_id``, ``version`` (the number of
    versions) and the newest version's ``sha256``, ``size``, ``mime``, ``filename``).

    Raises:
        NotFoundError: ``session``'s principal may not read the Akte.
    """
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
        "vorgaenge": [vorgang_view(v) for v in session.vorgaenge(akte)],
        "documents": documents,
    }


def vorgang_view(vorgang: Vorgang) -> JsonObject:
    """Return a Vorgang as its Akte lists it.

    Keys: ``id``, ``title``, ``parent_id`` (the enclosing Vorgang's id, or None),
    ``status`` (``open``/``closed``).
    """
    return {"id": vorgang.id, "title": vorgang.title, "parent_id": vorgang.parent_id,
            "status": vorgang.status}


def rendition_view(rendition: Rendition) -> JsonObject:
    """Return a rendition of a version (a further form of the same content, e.g. PDF/A).

    Keys: ``kind``, ``sha256``, ``size``, ``mime``, ``filename``, ``created_at``,
    ``created_by``.
    """
    return {
        "kind": rendition.kind,
        "sha256": rendition.sha256,
        "size": rendition.size,
        "mime": rendition.mime,
        "filename": rendition.filename,
        "created_at": rendition.created_at,
        "created_by": rendition.created_by,
    }


def version_view(version: Version, renditions: list[Rendition]) -> JsonObject:
    """Return a version with its further renditions (:func:`rendition_view` each).

    Keys: ``number``, ``sha256``, ``size``, ``mime``, ``filename``, ``comment``,
    ``created_at``, ``created_by``, ``renditions``.
    """
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


def document_summary(document: Document, version: Version, aktenzeichen: str) -> JsonObject:
    """Return a document with one version's content fields (``eakte add`` output).

    Keys: ``id``, ``title``, ``kind``, ``aktenzeichen``, ``vorgang_id``, ``version`` (the
    version's number), ``sha256``, ``size``, ``mime``, ``filename``.
    """
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


def document_view(session: Session, document: Document) -> JsonObject:
    """Return a document with its Akte, Vorgang and every version (:func:`version_view`).

    Keys: ``id``, ``title``, ``aktenzeichen``, ``akte_id``, ``kind``, ``vorgang``
    (``id`` and ``title``, or None), ``parent_document_id``, ``document_date``,
    ``created_at``, ``created_by``, ``updated_at``, ``metadata``, ``versions``.

    Raises:
        NotFoundError: ``session``'s principal may not read the document's Akte.
    """
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


def event_view(event: AuditEvent) -> JsonObject:
    """Return an audit event as scripts see it, with its hashed bytes (base64).

    Keys: ``seq``, ``time``, ``actor``, ``action``, ``object_type``, ``object_id``,
    ``details``, ``hash``, ``canonical`` (the bytes the hash chain covers, base64).
    """
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


def principal_view(principal: Principal) -> JsonObject:
    """Return a principal (a user, group or org unit).

    Keys: ``name``, ``kind``, ``display_name``, ``org_unit``, ``is_admin``, ``clearance``,
    ``active``.
    """
    return {
        "name": principal.name,
        "kind": principal.kind,
        "display_name": principal.display_name,
        "org_unit": principal.org_unit,
        "is_admin": principal.is_admin,
        "clearance": principal.clearance,
        "active": principal.active,
    }


def search_hit_view(hit: SearchHit) -> JsonObject:
    """Return one search hit (``eakte search`` output); the score rounded to 4 places.

    Keys: ``document_id``, ``aktenzeichen``, ``title``, ``score``, ``snippet`` (the text
    around the match, with only what the principal may read).
    """
    return {
        "document_id": hit.document_id,
        "aktenzeichen": hit.aktenzeichen,
        "title": hit.title,
        "score": round(hit.score, 4),
        "snippet": hit.snippet,
    }
