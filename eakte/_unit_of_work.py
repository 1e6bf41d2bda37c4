"""The unit of work under every Session: transaction, audit events, identity, access, locking."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DataError as DbDataError
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.exc import SQLAlchemyError

from eakte._commit import PendingCommit
from eakte._snapshot import to_writer
from eakte._validate import clean_text
from eakte.access import AccessPolicy, Permission, StoreJob
from eakte.audit.events import KEPT_ON_ROLLBACK, Action
from eakte.audit.log import PendingEvent
from eakte.errors import (
    AccessDenied,
    DatabaseError,
    EakteError,
    InvalidInput,
    NotFoundError,
    StateConflict,
    StorageError,
)
from eakte.ingest.accept import accept_stream
from eakte.ingest.source import open_source
from eakte.model import (
    READ_ONLY,
    Akte,
    AkteDisposal,
    Document,
    ExternalRef,
    Principal,
    Version,
    Vorgang,
)
from eakte.types import AkteStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session as OrmSession

    from eakte.ingest.accept import Accepted
    from eakte.ingest.source import Source
    from eakte.store import Store

__all__ = ["UnitOfWork"]

_Obj = TypeVar("_Obj", Akte, Vorgang, Document, Version)


class UnitOfWork:
    """A short-lived unit of work acting as one principal: one transaction and its events.

    A :class:`~eakte.session.Session` holds one and decides when it commits (normal exit of
    its ``with`` block) or rolls back (an exception: nothing is kept except the records of
    content reads and refusals). Objects returned stay readable after it ends.
    """

    def __init__(self, store: Store, user: str) -> None:
        self._store = store
        # SQLite: read a snapshot without the write lock until begin_write()
        self._orm = store.orm_session(read_only=True)
        self._writing = not self._orm.info.get(READ_ONLY)
        self._events: list[PendingEvent] = []
        self._locked_akten: dict[int, bool] = {}  # Akte id -> exclusively locked
        self._reindex: list[Document] = []  # documents whose index entry must be refreshed
        self._dedup_blobs: list[str] = []  # blobs this session reused (put found them stored)
        self._post_commit: list[Callable[[], None]] = []  # run after a successful commit
        self._access: AccessPolicy | None = None
        #: Called as ``index_progress(done, total)`` while the commit's documents are
        #: indexed (after the commit, when the store indexes automatically).
        self.index_progress: Callable[[int, int | None], None] | None = None
        self._akte_scope: dict[int, tuple[int, str]] = {}  # Akte id -> (unit id, confidentiality)
        self._closed = False
        try:
            principal = self._orm.scalars(select(Principal).where(Principal.name == user)).first()
        except SQLAlchemyError as exc:
            self._orm.close()
            raise StorageError(f"database error: {exc}") from exc
        except DatabaseError:  # locked, unreachable: already says what to do
            self._orm.close()
            raise
        if principal is None:
            self._orm.close()
            raise NotFoundError("Principal", user, f"unknown user {user!r}")
        if not principal.active:
            self._orm.close()
            raise AccessDenied(user, "act", "in this store (deactivated principal)")
        self.principal: Principal = principal

    # -- unit of work --------------------------------------------------------------------

    @property
    def user(self) -> str:
        """Name of the acting principal."""
        return self.principal.name

    # -- access control ------------------------------------------------------------------

    @property
    def access(self) -> AccessPolicy:
        """The acting principal's effective rights (loaded once per session)."""
        if self._access is None:
            self._access = AccessPolicy.load(self._orm, self.principal)
        return self._access

    def forget_access(self) -> None:
        """Drop cached rights after grants, memberships or an Akte's classification changed."""
        self._access = None
        self._akte_scope.clear()

    def permissions(self, akte: Akte | int) -> frozenset[Permission]:
        """Return what the acting principal may do with an Akte (and everything in it)."""
        akte_id = akte if isinstance(akte, int) else akte.id
        scope = self._akte_scope.get(akte_id)
        if scope is None:
            row = self._orm.execute(
                select(Akte.unit_id, Akte.confidentiality).where(Akte.id == akte_id)
            ).one_or_none()
            if row is None:
                return frozenset()
            scope = self._akte_scope[akte_id] = (int(row.unit_id), str(row.confidentiality))
        return self.access.on_akte(akte_id, *scope)

    def require(self, permission: Permission, akte: Akte | int, operation: str, *,
                hidden_as: tuple[str, object] | None = None, target: Any = None,
                object_type: str = "akte") -> None:
        """Refuse ``operation`` unless the principal holds ``permission`` on the Akte.

        A principal that may not even read the Akte learns nothing about it: it gets the
        same :class:`NotFoundError` as for an object that does not exist (``hidden_as`` is
        its kind and key). Every refusal is recorded as an ``access.denied`` audit event,
        which is kept even though the session's other changes are rolled back.

        Raises:
            NotFoundError: the principal may not read the Akte.
            AccessDenied: the principal may read it, but not do ``operation``.
        """
        akte_id = akte if isinstance(akte, int) else akte.id
        perms = self.permissions(akte_id)
        if permission in perms:
            self._writes_with(permission)
            return
        self.record(Action.ACCESS_DENIED, object_type, target if target is not None else akte_id,
                    akte=akte_id, permission=permission.value, operation=operation)
        if Permission.READ not in perms:
            kind, key = hidden_as or ("Akte", akte_id)
            raise NotFoundError(kind, key)
        label = akte.aktenzeichen if isinstance(akte, Akte) else f"Akte {akte_id}"
        raise AccessDenied(self.user, operation, f"in {label} (needs {permission.value})")

    def require_store(self, permission: Permission, operation: str) -> None:
        """Refuse ``operation`` unless the principal holds ``permission`` store-wide.

        Raises:
            AccessDenied: it does not.
        """
        if self.access.on_store(permission):
            self._writes_with(permission)
            return
        self.record(Action.ACCESS_DENIED, "store", "", permission=permission.value,
                    operation=operation)
        raise AccessDenied(self.user, operation, f"in this store (needs {permission.value})")

    def require_system(self, system: str) -> None:
        """Refuse to use external ids of ``system`` unless the principal holds that system.

        The answer never depends on which ids exist: call this before any lookup by, or
        creation of, an external id. Store administrators hold every system; others need
        the owner role on ``system:NAME``. A refusal is audited as ``access.denied``.

        Raises:
            AccessDenied: the principal does not hold the system.
        """
        if self.access.may_use_system(system):
            return
        self.record(Action.ACCESS_DENIED, "system", system, permission="use external ids",
                    operation="use external ids", system=system)
        raise AccessDenied(self.user, "use external ids",
                           f"of system {system!r}; ask an administrator for "
                           f"`eakte grant {self.user} owner system:{system}`")

    def require_store_job(self, job: StoreJob) -> None:
        """Refuse the store-wide ``job`` unless the principal may run it.

        Verify and checkpoints need the auditor or administrator role on the whole store,
        repair and reindex the administrator role. A refusal is audited as
        ``access.denied``.

        Raises:
            AccessDenied: the principal may not run the job.
        """
        if self.access.may_run(job):
            return
        roles = self.access.job_roles(job)
        self.record(Action.ACCESS_DENIED, "store", "", permission="/".join(roles),
                    operation=job.value)
        raise AccessDenied(self.user, job.value,
                           f"(it needs the {' or '.join(roles)} role on the whole store; "
                           f"ask an administrator for `eakte grant {self.user} {roles[0]} '*'`)")

    def require_unit(self, permission: Permission, unit_id: int, kennzeichen: str,
                     operation: str) -> None:
        """Refuse ``operation`` unless ``permission`` is held on an Aktenplan unit.

        Raises:
            AccessDenied: it is not (the Aktenplan itself is no secret).
        """
        if permission in self.access.on_unit(unit_id):
            self._writes_with(permission)
            return
        self.record(Action.ACCESS_DENIED, "aktenplan_unit", unit_id, permission=permission.value,
                    operation=operation, kennzeichen=kennzeichen)
        raise AccessDenied(self.user, operation,
                           f"under Aktenplan unit {kennzeichen} (needs {permission.value})")

    def commit(self) -> None:
        """Commit every change of this session together with its audit events.

        The Store's commit pipeline (:mod:`eakte._commit`) runs inside the transaction and
        after it. A session that never called :meth:`begin_write` only ends its read; the
        audit events of its reads commit in a short write transaction of their own.

        Raises:
            StateConflict: a uniqueness rule was violated (e.g. a duplicate Kennzeichen).
            InvalidInput: a value cannot be stored.
            StorageError: the database failed; nothing was committed.
            StoreBusy: another writer held the SQLite database beyond the wait.
        """
        pipeline = self._store.commit_pipeline
        orm = self._orm
        try:
            self._orm.flush()  # in a read-only session, a pending write fails loudly here
            if not self._writing:
                self._orm.commit()  # ends the read snapshot
                orm = self._store.orm_session()
            pending = PendingCommit(
                orm=orm, actor=self.user, now=self.now(), events=list(self._events),
                reindex=list(self._reindex), reused_blobs=list(self._dedup_blobs),
                hooks=list(self._post_commit), index_progress=self.index_progress)
            if self._writing or pending.events:
                pipeline.commit(pending)
        except DbIntegrityError as exc:
            self._failed(orm)
            raise StateConflict(f"conflicting change, nothing was saved: {exc.orig}") from exc
        except (DbDataError, UnicodeEncodeError) as exc:
            self._failed(orm)
            raise InvalidInput(f"a value cannot be stored, nothing was saved: "
                               f"{getattr(exc, 'orig', None) or exc}") from exc
        except SQLAlchemyError as exc:
            self._failed(orm)
            raise StorageError(f"database error, nothing was saved: {exc}") from exc
        except EakteError:  # locked, unreachable, refused by a participant: nothing saved
            self._failed(orm)
            raise
        finally:
            self._events.clear()
            self._reindex.clear()
            self._dedup_blobs.clear()
            self._post_commit.clear()
            if orm is not self._orm:
                orm.close()
        pipeline.committed(pending)

    def _failed(self, orm: OrmSession) -> None:
        """Roll back a failed commit and tell the pipeline."""
        orm.rollback()
        self._store.commit_pipeline.rolled_back(orm)

    def rollback(self) -> None:
        """Discard the changes of this session; records of content reads are still kept."""
        reads = [e for e in self._events if e.action in KEPT_ON_ROLLBACK]
        self._orm.rollback()
        self._store.commit_pipeline.rolled_back(self._orm)
        self._events.clear()
        self._reindex.clear()
        self._dedup_blobs.clear()
        self._post_commit.clear()
        if reads:
            self._events.extend(reads)
            self.commit()

    def close(self) -> None:
        """End the session without committing pending changes."""
        if not self._closed:
            self._closed = True
            self._orm.close()

    # -- identity and flushing ----------------------------------------------------------

    def flush(self) -> None:
        """Send pending changes to the database (ids assigned), translating its errors.

        Raises:
            StateConflict: a uniqueness rule was violated.
            InvalidInput: a value cannot be stored.
            StorageError: the database failed.
        """
        try:
            self._orm.flush()
        except DbIntegrityError as exc:
            raise StateConflict(f"conflicting change: {exc.orig}") from exc
        except (DbDataError, UnicodeEncodeError) as exc:
            raise InvalidInput(f"a value cannot be stored: "
                               f"{getattr(exc, 'orig', None) or exc}") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc}") from exc

    def own(self, obj: _Obj) -> _Obj:
        """Return this session's instance of ``obj``, with its id assigned.

        Callers may pass objects returned by an earlier session; changing those would be
        lost (while the audit event claimed the change) and their status may be stale, so
        they are replaced by the current row. Objects added in this session are flushed
        first if they have no id yet.

        Raises:
            NotFoundError: the row no longer exists.
        """
        if obj in self._orm:
            if obj.id is None:
                self.flush()
            return obj
        own = self._orm.get(type(obj), obj.id)
        if own is None:
            raise NotFoundError(type(obj).__name__, obj.id)
        return own

    # -- locking and state checks -------------------------------------------------------

    def lock_akte(self, akte: Akte, *, exclusive: bool = False) -> Akte:
        """Lock the Akte row for this transaction and reload its status (PostgreSQL).

        Writers into an Akte take a shared lock, closing and reopening an exclusive one, so
        a document can never be filed into an Akte that another session is closing. On
        SQLite the transaction holds the database's write lock from :meth:`begin_write` on.
        """
        self.begin_write()
        if self._store.dialect != "postgresql":
            return akte
        held = self._locked_akten.get(akte.id)
        if held is not None and (held or not exclusive):
            return akte
        self.flush()
        self._orm.refresh(akte, with_for_update={"read": not exclusive})
        self._locked_akten[akte.id] = exclusive
        return akte

    def lock_document(self, document: Document) -> None:
        """Lock a document's row and reload it before changing it (PostgreSQL).

        Two sessions changing the same document then take turns, and the old values each
        audit event records are the ones the other session committed: no lost update. On
        SQLite the transaction holds the database's write lock from :meth:`begin_write` on.
        """
        self.begin_write()
        if self._store.dialect != "postgresql":
            return
        self.flush()
        self._orm.refresh(document, with_for_update=True)

    def require_open(self, akte: Akte, vorgang_id: int | None = None) -> None:
        """Refuse writes into a closed or disposed Akte, or a closed Vorgang (or its parent).

        Raises:
            StateConflict: the Akte, the Vorgang or one of its parent Vorgänge is closed.
        """
        self.lock_akte(akte)
        if akte.status == AkteStatus.CLOSED:
            disposal = self._orm.get(AkteDisposal, akte.id)
            if disposal is not None and disposal.disposed:
                raise StateConflict(
                    f"Akte {akte.aktenzeichen!r} was disposed ({disposal.state}); its content "
                    "was deleted after Aussonderung and nothing can be added"
                )
            raise StateConflict(
                f"Akte {akte.aktenzeichen!r} is closed (z.d.A.); reopen it before adding "
                "documents or versions"
            )
        seen: set[int] = set()
        while vorgang_id is not None and vorgang_id not in seen:
            seen.add(vorgang_id)
            row = self._orm.execute(  # columns, not the cached object: the status may be new
                select(Vorgang.title, Vorgang.status, Vorgang.parent_id)
                .where(Vorgang.id == vorgang_id)
            ).one_or_none()
            if row is None:
                raise NotFoundError("Vorgang", vorgang_id)
            if row.status == AkteStatus.CLOSED:
                raise StateConflict(
                    f"Vorgang {vorgang_id} {row.title!r} in Akte {akte.aktenzeichen!r} is "
                    "closed (z.d.A.); reopen it before adding documents or versions"
                )
            vorgang_id = row.parent_id

    def require_content(self, document: Document) -> None:
        """Refuse content reads of a disposed Akte.

        Raises:
            StateConflict: the document's Akte was disposed and its content deleted.
        """
        disposal = self._orm.get(AkteDisposal, document.akte_id)
        if disposal is not None and disposal.disposed:
            when = disposal.disposed_at
            how = (f"transfer to the archive (Archivkennung {disposal.archivkennung})"
                   if disposal.state == "transferred" else "decision V (destroy)")
            raise StateConflict(
                f"the content of document {document.id} was destroyed on "
                f"{when.date().isoformat() if when else '?'} after Aussonderung by {how}; "
                "only its metadata and the deletion record in the audit log remain"
            )

    # -- the named API that operations, exchange formats and the Filer work through ------

    @property
    def unit_of_work(self) -> UnitOfWork:
        """The unit of work behind a session (for exchange formats and other extensions)."""
        return self

    @property
    def orm(self) -> OrmSession:
        """The ORM session of this unit of work (its one transaction)."""
        return self._orm

    @property
    def store(self) -> Store:
        """The store this unit of work acts on."""
        return self._store

    def now(self) -> datetime:
        """The store clock's current time (UTC)."""
        return self._store.clock()

    def begin_write(self) -> None:
        """Declare that this unit of work is about to write (before the reads it depends on).

        Every write operation calls it as its first step; later calls do nothing.

        On SQLite the session reads a snapshot without the write lock until here: this
        ends that read, takes the write lock (``BEGIN IMMEDIATE`` through the write gate)
        and reloads every object the session holds, so what the operation reads next is
        current and stays so until the commit. Elsewhere (PostgreSQL) it does nothing.

        Raises:
            StoreBusy: another writer held the SQLite database beyond the wait.
            RuntimeError: the session already has unflushed changes (a write operation
                did not call this first).
        """
        if self._writing:
            return
        try:
            to_writer(self._orm, self._store.engine)
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc}") from exc
        self._writing = True

    def _writes_with(self, permission: Permission) -> None:
        """Take the write lock for an operation that needs more than the right to read."""
        if permission not in (Permission.READ, Permission.AUDIT):
            self.begin_write()

    def record(self, action: Action, object_type: str, target: Any, **details: Any) -> None:
        """Queue an audit event; it is appended to the chain at commit, with the rows."""
        self._events.append(PendingEvent(action, object_type, target, details))

    def reindex(self, document: Document) -> None:
        """Queue ``document`` for (re)indexing; its outbox row commits with the change."""
        self._reindex.append(document)

    def reused_blob(self, sha256: str) -> None:
        """Note a blob that ``put`` found stored already (the commit re-checks it exists)."""
        self._dedup_blobs.append(sha256)

    def on_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` after this unit of work committed successfully."""
        self._post_commit.append(hook)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run a block in a savepoint: on an exception its rows, events and queued work go.

        Raises:
            BaseException: whatever the block raised, after undoing the block's work.
        """
        marks = (len(self._events), len(self._reindex), len(self._dedup_blobs),
                 len(self._post_commit))
        nested = self._orm.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            self._store.commit_pipeline.rolled_back(self._orm)
            del self._events[marks[0]:]
            del self._reindex[marks[1]:]
            del self._dedup_blobs[marks[2]:]
            del self._post_commit[marks[3]:]
            raise
        nested.commit()

    def accept_content(self, source: Source, filename: str | None = None, *,
                       claimed_mime: str | None = None) -> Accepted:
        """Check content and write its blob (:mod:`eakte.ingest.accept`), in this session.

        Raises:
            InvalidInput: the source cannot be read or is empty.
            UnsafeContent: a disguised executable, a zip bomb or an oversized file.
        """
        with open_source(source, filename=filename) as src:
            try:
                accepted = accept_stream(src.stream, src.filename,
                                         self._store.session_blobs(self._orm),
                                         max_size=self._store.max_file_size,
                                         claimed_mime=claimed_mime)
            except OSError as exc:
                raise InvalidInput(f"cannot read {src.filename!r}: {exc}") from exc
        if not accepted.created:
            self.reused_blob(accepted.sha256)
        return accepted

    def is_disposed(self, akte: Akte) -> bool:
        """Tell whether the Akte's content was deleted after Aussonderung."""
        disposal = self._orm.get(AkteDisposal, akte.id)
        return disposal is not None and disposal.disposed

    def add_external_ref(self, system: str, external_id: str, object_type: str,
                         object_id: int) -> str:
        """Tie ``system:external_id`` to an object; return the reference as text.

        Raises:
            InvalidInput: the system or id is not valid text.
            AccessDenied: the principal does not hold ``system``.
            StateConflict: the id already refers to another object of that type.
        """
        system = clean_text(system, "external system", max_len=100)
        self.require_system(system)
        self.begin_write()
        external_id = clean_text(external_id, "external id", max_len=500)
        taken = self._orm.scalar(
            select(ExternalRef.object_id).where(
                ExternalRef.system == system,
                ExternalRef.external_id == external_id,
                ExternalRef.object_type == object_type,
            )
        )
        if taken is not None:
            raise StateConflict(
                f"external id {system}:{external_id} already refers to {object_type} {taken}"
            )
        self._orm.add(ExternalRef(system=system, external_id=external_id,
                                  object_type=object_type, object_id=object_id,
                                  created_at=self.now()))
        return f"{system}:{external_id}"

    @staticmethod
    def change(obj: Any, attr: str, new: Any, changes: dict[str, Any], *,
               name: str | None = None) -> None:
        """Set ``obj.attr`` to ``new`` and record old and new in ``changes`` if it differs."""
        old = getattr(obj, attr)
        if new != old:
            changes[name or attr] = {"old": old, "new": new}
            setattr(obj, attr, new)
