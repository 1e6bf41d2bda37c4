"""Session: the unit of work bound to one principal; commits rows and audit events together.

Example:
    >>> import eakte, tempfile
    >>> store = eakte.open(tempfile.mkdtemp())
    >>> with store.session() as s:
    ...     unit = s.add_plan_unit("630.10", "Baugenehmigungen", retention_years=30)
    ...     akte = s.create_akte("630.10", "Neubau Einfamilienhaus Lindenstraße 4")
    ...     doc = s.file_document(akte, b"Antrag ...", filename="antrag.txt")
    >>> store.close()
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Self, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.exc import SQLAlchemyError

from eakte.aktenzeichen import validate_kennzeichen
from eakte.audit.log import PendingEvent, append_events
from eakte.errors import (
    AccessDenied,
    EakteError,
    InvalidInput,
    NotFoundError,
    StateConflict,
    StorageError,
)
from eakte.ingest.mime import SNIFF_BYTES, detect_mime
from eakte.ingest.source import ChainedReader, Source, open_source
from eakte.model import (
    Akte,
    AktenplanUnit,
    AktenzeichenCounter,
    AuditEvent,
    Document,
    ExternalRef,
    Principal,
    Rendition,
    Version,
    Vorgang,
)
from eakte.model.base import new_uuid
from eakte.storage.verifying import VerifyingReader
from eakte.types import AkteStatus, Confidentiality, DisposalDecision, DocumentKind

if TYPE_CHECKING:
    from eakte.store import Store

__all__ = ["Session"]

#: Callback for long batches: ``progress(done, total)``.
Progress = Callable[[int, int], None]
_Obj = TypeVar("_Obj", Akte, Vorgang, Document, Version)

_MAX_TITLE = 1000


def _clean_text(value: str, what: str, *, max_len: int = _MAX_TITLE) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise InvalidInput(f"{what} must not be empty")
    if len(text) > max_len:
        raise InvalidInput(f"{what} is longer than {max_len} characters")
    if any(ord(ch) < 32 and ch not in "\t" for ch in text):
        raise InvalidInput(f"{what} contains control characters")
    return text


def _check_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    if meta is None:
        return {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) for k in meta):
        raise InvalidInput("metadata must be a mapping with text keys")
    return dict(meta)


class Session:
    """A short-lived unit of work acting as one principal.

    Use it as a context manager: on normal exit everything done in it is committed together
    with its audit events; on an exception nothing is (except the record that content was
    read, which is kept). Objects returned stay readable after the session ends.
    """

    def __init__(self, store: Store, user: str) -> None:
        self._store = store
        self._orm = store.orm_session()
        self._events: list[PendingEvent] = []
        self._locked_akten: dict[int, bool] = {}  # Akte id -> exclusively locked
        self._closed = False
        try:
            principal = self._orm.scalars(select(Principal).where(Principal.name == user)).first()
        except SQLAlchemyError as exc:
            self._orm.close()
            raise StorageError(f"database error: {exc}") from exc
        if principal is None:
            self._orm.close()
            raise NotFoundError("Principal", user, f"unknown user {user!r}")
        if not principal.active:
            self._orm.close()
            raise AccessDenied(user, "act", "in this store (deactivated principal)")
        self.principal: Principal = principal

    # -- unit of work --------------------------------------------------------------------

    @property
    def user(self) -> str:
        """Name of the acting principal."""
        return self.principal.name

    def _now(self) -> datetime:
        return self._store.clock()

    def _audit(self, action: str, object_type: str, target: Any, **details: Any) -> None:
        self._events.append(PendingEvent(action, object_type, target, details))

    def commit(self) -> None:
        """Commit every change of this session together with its audit events.

        Raises:
            StateConflict: a uniqueness rule was violated (e.g. a duplicate Kennzeichen).
            StorageError: the database failed; nothing was committed.
        """
        try:
            self._orm.flush()
            append_events(self._orm, self.user, self._events, self._now())
            self._orm.commit()
        except DbIntegrityError as exc:
            self._orm.rollback()
            self._events.clear()
            raise StateConflict(f"conflicting change, nothing was saved: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            self._orm.rollback()
            self._events.clear()
            raise StorageError(f"database error, nothing was saved: {exc}") from exc
        self._events.clear()

    def rollback(self) -> None:
        """Discard the changes of this session; records of content reads are still kept."""
        reads = [e for e in self._events if e.action == "content.read"]
        self._orm.rollback()
        self._events.clear()
        if reads:
            self._events.extend(reads)
            self.commit()

    def close(self) -> None:
        """End the session without committing pending changes."""
        if not self._closed:
            self._closed = True
            self._orm.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                try:
                    self.rollback()
                except EakteError as rollback_exc:  # keep the original error in charge
                    if exc is not None:
                        exc.add_note(f"recording content reads failed too: {rollback_exc}")
        finally:
            self.close()

    def _flush(self) -> None:
        try:
            self._orm.flush()
        except DbIntegrityError as exc:
            raise StateConflict(f"conflicting change: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc}") from exc

    def _own(self, obj: _Obj) -> _Obj:
        """Return this session's instance of ``obj``, with its id assigned.

        Callers may pass objects returned by an earlier session; changing those would be
        lost (while the audit event claimed the change) and their status may be stale, so
        they are replaced by the current row. Objects added in this session are flushed
        first if they have no id yet.

        Raises:
            NotFoundError: the row no longer exists.
        """
        if obj in self._orm:
            if obj.id is None:
                self._flush()
            return obj
        own = self._orm.get(type(obj), obj.id)
        if own is None:
            raise NotFoundError(type(obj).__name__, obj.id)
        return own

    # -- Aktenplan -----------------------------------------------------------------------

    def add_plan_unit(
        self,
        kennzeichen: str,
        title: str,
        *,
        parent: str | None = None,
        retention_years: int | None = 10,
        disposal: DisposalDecision | str = DisposalDecision.APPRAISE,
    ) -> AktenplanUnit:
        """Add a unit to the Aktenplan.

        Args:
            kennzeichen: e.g. ``"630.10"``.
            title: e.g. ``"Baugenehmigungen"``.
            parent: Kennzeichen of the parent unit.
            retention_years: default Aufbewahrungsfrist; ``None`` means unlimited.
            disposal: default Aussonderungsart (A, V or B).

        Raises:
            InvalidInput: invalid Kennzeichen, title, retention or disposal.
            NotFoundError: the parent does not exist.
            StateConflict: the Kennzeichen exists already.
        """
        kz = validate_kennzeichen(kennzeichen)
        title = _clean_text(title, "title", max_len=500)
        try:
            decision = DisposalDecision(disposal)
        except ValueError as exc:
            raise InvalidInput(f"disposal must be A, V or B, not {disposal!r}") from exc
        if retention_years is not None and (
            isinstance(retention_years, bool)
            or not isinstance(retention_years, int)
            or not 0 <= retention_years <= 1000
        ):
            raise InvalidInput(f"retention_years must be 0..1000 or None, not {retention_years!r}")
        if self._orm.scalar(select(AktenplanUnit.id).where(AktenplanUnit.kennzeichen == kz)):
            raise StateConflict(f"Aktenplan unit {kz!r} exists already")
        parent_unit = self.get_plan_unit(parent) if parent else None
        unit = AktenplanUnit(
            kennzeichen=kz,
            title=title,
            parent_id=parent_unit.id if parent_unit else None,
            retention_years=retention_years,
            disposal=decision.value,
            created_at=self._now(),
            created_by=self.user,
        )
        self._orm.add(unit)
        self._audit(
            "plan.create", "aktenplan_unit", unit, kennzeichen=kz, title=title,
            parent=parent_unit.kennzeichen if parent_unit else None,
            retention_years=retention_years, disposal=decision.value,
        )
        return unit

    def get_plan_unit(self, kennzeichen: str) -> AktenplanUnit:
        """Return the Aktenplan unit with this Kennzeichen.

        Raises:
            NotFoundError: no such unit.
        """
        unit = self._orm.scalars(
            select(AktenplanUnit).where(AktenplanUnit.kennzeichen == kennzeichen.strip())
        ).first()
        if unit is None:
            raise NotFoundError("Aktenplan unit", kennzeichen)
        return unit

    def plan_units(self) -> list[AktenplanUnit]:
        """Return the whole Aktenplan ordered by Kennzeichen."""
        return list(self._orm.scalars(select(AktenplanUnit).order_by(AktenplanUnit.kennzeichen)))

    # -- Akten ---------------------------------------------------------------------------

    def _next_number(self, unit_id: int, year: int) -> int:
        """Hand out the next running number for a unit and year, gap-free.

        The counter row is updated inside this transaction: concurrent creators wait on the
        row lock (PostgreSQL) or the write lock (SQLite), and a rollback returns the number.
        """
        dialect = self._store.dialect
        values = {"unit_id": unit_id, "year": year, "last_number": 0}
        if dialect == "postgresql":
            stmt: Any = pg_insert(AktenzeichenCounter).values(values).on_conflict_do_nothing()
        else:
            stmt = sqlite_insert(AktenzeichenCounter).values(values).on_conflict_do_nothing()
        self._orm.execute(stmt)
        number = self._orm.execute(
            update(AktenzeichenCounter)
            .where(AktenzeichenCounter.unit_id == unit_id, AktenzeichenCounter.year == year)
            .values(last_number=AktenzeichenCounter.last_number + 1)
            .returning(AktenzeichenCounter.last_number)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        return int(number)

    def create_akte(
        self,
        kennzeichen: str,
        title: str,
        *,
        org_unit: str | None = None,
        confidentiality: Confidentiality | str = Confidentiality.OPEN,
        external_ids: Iterable[tuple[str, str]] = (),
        metadata: dict[str, Any] | None = None,
        year: int | None = None,
    ) -> Akte:
        """Create an Akte under an Aktenplan unit with the next free Aktenzeichen.

        Args:
            kennzeichen: the Aktenplan unit.
            title: the Akte's title.
            org_unit: owning organisational unit.
            confidentiality: Vertraulichkeitsstufe.
            external_ids: ``(system, id)`` pairs under which Fachverfahren know the Akte.
            metadata: free-form JSON-compatible metadata.
            year: the year of the Aktenzeichen (default: the current year).

        Raises:
            NotFoundError: the Aktenplan unit does not exist.
            InvalidInput: invalid title, confidentiality or metadata.
            StateConflict: an external id is already taken.
        """
        unit = self.get_plan_unit(validate_kennzeichen(kennzeichen))
        title = _clean_text(title, "title")
        try:
            conf = Confidentiality(confidentiality)
        except ValueError as exc:
            raise InvalidInput(f"unknown confidentiality {confidentiality!r}") from exc
        meta = _check_meta(metadata)
        now = self._now()
        the_year = now.year if year is None else year
        if isinstance(the_year, bool) or not isinstance(the_year, int) or not (
            1900 <= the_year <= 9999
        ):
            raise InvalidInput(f"year must be between 1900 and 9999, not {year!r}")
        pattern = self._store.aktenzeichen_pattern
        number = self._next_number(unit.id, the_year if pattern.per_year else 0)
        az = pattern.format(
            kennzeichen=unit.kennzeichen, number=number, year=the_year, org_unit=org_unit
        )
        akte = Akte(
            aktenzeichen=az,
            title=title,
            unit_id=unit.id,
            year=the_year,
            number=number,
            status=AkteStatus.OPEN.value,
            org_unit=org_unit,
            confidentiality=conf.value,
            meta=meta,
            created_at=now,
            created_by=self.user,
        )
        self._orm.add(akte)
        self._flush()
        refs = [
            self._add_external_ref(system, ext, "akte", akte.id) for system, ext in external_ids
        ]
        self._audit(
            "akte.create", "akte", akte, aktenzeichen=az, title=title, unit=unit.kennzeichen,
            confidentiality=conf.value, org_unit=org_unit, external_ids=refs, metadata=meta,
        )
        return akte

    def _add_external_ref(self, system: str, external_id: str, object_type: str,
                          object_id: int) -> str:
        system = _clean_text(system, "external system", max_len=100)
        external_id = _clean_text(external_id, "external id", max_len=500)
        taken = self._orm.scalar(
            select(ExternalRef.object_id).where(
                ExternalRef.system == system,
                ExternalRef.external_id == external_id,
                ExternalRef.object_type == object_type,
            )
        )
        if taken is not None:
            raise StateConflict(
                f"external id {system}:{external_id} already refers to {object_type} {taken}"
            )
        self._orm.add(ExternalRef(system=system, external_id=external_id,
                                  object_type=object_type, object_id=object_id,
                                  created_at=self._now()))
        return f"{system}:{external_id}"

    def get_akte(self, key: str | int) -> Akte:
        """Return an Akte by Aktenzeichen or numeric id.

        Raises:
            NotFoundError: no such Akte.
        """
        if isinstance(key, int):
            akte = self._orm.get(Akte, key)
        else:
            akte = self._orm.scalars(select(Akte).where(Akte.aktenzeichen == key.strip())).first()
        if akte is None:
            raise NotFoundError("Akte", key)
        return akte

    def find_akte(self, system: str, external_id: str) -> Akte:
        """Return the Akte an external system knows under ``external_id``.

        Raises:
            NotFoundError: no Akte has that external id.
        """
        akte_id = self._orm.scalar(
            select(ExternalRef.object_id).where(
                ExternalRef.system == system,
                ExternalRef.external_id == external_id,
                ExternalRef.object_type == "akte",
            )
        )
        if akte_id is None:
            raise NotFoundError("Akte", f"{system}:{external_id}")
        return self.get_akte(int(akte_id))

    def external_ids(self, akte: Akte) -> list[str]:
        """Return the ``system:id`` keys under which external systems know ``akte``."""
        rows = self._orm.execute(
            select(ExternalRef.system, ExternalRef.external_id)
            .where(ExternalRef.object_type == "akte", ExternalRef.object_id == akte.id)
            .order_by(ExternalRef.id)
        ).all()
        return [f"{s}:{e}" for s, e in rows]

    def list_akten(self, *, kennzeichen: str | None = None) -> list[Akte]:
        """Return Akten ordered by Aktenzeichen, optionally of one Aktenplan unit."""
        stmt = select(Akte).order_by(Akte.aktenzeichen)
        if kennzeichen:
            stmt = stmt.where(Akte.unit_id == self.get_plan_unit(kennzeichen).id)
        return list(self._orm.scalars(stmt))

    def update_akte(self, akte: Akte, *, title: str | None = None,
                    metadata: dict[str, Any] | None = None) -> Akte:
        """Change an Akte's title or metadata (audited with old and new values).

        Raises:
            InvalidInput: invalid title or metadata.
        """
        akte = self._own(akte)
        changes: dict[str, Any] = {}
        if title is not None:
            new_title = _clean_text(title, "title")
            if new_title != akte.title:
                changes["title"] = {"old": akte.title, "new": new_title}
                akte.title = new_title
        if metadata is not None:
            meta = _check_meta(metadata)
            if meta != akte.meta:
                changes["metadata"] = {"old": akte.meta, "new": meta}
                akte.meta = meta
        if changes:
            self._audit("akte.update", "akte", akte, aktenzeichen=akte.aktenzeichen, **changes)
        return akte

    def close_akte(self, akte: Akte) -> Akte:
        """Close an Akte (z.d.A.): it refuses new documents and versions until reopened.

        Raises:
            StateConflict: the Akte is already closed.
        """
        akte = self._lock_akte(self._own(akte), exclusive=True)
        if akte.status == AkteStatus.CLOSED:
            raise StateConflict(f"Akte {akte.aktenzeichen!r} is already closed (z.d.A.)")
        akte.status = AkteStatus.CLOSED.value
        akte.closed_at = self._now()
        self._audit("akte.close", "akte", akte, aktenzeichen=akte.aktenzeichen)
        return akte

    def reopen_akte(self, akte: Akte) -> Akte:
        """Reopen a closed Akte.

        Raises:
            StateConflict: the Akte is open.
        """
        akte = self._lock_akte(self._own(akte), exclusive=True)
        if akte.status != AkteStatus.CLOSED:
            raise StateConflict(f"Akte {akte.aktenzeichen!r} is open; nothing to reopen")
        akte.status = AkteStatus.OPEN.value
        akte.closed_at = None
        self._audit("akte.reopen", "akte", akte, aktenzeichen=akte.aktenzeichen)
        return akte

    def _lock_akte(self, akte: Akte, *, exclusive: bool = False) -> Akte:
        """Lock the Akte row for this transaction and reload its status (PostgreSQL).

        Writers into an Akte take a shared lock, closing and reopening an exclusive one, so
        a document can never be filed into an Akte that another session is closing. On
        SQLite the whole transaction already holds the database's write lock.
        """
        if self._store.dialect != "postgresql":
            return akte
        held = self._locked_akten.get(akte.id)
        if held is not None and (held or not exclusive):
            return akte
        self._flush()
        self._orm.refresh(akte, with_for_update={"read": not exclusive})
        self._locked_akten[akte.id] = exclusive
        return akte

    def _require_open(self, akte: Akte) -> None:
        self._lock_akte(akte)
        if akte.status == AkteStatus.CLOSED:
            raise StateConflict(
                f"Akte {akte.aktenzeichen!r} is closed (z.d.A.); reopen it before adding "
                "documents or versions"
            )

    # -- Vorgänge ------------------------------------------------------------------------

    def create_vorgang(
        self,
        akte: Akte,
        title: str,
        *,
        parent: Vorgang | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Vorgang:
        """Create a Vorgang in ``akte`` (a Teilvorgang when ``parent`` is given).

        Raises:
            StateConflict: the Akte is closed.
            InvalidInput: invalid title, or ``parent`` belongs to another Akte.
        """
        akte = self._own(akte)
        parent = self._own(parent) if parent is not None else None
        self._require_open(akte)
        title = _clean_text(title, "title")
        if parent is not None and parent.akte_id != akte.id:
            raise InvalidInput("a Teilvorgang must be in the same Akte as its parent Vorgang")
        vorgang = Vorgang(
            akte_id=akte.id,
            parent_id=parent.id if parent else None,
            title=title,
            status=AkteStatus.OPEN.value,
            meta=_check_meta(metadata),
            created_at=self._now(),
            created_by=self.user,
        )
        self._orm.add(vorgang)
        self._audit("vorgang.create", "vorgang", vorgang, akte=akte, title=title,
                    aktenzeichen=akte.aktenzeichen, parent=parent)
        return vorgang

    def get_vorgang(self, vorgang_id: int) -> Vorgang:
        """Return a Vorgang by id.

        Raises:
            NotFoundError: no such Vorgang.
        """
        vorgang = self._orm.get(Vorgang, vorgang_id)
        if vorgang is None:
            raise NotFoundError("Vorgang", vorgang_id)
        return vorgang

    def find_vorgang(self, akte: Akte, title: str) -> Vorgang | None:
        """Return the first Vorgang of ``akte`` with exactly this title, if any."""
        return self._orm.scalars(
            select(Vorgang).where(Vorgang.akte_id == akte.id, Vorgang.title == title.strip())
            .order_by(Vorgang.id)
        ).first()

    def vorgaenge(self, akte: Akte) -> list[Vorgang]:
        """Return the Vorgänge of an Akte in creation order."""
        return list(self._orm.scalars(
            select(Vorgang).where(Vorgang.akte_id == akte.id).order_by(Vorgang.id)))

    # -- content -------------------------------------------------------------------------

    def _store_content(self, source: Source, filename: str | None) -> tuple[str, int, str, str]:
        """Write content to the blob store; return (sha256, size, mime, filename)."""
        with open_source(source, filename=filename) as src:
            try:
                head = src.stream.read(SNIFF_BYTES)
            except OSError as exc:
                raise InvalidInput(f"cannot read {src.filename!r}: {exc}") from exc
            if not head:
                raise InvalidInput(f"{src.filename!r} is empty; refusing to file it")
            mime = detect_mime(head)
            try:
                info = self._store.blobs.put(
                    ChainedReader(head, src.stream),  # type: ignore[arg-type]
                    max_size=self._store.max_file_size,
                )
            except OSError as exc:
                raise InvalidInput(f"cannot read {src.filename!r}: {exc}") from exc
            return info.sha256, info.size, mime, src.filename

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
    ) -> Document:
        """File content as a new document (version 1) in an Akte or one of its Vorgänge.

        The content is written to the blob store first (fsync'd, content-addressed); the
        document, its first version and the audit event are committed with the session.

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

        Raises:
            StateConflict: the Akte is closed.
            InvalidInput: empty/unreadable content, bad title, kind or metadata.
            UnsafeContent: the content exceeds the store's size limit.
        """
        akte = self._own(akte)
        vorgang = self._own(vorgang) if vorgang is not None else None
        parent = self._own(parent) if parent is not None else None
        self._require_open(akte)
        if vorgang is not None and vorgang.akte_id != akte.id:
            raise InvalidInput("the Vorgang belongs to another Akte")
        try:
            doc_kind = DocumentKind(kind)
        except ValueError as exc:
            raise InvalidInput(f"unknown document kind {kind!r}") from exc
        meta = _check_meta(metadata)
        sha, size, mime, fname = self._store_content(source, filename)
        doc_title = _clean_text(title if title is not None else fname, "title")
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
        self._audit(
            "document.file", "document", document, akte=akte, aktenzeichen=akte.aktenzeichen,
            vorgang=vorgang, title=doc_title, kind=doc_kind.value, version=1,
            version_uuid=version.uuid, sha256=sha, size=size, mime=mime, filename=fname,
            parent=parent,
        )
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
        batch early; all documents commit together with the session.

        Raises:
            InvalidInput: a path is missing, not a file, unreadable or empty.
            StateConflict: the Akte is closed.
        """
        akte = self._own(akte)
        self._require_open(akte)
        for path in sources:
            with open_source(path):
                pass
        documents = []
        total = len(sources)
        for i, path in enumerate(sources, 1):
            documents.append(
                self.file_document(akte, path, title=title, vorgang=vorgang, kind=kind)
            )
            if progress is not None:
                progress(i, total)
        self._flush()
        return documents

    def get_document(self, document_id: int) -> Document:
        """Return a document by id.

        Raises:
            NotFoundError: no such document.
        """
        if not isinstance(document_id, int) or isinstance(document_id, bool):
            raise NotFoundError("Document", document_id)
        document = self._orm.get(Document, document_id)
        if document is None:
            raise NotFoundError("Document", document_id)
        return document

    def documents(self, akte: Akte) -> list[Document]:
        """Return the documents of an Akte in filing order."""
        return list(self._orm.scalars(
            select(Document).where(Document.akte_id == akte.id).order_by(Document.id)))

    def add_version(
        self,
        document: Document,
        source: Source,
        *,
        filename: str | None = None,
        comment: str | None = None,
    ) -> Version:
        """Add a new immutable version to a document.

        The number comes from the document's counter, locked in this transaction, so
        concurrent writers get distinct consecutive numbers.

        Raises:
            StateConflict: the document's Akte is closed.
            InvalidInput: empty or unreadable content.
            UnsafeContent: the content exceeds the store's size limit.
        """
        document = self._own(document)
        akte = self.get_akte(document.akte_id)
        self._require_open(akte)
        sha, size, mime, fname = self._store_content(source, filename)
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
        self._audit(
            "version.add", "document", document, aktenzeichen=akte.aktenzeichen,
            version=int(number), version_uuid=version.uuid, sha256=sha, size=size, mime=mime,
            filename=fname, comment=comment,
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
        """
        version = self._own(version)
        document = self.get_document(version.document_id)
        akte = self.get_akte(document.akte_id)
        self._require_open(akte)
        kind = _clean_text(kind, "rendition kind", max_len=50)
        if kind == "original":
            raise InvalidInput("the original rendition is the version itself")
        sha, size, mime, fname = self._store_content(source, filename)
        rendition = Rendition(
            version_id=version.id, kind=kind, sha256=sha, size=size, mime=mime,
            filename=fname, created_at=self._now(), created_by=self.user,
        )
        self._orm.add(rendition)
        self._flush()
        self._audit(
            "rendition.add", "document", document, version=version.number,
            rendition_id=rendition.id, kind=kind, sha256=sha, size=size, mime=mime,
            filename=fname,
        )
        return rendition

    def versions(self, document: Document) -> list[Version]:
        """Return every version of a document, oldest first."""
        document = self._own(document)
        return list(self._orm.scalars(
            select(Version).where(Version.document_id == document.id).order_by(Version.number)))

    def latest_versions(self, akte: Akte) -> dict[int, Version]:
        """Return the newest version of every document in ``akte``, keyed by document id.

        One query however many documents the Akte holds (listings, JSON output).
        """
        rows = self._orm.scalars(
            select(Version)
            .join(Document, Version.document_id == Document.id)
            .where(Document.akte_id == akte.id, Version.number == Document.version_count)
        )
        return {version.document_id: version for version in rows}

    def renditions(self, version: Version) -> list[Rendition]:
        """Return the further renditions of a version."""
        version = self._own(version)
        return list(self._orm.scalars(
            select(Rendition).where(Rendition.version_id == version.id).order_by(Rendition.id)))

    def get_version(self, document: Document, number: int | None = None) -> Version:
        """Return version ``number`` of a document (default: the newest).

        Raises:
            NotFoundError: no such version.
        """
        document = self._own(document)
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
        """
        ver = self.get_version(document, version)
        sha, what, size = ver.sha256, "original", ver.size
        if rendition and rendition != "original":
            rend = self._orm.scalars(
                select(Rendition).where(Rendition.version_id == ver.id,
                                        Rendition.kind == rendition)).first()
            if rend is None:
                raise NotFoundError("Rendition", f"{document.id}/{ver.number}/{rendition}")
            sha, what, size = rend.sha256, rendition, rend.size
        stream = VerifyingReader(self._store.blobs.open(sha), sha, size)
        self._audit("content.read", "document", document, version=ver.number,
                    rendition=what, sha256=sha)
        return io.BufferedReader(stream, buffer_size=1024 * 1024)

    def read_content(
        self, document: Document, *, version: int | None = None, rendition: str | None = None
    ) -> bytes:
        """Return the bytes of a version (audited like :meth:`open_content`).

        Raises:
            NotFoundError: no such version, rendition or blob.
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
        self._require_open(self.get_akte(document.akte_id))
        changes: dict[str, Any] = {}
        if title is not None:
            new_title = _clean_text(title, "title")
            if new_title != document.title:
                changes["title"] = {"old": document.title, "new": new_title}
                document.title = new_title
        if kind is not None:
            try:
                new_kind = DocumentKind(kind).value
            except ValueError as exc:
                raise InvalidInput(f"unknown document kind {kind!r}") from exc
            if new_kind != document.kind:
                changes["kind"] = {"old": document.kind, "new": new_kind}
                document.kind = new_kind
        if metadata is not None:
            meta = _check_meta(metadata)
            if meta != document.meta:
                changes["metadata"] = {"old": document.meta, "new": meta}
                document.meta = meta
        if changes:
            document.updated_at = self._now()
            self._audit("document.update", "document", document, **changes)
        return document

    # -- audit ---------------------------------------------------------------------------

    def audit_events(
        self, *, since: int = 0, limit: int | None = None, object_type: str | None = None,
        object_id: str | None = None,
    ) -> Iterator[AuditEvent]:
        """Yield committed audit events with a sequence number above ``since``."""
        stmt = select(AuditEvent).where(AuditEvent.seq > since).order_by(AuditEvent.seq)
        if object_type:
            stmt = stmt.where(AuditEvent.object_type == object_type)
        if object_id:
            stmt = stmt.where(AuditEvent.object_id == object_id)
        if limit:
            stmt = stmt.limit(limit)
        yield from self._orm.scalars(stmt.execution_options(yield_per=1000))

    def audit_count(self) -> int:
        """Return the number of committed audit events."""
        return int(self._orm.scalar(select(func.count()).select_from(AuditEvent)) or 0)

    # -- principals ----------------------------------------------------------------------

    def add_user(self, name: str, *, display_name: str | None = None,
                 org_unit: str | None = None, is_admin: bool = False) -> Principal:
        """Create a user principal (administrators only).

        Raises:
            AccessDenied: the acting principal is no administrator.
            StateConflict: the name is taken.
            InvalidInput: the name is empty or malformed.
        """
        if not self.principal.is_admin:
            raise AccessDenied(self.user, "create users", "in this store")
        name = _clean_text(name, "user name", max_len=200)
        if self._orm.scalar(select(Principal.id).where(Principal.name == name)):
            raise StateConflict(f"principal {name!r} exists already")
        principal = Principal(name=name, kind="user", display_name=display_name,
                              org_unit=org_unit, is_admin=is_admin, created_at=self._now())
        self._orm.add(principal)
        self._audit("principal.create", "principal", name, kind="user", is_admin=is_admin,
                    org_unit=org_unit)
        return principal

