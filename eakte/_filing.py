"""Filing one case inside one session: external keys, Akte resolution, versions by content."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select

from eakte._filing_types import (
    CaseRecord,
    DocumentRecord,
    ExternalKey,
    FilingResult,
    FilingStatus,
)
from eakte.access import Permission
from eakte.audit.events import Action
from eakte.errors import InvalidInput, NotFoundError, StateConflict, UnsafeContent
from eakte.ingest.source import Source
from eakte.mapping import DocumentSpec, VorgangSpec
from eakte.model import Akte, Document, ExternalRef, Version, Vorgang
from eakte.types import Confidentiality, DocumentKind

if TYPE_CHECKING:
    from eakte.filing import Filer
    from eakte.session import Session

__all__ = ["Prepared", "external_id", "file_case_in", "find_ref"]

_CHUNK = 1024 * 1024
_SPOOL_IN_MEMORY = 8 * 1024 * 1024
_MAX_EXTERNAL_ID = 500


# -- external keys -----------------------------------------------------------------------


def _part(text: str) -> str:
    return text.replace("%", "%25").replace("/", "%2F")


def external_id(object_type: str, key: ExternalKey) -> str:
    """Return the ``external_refs.external_id`` of ``key`` for a Vorgang, document or version.

    A Vorgang is stored under the case's object id as is; a document under
    ``object/document`` and a version under ``object/document/label``, with ``%`` and ``/``
    inside the parts escaped, so that different keys never share a stored id.

    Raises:
        InvalidInput: the key lacks a part the object type needs, or is too long.
    """
    if object_type == "vorgang":
        text = key.object_id
    elif object_type == "document" and key.document_id is not None:
        text = f"{_part(key.object_id)}/{_part(key.document_id)}"
    elif object_type == "version" and key.document_id is not None and key.version is not None:
        text = f"{_part(key.object_id)}/{_part(key.document_id)}/{_part(key.version)}"
    else:
        raise InvalidInput(f"{key} cannot name a {object_type}")
    if len(text) > _MAX_EXTERNAL_ID:
        raise InvalidInput(f"the external key {key} is too long to store")
    return text


def find_ref(s: Session, system: str, object_type: str, key: ExternalKey | str) -> int | None:
    """Return the id of the object ``system`` knows under ``key``, or None.

    Raises:
        AccessDenied: the session's principal may not use the external ids of ``system``
            (checked before the lookup, so the answer never tells whether the key exists).
    """
    uow = s.unit_of_work
    uow.require_system(system)
    ext = key if isinstance(key, str) else external_id(object_type, key)
    found = uow.orm.scalar(
        select(ExternalRef.object_id).where(
            ExternalRef.system == system,
            ExternalRef.external_id == ext,
            ExternalRef.object_type == object_type,
        )
    )
    return None if found is None else int(found)


def _link(s: Session, key: ExternalKey, object_type: str, target: Vorgang | Document | Version,
          akte: Akte, audited: Document | Vorgang) -> None:
    """Store ``key`` for ``target`` in this transaction and record it in the audit log."""
    uow = s.unit_of_work
    uow.flush()
    ext = external_id(object_type, key)
    uow.add_external_ref(key.system, ext, object_type, target.id)
    uow.record(Action.EXTERNAL_REF_ADD, "vorgang" if isinstance(audited, Vorgang) else "document",
               audited, akte=akte.id, aktenzeichen=akte.aktenzeichen, system=key.system,
               external_id=ext, ref_type=object_type, ref_id=target.id)


# -- content -----------------------------------------------------------------------------


@dataclass
class _Content:
    """One document's content, hashed before any transaction starts."""

    sha256: str
    data: bytes | None = None
    path: str | None = None
    spool: IO[bytes] | None = None
    filename: str | None = None

    def source(self) -> Source:
        if self.data is not None:
            return self.data
        if self.spool is not None:
            self.spool.seek(0)
            return self.spool  # type: ignore[return-value]
        assert self.path is not None
        return self.path


