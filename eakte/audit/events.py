"""Every audit action eakte records, by name, and the payloads shared between writers.

An :class:`Action` is a :class:`~enum.StrEnum`: it is stored, compared and printed as its
dotted name (``"document.file"``), so events written before this module existed read the
same. Operations, the xdomea importer, the change feed, verify's replay and repair all use
these members; nothing else spells an action name.

Example:
    >>> Action.DOCUMENT_FILE == "document.file"
    True
    >>> Action("akte.close").object_kind
    'akte'
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eakte.model import Version

__all__ = ["CONTENT_ACTIONS", "KEPT_ON_ROLLBACK", "Action", "version_payload"]


class Action(StrEnum):
    """The name of an audited action: ``<object kind>.<verb>``."""

    # the store and its audit log
    STORE_INIT = "store.init"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    AUDIT_REPLAY_BASELINE = "audit.replay_baseline"
    # principals and rights
    PRINCIPAL_CREATE = "principal.create"
    PRINCIPAL_JOIN = "principal.join"
    PRINCIPAL_CLEARANCE = "principal.clearance"
    GRANT_ADD = "grant.add"
    GRANT_REVOKE = "grant.revoke"
    ACCESS_DENIED = "access.denied"
    # Aktenplan and records
    PLAN_CREATE = "plan.create"
    AKTE_CREATE = "akte.create"
    AKTE_IMPORT = "akte.import"
    AKTE_UPDATE = "akte.update"
    AKTE_CLOSE = "akte.close"
    AKTE_REOPEN = "akte.reopen"
    AKTE_RETENTION = "akte.retention"
    VORGANG_CREATE = "vorgang.create"
    VORGANG_UPDATE = "vorgang.update"
    VORGANG_CLOSE = "vorgang.close"
    VORGANG_REOPEN = "vorgang.reopen"
    EXTERNAL_REF_ADD = "external_ref.add"
    # documents and content
    DOCUMENT_FILE = "document.file"
    DOCUMENT_UPDATE = "document.update"
    VERSION_ADD = "version.add"
    RENDITION_ADD = "rendition.add"
    CONTENT_READ = "content.read"
    # lifecycle and Aussonderung
    HOLD_SET = "hold.set"
    HOLD_RELEASE = "hold.release"
    DISPOSAL_OFFERED = "disposal.offered"
    DISPOSAL_APPRAISED = "disposal.appraised"
    DISPOSAL_EXPORTED = "disposal.exported"
    DISPOSAL_TRANSFERRED = "disposal.transferred"
    DISPOSAL_TRANSFER_FAILED = "disposal.transfer_failed"
    DISPOSAL_DESTROYED = "disposal.destroyed"
    DISPOSAL_DELETED = "disposal.deleted"
    # exchange
    EXPORT_BAGIT = "export.bagit"
    EXPORT_XDOMEA = "export.xdomea"
    XDOMEA_IMPORT = "xdomea.import"
    XDOMEA_RECEIPT = "xdomea.receipt"
    XDOMEA_RECEIPT_SENT = "xdomea.receipt_sent"
    # keys and repair
    KEYS_ROTATE = "keys.rotate"
    REPAIR_INDEX_REFRESHED = "repair.index_refreshed"
    REPAIR_TEMP_REMOVED = "repair.temp_removed"
    REPAIR_ORPHANS_REMOVED = "repair.orphans_removed"
    REPAIR_KEYS_REMOVED = "repair.keys_removed"

    @property
    def object_kind(self) -> str:
        """The part before the dot: what kind of object the action is about."""
        return self.value.partition(".")[0]


#: Actions that bring content (a blob) into the store.
CONTENT_ACTIONS: frozenset[Action] = frozenset(
    {Action.DOCUMENT_FILE, Action.VERSION_ADD, Action.RENDITION_ADD})

#: Actions whose events are kept when a session rolls back: reading content and being
#: refused are facts even if the work around them failed; so is handing out an export.
KEPT_ON_ROLLBACK: frozenset[Action] = frozenset(
    {Action.CONTENT_READ, Action.ACCESS_DENIED, Action.EXPORT_BAGIT, Action.EXPORT_XDOMEA})


def version_payload(version: Version) -> dict[str, Any]:
    """Return what ``document.file`` and ``version.add`` record about the new version."""
    return {"version": version.number, "version_uuid": version.uuid,
            "sha256": version.sha256, "size": version.size, "mime": version.mime,
            "filename": version.filename}
