"""What the lower layers need of a store, as a protocol: they depend on this, not on Store.

Indexing, checkpoints, keys, verify, repair, disposal, search backends and the exchange
formats take a :class:`StoreContext`. :class:`eakte.Store` is the one implementation; tests
and tools may bring their own. The module imports nothing at run time, so any layer can
depend on it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session as OrmSession

    from eakte.audit.signing import KeyProvider
    from eakte.search.base import SearchBackend
    from eakte.search.indexer import Indexer
    from eakte.session import Session
    from eakte.storage.base import BlobStore

__all__ = ["StoreContext"]


class StoreContext(Protocol):
    """The services of one open store, as the layers below the Session see them."""

    #: The blob store (on an encrypted store, the encrypting wrapper).
    blobs: BlobStore
    #: The store folder, or None for a store opened by database URL.
    location: Path | None
    #: Name of the local administrator principal.
    admin: str
    #: Largest file accepted, in bytes.
    max_file_size: int
    #: Whether changes are indexed right after each commit.
    auto_index: bool
    #: The store clock (UTC).
    clock: Callable[[], datetime]

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        ...

    @property
    def engine(self) -> Engine:
        """The write engine."""
        ...

    @property
    def search_backend(self) -> SearchBackend | None:
        """The search backend, or None when search is off."""
        ...

    @property
    def indexer(self) -> Indexer | None:
        """The indexer keeping the search backend in step, or None."""
        ...

    @property
    def checkpoint_key(self) -> KeyProvider | None:
        """The key that signs checkpoints, if one is configured."""
        ...

    def setting(self, key: str, default: str | None = None) -> str | None:
        """A store-wide setting."""
        ...

    def forget_settings(self) -> None:
        """Drop cached settings after they were changed in the database."""
        ...

    def orm_session(self) -> OrmSession:
        """A raw ORM session on the write engine."""
        ...

    def read_connection(self) -> Connection:
        """A connection for consistent reads that takes no write lock."""
        ...

    def session_blobs(self, orm: OrmSession) -> BlobStore:
        """The blob store as seen from one ORM session."""
        ...

    def session(self, user: str | None = None) -> Session:
        """A new Session acting as ``user`` (default: the administrator)."""
        ...
