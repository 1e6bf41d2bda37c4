"""The commit pipeline: what runs inside and after the transaction of every unit of work.

A Store owns one :class:`CommitPipeline`. Participants register with a :class:`Stage`;
when a unit of work commits, the pipeline calls, in stage order:

inside the transaction (``before_commit``):
    1. ``CHECKS``      re-check blobs the session reused (a disposal may have deleted them)
    2. ``OUTBOX``      write the search outbox rows of the documents to (re)index
    3. ``INDEX``       read the waiting outbox rows and their documents' index entries
    4. ``KEYS``        seal the data keys of the blobs put in the session (encrypted stores)
    5. ``AUDIT``       append the session's audit events to the hash chain (locks the head)
    6. ``CHECKPOINT``  note whether a signed checkpoint is due

then the database commit, then after it (``after_commit``), in the same order: the
``INDEX`` stage indexes what it read (one more transaction), the key ring forgets the
staged keys, a due checkpoint is taken, and the ``HOOKS`` stage runs the session's own
``on_commit`` hooks. After a rollback (also of a savepoint) every participant's
``after_rollback`` runs.

The built-in participants are defined here; :class:`~eakte.store.Store` registers them,
the key ring of an encrypted store and the checkpointer
(:class:`~eakte.audit.checkpoint.AutoCheckpointer`) register themselves.

Nothing else takes part in a commit: no ORM session events, no calls into the Store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session as OrmSession

    from eakte.audit.log import PendingEvent
    from eakte.model import Document

__all__ = ["CommitParticipant", "CommitPipeline", "PendingCommit", "Stage"]


class Stage(IntEnum):
    """Where a participant runs; lower stages run first, inside and after the commit."""

    CHECKS = 10
    OUTBOX = 20
    INDEX = 30
    KEYS = 40
    AUDIT = 50
    CHECKPOINT = 60
    HOOKS = 70


@dataclass
class PendingCommit:
    """One commit as the participants see it: the transaction and what the session queued.

    Attributes:
        orm: the ORM session whose transaction commits.
        actor: the acting principal's name (recorded in the audit events).
        now: the commit's time (the store clock, read once).
        events: the audit events to append.
        reindex: documents whose index entries must be refreshed.
        reused_blobs: addresses that ``put`` found stored already.
        hooks: the session's ``on_commit`` callbacks.
        index_progress: called as ``progress(done, total)`` while indexing.
        appended: ``(seq, hash)`` of each appended event (set by the ``AUDIT`` stage).
        notes: what a participant leaves for its own ``after_commit`` (by participant).
    """

    orm: OrmSession
    actor: str
    now: datetime
    events: list[PendingEvent] = field(default_factory=list)
    reindex: list[Document] = field(default_factory=list)
    reused_blobs: list[str] = field(default_factory=list)
    hooks: list[Callable[[], None]] = field(default_factory=list)
    index_progress: Callable[[int, int | None], None] | None = None
    appended: list[tuple[int, str]] = field(default_factory=list)
    notes: dict[int, Any] = field(default_factory=dict)

    def note(self, participant: object, value: Any) -> None:
        """Keep ``value`` for ``participant``'s ``after_commit``."""
        self.notes[id(participant)] = value

    def noted(self, participant: object, default: Any = None) -> Any:
        """Return what ``participant`` noted before the commit (``default`` if nothing)."""
        return self.notes.get(id(participant), default)


class CommitParticipant(Protocol):
    """Takes part in every commit of a Store's units of work (see the module docstring)."""

    def before_commit(self, commit: PendingCommit) -> None:
        """Do this participant's part inside the transaction, before it commits.

        Raises:
            EakteError: the commit must not happen; the transaction is rolled back.
        """
        ...

    def after_commit(self, commit: PendingCommit) -> None:
        """Do this participant's part once the transaction has committed (must not fail)."""
        ...

    def after_rollback(self, orm: OrmSession) -> None:
        """Forget what this participant kept for ``orm``'s transaction or savepoint."""
        ...


class CommitPipeline:
    """The ordered participants of a Store's commits (thread-safe registration)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._participants: tuple[tuple[Stage, int, CommitParticipant], ...] = ()

    def register(self, participant: CommitParticipant, stage: Stage) -> None:
        """Add ``participant`` at ``stage`` (after those registered there before).

        Raises:
            ValueError: it is registered already.
        """
        with self._lock:
            if any(p is participant for _, _, p in self._participants):
                raise ValueError(f"{participant!r} takes part in this pipeline already")
            entry = (stage, len(self._participants), participant)
            self._participants = tuple(sorted((*self._participants, entry),
                                              key=lambda e: (e[0], e[1])))

    @property
    def participants(self) -> tuple[CommitParticipant, ...]:
        """The participants in the order they run."""
        return tuple(p for _, _, p in self._participants)

    def commit(self, commit: PendingCommit) -> None:
        """Run every ``before_commit``, then commit ``commit.orm``'s transaction.

        When this raises, nothing was committed and the caller rolls back (then calls
        :meth:`rolled_back`); after it returns, the caller calls :meth:`committed`.

        Raises:
            EakteError: a participant refused the commit.
            SQLAlchemyError: the database refused it.
        """
        for participant in self.participants:
            participant.before_commit(commit)
        commit.orm.commit()

    def committed(self, commit: PendingCommit) -> None:
        """Run every ``after_commit`` of a commit that :meth:`commit` made."""
        for participant in self.participants:
            participant.after_commit(commit)

    def rolled_back(self, orm: OrmSession) -> None:
        """Tell every participant that ``orm``'s transaction (or a savepoint) rolled back."""
        for participant in self.participants:
            participant.after_rollback(orm)
