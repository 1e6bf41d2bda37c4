"""The unit of work under every Session: transaction, audit events, identity, locking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.exc import SQLAlchemyError

from eakte.audit.log import PendingEvent, append_events
from eakte.errors import (
    AccessDenied,
    EakteError,
    InvalidInput,
    NotFoundError,
    StateConflict,
    StorageError,
)
from eakte.model import (
    Akte,
    AkteDisposal,
    AuditHead,
    Document,
    Principal,
    SearchOutbox,
    Version,
    Vorgang,
)
from eakte.types import AkteStatus

if TYPE_CHECKING:
    from eakte.store import Store


__all__ = ["UnitOfWork", "check_meta", "clean_text"]

#: Callback for long batches: ``progress(done, total)``.
Progress = Callable[[int, int], None]
_Obj = TypeVar("_Obj", Akte, Vorgang, Document, Version)

_MAX_TITLE = 1000


def clean_text(value: str, what: str, *, max_len: int = _MAX_TITLE) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise InvalidInput(f"{what} must not be empty")
    if len(text) > max_len:
        raise InvalidInput(f"{what} is longer than {max_len} characters")
    if any(ord(ch) < 32 and ch not in "\t" for ch in text):
        raise InvalidInput(f"{what} contains control characters")
    return text


def check_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    if meta is None:
        return {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) for k in meta):
        raise InvalidInput("metadata must be a mapping with text keys")
    return dict(meta)


class UnitOfWork:
    """A short-lived unit of work acting as one principal.

    Use it as a context manager: on normal exit everything done in it is committed together
    with its audit events; on an exception nothing is (except the record that content was
    read, which is kept). Objects returned stay readable after the session ends.
    """

    def __init__(self, store: Store, user: str) -> None:
        self._store = store
        self._orm = store.orm_session()
        self._events: list[PendingEvent] = []
        self._locked_akten: dict[int, bool] = {}  # Akte id -> exclusively locked
        self._reindex: list[Document] = []  # documents whose index entry must be refreshed
        self._dedup_blobs: list[str] = []  # blobs this session reused (put found them stored)
        self._post_commit: list[Callable[[], None]] = []  # run after a successful commit
        self._closed = False
        try:
            principal = self._orm.scalars(select(Principal).where(Principal.name == user)).first()
        except SQLAlchemyError as exc:
            self._orm.close()
            raise StorageError(f"database error: {exc}") from exc
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

    def _now(self) -> datetime:
        return self._store.clock()

    def _audit(self, action: str, object_type: str, target: Any, **details: Any) -> None:
        self._events.append(PendingEvent(action, object_type, target, details))

    def commit(self) -> None:
        """Commit every change of this session together with its audit events.

        Raises:
            StateConflict: a uniqueness rule was violated (e.g. a duplicate Kennzeichen).
            StorageError: the database failed; nothing was committed.
        """
        try:
            self._orm.flush()
            if self._dedup_blobs:
                self._check_reused_blobs()
            if self._reindex:
                now = self._now()
                self._orm.execute(insert(SearchOutbox), [
                    {"document_id": doc.id, "created_at": now}
                    for doc in dict.fromkeys(self._reindex)
                ])
            append_events(self._orm, self.user, self._events, self._now())
            self._orm.commit()
        except DbIntegrityError as exc:
            self._orm.rollback()
            self._events.clear()
            raise StateConflict(f"conflicting change, nothing was saved: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            self._orm.rollback()
            self._events.clear()
            raise StorageError(f"database error, nothing was saved: {exc}") from exc
        finally:
            indexed = bool(self._reindex)
            self._reindex.clear()
            self._dedup_blobs.clear()
            hooks, self._post_commit = self._post_commit, []
        self._events.clear()
        if indexed:
            self._store._after_commit()
        for hook in hooks:
            hook()

    def _check_reused_blobs(self) -> None:
        """Refuse to commit versions whose deduplicated blob a disposal deleted meanwhile.

        ``put`` returns at once for content that is stored already, before this transaction
        commits; a concurrent disposal could delete that blob in between. Disposal deletes
        blobs while holding the audit head lock and only after re-checking references, and
        this check runs under the same lock, so one of the two always sees the other.

        Raises:
            StorageError: a reused blob is gone; nothing was saved.
        """
        self._orm.execute(select(AuditHead.seq).where(AuditHead.id == 1).with_for_update())
        gone = [sha for sha in dict.fromkeys(self._dedup_blobs)
                if not self._store.blobs.exists(sha)]
        if gone:
            self._orm.rollback()
            self._events.clear()
            raise StorageError(
                f"blob {gone[0]} was deleted by a concurrent disposal while this session "
                "reused it; nothing was saved, file the content again"
            )

    def rollback(self) -> None:
        """Discard the changes of this session; records of content reads are still kept."""
        reads = [e for e in self._events
                 if e.action == "content.read" or e.action.startswith("export.")]
        self._orm.rollback()
        self._events.clear()
        self._reindex.clear()
        self._dedup_blobs.clear()
        self._post_commit.clear()
        if reads:
            self._events.extend(reads)
            self.commit()

    @staticmethod
    def _change(obj: Any, attr: str, new: Any, changes: dict[str, Any], *,
                name: str | None = None) -> None:
        """Set ``obj.attr`` to ``new`` and record old and new in ``changes`` if it differs."""
        old = getattr(obj, attr)
        if new != old:
            changes[name or attr] = {"old": old, "new": new}
            setattr(obj, attr, new)

    def close(self) -> None:
        """End the session without committing pending changes."""
        if not self._closed:
            self._closed = True
            self._orm.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                try:
                    self.rollback()
                except EakteError as rollback_exc:  # keep the original error in charge
                    if exc is not None:
                        exc.add_note(f"recording content reads failed too: {rollback_exc}")
        finally:
            self.close()

    def _flush(self) -> None:
        try:
            self._orm.flush()
        except DbIntegrityError as exc:
            raise StateConflict(f"conflicting change: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc}") from exc

    def _own(self, obj: _Obj) -> _Obj:
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
                self._flush()
            return obj
        own = self._orm.get(type(obj), obj.id)
        if own is None:
            raise NotFoundError(type(obj).__name__, obj.id)
        return own


    def get_akte(self, key: str | int) -> Akte:
        """Return an Akte by Aktenzeichen or numeric id.

        Raises:
            NotFoundError: no such Akte.
        """
        if isinstance(key, int):
            akte = self._orm.get(Akte, key)
        else:
            akte = self._orm.scalars(select(Akte).where(Akte.aktenzeichen == key.strip())).first()
        if akte is None:
            raise NotFoundError("Akte", key)
        return akte


    def _lock_akte(self, akte: Akte, *, exclusive: bool = False) -> Akte:
        """Lock the Akte row for this transaction and reload its status (PostgreSQL).

        Writers into an Akte take a shared lock, closing and reopening an exclusive one, so
        a document can never be filed into an Akte that another session is closing. On
        SQLite the whole transaction already holds the database's write lock.
        """
        if self._store.dialect != "postgresql":
            return akte
        held = self._locked_akten.get(akte.id)
        if held is not None and (held or not exclusive):
            return akte
        self._flush()
        self._orm.refresh(akte, with_for_update={"read": not exclusive})
        self._locked_akten[akte.id] = exclusive
        return akte

    def _require_open(self, akte: Akte, vorgang_id: int | None = None) -> None:
        """Refuse writes into a closed or disposed Akte, or a closed Vorgang (or its parent).

        Raises:
            StateConflict: the Akte, the Vorgang or one of its parent Vorgänge is closed.
        """
        self._lock_akte(akte)
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

    def _require_content(self, document: Document) -> None:
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

