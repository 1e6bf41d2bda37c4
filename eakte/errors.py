"""Every exception eakte raises on purpose, rooted at :class:`EakteError`.

The tree::

    EakteError
    ├─ NotFoundError (also LookupError)      .kind, .key
    ├─ AccessDenied                          .principal, .permission, .target
    ├─ InvalidInput (also ValueError)        bad metadata, Aktenzeichen, Kennzeichen, file
    │  └─ UnsafeContent                      zip bomb, XML entities, traversal, size limits
    ├─ StateConflict                         Akte closed (z.d.A.), immutable rows, duplicates
    │  └─ StoreExistsError                   ``init`` on a folder that already holds a store
    ├─ IntegrityError                        .problems: list of Problem (checksum, audit chain)
    ├─ SchemaVersionError                    store written by a newer eakte, or not migrated
    ├─ StorageError                          blob backend failures
    │  ├─ MasterKeyError                     encryption master key missing or wrong
    │  └─ DatabaseError                      the database failed or cannot be reached
    │     └─ StoreBusy                       locked by another writer, deadlock: retry
    ├─ SearchError                           search backend failures
    ├─ ExportError                           xdomea / BagIt export
    ├─ ArchiveImportError                    xdomea / BagIt import
    └─ AdapterError
       ├─ AdapterContractError               a plugin that breaks the adapter protocol
       └─ BackendUnavailable                 an optional backend whose package is missing

Warnings: ``EakteWarning`` → ``IndexingWarning`` (a commit succeeded but indexing it failed;
the work stays queued for ``eakte reindex``), ``EakteWarning`` → ``BlobCleanupWarning`` (a
disposal was committed but some of its blobs could not be deleted; they remain as orphans).

Every class has a stable ``exit_code`` that the CLI uses (see README, "Exit codes").
Third-party exceptions are caught at eakte's boundary and re-raised ``from`` the original, so
callers never need to catch SQLAlchemy, Whoosh or OS errors themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

__all__ = [
    "AccessDenied",
    "AdapterContractError",
    "AdapterError",
    "ArchiveImportError",
    "BackendUnavailable",
    "BlobCleanupWarning",
    "DatabaseError",
    "EakteError",
    "EakteWarning",
    "ExportError",
    "IndexingWarning",
    "IntegrityError",
    "InvalidInput",
    "MasterKeyError",
    "NotFoundError",
    "Problem",
    "SchemaVersionError",
    "SearchError",
    "StateConflict",
    "StorageError",
    "StoreBusy",
    "StoreExistsError",
    "UnsafeContent",
]


class EakteError(Exception):
    """Root of every error eakte raises on purpose."""

    exit_code: ClassVar[int] = 1


class NotFoundError(EakteError, LookupError):
    """An Akte, document, version, Aktenplan unit, principal or store does not exist.

    Attributes:
        kind: what was looked up, e.g. ``"Akte"``.
        key: the key that found nothing.
    """

    exit_code: ClassVar[int] = 3

    def __init__(self, kind: str, key: object, message: str | None = None) -> None:
        self.kind = kind
        self.key = key
        super().__init__(message or f"{kind} {key!r} not found")


class AccessDenied(EakteError):
    """The acting principal lacks a permission on a target.

    Attributes:
        principal: name of the acting principal.
        permission: the permission that was required.
        target: a readable description of the target.
    """

    exit_code: ClassVar[int] = 4

    def __init__(self, principal: str, permission: str, target: str) -> None:
        self.principal = principal
        self.permission = permission
        self.target = target
        super().__init__(f"{principal!r} may not {permission} {target}")


class InvalidInput(EakteError, ValueError):
    """Input that eakte refuses: malformed metadata, Aktenzeichen, Kennzeichen, files."""

    exit_code: ClassVar[int] = 6


class UnsafeContent(InvalidInput):
    """Content refused because processing it could hurt the system (bombs, traversal, size)."""

    exit_code: ClassVar[int] = 6


class StateConflict(EakteError):
    """The operation contradicts the current state (closed Akte, immutable row, duplicate)."""

    exit_code: ClassVar[int] = 7


class StoreExistsError(StateConflict):
    """``init`` was asked to create a store where one already exists."""

    exit_code: ClassVar[int] = 7


@dataclass(frozen=True)
class Problem:
    """One finding of a verification run.

    Attributes:
        kind: a stable machine-readable code, e.g. ``"audit.hash_mismatch"``.
        subject: what is affected, e.g. ``"audit event 17"`` or ``"blob 3fa1…"``.
        message: a sentence that says what is wrong.
        severity: ``"error"`` (tampering or loss) or ``"notice"`` (repairable leftovers).
    """

    kind: str
    subject: str
    message: str
    severity: str = "error"
    data: dict[str, object] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"[{self.severity}] {self.subject}: {self.message}"


class IntegrityError(EakteError):
    """Stored data does not match its checksums or the audit chain is broken.

    Attributes:
        problems: every problem found, not only the first.
    """

    exit_code: ClassVar[int] = 5

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = list(problems or [])
        super().__init__(message)


class SchemaVersionError(EakteError):
    """The database schema is newer than this eakte, or older and not upgraded."""

    exit_code: ClassVar[int] = 8


class StorageError(EakteError):
    """A blob backend failed (disk full, permissions, unreachable object storage)."""

    exit_code: ClassVar[int] = 9


class MasterKeyError(StorageError):
    """An encrypted store's master key is missing, unreadable or not the store's key.

    Raised when such a store is opened without its key (or with another one), and when a
    key file cannot be read. Nothing is decrypted and nothing is written in plaintext.
    """

    exit_code: ClassVar[int] = 12


class DatabaseError(StorageError):
    """The database failed or cannot be reached (disk error, server down, wrong URL).

    Every such driver failure reaches callers as this class (or :class:`StoreBusy`), with
    the driver's exception chained as ``__cause__``; nothing was saved by the operation.
    """

    exit_code: ClassVar[int] = 9


class StoreBusy(DatabaseError):
    """Another writer held the database for too long, or a concurrent transaction won.

    SQLite allows one writer at a time and a writer waits (60 s by default) before this is
    raised; on PostgreSQL a deadlock or serialization failure rolled the transaction back.
    Nothing was saved: retrying the operation is safe.
    """

    exit_code: ClassVar[int] = 13


class SearchError(EakteError):
    """A search backend failed or the query could not be run."""

    exit_code: ClassVar[int] = 9


class ExportError(EakteError):
    """An archival export (xdomea, BagIt) could not be produced."""

    exit_code: ClassVar[int] = 10


class ArchiveImportError(EakteError):
    """An archival package (xdomea, BagIt) was rejected on import; nothing was imported."""

    exit_code: ClassVar[int] = 10


class AdapterError(EakteError):
    """A Fachverfahren adapter failed."""

    exit_code: ClassVar[int] = 11


class AdapterContractError(AdapterError):
    """A plugin does not satisfy the protocol it registers for.

    Attributes:
        name: the name it registers under (e.g. the entry point's name).
        distribution: the installed distribution that provides it, with its version.
        entry_point: the entry point, as ``group: name = module:attribute``.
        problems: every way it breaks the protocol, each naming the offending member.
    """

    exit_code: ClassVar[int] = 11

    def __init__(self, message: str, *, name: str | None = None,
                 distribution: str | None = None, entry_point: str | None = None,
                 problems: list[str] | None = None) -> None:
        self.name = name
        self.distribution = distribution
        self.entry_point = entry_point
        self.problems = list(problems or [])
        super().__init__(message)


class BackendUnavailable(AdapterError):
    """An optional backend is configured but its package is not installed."""

    exit_code: ClassVar[int] = 11


class EakteWarning(UserWarning):
    """Root of eakte's warnings: something worked, but not completely."""


class IndexingWarning(EakteWarning):
    """A change was committed but could not be indexed yet; it stays queued in the outbox."""


class BlobCleanupWarning(EakteWarning):
    """A disposal was committed but deleting its blobs failed; they remain as orphans."""
