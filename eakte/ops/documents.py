"""Documents: filing content as new documents, lookup, listing, metadata changes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from eakte._validate import check_meta, clean_note, clean_text, lookup_id
from eakte.access import Permission
from eakte.audit.events import Action, version_payload
from eakte.errors import InvalidInput, NotFoundError
from eakte.ingest.folder import FolderFile
from eakte.ingest.source import Source, open_source
from eakte.model import Akte, Document, Version, Vorgang
from eakte.model.base import new_uuid
from eakte.ops.records import get_akte
from eakte.types import DocumentKind

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = [
    "Progress",
    "documents",
    "file_document",
    "file_documents",
    "get_document",
    "require_document",
    "update_document",
]


#: Callback for long batches: ``progress(done, total)``.
Progress = Callable[[int, int], None]


def _origin(source: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Return the metadata that records where a file found in a folder lay in it.

    Bytes of a name that are not UTF-8 (kept by the OS as lone surrogates) become U+FFFD,
    as metadata must be valid Unicode.
    """
    if not isinstance(source, FolderFile):
        return None
    path = source.relative.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return {"source_path": path}


def file_document(
    uow: UnitOfWork,
    akte: Akte,
    source: Source,
    *,
    title: str | None = None,
    vorgang: Vorgang | None = None,
    kind: DocumentKind | str = DocumentKind.INTERNAL,
    filename: str | None = None,
    document_date: date | None = None,
    metadata: dict[str, Any] | None = None,
    comment: str | None = None,
    parent: Document | None = None,
    flush: bool = True,
) -> Document:
    """File content as a new document (version 1) in an Akte or one of its Vorgänge.

    The content is written to the blob store first (fsync'd, content-addressed); the
    document, its first version and the audit event are committed with the session.
    The returned document already has its ``id``.

    Args:
        akte: the Akte to file into.
        source: bytes, a path or a readable binary stream.
        title: the document title (default: the file name).
        vorgang: a Vorgang of ``akte``.
        kind: incoming, outgoing or internal.
        filename: original file name (default: the path's name).
        document_date: the date the document bears.
        metadata: free-form JSON-compatible metadata.
        comment: a note on the first version.
        parent: file as an Anlage (attachment) of this document.
        flush: write the rows now so that ``id`` is set; batch callers pass False and
            flush once at the end (many rows in one statement).

    Raises:
        StateConflict: the Akte or the Vorgang is closed, or the Akte was disposed.
        InvalidInput: empty/unreadable content, bad title, kind or metadata.
        UnsafeContent: the content exceeds the store's size limit, or its bytes are
            executable or not a PDF while its name says otherwise.
    """
    uow.begin_write()
    akte = uow.own(akte)
    uow.require(Permission.EDIT, akte, "file documents")
    vorgang = uow.own(vorgang) if vorgang is not None else None
    parent = uow.own(parent) if parent is not None else None
    uow.require_open(akte, vorgang.id if vorgang is not None else None)
    if vorgang is not None and vorgang.akte_id != akte.id:
        raise InvalidInput("the Vorgang belongs to another Akte")
    try:
        doc_kind = DocumentKind(kind)
    except ValueError as exc:
        raise InvalidInput(f"unknown document kind {kind!r}") from exc
    meta = check_meta(metadata)
    comment = clean_note(comment, "comment")
    given_title = clean_text(title, "title") if title is not None else None
    content = uow.accept_content(source, filename)
    doc_title = given_title or clean_text(content.filename, "title")
    now = uow.now()
    document = Document(
        akte_id=akte.id,
        vorgang_id=vorgang.id if vorgang else None,
        parent_document_id=parent.id if parent else None,
        title=doc_title,
        kind=doc_kind.value,
        document_date=document_date,
        meta=meta,
        version_count=1,
        created_at=now,
        created_by=uow.user,
        updated_at=now,
    )
    version = Version(
        uuid=new_uuid(), document=document, number=1, sha256=content.sha256,
        size=content.size, mime=content.mime, filename=content.filename,
        comment=comment, created_at=now, created_by=uow.user,
    )
    uow.orm.add_all([document, version])
    uow.reindex(document)
    uow.record(
        Action.DOCUMENT_FILE, "document", document, akte=akte, aktenzeichen=akte.aktenzeichen,
        vorgang=vorgang, title=doc_title, kind=doc_kind.value, **version_payload(version),
        parent=parent, **content.mime_notes,
    )
    if flush:
        uow.flush()
    return document


