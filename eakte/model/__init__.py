"""SQLAlchemy models of the records domain and the guard that keeps history immutable."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession

from eakte.errors import StateConflict
from eakte.model.adapter import AdapterCursor
from eakte.model.akte import Akte, ExternalRef
from eakte.model.aktenplan import AktenplanUnit, AktenzeichenCounter
from eakte.model.audit import AuditEvent, AuditHead
from eakte.model.base import Base
from eakte.model.checkpoint import AuditCheckpoint
from eakte.model.crypto import AkteKey, BlobKey, EncryptedBlob
from eakte.model.document import Document
from eakte.model.lifecycle import AkteDisposal, LegalHold
from eakte.model.principal import ExternalSystem, Grant, Membership, Principal, Setting
from eakte.model.search import SearchOutbox, TextExtraction
from eakte.model.version import Rendition, Version
from eakte.model.vorgang import Vorgang

__all__ = [
    "IMMUTABLE_TABLES",
    "READ_ONLY",
    "AdapterCursor",
    "Akte",
    "AkteDisposal",
    "AkteKey",
    "AktenplanUnit",
    "AktenzeichenCounter",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditHead",
    "Base",
    "BlobKey",
    "Document",
    "EncryptedBlob",
    "ExternalRef",
    "ExternalSystem",
    "Grant",
    "LegalHold",
    "Membership",
    "Principal",
    "Rendition",
    "SearchOutbox",
    "Setting",
    "TextExtraction",
    "Version",
    "Vorgang",
    "install_immutability_guard",
]

#: Tables whose rows are insert-only (also enforced by database triggers).
IMMUTABLE_TABLES: tuple[str, ...] = ("versions", "renditions", "audit_events",
                                     "audit_checkpoints")
_IMMUTABLE_CLASSES = (Version, Rendition, AuditEvent, AuditCheckpoint)
#: Key in ``OrmSession.info``: the session reads a snapshot and must not write (SQLite
#: units of work before ``begin_write()``); the guard refuses its writes.
READ_ONLY = "eakte.read_only"
_READ_ONLY_HINT = ("a unit of work wrote before taking the write lock: the operation must "
                   "call begin_write() before it reads what it changes")
#: Session classes that carry the guard (weak: sessionmaker classes come and go).
_GUARDED: weakref.WeakSet[type[OrmSession]] = weakref.WeakSet()


def _before_flush(session: OrmSession, flush_context: Any, instances: Any) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise RuntimeError(_READ_ONLY_HINT)
    for obj in session.deleted:
        if isinstance(obj, _IMMUTABLE_CLASSES):
            raise StateConflict(f"{type(obj).__name__} rows are immutable and cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, _IMMUTABLE_CLASSES) and session.is_modified(obj):
            raise StateConflict(f"{type(obj).__name__} rows are immutable and cannot be changed")


def _do_orm_execute(state: ORMExecuteState) -> None:
    if state.session.info.get(READ_ONLY) and (state.is_insert or state.is_update
                                              or state.is_delete):
        raise RuntimeError(_READ_ONLY_HINT)
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in IMMUTABLE_TABLES:
        raise StateConflict(f"rows of {name!r} are immutable; UPDATE and DELETE are refused")


def install_immutability_guard(session_class: type[OrmSession]) -> None:
    """Make ``session_class`` refuse UPDATE and DELETE of versions, renditions and audit rows.

    Its sessions marked :data:`READ_ONLY` in their ``info`` refuse every write. The guard
    only refuses; it does no commit work.

    Args:
        session_class: an ORM session class, e.g. from ``sessionmaker``.
    """
    # Not ``event.contains``: SQLAlchemy's registry keys listeners by ``id(target)`` and may
    # still hold the entry of a collected sessionmaker class whose id a new class reuses, so
    # it answered True for fresh classes and most Stores of a process went unguarded.
    if session_class not in _GUARDED:
        event.listen(session_class, "before_flush", _before_flush)
        event.listen(session_class, "do_orm_execute", _do_orm_execute)
        _GUARDED.add(session_class)
