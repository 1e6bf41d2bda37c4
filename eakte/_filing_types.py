"""The values of idempotent filing: external keys, case and document records, results.

:mod:`eakte.filing` is their public home; the filing code (:mod:`eakte._filing`) and the
:class:`~eakte.filing.Filer` both build on this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from eakte.errors import AdapterError, EakteError, InvalidInput
from eakte.ingest.source import Source
from eakte.types import DocumentKind

__all__ = [
    "MAX_ID",
    "CaseRecord",
    "DocumentRecord",
    "ExternalKey",
    "FilingResult",
    "FilingStatus",
    "check_id",
    "failed",
    "item_error",
]

#: Longest object id or document id of an external key.
MAX_ID = 200
_MAX_LABEL = 100


def check_id(value: object, what: str, max_len: int = MAX_ID) -> str:
    """Return ``value`` if it is usable as an id part of an external key.

    Raises:
        InvalidInput: not text, empty, padded, too long or with control characters.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    if not value or value != value.strip():
        raise InvalidInput(f"{what} {value!r} must be non-empty without surrounding spaces")
    if len(value) > max_len:
        raise InvalidInput(f"{what} is longer than {max_len} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidInput(f"{what} {value!r} contains control characters")
    return value


class FilingStatus(StrEnum):
    """What filing one item did."""

    #: the object did not exist under its key and was created.
    CREATED = "created"
    #: the key was known and nothing differed: nothing was written (a safe retry).
    UNCHANGED = "unchanged"
    #: the key was known and the content differed: a new version was added (for a case: a
    #: new document or a new version in it).
    NEW_VERSION = "new_version"
    #: the key was known, the content was the same, only metadata changed.
    UPDATED = "updated"
    #: nothing of this item was written; ``FilingResult.error`` says why.
    FAILED = "failed"


@dataclass(frozen=True)
class ExternalKey:
    """The key under which a Fachverfahren knows a Vorgang, a document or a version.

    ``ExternalKey("bauportal", "BA-2026-117")`` names a case (its Vorgang);
    with ``document_id`` a document of that case; with ``version`` too, the version the
    Fachverfahren labelled so (xdomea: FachverfahrenObjektID, document and version ids).
    """

    system: str
    object_id: str
    document_id: str | None = None
    version: str | None = None

    def __post_init__(self) -> None:
        check_id(self.system, "system", 100)
        check_id(self.object_id, "object id")
        if self.document_id is not None:
            check_id(self.document_id, "document id")
        if self.version is not None:
            if self.document_id is None:
                raise InvalidInput("a version label needs a document id")
            check_id(self.version, "version label", _MAX_LABEL)

    def __str__(self) -> str:
        text = f"{self.system}:{self.object_id}"
        if self.document_id is not None:
            text += f"/{self.document_id}"
        if self.version is not None:
            text += f"@{self.version}"
        return text

    def document(self, document_id: str, version: str | None = None) -> ExternalKey:
        """Return the key of a document of this case."""
        return ExternalKey(self.system, self.object_id, document_id, version)

    def as_dict(self) -> dict[str, str | None]:
        """Return the key as a JSON-ready mapping."""
        return {"system": self.system, "object_id": self.object_id,
                "document_id": self.document_id, "version": self.version}


@dataclass
class DocumentRecord:
    """One document of a case as the Fachverfahren delivers it.

    Attributes:
        document_id: its id within the case (unique there, attachments included).
        content: bytes, a path or a readable binary stream.
        filename: the original file name (default: the path's name).
        title: default: the mapping's document title, else the file name.
        kind: incoming, outgoing or internal (default: the mapping's, else incoming).
        version: the Fachverfahren's label of this content; the same label filed again
            with other content is refused.
        document_date: the date the document bears.
        metadata: kept in the document's metadata.
        comment: a note on the version.
        attachments: Anlagen, filed with this document as their parent.
    """

    document_id: str
    content: Source
    filename: str | None = None
    title: str | None = None
    kind: DocumentKind | str | None = None
    version: str | None = None
    document_date: date | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    comment: str | None = None
    attachments: list[DocumentRecord] = field(default_factory=list)


@dataclass
class CaseRecord:
    """One case of a Fachverfahren: a Vorgang with its documents.

    Attributes:
        object_id: the Fachverfahren's id of the case (the idempotency key).
        fields: the Fachverfahren's fields: input to the mapping, and kept verbatim under
            ``fields`` in the Vorgang's metadata.
        documents: its documents.
        aktenzeichen: file into this existing Akte (overrides the mapping).
        vorgang: False files the documents directly into the Akte, without a Vorgang
            (their metadata then carries the fields).
        metadata: further metadata kept on the Vorgang (e.g. unknown payload properties).
    """

    object_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    documents: list[DocumentRecord] = field(default_factory=list)
    aktenzeichen: str | None = None
    vorgang: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class FilingResult:
    """What filing one case or document did, with the ids of what it filed.

    ``documents`` holds the results of a case's documents (and a document's attachments).
    """

    key: ExternalKey
    status: FilingStatus
    error: EakteError | None = None
    aktenzeichen: str | None = None
    akte_id: int | None = None
    vorgang_id: int | None = None
    document_id: int | None = None
    version: int | None = None
    version_label: str | None = None
    sha256: str | None = None
    documents: list[FilingResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True unless the item failed."""
        return self.status != FilingStatus.FAILED

    def raise_error(self) -> None:
        """Re-raise the error of a failed item (nothing for a successful one).

        Raises:
            EakteError: the error that made the item fail.
        """
        if self.error is not None:
            raise self.error

    def walk(self) -> list[FilingResult]:
        """Return this result and every nested document result, depth first."""
        found = [self]
        for child in self.documents:
            found.extend(child.walk())
        return found

    def as_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data (the filing receipt format)."""
        data: dict[str, Any] = {
            "status": self.status.value,
            "system": self.key.system,
            "object_id": self.key.object_id,
            "document_id": self.key.document_id,
            "aktenzeichen": self.aktenzeichen,
            "akte_id": self.akte_id,
            "vorgang_id": self.vorgang_id,
        }
        if self.key.document_id is not None:
            data.update(document=self.document_id, version=self.version,
                        version_label=self.version_label or self.key.version,
                        sha256=self.sha256)
        if self.documents:
            data["documents"] = [d.as_dict() for d in self.documents]
        data["error"] = None if self.error is None else {
            "type": type(self.error).__name__,
            "message": str(self.error),
            "exit_code": self.error.exit_code,
        }
        return data


def failed(key: ExternalKey, exc: EakteError) -> FilingResult:
    """Return the ``failed`` result of the item ``key`` with its error."""
    return FilingResult(key=key, status=FilingStatus.FAILED, error=exc)


def item_error(exc: Exception, item: str) -> EakteError:
    """Return ``exc`` as the error of one item: an EakteError as is, anything else wrapped.

    An exception eakte did not expect (a parser's ``RecursionError``, a bug in an
    adapter) becomes an :class:`~eakte.errors.AdapterError` that names the item and the
    original exception (kept as ``__cause__``), so it can be reported as that item's
    failure while the run goes on.
    """
    if isinstance(exc, EakteError):
        return exc
    detail = str(exc).strip()
    error = AdapterError(f"{item}: unexpected {type(exc).__name__}"
                         + (f" ({detail[:300]})" if detail else "")
                         + "; nothing of this item was filed, the others are not affected")
    error.__cause__ = exc
    return error
