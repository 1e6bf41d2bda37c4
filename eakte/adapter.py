"""The stable adapter API: everything a Fachverfahren adapter imports from eakte.

An adapter is a class that a distribution registers in the ``eakte.adapters`` entry-point
group::

    [project.entry-points."eakte.adapters"]
    bauportal = "eakte_bauportal:BauportalAdapter"

eakte validates it when it is loaded (required members, API version, parameters, name)
and runs it with ``eakte adapter run bauportal …`` or :func:`run_once` / :func:`watch`.
The contract is the :class:`Adapter` protocol's docstring; its tests are
:class:`eakte.testing.adapter.AdapterContract`.

What is stable: every name in ``__all__`` below, with its signature and documented
behaviour, for as long as :data:`API_VERSION` stays the same. An adapter SHOULD import
from eakte nothing but ``eakte`` and ``eakte.adapter`` (its tests also
``eakte.testing.adapter``); the modules these names live in (``eakte.filing``,
``eakte.ingest.*``, ``eakte.schemas``, …) may move or change without notice. Names are
added here as adapters need them; removing or changing one raises the API version.

The surface, by job:

- contract and runner: :class:`Adapter`, :class:`AdapterParam`, :class:`RunReport`,
  :func:`check_adapter_class`, :func:`run_once`, :func:`watch`, :func:`feed_cursor`,
  :data:`ADAPTERS` (:class:`AdapterRegistry`, :class:`AdapterInfo`), :data:`API_VERSION`,
  :data:`SUPPORTED_API_VERSIONS`, :data:`RESERVED_PARAMS`;
- filing under external keys: :class:`Filer`, :class:`CaseRecord`,
  :class:`DocumentRecord`, :class:`ExternalKey`, :class:`FilingResult`,
  :class:`FilingStatus`, :func:`item_error`; the declarative :class:`FieldMapping`;
- following changes: :class:`ChangeEvent`, :class:`FeedPage`;
- reading untrusted input safely: :class:`FolderFile`, :class:`FolderScan`,
  :class:`SkippedEntry`, :func:`scan_folder`, :func:`open_in_folder`,
  :func:`read_in_folder` (no symbolic links, bounded reads), :func:`clean_filename`,
  :class:`ExtractLimits`, :func:`check_zip`, :func:`iter_member`,
  :func:`unsafe_member_name` (zip bombs, traversal), :func:`load_json`,
  :func:`parse_email` (nesting bombs), :func:`validate` (eakte's JSON schemas);
- errors and value types: :class:`EakteError`, :class:`InvalidInput`,
  :class:`UnsafeContent`, :class:`AccessDenied`, :class:`NotFoundError`,
  :class:`StateConflict`, :class:`AdapterError`, :class:`AdapterContractError`,
  :class:`DocumentKind`, :class:`Confidentiality`.

Example:
    >>> from eakte.adapter import ADAPTERS, run_once
    >>> sorted(ADAPTERS.names)                               # doctest: +SKIP
    ['dropfolder', 'email', 'ozg']
    >>> cls = ADAPTERS.get("dropfolder")                     # doctest: +SKIP
    >>> report = run_once(cls(folder="/srv/drop", mapping="map.json"), store)  # doctest: +SKIP
"""

from __future__ import annotations

from eakte._adapter_contract import (
    API_VERSION,
    RESERVED_PARAMS,
    SUPPORTED_API_VERSIONS,
    Adapter,
    AdapterParam,
    RunReport,
    check_adapter_class,
)
from eakte._adapter_registry import ADAPTERS, AdapterInfo, AdapterRegistry
from eakte._adapter_run import feed_cursor, run_once, watch
from eakte.errors import (
    AccessDenied,
    AdapterContractError,
    AdapterError,
    EakteError,
    InvalidInput,
    NotFoundError,
    StateConflict,
    UnsafeContent,
)
from eakte.feed import ChangeEvent, FeedPage
from eakte.filing import (
    CaseRecord,
    DocumentRecord,
    ExternalKey,
    Filer,
    FilingResult,
    FilingStatus,
    item_error,
)
from eakte.ingest.folder import (
    FolderFile,
    FolderScan,
    SkippedEntry,
    open_in_folder,
    read_in_folder,
    scan_folder,
)
from eakte.ingest.limits import (
    ExtractLimits,
    check_zip,
    iter_member,
    load_json,
    parse_email,
    unsafe_member_name,
)
from eakte.ingest.source import clean_filename
from eakte.mapping import FieldMapping
from eakte.schemas import validate
from eakte.types import Confidentiality, DocumentKind

__all__ = [
    "ADAPTERS",
    "API_VERSION",
    "RESERVED_PARAMS",
    "SUPPORTED_API_VERSIONS",
    "AccessDenied",
    "Adapter",
    "AdapterContractError",
    "AdapterError",
    "AdapterInfo",
    "AdapterParam",
    "AdapterRegistry",
    "CaseRecord",
    "ChangeEvent",
    "Confidentiality",
    "DocumentKind",
    "DocumentRecord",
    "EakteError",
    "ExternalKey",
    "ExtractLimits",
    "FeedPage",
    "FieldMapping",
    "Filer",
    "FilingResult",
    "FilingStatus",
    "FolderFile",
    "FolderScan",
    "InvalidInput",
    "NotFoundError",
    "RunReport",
    "SkippedEntry",
    "StateConflict",
    "UnsafeContent",
    "check_adapter_class",
    "check_zip",
    "clean_filename",
    "feed_cursor",
    "item_error",
    "iter_member",
    "load_json",
    "open_in_folder",
    "parse_email",
    "read_in_folder",
    "run_once",
    "scan_folder",
    "unsafe_member_name",
    "validate",
    "watch",
]