def _hash_stream(stream: IO[bytes], max_size: int, what: str,
                 sink: Callable[[bytes], Any] | None = None) -> str:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if size > max_size:
            raise UnsafeContent(f"{what} is larger than the store's limit of {max_size} bytes")
        digest.update(chunk)
        if sink is not None:
            sink(chunk)
    return digest.hexdigest()


def _prepare(record: DocumentRecord, max_size: int) -> _Content:
    content = record.content
    what = record.filename or record.document_id
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
        if len(data) > max_size:
            raise UnsafeContent(f"{what} is larger than the store's limit of {max_size} bytes")
        return _Content(hashlib.sha256(data).hexdigest(), data=data)
    if isinstance(content, str | os.PathLike):
        path = os.fspath(content)
        try:
            with open(path, "rb") as fh:
                sha = _hash_stream(fh, max_size, what)
        except OSError as exc:
            raise InvalidInput(f"cannot read {path!r}: {exc.strerror or exc}") from exc
        return _Content(sha, path=path)
    if hasattr(content, "read"):
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)
        try:
            sha = _hash_stream(content, max_size, what, spool.write)
        except OSError as exc:
            spool.close()
            raise InvalidInput(f"cannot read {what!r}: {exc}") from exc
        except BaseException:
            spool.close()
            raise
        return _Content(sha, spool=spool)
    raise TypeError(f"cannot file a {type(content).__name__}; pass bytes, a path or a stream")


@dataclass
class Prepared:
    """The hashed content of every document of a case, reusable across retries."""

    contents: dict[int, _Content] = field(default_factory=dict)

    @classmethod
    def of(cls, case: CaseRecord, max_size: int) -> Prepared:
        """Hash (and spool streams of) every document of ``case``.

        Raises:
            InvalidInput: a path is unreadable.
            UnsafeContent: a document exceeds ``max_size``.
        """
        prepared = cls()
        try:
            pending = list(case.documents)
            while pending:
                record = pending.pop()
                prepared.contents[id(record)] = _prepare(record, max_size)
                pending.extend(record.attachments)
        except BaseException:
            prepared.close()
            raise
        return prepared

    def __getitem__(self, record: DocumentRecord) -> _Content:
        return self.contents[id(record)]

    def close(self) -> None:
        """Release spooled streams."""
        for content in self.contents.values():
            if content.spool is not None:
                content.spool.close()


# -- filing ------------------------------------------------------------------------------


def _context(filer: Filer, case: CaseRecord) -> dict[str, Any]:
    today = filer.store.clock().date()
    return {**case.fields, "object_id": case.object_id, "system": filer.system,
            "year": today.year, "today": today.isoformat()}


def _resolve_akte(s: Session, filer: Filer, case: CaseRecord, context: dict[str, Any]) -> Akte:
    if case.aktenzeichen:
        return s.get_akte(case.aktenzeichen)
    if filer.mapping is None:
        raise InvalidInput(
            f"case {case.object_id!r} names no Aktenzeichen and there is no mapping that "
            "says which Akte it goes to"
        )
    target = filer.mapping.akte(context)
    if target.aktenzeichen:
        return s.get_akte(target.aktenzeichen)
    key = target.key or case.object_id
    found = find_ref(s, filer.system, "akte", key)
    if found is not None:
        return s.get_akte(found)
    if not target.create:
        raise NotFoundError("Akte", f"{filer.system}:{key}",
                            f"no Akte has the external key {filer.system}:{key} and the "
                            "mapping says not to create one (akte.create: never)")
    if not target.plan_unit:
        raise InvalidInput(f"no Akte has the external key {filer.system}:{key}, and the "
                           "mapping gives no akte.plan_unit to create it under")
    try:
        confidentiality = Confidentiality(target.confidentiality or Confidentiality.OPEN)
    except ValueError as exc:
        raise InvalidInput(f"mapping akte.confidentiality resolved to "
                           f"{target.confidentiality!r}; expected offen or vs-nfd") from exc
    akte = s.create_akte(target.plan_unit, target.title or key,
                         confidentiality=confidentiality, org_unit=target.org_unit,
                         external_ids=[(filer.system, key)], metadata=target.metadata)
    if target.retention_years is not None:
        years = target.retention_years
        s.set_retention(akte, None if years == "unlimited" else int(years))
    return akte


