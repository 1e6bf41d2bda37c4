"""Every kind of problem verification and repair report, by name.

A :class:`ProblemKind` is a :class:`~enum.StrEnum`: :attr:`eakte.errors.Problem.kind` holds
its dotted value (``"audit.hash_mismatch"``), which ``eakte verify --json`` prints and
callers compare with, so the text never changes. The replay's per-record findings form
families (``akte.unaudited``, ``grant.changed`` …) built by :func:`record_kind` from a
:class:`Record` and a :class:`Finding`.

Example:
    >>> ProblemKind.BLOB_CORRUPT == "blob.corrupt"
    True
    >>> record_kind(Record.AKTE, Finding.CHANGED)
    'akte.changed'
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Finding", "ProblemKind", "Record", "record_kind"]


class ProblemKind(StrEnum):
    """A stable machine-readable problem code: ``<area>.<what is wrong>``."""

    # the audit chain and its head
    AUDIT_UNDECODABLE = "audit.undecodable"
    AUDIT_REORDERED = "audit.reordered"
    AUDIT_COLUMN_MISMATCH = "audit.column_mismatch"
    AUDIT_SEQUENCE_GAP = "audit.sequence_gap"
    AUDIT_HASH_MISMATCH = "audit.hash_mismatch"
    AUDIT_HEAD_MISSING = "audit.head_missing"
    AUDIT_HEAD_MISMATCH = "audit.head_mismatch"
    # signed checkpoints
    CHECKPOINT_UNREADABLE = "checkpoint.unreadable"
    CHECKPOINT_MISSING = "checkpoint.missing"
    CHECKPOINT_TRUNCATED = "checkpoint.truncated"
    CHECKPOINT_COLUMN_MISMATCH = "checkpoint.column_mismatch"
    CHECKPOINT_DATA_MISMATCH = "checkpoint.data_mismatch"
    CHECKPOINT_PREFIX_MISMATCH = "checkpoint.prefix_mismatch"
    CHECKPOINT_SIGNATURE_INVALID = "checkpoint.signature_invalid"
    CHECKPOINT_STORE_MISMATCH = "checkpoint.store_mismatch"
    CHECKPOINT_KEY_NOT_PINNED = "checkpoint.key_not_pinned"
    # versions against their audit record
    VERSION_HASH_CHANGED = "version.hash_changed"
    VERSION_SIZE_CONFLICT = "version.size_conflict"
    # blobs
    BLOB_MISSING = "blob.missing"
    BLOB_UNREADABLE = "blob.unreadable"
    BLOB_CORRUPT = "blob.corrupt"
    BLOB_SIZE_MISMATCH = "blob.size_mismatch"
    BLOB_KEY_MISSING = "blob.key_missing"
    BLOB_ORPHAN = "blob.orphan"
    BLOB_RECORDED_ORPHAN = "blob.recorded_orphan"
    # encryption keys
    KEYS_MASTER_KEY_MISMATCH = "keys.master_key_mismatch"
    KEYS_AKTE_KEY_DAMAGED = "keys.akte_key_damaged"
    KEYS_BLOB_KEY_DAMAGED = "keys.blob_key_damaged"
    KEYS_NOT_SHREDDED = "keys.not_shredded"
    KEYS_ORPHAN = "keys.orphan"
    KEYS_WRAPPING_MISSING = "keys.wrapping_missing"
    # the search index
    INDEX_PENDING = "index.pending"
    INDEX_UNKNOWN = "index.unknown"
    INDEX_STALE = "index.stale"
    INDEX_MISSING = "index.missing"
    INDEX_REBUILD_NEEDED = "index.rebuild_needed"
    INDEX_UNAVAILABLE = "index.unavailable"


class Record(StrEnum):
    """A kind of row the replay compares with the state the audit log implies."""

    PRINCIPAL = "principal"
    MEMBERSHIP = "membership"
    GRANT = "grant"
    UNIT = "unit"
    SYSTEM = "system"
    AKTE = "akte"
    HOLD = "hold"
    DISPOSAL = "disposal"
    VORGANG = "vorgang"
    DOCUMENT = "document"
    VERSION = "version"


class Finding(StrEnum):
    """How a row differs from the replayed state."""

    #: the row exists, but no audit event accounts for it
    UNAUDITED = "unaudited"
    #: the audit log records the object, but its row is gone
    MISSING = "missing"
    #: a field of the row differs from what the audit log says
    CHANGED = "changed"


def record_kind(record: Record, finding: Finding) -> str:
    """Return the problem kind for ``finding`` about a ``record`` row, e.g. ``akte.missing``."""
    return f"{record.value}.{finding.value}"
