"""Full-text search over the documents the principal may read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eakte.access import Permission
from eakte.errors import InvalidInput, SearchError
from eakte.model import Akte
from eakte.ops.records import get_akte
from eakte.search.base import SearchQuery, SearchResult

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = ["search"]


def search(
    uow: UnitOfWork,
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
    backend = uow.store.search_backend
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
    akte_ids = uow.access.akte_ids(uow.orm)
    if akte is not None:
        target = uow.own(akte) if isinstance(akte, Akte) else get_akte(uow, akte)
        uow.require(Permission.READ, target, "search")
        akte_ids = frozenset({target.id})
    return backend.search(
        SearchQuery(text=text.strip(), limit=limit, akte_ids=akte_ids,
                    order="date" if order == "date" else "relevance")
    )

