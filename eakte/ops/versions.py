"""The immutable versions and renditions of documents: adding and listing them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update

from eakte._validate import clean_note, clean_text
from eakte.access import Permission
from eakte.audit.events import Action, version_payload
from eakte.errors import InvalidInput, NotFoundError
from eakte.ingest.source import Source
from eakte.model import Akte, Document, Rendition, Version
from eakte.model.base import new_uuid
from eakte.ops.documents import get_document, require_document
from eakte.ops.records import get_akte

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = [
    "add_rendition",
    "add_version",
    "get_version",
    "latest_versions",
    "renditions",
    "versions",
]


def add_version(
    uow: UnitOfWork,
    document: Document,
    source: Source,
    *,
    filename: str | None = None,
    comment: str | None = None,
    allow_identical: bool = False,
) -> Version:
    """Add a new immutable version to a document.

    The number comes from the document's counter, locked in this transaction, so
    concurrent writers get distinct consecutive numbers.

    Content identical to the newest version's (the same SHA-256) adds nothing: the
    newest version is returned unchanged (its ``number`` is then not above the
    document's version count before the call), and ``filename`` and ``comment`` are not
    recorded. ``allow_identical=True`` adds such a version anyway. Content equal to an
    older version is a new version (a return to an earlier state).

    Raises:
        StateConflict: the document's Akte or Vorgang is closed, or the Akte was disposed.
        InvalidInput: empty or unreadable content.
        UnsafeContent: the content exceeds the store's size limit, or its bytes are
            executable or not a PDF while its name says otherwise.
    """
    uow.begin_write()
    document = uow.own(document)
    require_document(uow, document, Permission.EDIT, "add versions")
    akte = get_akte(uow, document.akte_id)
    uow.require_open(akte, document.vorgang_id)
    comment = clean_note(comment, "comment")
    content = uow.accept_content(source, filename)
    if not allow_identical:
        uow.lock_document(document)  # concurrent writers compare with the final newest
        newest = uow.orm.scalars(select(Version).where(
            Version.document_id == document.id,
            Version.number == document.version_count)).first()
        if newest is not None and newest.sha256 == content.sha256:
            return newest
    now = uow.now()
    uow.flush()
    number = uow.orm.execute(
        update(Document)
        .where(Document.id == document.id)
        .values(version_count=Document.version_count + 1, updated_at=now)
        .returning(Document.version_count)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    uow.orm.refresh(document, ["version_count", "updated_at"])
    version = Version(
        uuid=new_uuid(), document_id=document.id, number=int(number), sha256=content.sha256,
        size=content.size, mime=content.mime, filename=content.filename, comment=comment,
        created_at=now, created_by=uow.user,
    )
    uow.orm.add(version)
    uow.reindex(document)
    uow.record(
        Action.VERSION_ADD, "document", document, akte=akte, aktenzeichen=akte.aktenzeichen,
        **version_payload(version), comment=comment, **content.mime_notes,
    )
    return version


def add_rendition(
    uow: UnitOfWork,
    version: Version,
    source: Source,
    *,
    kind: str,
    filename: str | None = None,
) -> Rendition:
    """Attach another rendition (e.g. ``"pdfa"``) to an existing version.

    Raises:
        StateConflict: the Akte is closed or the version has this rendition already.
        InvalidInput: empty content or an invalid kind.
        UnsafeContent: over the size limit, or a disguised executable or PDF.
    """
    uow.begin_write()
    version = uow.own(version)
    document = get_document(uow, version.document_id)
    require_document(uow, document, Permission.EDIT, "add renditions")
    akte = get_akte(uow, document.akte_id)
    uow.require_open(akte, document.vorgang_id)
    kind = clean_text(kind, "rendition kind", max_len=50)
    if kind == "original":
        raise InvalidInput("the original rendition is the version itself")
    content = uow.accept_content(source, filename)
    rendition = Rendition(
        version_id=version.id, kind=kind, sha256=content.sha256, size=content.size,
        mime=content.mime, filename=content.filename, created_at=uow.now(),
        created_by=uow.user,
    )
    uow.orm.add(rendition)
    uow.flush()
    uow.record(
        Action.RENDITION_ADD, "document", document, akte=document.akte_id,
        version=version.number,
        rendition_id=rendition.id, kind=kind, sha256=content.sha256, size=content.size,
        mime=content.mime, filename=content.filename, **content.mime_notes,
    )
    return rendition


def versions(uow: UnitOfWork, document: Document) -> list[Version]:
    """Return every version of a document, oldest first."""
    document = uow.own(document)
    require_document(uow, document, Permission.READ, "read")
    return list(uow.orm.scalars(
        select(Version).where(Version.document_id == document.id).order_by(Version.number)))


def latest_versions(uow: UnitOfWork, akte: Akte) -> dict[int, Version]:
    """Return the newest version of every document in ``akte``, keyed by document id.

    One query however many documents the Akte holds (listings, JSON output).
    """
    uow.require(Permission.READ, akte, "read")
    rows = uow.orm.scalars(
        select(Version)
        .join(Document, Version.document_id == Document.id)
        .where(Document.akte_id == akte.id, Version.number == Document.version_count)
    )
    return {version.document_id: version for version in rows}


def renditions(uow: UnitOfWork, version: Version) -> list[Rendition]:
    """Return the further renditions of a version."""
    version = uow.own(version)
    get_document(uow, version.document_id)
    return list(uow.orm.scalars(
        select(Rendition).where(Rendition.version_id == version.id).order_by(Rendition.id)))


def get_version(uow: UnitOfWork, document: Document, number: int | None = None) -> Version:
    """Return version ``number`` of a document (default: the newest).

    Raises:
        NotFoundError: no such version.
    """
    document = uow.own(document)
    require_document(uow, document, Permission.READ, "read")
    wanted = document.version_count if number is None else number
    version = uow.orm.scalars(
        select(Version).where(Version.document_id == document.id, Version.number == wanted)
    ).first()
    if version is None:
        raise NotFoundError("Version", f"{document.id}/{wanted}")
    return version

