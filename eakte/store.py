"""The Store: long-lived owner of the database engine, blob store and configuration.

Example:
    >>> import eakte, tempfile
    >>> with eakte.open(tempfile.mkdtemp() + "/akten") as store:
    ...     with store.session() as s:
    ...         _ = s.add_plan_unit("020", "Personal")
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

import eakte._migrate as _migrate
from eakte._commit import CommitPipeline
from eakte._commit_steps import register_builtin
from eakte._engine import WaitCallback, make_engines
from eakte._store_config import CONFIG_NAME, StoreConfig
from eakte.access import StoreJob
from eakte.aktenzeichen import DEFAULT_PATTERN, AktenzeichenPattern
from eakte.audit.checkpoint import AutoCheckpointer, Checkpoint, create_checkpoint
from eakte.audit.signing import CheckpointKey, KeyProvider, resolve_key_provider
from eakte.crypto import settings as encryption
from eakte.crypto.masterkey import MasterKey
from eakte.errors import (
    EakteError,
    InvalidInput,
    NotFoundError,
    StorageError,
    StoreExistsError,
)
from eakte.model import READ_ONLY, Setting, install_immutability_guard
from eakte.search.backends import make_search_backend
from eakte.search.base import SearchBackend
from eakte.search.indexer import Indexer, ReindexReport
from eakte.session import Session
from eakte.storage import BlobStore
from eakte.storage.base import attach_to_store, session_view
from eakte.verify import VerifyReport, verify_store

__all__ = ["CONFIG_NAME", "Store", "init", "open"]

_DB_NAME = "eakte.sqlite3"
_BLOB_DIR = "blobs"
#: Default upper bound for one file (2 GiB); configurable per Store.
DEFAULT_MAX_FILE_SIZE = 2 * 1024**3

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """A records store: database, blobs and settings, shared by many short sessions.

    Open one with :func:`eakte.open` and keep it for the life of the process; it is
    thread-safe. Do the work in sessions::

        with store.session("mueller") as s:
            akte = s.create_akte("630.10", "Bauantrag Lindenstraße 4")
    """

    def __init__(
        self,
        *,
        db_url: str,
        blobs: BlobStore,
        location: Path | None = None,
        admin: str = "admin",
        clock: Clock | None = None,
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
        search: str | SearchBackend | None = None,
        auto_index: bool = True,
        checkpoint_key: CheckpointKey | None = None,
        checkpoint_every: int | None = None,
        on_writer_wait: WaitCallback | None = None,
    ) -> None:
        self._checkpoint_key = resolve_key_provider(checkpoint_key)
        if checkpoint_every is not None and self._checkpoint_key is None:
            raise InvalidInput("checkpoint_every needs a signing key: pass checkpoint_key= "
                               "or set EAKTE_CHECKPOINT_KEY")
        self.db_url = db_url
        self.blobs = blobs
        self.location = location
        self.admin = admin
        self.clock: Clock = clock or _utcnow
        self.max_file_size = max_file_size
        self._engine, self._read_engine, gate = make_engines(db_url)
        #: SQLite only: how writers wait for the one write lock (``on_wait``, ``timeout``).
        self.write_gate = gate
        if gate is not None:
            gate.on_wait = on_writer_wait
        self._sessionmaker = sessionmaker(self._engine, expire_on_commit=False)
        install_immutability_guard(self._sessionmaker.class_)
        #: What every unit of work's commit runs, in order (see :mod:`eakte._commit`).
        self.commit_pipeline = CommitPipeline()
        self._indexing = register_builtin(self.commit_pipeline, self)
        attach_to_store(blobs, self, self.commit_pipeline)
        if checkpoint_every is not None:
            AutoCheckpointer(self, checkpoint_every).register(self.commit_pipeline)
        self._settings: dict[str, str] | None = None
        self._lock = threading.RLock()
        self._closed = False
        self._search_spec = search
        self._search: SearchBackend | None = None
        self._indexer: Indexer | None = None
        #: Index documents right after each commit (else call ``index_pending``).
        self.auto_index = auto_index

    @property
    def last_index_error(self) -> EakteError | None:
        """The last error of indexing after a commit (the commit itself had succeeded)."""
        return self._indexing.last_error

    @last_index_error.setter
    def last_index_error(self, error: EakteError | None) -> None:
        self._indexing.last_error = error

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def dialect(self) -> str:
        """The database dialect name: ``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tooling; use sessions for records work)."""
        return self._engine

    @property
    def read_engine(self) -> Engine:
        """The engine of reads that take no write lock (SQLite; elsewhere :attr:`engine`)."""
        return self._read_engine

    def close(self) -> None:
        """Release the search backend and database connections. Idempotent."""
        if not self._closed:
            self._closed = True
            if self._search is not None:
                self._search.close()
            self._engine.dispose()
            if self._read_engine is not self._engine:
                self._read_engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = str(self.location) if self.location else self._engine.url.render_as_string()
        return f"<eakte.Store {where} ({self.dialect})>"

    # -- settings ------------------------------------------------------------------------

    def setting(self, key: str, default: str | None = None) -> str | None:
        """Return a store-wide setting, e.g. ``"aktenzeichen_pattern"``."""
        with self._lock:
            if self._settings is None:
                with self._read_engine.connect() as conn:
                    rows = conn.execute(select(Setting.key, Setting.value)).all()
                self._settings = {k: v for k, v in rows}
            return self._settings.get(key, default)

    def forget_settings(self) -> None:
        """Drop the settings cache (after settings were changed in the database)."""
        with self._lock:
            self._settings = None

    @property
    def aktenzeichen_pattern(self) -> AktenzeichenPattern:
        """The pattern that new Aktenzeichen follow."""
        return AktenzeichenPattern(self.setting("aktenzeichen_pattern") or DEFAULT_PATTERN)

    # -- search --------------------------------------------------------------------------

    @property
    def search_backend(self) -> SearchBackend | None:
        """The store's search backend (``None`` when the store has search switched off).

        Raises:
            InvalidInput: the configured backend does not fit this store.
            BackendUnavailable: its package is not installed.
        """
        with self._lock:
            if self._search is None:
                spec = self._search_spec
                if spec is None:
                    spec = self.setting("search_backend")
                if spec is None:
                    spec = "whoosh" if self.location is not None else "none"
                if isinstance(spec, str):
                    if spec == "none":
                        return None
                    self._search = make_search_backend(self, spec)
                else:
                    self._search = spec
            return self._search

    @property
    def indexer(self) -> Indexer | None:
        """The indexer that keeps the search backend in step (``None`` without search)."""
        backend = self.search_backend
        if backend is None:
            return None
        if self._indexer is None:
            self._indexer = Indexer(self, backend)
        return self._indexer

    def index_pending(self, *, progress: Callable[[int, int | None], None] | None = None
                      ) -> ReindexReport | None:
        """Index every document waiting in the outbox (done after each commit by default).

        Raises:
            SearchError: the backend failed; the outbox keeps the work for a replay.
        """
        indexer = self.indexer
        return None if indexer is None else indexer.drain(progress=progress)

    # -- work ----------------------------------------------------------------------------

    def session(self, user: str | None = None) -> Session:
        """Return a new unit of work acting as ``user`` (default: the store's administrator).

        Raises:
            NotFoundError: no such principal.
            AccessDenied: the principal is deactivated.
        """
        return Session(self, user or self.admin)

    def require_job(self, user: str | None, job: StoreJob) -> None:
        """Refuse the store-wide ``job`` to ``user`` unless it may run it (audited).

        :meth:`verify`, :meth:`checkpoint` and :func:`eakte.repair.repair` are the
        embedding application's own calls and check nobody; call this first when they run
        on behalf of a principal (the CLI does for ``--user``). ``None`` is the store's
        administrator, who may run every job.

        Raises:
            NotFoundError: no such principal.
            AccessDenied: it may not run the job (verify and checkpoints need the auditor
                or administrator role on the whole store, repair and reindex the
                administrator role).
        """
        with self.session(user) as s:
            s.require_store_job(job)

    def orm_session(self, *, read_only: bool = False) -> OrmSession:
        """Return a raw ORM session on the write engine (internal use and tooling).

        With ``read_only`` on SQLite, the session reads a snapshot through the read engine
        (no write lock) and refuses to write (it is marked :data:`eakte.model.READ_ONLY`);
        a unit of work switches it to the write engine at ``begin_write()``. Elsewhere
        ``read_only`` changes nothing.
        """
        if read_only and self._read_engine is not self._engine:
            orm = self._sessionmaker(bind=self._read_engine)
            orm.info[READ_ONLY] = True
            return orm
        return self._sessionmaker()

    def session_blobs(self, orm: OrmSession) -> BlobStore:
        """Return the blob store as seen from one ORM session (for puts and reads in it).

        On an encrypted store, puts stage their data keys in the session and its commit
        wraps them for the Akten that file the content; on a plain store this is
        :attr:`blobs` itself.
        """
        return session_view(self.blobs, orm)

    def read_connection(self) -> Connection:
        """Return a connection for consistent reads that takes no write lock."""
        return self._read_engine.connect()

    def verify(
        self,
        *,
        blobs: bool = True,
        index: bool = True,
        progress: Callable[[str, int, int | None], None] | None = None,
        checkpoints: Sequence[tuple[str, Checkpoint]] = (),
        public_keys: Sequence[bytes] = (),
    ) -> VerifyReport:
        """Recompute the audit chain and every blob hash and report what is wrong.

        The log is also replayed into the rights and record state it proves and compared
        with the rows (see :mod:`eakte.audit.replay`).

        Args:
            blobs: also re-hash every referenced blob (slower, reads all content).
            index: also compare the search index with the database (missing, stale
                entries are notices: the index is derived data that reindex repairs).
            progress: called as ``progress(stage, done, total)`` during long work.
            checkpoints: ``(name, checkpoint)`` pairs kept outside the store (e.g. by an
                auditor) to check along with the stored ones.
            public_keys: raw Ed25519 keys trusted to sign checkpoints, besides the
                configured checkpoint key's.

        Returns:
            the report; ``report.ok`` is False when anything is wrong.

        Raises:
            StorageError: the configured checkpoint key cannot be read.
            InvalidInput: it is not an Ed25519 key.
        """
        return verify_store(self, blobs=blobs, index=index, progress=progress,
                            checkpoints=checkpoints, public_keys=public_keys)

    @property
    def checkpoint_key(self) -> KeyProvider | None:
        """The key that signs checkpoints (``checkpoint_key=`` or ``$EAKTE_CHECKPOINT_KEY``)."""
        return self._checkpoint_key

    def checkpoint(self, *, key: CheckpointKey | None = None) -> Checkpoint | None:
        """Sign a checkpoint of the audit log (see :mod:`eakte.audit.checkpoint`).

        Args:
            key: sign with this key file or provider instead of :attr:`checkpoint_key`.

        Returns:
            the new checkpoint; None when nothing but checkpoints was logged since the last.

        Raises:
            InvalidInput: no key is configured, or it is not an Ed25519 key.
            IntegrityError: the log is damaged or does not extend the last checkpoint.
            StorageError: the database or the key file failed.
        """
        provider = resolve_key_provider(key) if key is not None else self._checkpoint_key
        if provider is None:
            raise InvalidInput("no checkpoint key: pass checkpoint_key= (or key=), or set "
                               "EAKTE_CHECKPOINT_KEY; create one with 'eakte checkpoint keygen'")
        return create_checkpoint(self, provider)


def _looks_like_url(location: str | os.PathLike[str]) -> bool:
    return isinstance(location, str) and "://" in location


def init(
    location: str | os.PathLike[str],
    *,
    db_url: str | None = None,
    admin: str = "admin",
    aktenzeichen_pattern: str = DEFAULT_PATTERN,
    blobs: BlobStore | None = None,
    clock: Clock | None = None,
    search: str | SearchBackend = "whoosh",
    auto_index: bool = True,
    checkpoint_key: CheckpointKey | None = None,
    checkpoint_every: int | None = None,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    encrypt: bool = False,
    master_key: MasterKey | None = None,
    on_writer_wait: WaitCallback | None = None,
) -> Store:
    """Create a new store in the folder ``location`` and return it open.

    Args:
        location: the store folder (created if missing); holds config and blobs, and the
            SQLite database unless ``db_url`` names another database.
        db_url: e.g. ``postgresql+psycopg://user@host/db``; recorded in the store config.
        admin: name of the local administrator principal to create.
        aktenzeichen_pattern: the format of new Aktenzeichen (see ``AktenzeichenPattern``).
        blobs: a blob store instance instead of ``<location>/blobs``.
        clock: a function returning the current UTC time (tests, imports).
        search: the search backend recorded for the store: ``"whoosh"`` (an index in the
            store folder), ``"postgres"`` (full-text search in the store's PostgreSQL
            database), ``"memory"`` or ``"none"``; or a backend instance for this process
            only (then ``"none"`` is recorded).
        auto_index: index changes right after each commit.
        checkpoint_key: the key file or provider that signs audit checkpoints (default:
            ``$EAKTE_CHECKPOINT_KEY``); see :meth:`Store.checkpoint`.
        checkpoint_every: take a checkpoint after each commit that leaves this many events
            or more after the newest checkpoint (default: off; needs a key).
        max_file_size: largest file accepted, in bytes (for this process, as for
            :func:`open`).
        encrypt: encrypt the blobs at rest (AES-256-GCM; see :mod:`eakte.crypto`).
            Chosen once, here; recorded in the store.
        master_key: the master key file or provider of an encrypted store (default:
            ``$EAKTE_MASTER_KEY_FILE``). A path given here is recorded in the store
            configuration, so later opens find the key; the key itself never is.
        on_writer_wait: SQLite: called with a :class:`~eakte._engine.WriterWait` when a
            write waits more than a second for another process's write lock (who holds
            it, how long), and every 15 s while it still waits.

    Raises:
        StoreExistsError: a store already exists there (or in that database).
        InvalidInput: the pattern or URL is invalid.
        SchemaVersionError: the database holds a schema of another eakte.
        MasterKeyError: ``encrypt`` without a readable master key.
        DatabaseError: the database cannot be reached or failed.
        StoreBusy: another writer held the SQLite database beyond the wait.
        BackendUnavailable: the database driver (psycopg) is not installed.
    """
    if _looks_like_url(location):
        raise InvalidInput("init needs a store folder; pass the database URL as db_url=")
    AktenzeichenPattern(aktenzeichen_pattern)
    folder = Path(location)
    if (folder / CONFIG_NAME).exists():
        raise StoreExistsError(
            f"a store already exists at {str(folder)!r}; open it instead of creating it again"
        )
    if blobs is None:
        blobs = encryption.new_folder_blobs(folder / _BLOB_DIR, encrypt=encrypt,
                                            master_key=master_key)
    elif encrypt and encryption.keyring_for(blobs) is None:
        raise InvalidInput("encrypt=True keeps the blobs in the store folder; omit blobs=")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create store folder {str(folder)!r}: {exc}") from exc
    url = db_url or f"sqlite:///{(folder / _DB_NAME).resolve()}"
    store = Store(
        db_url=url,
        blobs=blobs,
        location=folder,
        admin=admin,
        clock=clock,
        max_file_size=max_file_size,
        search=search,
        auto_index=auto_index,
        checkpoint_key=checkpoint_key,
        checkpoint_every=checkpoint_every,
        on_writer_wait=on_writer_wait,
    )
    search_name = search if isinstance(search, str) else "none"
    if search_name == "memory":
        raise InvalidInput(
            "an in-memory index cannot be recorded for a store; pass "
            "search=MemorySearchBackend() to eakte.open() for one process instead"
        )
    try:
        if search_name != "none":
            # A new store's index is complete while empty; building it now also refuses a
            # backend that does not fit this store before anything is written.
            backend = make_search_backend(store, search_name)
            try:
                backend.clear()
            finally:
                backend.close()
        state = _migrate.prepare(store.engine, create=True)
        if state != "created":
            raise StoreExistsError(
                "the database already holds an eakte store; open it with --db instead"
            )
        store_id = _migrate.new_store_id()
        _migrate.bootstrap(store, admin=admin, pattern=aktenzeichen_pattern, store_id=store_id,
                         search=search_name)
        encryption.record_encryption(store)
        StoreConfig(store_id, db_url, admin, store.clock().isoformat(),
                    encryption.config_entry(store.blobs, master_key)).write(folder)
    except BaseException:
        store.close()
        raise
    return store


def open(
    location: str | os.PathLike[str],
    *,
    db_url: str | None = None,
    blobs: BlobStore | None = None,
    create: bool = True,
    upgrade: bool = True,
    clock: Clock | None = None,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    search: str | SearchBackend | None = None,
    auto_index: bool = True,
    checkpoint_key: CheckpointKey | None = None,
    checkpoint_every: int | None = None,
    master_key: MasterKey | None = None,
    on_writer_wait: WaitCallback | None = None,
) -> Store:
    """Open the store at ``location`` (a folder, or a database URL with ``blobs=``).

    A folder without a store is created (SQLite + ``blobs/``) unless ``create=False``.

    Args:
        location: a store folder, or a database URL such as ``postgresql+psycopg://…``.
        db_url: the database of a folder store, overriding the one in its configuration.
        blobs: a blob store instance (required when ``location`` is a URL).
        create: create the store when the folder holds none.
        upgrade: migrate an older schema to this eakte's schema.
        clock: a function returning the current UTC time.
        max_file_size: largest file accepted, in bytes.
        search: use this search backend (name or instance) instead of the store's setting.
        auto_index: index changes right after each commit.
        checkpoint_key: as for :func:`init`.
        checkpoint_every: as for :func:`init`.
        master_key: the master key of an encrypted store (default: ``$EAKTE_MASTER_KEY_FILE``,
            then the key file recorded at init); a new folder store given one is encrypted.
        on_writer_wait: as for :func:`init`.

    Raises:
        NotFoundError: no store there and ``create`` is False.
        SchemaVersionError: the schema is newer than this eakte, or older and not upgraded.
        InvalidInput: the URL is invalid or ``blobs`` is missing for a URL.
        MasterKeyError: the store is encrypted and its master key is missing or another.
        DatabaseError: the database cannot be reached or failed.
        StoreBusy: another writer held the SQLite database beyond the wait.
        BackendUnavailable: the database driver (psycopg) is not installed.
    """
    if _looks_like_url(location):
        if blobs is None:
            raise InvalidInput("opening a store by database URL needs blobs= (a BlobStore)")
        store = Store(db_url=str(location), blobs=blobs, clock=clock, max_file_size=max_file_size,
                      search=search, auto_index=auto_index, checkpoint_key=checkpoint_key,
                      checkpoint_every=checkpoint_every, on_writer_wait=on_writer_wait)
        try:
            state = _migrate.prepare(store.engine, create=create, upgrade=upgrade,
                                     reader=store.read_engine)
            if state == "created":
                _migrate.bootstrap(store, admin="admin", pattern=DEFAULT_PATTERN,
                                 store_id=_migrate.new_store_id())
                encryption.record_encryption(store)
            elif state == "missing":
                raise NotFoundError(
                    "Store", store.engine.url.render_as_string(),
                    "the database holds no eakte store; open it with create=True to create one",
                )
            encryption.check_encryption(store)
        except BaseException:
            store.close()
            raise
        return store
    folder = Path(location)
    if not (folder / CONFIG_NAME).exists():
        if not create:
            raise NotFoundError(
                "Store", str(folder), f"no eakte store at {str(folder)!r}; run 'eakte init'"
            )
        return init(folder, db_url=db_url, blobs=blobs, clock=clock,
                    search=search if search is not None else "whoosh", auto_index=auto_index,
                    checkpoint_key=checkpoint_key, checkpoint_every=checkpoint_every,
                    max_file_size=max_file_size, encrypt=master_key is not None,
                    master_key=master_key, on_writer_wait=on_writer_wait)
    config = StoreConfig.read(folder)
    url = db_url or config.db_url or f"sqlite:///{(folder / _DB_NAME).resolve()}"
    store = Store(
        db_url=url,
        blobs=blobs if blobs is not None else encryption.folder_blobs(
            folder / _BLOB_DIR, config.encryption, master_key),
        location=folder,
        admin=config.admin,
        clock=clock,
        max_file_size=max_file_size,
        search=search,
        auto_index=auto_index,
        checkpoint_key=checkpoint_key,
        checkpoint_every=checkpoint_every,
        on_writer_wait=on_writer_wait,
    )
    try:
        state = _migrate.prepare(store.engine, create=False, upgrade=upgrade,
                                 reader=store.read_engine)
        if state == "missing":
            raise NotFoundError(
                "Store", url, f"the store at {str(folder)!r} has no schema in its database"
            )
        encryption.check_encryption(store)
    except BaseException:
        store.close()
        raise
    return store
