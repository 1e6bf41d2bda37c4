"""Session operations on documents: filing, versions, renditions, content, search, audit."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import ColumnElement, func, select, true, update

from eakte.access import Permission
from eakte.errors import (
    InvalidInput,
    NotFoundError,
    SearchError,
)
from eakte.ingest.folder import FolderFile
from eakte.ingest.source import Source, open_source
from eakte.model import (
    Akte,
    AuditEvent,
    Document,
    Rendition,
    Version,
    Vorgang,
)
from eakte.model.base import new_uuid
from eakte.search.base import SearchQuery, SearchResult
from eakte.storage.verifying import VerifyingReader
from eakte.types import DocumentKind

if TYPE_CHECKING:
    pass

from eakte._unit_of_work import (
    Progress,
    UnitOfWork,
    check_meta,
    clean_note,
    clean_text,
    lookup_id,
)

__all__ = ["DocumentsMixin"]


def _origin(source: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Return the metadata that records where a file found in a folder lay in it.

    Bytes of a name that are not UTF-8 (kept by the OS as lone surrogates) become U+FFFD,
    as metadata must be valid Unicode.
    """
    if not isinstance(source, FolderFile):
        return None
    path = source.relative.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return {"source_path": path}


class DocumentsMixin(UnitOfWork):
    """Documents and their immutable versions and renditions; reading; search; audit."""

    # -- content -------------------------------------------------------------------------

    def _store_content(
        self, source: Source, filename: str | None, *, claimed_mime: str | None = None
    ) -> tuple[str, int, str, str, dict[str, str]]:
        """Write content to the blob store; return (sha256, size, mime, filename, mime notes).

        The sniffed MIME type is checked against the file name and ``claimed_mime`` first
        (:mod:`eakte.ingest.claims`): a dangerous mismatch is refused before anything is
        written, a harmless one comes back as audit details.
        """
        accepted = self.accept_content(source, filename, claimed_mime=claimed_mime)
        return (accepted.sha256, accepted.size, accepted.mime, accepted.filename,
                accepted.mime_notes)

    def file_document(
        self,
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
        akte = self._own(akte)
        self._require(Permission.EDIT, akte, "file documents")
        vorgang = self._own(vorgang) if vorgang is not None else None
        parent = self._own(parent) if parent is not None else None
        self._require_open(akte, vorgang.id if vorgang is not None else None)
        if vorgang is not None and vorgang.akte_id != akte.id:
            raise InvalidInput("the Vorgang belongs to another Akte")
        try:
            doc_kind = DocumentKind(kind)
        except ValueError as exc:
            raise InvalidInput(f"unknown document kind {kind!r}") from exc
        meta = check_meta(metadata)
        comment = clean_note(comment, "comment")
        given_title = clean_text(title, "title") if title is not None else None
        sha, size, mime, fname, mime_notes = self._store_content(source, filename)
        doc_title = given_title or clean_text(fname, "title")
        now = self._now()
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
            created_by=self.user,
            updated_at=now,
        )
        version = Version(
            uuid=new_uuid(), document=document, number=1, sha256=sha, size=size, mime=mime,
            filename=fname,
            comment=comment, created_at=now, created_by=self.user,
        )
        self._orm.add_all([document, version])
        self._reindex.append(document)
        self._audit(
            "document.file", "document", document, akte=akte, aktenzeichen=akte.aktenzeichen,
            vorgang=vorgang, title=doc_title, kind=doc_kind.value, version=1,
            version_uuid=version.uuid, sha256=sha, size=size, mime=mime, filename=fname,
            parent=parent, **mime_notes,
        )
        if flush:
            self._flush()
        return document

    def file_documents(
        self,
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
        akte = self._own(akte)
        self._require(Permission.EDIT, akte, "file documents")
        vorgang = self._own(vorgang) if vorgang is not None else None
        self._require_open(akte, vorgang.id if vorgang is not None else None)
        for path in sources:
            with open_source(path):
                pass
        documents = []
        total = len(sources)
        # Blob stores that can make many blobs durable at once (one sync instead of one
        # per file) do so when the block ends, before any row is committed.
        batch = getattr(self._store.blobs, "batch", None)
        with batch() if callable(batch) else contextlib.nullcontext():
            for i, path in enumerate(sources, 1):
                documents.append(
                    self.file_document(akte, path, title=title, vorgang=vorgang, kind=kind,
                                       metadata=_origin(path), flush=False)
                )
                if progress is not None:
                    progress(i, total)
        self._flush()
        return documents

    def get_document(self, document_id: int) -> Document:
        """Return a document by id.

        Raises:
            NotFoundError: no such document (that the principal may read).
        """
        if not lookup_id(document_id):
            raise NotFoundError("Document", document_id)
        document = self._orm.get(Document, document_id)
        if document is None:
            raise NotFoundError("Document", document_id)
        self._require_document(document, Permission.READ, "read")
        return document

    def _require_document(self, document: Document, permission: Permission,
                          operation: str) -> None:
        """Refuse ``operation`` on a document without ``permission`` on its Akte."""
        self._require(permission, document.akte_id, operation, object_type="document",
                      target=document.id, hidden_as=("Document", document.id))

    def documents(self, akte: Akte) -> list[Document]:
        """Return the documents of an Akte in filing order."""
        self._require(Permission.READ, akte, "read")
        return list(self._orm.scalars(
            select(Document).where(Document.akte_id == akte.id).order_by(Document.id)))

    def add_version(
        self,
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
        document = self._own(document)
        self._require_document(document, Permission.EDIT, "add versions")
        akte = self.get_akte(document.akte_id)
        self._require_open(akte, document.vorgang_id)
        comment = clean_note(comment, "comment")
        sha, size, mime, fname, mime_notes = self._store_content(source, filename)
        if not allow_identical:
            self._lock_document(document)  # concurrent writers compare with the final newest
            newest = self._orm.scalars(select(Version).where(
                Version.document_id == document.id,
                Version.number == document.version_count)).first()
            if newest is not None and newest.sha256 == sha:
                return newest
        now = self._now()
        self._flush()
        number = self._orm.execute(
            update(Document)
            .where(Document.id == document.id)
            .values(version_count=Document.version_count + 1, updated_at=now)
            .returning(Document.version_count)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        self._orm.refresh(document, ["version_count", "updated_at"])
        version = Version(
            uuid=new_uuid(), document_id=document.id, number=int(number), sha256=sha, size=size,
            mime=mime,
            filename=fname, comment=comment, created_at=now, created_by=self.user,
        )
        self._orm.add(version)
        self._reindex.append(document)
        self._audit(
            "version.add", "document", document, akte=akte, aktenzeichen=akte.aktenzeichen,
            version=int(number), version_uuid=version.uuid, sha256=sha, size=size, mime=mime,
            filename=fname, comment=comment, **mime_notes,
        )
        return version

    def add_rendition(
        self,
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
        version = self._own(version)
        document = self.get_document(version.document_id)
        self._require_document(document, Permission.EDIT, "add renditions")
        akte = self.get_akte(document.akte_id)
        self._require_open(akte, document.vorgang_id)
        kind = clean_text(kind, "rendition kind", max_len=50)
        if kind == "original":
            raise InvalidInput("the original rendition is the version itself")
        sha, size, mime, fname, mime_notes = self._store_content(source, filename)
        rendition = Rendition(
            version_id=version.id, kind=kind, sha256=sha, size=size, mime=mime,
            filename=fname, created_at=self._now(), created_by=self.user,
        )
        self._orm.add(rendition)
        self._flush()
        self._audit(
            "rendition.add", "document", document, akte=document.akte_id,
            version=version.number,
            rendition_id=rendition.id, kind=kind, sha256=sha, size=size, mime=mime,
            filename=fname, **mime_notes,
        )
        return rendition

    def versions(self, document: Document) -> list[Version]:
        """Return every version of a document, oldest first."""
        document = self._own(document)
        self._require_document(document, Permission.READ, "read")
        return list(self._orm.scalars(
            select(Version).where(Version.document_id == document.id).order_by(Version.number)))

    def latest_versions(self, akte: Akte) -> dict[int, Version]:
        """Return the newest version of every document in ``akte``, keyed by document id.

        One query however many documents the Akte holds (listings, JSON output).
        """
        self._require(Permission.READ, akte, "read")
        rows = self._orm.scalars(
            select(Version)
            .join(Document, Version.document_id == Document.id)
            .where(Document.akte_id == akte.id, Version.number == Document.version_count)
        )
        return {version.document_id: version for version in rows}

    def renditions(self, version: Version) -> list[Rendition]:
        """Return the further renditions of a version."""
        version = self._own(version)
        self.get_document(version.document_id)
        return list(self._orm.scalars(
            select(Rendition).where(Rendition.version_id == version.id).order_by(Rendition.id)))

    def get_version(self, document: Document, number: int | None = None) -> Version:
        """Return version ``number`` of a document (default: the newest).

        Raises:
            NotFoundError: no such version.
        """
        document = self._own(document)
        self._require_document(document, Permission.READ, "read")
        wanted = document.version_count if number is None else number
        version = self._orm.scalars(
            select(Version).where(Version.document_id == document.id, Version.number == wanted)
        ).first()
        if version is None:
            raise NotFoundError("Version", f"{document.id}/{wanted}")
        return version

    def open_content(
        self, document: Document, *, version: int | None = None, rendition: str | None = None
    ) -> BinaryIO:
        """Open the bytes of a version (or one of its renditions) for reading.

        The read is recorded in the audit log. The stream checks the content's SHA-256 as it
        is read and raises :class:`~eakte.errors.IntegrityError` at its end if the stored
        bytes are damaged, so write to a temporary file and publish it only afterwards.

        Raises:
            NotFoundError: no such version, rendition or blob.
            StateConflict: the Akte was disposed; its content was deleted.
        """
        ver = self.get_version(document, version)
        self._require_content(document)
        sha, what, size = ver.sha256, "original", ver.size
        if rendition and rendition != "original":
            rend = self._orm.scalars(
                select(Rendition).where(Rendition.version_id == ver.id,
                                        Rendition.kind == rendition)).first()
            if rend is None:
                raise NotFoundError("Rendition", f"{document.id}/{ver.number}/{rendition}")
            sha, what, size = rend.sha256, rendition, rend.size
        stream = VerifyingReader(self._store.session_blobs(self._orm).open(sha), sha, size)
        self._audit("content.read", "document", document, akte=document.akte_id,
                    version=ver.number,
                    rendition=what, sha256=sha)
        return io.BufferedReader(stream, buffer_size=1024 * 1024)

    def read_content(
        self, document: Document, *, version: int | None = None, rendition: str | None = None
    ) -> bytes:
        """Return the bytes of a version (audited like :meth:`open_content`).

        Raises:
            NotFoundError: no such version, rendition or blob.
            StateConflict: the Akte was disposed; its content was deleted.
            IntegrityError: the stored bytes do not match the recorded SHA-256.
        """
        with self.open_content(document, version=version, rendition=rendition) as fh:
            return fh.read()

    def update_document(
        self,
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
        document = self._own(document)
        self._require_document(document, Permission.EDIT, "change")
        self._require_open(self.get_akte(document.akte_id), document.vorgang_id)
        self._lock_document(document)  # the old values audited below are the current ones
        changes: dict[str, Any] = {}
        if title is not None:
            self._change(document, "title", clean_text(title, "title"), changes)
        if kind is not None:
            try:
                new_kind = DocumentKind(kind).value
            except ValueError as exc:
                raise InvalidInput(f"unknown document kind {kind!r}") from exc
            self._change(document, "kind", new_kind, changes)
        if metadata is not None:
            self._change(document, "meta", check_meta(metadata), changes, name="metadata")
        if changes:
            self._reindex.append(document)
            document.updated_at = self._now()
            self._audit("document.update", "document", document, akte=document.akte_id,
                        **changes)
        return document

    # -- search --------------------------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        limit: int = 20,
        akte: Akte | str | int | None = None,
        order: str = "relevance",
    ) -> SearchResult:
        """Search the documents' text, titles and metadata (German-aware).

        Args:
            text: the query: words, ``"phrases"``, ``-excluded``, ``title:``,
                ``aktenzeichen:630.10-*``, ``kind:``, ``meta:``, ``created:2026-01-01..``.
            limit: the most hits to return (1–1000).
            akte: only documents of this Akte (object, Aktenzeichen or id).
            order: ``"relevance"`` or ``"date"`` (newest filed first).

        Raises:
            InvalidInput: a malformed query, limit or order.
            NotFoundError: the Akte does not exist.
            SearchError: the store has no search backend, or it failed.
        """
        backend = self._store.search_backend
        if backend is None:
            raise SearchError("this store has no search backend; open it with search='whoosh'")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidInput(f"limit must be between 1 and 1000, not {limit!r}")
        if order not in ("relevance", "date"):
            raise InvalidInput(f"order must be 'relevance' or 'date', not {order!r}")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("the search query is empty")
        # Access is filtered at query time from the grants in the database, never from
        # permissions copied into the index (those would go stale).
        akte_ids = self.access.akte_ids(self._orm)
        if akte is not None:
            target = self._own(akte) if isinstance(akte, Akte) else self.get_akte(akte)
            self._require(Permission.READ, target, "search")
            akte_ids = frozenset({target.id})
        return backend.search(
            SearchQuery(text=text.strip(), limit=limit, akte_ids=akte_ids,
                        order="date" if order == "date" else "relevance")
        )

    # -- audit ---------------------------------------------------------------------------

    def audit_events(
        self, *, since: int = 0, limit: int | None = None, object_type: str | None = None,
        object_id: str | None = None,
    ) -> Iterator[AuditEvent]:
        """Yield committed audit events with a sequence number above ``since``.

        Auditors and administrators of the whole store see every event; those holding the
        auditor role on Aktenplan units or Akten see the events concerning those Akten.

        Raises:
            AccessDenied: the principal may audit nothing.
        """
        stmt = select(AuditEvent).where(AuditEvent.seq > since).order_by(AuditEvent.seq)
        stmt = stmt.where(self._audit_scope())
        if object_type:
            stmt = stmt.where(AuditEvent.object_type == object_type)
        if object_id:
            stmt = stmt.where(AuditEvent.object_id == object_id)
        if limit:
            stmt = stmt.limit(limit)
        yield from self._orm.scalars(stmt.execution_options(yield_per=1000))

    def audit_count(self) -> int:
        """Return the number of committed audit events the principal may see.

        Raises:
            AccessDenied: the principal may audit nothing.
        """
        return int(self._orm.scalar(
            select(func.count()).select_from(AuditEvent).where(self._audit_scope())) or 0)

    def _audit_scope(self) -> ColumnElement[bool]:
        """Return the SQL condition selecting the audit events the principal may see."""
        if self.access.on_store(Permission.AUDIT):
            return true()
        audited = select(Akte.id).where(self.access.akte_filter(Permission.AUDIT))
        if not self._orm.scalar(select(func.count()).select_from(audited.subquery())):
            self._require_store(Permission.AUDIT, "read the audit log")
        return AuditEvent.akte_id.in_(audited)

