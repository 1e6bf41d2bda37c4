"""The built-in participants of the commit pipeline (see :mod:`eakte._commit`).

Blob re-check, search outbox, indexing after the commit, audit append and the session's
own hooks. A Store registers them in :func:`register_builtin`; each works on the
:class:`~eakte._commit.PendingCommit` it is given and on the store's public services.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from eakte._commit import CommitPipeline, PendingCommit, Stage
from eakte.audit.log import append_events
from eakte.errors import EakteError, IndexingWarning, StorageError
from eakte.model import AuditHead, SearchOutbox

if TYPE_CHECKING:
    from sqlalchemy.orm import Session as OrmSession

    from eakte.context import StoreContext

__all__ = [
    "AuditAppend",
    "OutboxRows",
    "ReusedBlobCheck",
    "SearchIndexing",
    "SessionHooks",
    "register_builtin",
]


class _Step:
    """A participant that does nothing unless a method is overridden."""

    def before_commit(self, commit: PendingCommit) -> None:
        """Nothing inside the transaction."""

    def after_commit(self, commit: PendingCommit) -> None:
        """Nothing after it."""

    def after_rollback(self, orm: OrmSession) -> None:
        """Nothing kept."""


class ReusedBlobCheck(_Step):
    """Refuses to commit versions whose deduplicated blob a disposal deleted meanwhile.

    ``put`` returns at once for content that is stored already, before this transaction
    commits; a concurrent disposal could delete that blob in between. Disposal deletes
    blobs while holding the audit head lock and only after re-checking references, and
    this check runs under the same lock, so one of the two always sees the other.
    """

    def __init__(self, store: StoreContext) -> None:
        self.store = store

    def before_commit(self, commit: PendingCommit) -> None:
        """Lock the audit head and check that every reused blob still exists.

        Raises:
            StorageError: a reused blob is gone; nothing is saved.
        """
        if not commit.reused_blobs:
            return
        commit.orm.execute(select(AuditHead.seq).where(AuditHead.id == 1).with_for_update())
        gone = [sha for sha in dict.fromkeys(commit.reused_blobs)
                if not self.store.blobs.exists(sha)]
        if gone:
            raise StorageError(
                f"blob {gone[0]} was deleted by a concurrent disposal while this session "
                "reused it; nothing was saved, file the content again"
            )


class OutboxRows(_Step):
    """Writes one search outbox row per document to (re)index, inside the transaction."""

    def before_commit(self, commit: PendingCommit) -> None:
        """Insert the outbox rows of ``commit.reindex``."""
        if commit.reindex:
            commit.orm.execute(insert(SearchOutbox), [
                {"document_id": doc.id, "created_at": commit.now}
                for doc in dict.fromkeys(commit.reindex)
            ])


class SearchIndexing(_Step):
    """Indexes the outbox after the commit: read inside the transaction, one more after it.

    Inside the transaction it reads the waiting outbox rows (this commit's and any an
    interrupted run left) and their documents' index entries; after the commit it
    extracts their text and updates the index and the outbox in one transaction
    (:meth:`~eakte.search.indexer.Indexer.index_batch`). An indexing failure never undoes
    the commit: it is kept in :attr:`last_error` and reported as an
    :class:`~eakte.errors.IndexingWarning`; the outbox keeps the work.

    Attributes:
        last_error: the last indexing error after a commit (None after a success).
    """

    def __init__(self, store: StoreContext) -> None:
        self.store = store
        self.last_error: EakteError | None = None

    def before_commit(self, commit: PendingCommit) -> None:
        """Read the waiting outbox rows (only when something was changed)."""
        if not self.store.auto_index or not (commit.reindex or commit.events):
            return
        if not commit.reindex and commit.orm.scalar(select(SearchOutbox.id).limit(1)) is None:
            return  # e.g. only a content read: no backend to open, nothing waits
        try:
            indexer = self.store.indexer
            if indexer is not None:
                commit.note(self, indexer.outbox_batch(commit.orm))
        except EakteError as exc:  # the backend cannot be used: the outbox keeps the work
            commit.note(self, exc)

    def after_commit(self, commit: PendingCommit) -> None:
        """Index what :meth:`before_commit` read; warn on failure."""
        noted = commit.noted(self)
        if noted is None:
            return
        try:
            if isinstance(noted, EakteError):
                raise noted
            indexer = self.store.indexer
            if indexer is not None:
                indexer.index_batch(noted, progress=commit.index_progress)
            self.last_error = None
        except EakteError as exc:
            self.last_error = exc
            warnings.warn(
                f"committed, but indexing failed ({exc}); the change is queued and "
                "'eakte reindex' will index it",
                IndexingWarning,
                stacklevel=5,
            )


class AuditAppend(_Step):
    """Appends the session's audit events to the hash chain, last in the transaction."""

    def before_commit(self, commit: PendingCommit) -> None:
        """Append ``commit.events`` (locks the chain head until the commit)."""
        commit.appended = append_events(commit.orm, commit.actor, commit.events, commit.now)


class SessionHooks(_Step):
    """Runs the callbacks a unit of work registered with ``on_commit``, last of all."""

    def after_commit(self, commit: PendingCommit) -> None:
        """Call each hook in the order registered."""
        for hook in commit.hooks:
            hook()


def register_builtin(pipeline: CommitPipeline, store: StoreContext) -> SearchIndexing:
    """Register the built-in participants of ``store``; return its indexing step."""
    indexing = SearchIndexing(store)
    pipeline.register(ReusedBlobCheck(store), Stage.CHECKS)
    pipeline.register(OutboxRows(), Stage.OUTBOX)
    pipeline.register(indexing, Stage.INDEX)
    pipeline.register(AuditAppend(), Stage.AUDIT)
    pipeline.register(SessionHooks(), Stage.HOOKS)
    return indexing