def _vorgang_meta(spec: VorgangSpec, case: CaseRecord) -> dict[str, Any]:
    meta: dict[str, Any] = {**case.metadata, **spec.metadata}
    meta["fields"] = case.fields
    return meta


def _update_meta(s: Session, obj: Vorgang | Document, akte: Akte, wanted: dict[str, Any]
                 ) -> bool:
    """Merge ``wanted`` into the object's metadata (keys set by others are kept)."""
    merged = {**obj.meta, **wanted}
    if merged == obj.meta:
        return False
    if isinstance(obj, Document):
        s.update_document(obj, metadata=merged)
        return True
    uow = s.unit_of_work
    uow.require(Permission.EDIT, akte, "change the metadata of a Vorgang")
    uow.require_open(akte, obj.id)
    changes: dict[str, Any] = {}
    uow.change(obj, "meta", merged, changes, name="metadata")
    uow.record(Action.VORGANG_UPDATE, "vorgang", obj, akte=akte.id,
               aktenzeichen=akte.aktenzeichen, **changes)
    return True


def file_case_in(s: Session, filer: Filer, case: CaseRecord, prepared: Prepared
                 ) -> FilingResult:
    """File ``case`` in the session ``s`` (the caller commits).

    Raises:
        EakteError: any problem; the caller rolls the session back.
    """
    key = filer.key(case.object_id)
    uow = s.unit_of_work
    uow.begin_write()  # what is written depends on the external keys read next
    uow.require_system(filer.system)  # first: no answer may depend on which keys exist
    if filer.mapping is not None:
        filer.mapping.check_fields(case.fields)
    context = _context(filer, case)
    status = FilingStatus.UNCHANGED
    vorgang: Vorgang | None = None
    akte: Akte | None = None
    if case.vorgang:
        found = find_ref(s, filer.system, "vorgang", key)
        spec = filer.mapping.vorgang(context) if filer.mapping else VorgangSpec()
        if found is not None:
            vorgang = s.get_vorgang(found)
            akte = s.get_akte(vorgang.akte_id)
            if _update_meta(s, vorgang, akte, _vorgang_meta(spec, case)):
                status = FilingStatus.UPDATED
        else:
            akte = _resolve_akte(s, filer, case, context)
            vorgang = s.create_vorgang(akte, spec.title or case.object_id,
                                       metadata=_vorgang_meta(spec, case))
            _link(s, key, "vorgang", vorgang, akte, vorgang)
            status = FilingStatus.CREATED
    resolved: list[Akte] = [akte] if akte is not None else []

    def target_akte() -> Akte:
        if not resolved:
            resolved.append(_resolve_akte(s, filer, case, context))
        return resolved[0]

    results = [
        _file_document(s, filer, case, record, prepared, target_akte, vorgang, None, context)
        for record in _unique(case)
    ]
    if not case.vorgang and results and all(r.status == FilingStatus.CREATED
                                            for r in results):
        status = FilingStatus.CREATED  # without a Vorgang, the case is its documents
    if status == FilingStatus.UNCHANGED:
        statuses = {r.status for r in results for r in r.walk()}
        if statuses & {FilingStatus.CREATED, FilingStatus.NEW_VERSION}:
            status = FilingStatus.NEW_VERSION
        elif FilingStatus.UPDATED in statuses:
            status = FilingStatus.UPDATED
    final = resolved[0] if resolved else (
        s.get_akte(results[0].akte_id) if results and results[0].akte_id else None)
    return FilingResult(
        key=key, status=status, aktenzeichen=final.aktenzeichen if final else None,
        akte_id=final.id if final else None, vorgang_id=vorgang.id if vorgang else None,
        documents=results,
    )


