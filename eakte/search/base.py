"""The :class:`SearchBackend` protocol and the value types every search backend speaks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar, Literal, Protocol, runtime_checkable

__all__ = [
    "IndexDocument",
    "IndexEntry",
    "SearchBackend",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "SharedWriter",
]


@dataclass(frozen=True)
class IndexDocument:
    """Everything a backend indexes for one document (its newest version).

    Attributes:
        document_id: the document's id; the backend's unique key.
        akte_id: id of the Akte holding the document (access filtering, ``--akte``).
        aktenzeichen: the Akte's Aktenzeichen (field queries ``aktenzeichen:630.10-*``).
        title: the document title.
        text: the text extracted from the newest version (may be empty).
        kind: incoming, outgoing or internal.
        mime: MIME type of the newest version.
        filename: original file name of the newest version.
        version: number of the indexed version (staleness check).
        sha256: content address of the indexed version (staleness check).
        created_at: when the document was filed (date ordering).
        document_date: the date the document bears, if known.
        metadata: metadata flattened to ``key → text``, searchable as ``meta:value``.
    """

    document_id: int
    akte_id: int
    aktenzeichen: str
    title: str
    text: str
    kind: str
    mime: str
    filename: str
    version: int
    sha256: str
    created_at: datetime
    document_date: date | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IndexEntry:
    """What the index holds for a document: enough to find missing or stale entries."""

    document_id: int
    version: int
    sha256: str


@dataclass(frozen=True)
class SearchQuery:
    """A search request.

    ``text`` uses eakte's query syntax: words (all must match), ``"exact phrases"``,
    ``-excluded`` words, and field prefixes ``title:``, ``aktenzeichen:`` (``*`` as a trailing
    wildcard), ``kind:``, ``mime:``, ``filename:`` and ``meta:``; dates as
    ``created:2026-01-01..2026-06-30`` or ``date:2026-03-01..``.

    Attributes:
        text: the query.
        limit: the most hits to return.
        akte_ids: only documents in these Akten (access filter, ``--akte``); ``None`` means
            no restriction. The filter is applied inside the backend, before counting,
            ranking and snippets, so nothing outside it leaks through totals or highlights.
        order: ``"relevance"`` (best first) or ``"date"`` (newest filed first).
    """

    text: str
    limit: int = 20
    akte_ids: frozenset[int] | None = None
    order: Literal["relevance", "date"] = "relevance"


@dataclass(frozen=True)
class SearchHit:
    """One matching document."""

    document_id: int
    akte_id: int
    aktenzeichen: str
    title: str
    score: float
    snippet: str


@dataclass(frozen=True)
class SearchResult:
    """Hits, best first (or newest first), and the number of all matches."""

    hits: list[SearchHit]
    total: int


@runtime_checkable
class SearchBackend(Protocol):
    """A full-text index over documents, derived from the database and blobs.

    Contract (RFC 2119 words):

    - The index is derived data: eakte MAY call :meth:`clear` and re-index everything at any
      time, and a backend MUST NOT hold anything that cannot be rebuilt that way.
    - :meth:`index` SHALL replace any earlier entry of the same ``document_id`` and MUST
      make the whole batch visible atomically (one commit per call, not per document).
    - :meth:`search` MUST apply ``query.akte_ids`` before counting, ranking and building
      snippets.
    - :meth:`needs_rebuild` MUST return a reason when the index was built by another
      analysis (e.g. an older analyzer version); eakte then rebuilds instead of using it.
    - Backend exceptions MUST be wrapped in :class:`~eakte.errors.SearchError`; malformed
      queries raise :class:`~eakte.errors.InvalidInput`.
    """

    name: ClassVar[str]

    def index(self, documents: Sequence[IndexDocument]) -> None:
        """Add or replace these documents in one commit."""
        ...

    def delete(self, document_ids: Sequence[int]) -> None:
        """Remove these documents if present."""
        ...

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query.

        Raises:
            InvalidInput: the query cannot be parsed.
            SearchError: the backend failed.
        """
        ...

    def entries(self) -> Iterator[IndexEntry]:
        """Yield what is indexed, for drift checks."""
        ...

    def clear(self) -> None:
        """Remove everything (before a full rebuild) and adopt the current analysis."""
        ...

    def needs_rebuild(self) -> str | None:
        """Return why the index must be rebuilt, or None if it is usable."""
        ...

    def stats(self) -> dict[str, int | str]:
        """Return at least ``documents`` and ``size_bytes``."""
        ...

    def close(self) -> None:
        """Release files, handles and connections. Idempotent."""
        ...


@runtime_checkable
class SharedWriter(Protocol):
    """A backend that several processes write to, with a lock they all share.

    Contract: while the context manager of :meth:`exclusive` is held, no other process or
    thread SHALL write to the index; :meth:`~SearchBackend.index` and
    :meth:`~SearchBackend.delete` called by the holder MUST work inside it. The indexer
    reads the database's current state and writes it under this lock, so a slow process
    can never replace a newer entry by an older one. Backends that only one process
    writes (an in-memory index) need not implement it.
    """

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold the writer lock shared by every process writing this index.

        Raises:
            SearchError: the lock could not be taken in the backend's lock timeout.
        """
        ...