def file_documents(
    uow: UnitOfWork,
    akte: Akte,
    sources: Sequence[str | os.PathLike[str]],
    *,
    vorgang: Vorgang | None = None,
    title: str | None = None,
    kind: DocumentKind | str = DocumentKind.INTERNAL,
    progress: Progress | None = None,
) -> list[Document]:
    """File many files as new documents in one transaction.

    Every path is checked before anything is written, so a bad path fails the whole
    batch early; all documents commit together with the session. A
    :class:`~eakte.ingest.folder.FolderFile` (from
    :func:`~eakte.ingest.folder.scan_folder`) is opened without following links out
    of its folder, and its path below the folder is kept in the document's metadata
    as ``source_path``.

    Raises:
        InvalidInput: a path is missing, not a file, unreadable or empty.
        UnsafeContent: a folder's file turned out to be a symbolic link.
        StateConflict: the Akte is closed.
    """
    uow.begin_write()
    akte = uow.own(akte)
    uow.require(Permission.EDIT, akte, "file documents")
    vorgang = uow.own(vorgang) if vorgang is not None else None
    uow.require_open(akte, vorgang.id if vorgang is not None else None)
    for path in sources:
        with open_source(path):
            pass
    filed = []
    total = len(sources)
    # Blob stores that can make many blobs durable at once (one sync instead of one
    # per file) do so when the block ends, before any row is committed.
    batch = getattr(uow.store.blobs, "batch", None)
    with batch() if callable(batch) else contextlib.nullcontext():
        for i, path in enumerate(sources, 1):
            filed.append(
                file_document(uow, akte, path, title=title, vorgang=vorgang, kind=kind,
                              metadata=_origin(path), flush=False)
            )
            if progress is not None:
                progress(i, total)
    uow.flush()
    return filed


def get_document(uow: UnitOfWork, document_id: int) -> Document:
    """Return a document by id.

    Raises:
        NotFoundError: no such document (that the principal may read).
    """
    if not lookup_id(document_id):
        raise NotFoundError("Document", document_id)
    document = uow.orm.get(Document, document_id)
    if document is None:
        raise NotFoundError("Document", document_id)
    require_document(uow, document, Permission.READ, "read")
    return document


def require_document(uow: UnitOfWork, document: Document, permission: Permission,
                     operation: str) -> None:
    """Refuse ``operation`` on a document without ``permission`` on its Akte."""
    uow.require(permission, document.akte_id, operation, object_type="document",
                target=document.id, hidden_as=("Document", document.id))


def documents(uow: UnitOfWork, akte: Akte) -> list[Document]:
    """Return the documents of an Akte in filing order."""
    uow.require(Permission.READ, akte, "read")
    return list(uow.orm.scalars(
        select(Document).where(Document.akte_id == akte.id).order_by(Document.id)))


def update_document(
    uow: UnitOfWork,
    document: Document,
    *,
    title: str | None = None,
    metadata: dict[str, Any] | None = None,
    kind: DocumentKind | str | None = None,
) -> Document:
    """Change a document's title, kind or metadata (audited with old and new values).

    Raises:
        InvalidInput: invalid values.
        StateConflict: the Akte is closed.
    """
    uow.begin_write()
    document = uow.own(document)
    require_document(uow, document, Permission.EDIT, "change")
    uow.require_open(get_akte(uow, document.akte_id), document.vorgang_id)
    uow.lock_document(document)  # the old values audited below are the current ones
    changes: dict[str, Any] = {}
    if title is not None:
        uow.change(document, "title", clean_text(title, "title"), changes)
    if kind is not None:
        try:
            new_kind = DocumentKind(kind).value
        except ValueError as exc:
            raise InvalidInput(f"unknown document kind {kind!r}") from exc
        uow.change(document, "kind", new_kind, changes)
    if metadata is not None:
        uow.change(document, "meta", check_meta(metadata), changes, name="metadata")
    if changes:
        uow.reindex(document)
        document.updated_at = uow.now()
        uow.record(Action.DOCUMENT_UPDATE, "document", document, akte=document.akte_id,
                   **changes)
    return document