def _unique(case: CaseRecord) -> list[DocumentRecord]:
    """Return the case's documents, refusing a document id used twice."""
    seen: set[str] = set()
    pending = list(case.documents)
    while pending:
        record = pending.pop()
        if record.document_id in seen:
            raise InvalidInput(f"case {case.object_id!r} uses the document id "
                               f"{record.document_id!r} twice")
        seen.add(record.document_id)
        pending.extend(record.attachments)
    return case.documents


def _document_meta(spec: DocumentSpec, case: CaseRecord, record: DocumentRecord,
                   top_level: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {**record.metadata, **spec.metadata}
    if not case.vorgang and top_level:
        meta = {**case.metadata, **meta, "fields": case.fields}
    return meta


def _check_sha(version: Version, content: _Content, what: str) -> None:
    if version.sha256 != content.sha256:
        raise InvalidInput(f"{what} changed while it was being filed; nothing was saved")


def _file_document(
    s: Session,
    filer: Filer,
    case: CaseRecord,
    record: DocumentRecord,
    prepared: Prepared,
    target_akte: Callable[[], Akte],
    vorgang: Vorgang | None,
    parent: Document | None,
    context: dict[str, Any],
) -> FilingResult:
    key = ExternalKey(filer.system, case.object_id, record.document_id, record.version)
    content = prepared[record]
    doc_context = {**context, "document_id": record.document_id,
                   "filename": record.filename or "",
                   "title": record.title or record.filename or record.document_id}
    spec = filer.mapping.document(doc_context) if filer.mapping else DocumentSpec()
    meta = _document_meta(spec, case, record, parent is None)
    what = record.filename or record.document_id
    found = find_ref(s, filer.system, "document", key)
    if found is None:
        akte = target_akte() if parent is None else s.get_akte(parent.akte_id)
        kind = record.kind or spec.kind or DocumentKind.INCOMING
        document = s.file_document(
            akte, content.source(), title=record.title or spec.title, vorgang=vorgang,
            kind=kind, filename=record.filename, document_date=record.document_date,
            metadata=meta, comment=record.comment, parent=parent,
        )
        version = s.get_version(document, 1)
        _check_sha(version, content, what)
        _link(s, key, "document", document, akte, document)
        if key.version is not None:
            _link(s, key, "version", version, akte, document)
        status = FilingStatus.CREATED
    else:
        document = s.get_document(found)
        akte = s.get_akte(document.akte_id)
        version, status = _version_of(s, key, document, content, record, akte)
        if _update_meta(s, document, akte, meta) and status == FilingStatus.UNCHANGED:
            status = FilingStatus.UPDATED
    children = [
        _file_document(s, filer, case, child, prepared, target_akte, vorgang, document,
                       context)
        for child in record.attachments
    ]
    return FilingResult(
        key=key, status=status, aktenzeichen=akte.aktenzeichen, akte_id=akte.id,
        vorgang_id=document.vorgang_id, document_id=document.id, version=version.number,
        version_label=key.version, sha256=version.sha256, documents=children,
    )


def _version_of(s: Session, key: ExternalKey, document: Document, content: _Content,
                record: DocumentRecord, akte: Akte) -> tuple[Version, FilingStatus]:
    """Return the version matching the content, adding one if the content is new."""
    what = record.filename or record.document_id
    if key.version is not None:
        labelled = find_ref(s, key.system, "version", key)
        if labelled is not None:
            version = s.unit_of_work.orm.get(Version, labelled)
            if version is None or version.document_id != document.id:
                raise StateConflict(f"the version label of {key} refers to another object")
            if version.sha256 != content.sha256:
                raise StateConflict(
                    f"{key} was filed before with other content (version {version.number}, "
                    f"SHA-256 {version.sha256[:12]}…); a changed content needs a new version "
                    "label"
                )
            return version, FilingStatus.UNCHANGED
    current = s.get_version(document)
    if current.sha256 == content.sha256:
        if key.version is not None:
            _link(s, key, "version", current, akte, document)
        return current, FilingStatus.UNCHANGED
    version = s.add_version(document, content.source(), filename=record.filename,
                            comment=record.comment)
    _check_sha(version, content, what)
    if key.version is not None:
        _link(s, key, "version", version, akte, document)
    return version, FilingStatus.NEW_VERSION
