"""Choose and build a store's search backend by name (built-ins and entry points)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eakte._registry import Registry
from eakte.errors import InvalidInput

if TYPE_CHECKING:
    from eakte.context import StoreContext
    from eakte.search.base import SearchBackend

__all__ = ["SEARCH_BACKENDS", "make_search_backend"]

#: Search backends by name; plugins register under the ``eakte.search_backends`` group and
#: provide ``from_store(store) -> SearchBackend``.
SEARCH_BACKENDS: Registry[Any] = Registry(
    "eakte.search_backends",
    {
        "whoosh": ("eakte.search.whoosh_backend:WhooshSearchBackend", "pip install whoosh"),
        "postgres": ("eakte.search.postgres:PostgresSearchBackend",
                     "pip install 'eakte[postgres]'"),
        "memory": ("eakte.search.memory:MemorySearchBackend", ""),
    },
)


def make_search_backend(store: StoreContext, name: str) -> SearchBackend:
    """Build the backend called ``name`` for ``store``.

    Raises:
        InvalidInput: unknown name, or a backend that does not fit this store.
        BackendUnavailable: the backend's package is missing.
    """
    cls = SEARCH_BACKENDS.get(name)
    if name == "whoosh":
        if store.location is None:
            raise InvalidInput("the whoosh search backend needs a store folder for its index")
        backend: SearchBackend = cls(store.location / "index")
    elif name == "postgres":
        if store.dialect != "postgresql":
            raise InvalidInput("the postgres search backend needs a store on PostgreSQL")
        backend = cls(store.engine)
    elif name == "memory":
        backend = cls()
    else:
        backend = cls.from_store(store)
    return backend
