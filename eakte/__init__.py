"""eakte: the embeddable electronic file (e-Akte) for German public agencies.

Example:
    >>> import eakte, tempfile
    >>> with eakte.open(tempfile.mkdtemp()) as store, store.session() as s:
    ...     _ = s.add_plan_unit("020", "Personal")
    ...     akte = s.create_akte("020", "Stellenbesetzung Bauamt")
"""

from __future__ import annotations

from typing import Any

from eakte._disposal import DisposalStatus, DueAkte
from eakte._engine import WriterWait
from eakte.access import Permission
from eakte.aktenzeichen import AktenzeichenPattern
from eakte.errors import (
    AccessDenied,
    AdapterContractError,
    AdapterError,
    ArchiveImportError,
    BackendUnavailable,
    BlobCleanupWarning,
    DatabaseError,
    EakteError,
    EakteWarning,
    ExportError,
    IndexingWarning,
    IntegrityError,
    InvalidInput,
    MasterKeyError,
    NotFoundError,
    Problem,
    SchemaVersionError,
    SearchError,
    StateConflict,
    StorageError,
    StoreBusy,
    StoreExistsError,
    UnsafeContent,
)
from eakte.feed import ChangeEvent, FeedPage
from eakte.model import (
    Akte,
    AktenplanUnit,
    AuditEvent,
    Document,
    LegalHold,
    Principal,
    Rendition,
    Version,
    Vorgang,
)
from eakte.ops.grants import GrantInfo
from eakte.search.base import SearchBackend, SearchHit, SearchResult
from eakte.session import Session
from eakte.storage import BlobInfo, BlobStore, LocalBlobStore, MemoryBlobStore
from eakte.store import Store, init, open
from eakte.types import (
    AkteStatus,
    Confidentiality,
    DisposalDecision,
    DisposalState,
    DocumentKind,
    PrincipalKind,
    Role,
)
from eakte.verify import VerifyReport

__all__ = [
    "AccessDenied",
    "AdapterContractError",
    "AdapterError",
    "Akte",
    "AkteStatus",
    "AktenplanUnit",
    "AktenzeichenPattern",
    "ArchiveImportError",
    "AuditEvent",
    "BackendUnavailable",
    "BlobCleanupWarning",
    "BlobInfo",
    "BlobStore",
    "ChangeEvent",
    "Confidentiality",
    "DatabaseError",
    "DisposalDecision",
    "DisposalState",
    "DisposalStatus",
    "Document",
    "DocumentKind",
    "DueAkte",
    "EakteError",
    "EakteWarning",
    "ExportError",
    "FeedPage",
    "GrantInfo",
    "IndexingWarning",
    "IntegrityError",
    "InvalidInput",
    "LegalHold",
    "LocalBlobStore",
    "MasterKeyError",
    "MemoryBlobStore",
    "NotFoundError",
    "Permission",
    "Principal",
    "PrincipalKind",
    "Problem",
    "Rendition",
    "Role",
    "SchemaVersionError",
    "SearchBackend",
    "SearchError",
    "SearchHit",
    "SearchResult",
    "Session",
    "StateConflict",
    "StorageError",
    "Store",
    "StoreBusy",
    "StoreExistsError",
    "UnsafeContent",
    "VerifyReport",
    "Version",
    "Vorgang",
    "WriterWait",
    "init",
    "open",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("eakte")
        except PackageNotFoundError:  # running from a source tree
            from eakte._version import __version__

            return __version__
    raise AttributeError(f"module 'eakte' has no attribute {name!r}")
