"""Fix what can be derived again (search index, orphan blobs, temp files), never evidence.

``repair`` first verifies the store completely. If that finds any error (audit chain,
checkpoints, version rows, blob content) it changes nothing at all and reports the errors:
the store is then evidence of tampering or loss, and every file, row and index entry may
matter to whoever investigates. Deleting an "orphan" blob could destroy the content of a
version whose row an attacker removed; re-indexing could overwrite the index entry that
still shows a document's earlier state. Deliberate commands (``eakte reindex``) stay
available to an operator who has decided; ``repair`` is the automatic tool and stops.

On an intact store it:

- replays the search outbox and brings missing or stale index entries up to date
  (``Indexer.reindex``: the outbox first, then the drift against the database);
- removes orphan blobs (no version or rendition refers to them) whose file is older than a
  grace period (default one hour, by modification time), so a blob written by a transaction
  still in flight is never taken; a blob whose content the audit log records for a version
  is kept and reported as an error unless a disposal deletion record covers it;
- removes temporary files of crashed writes older than the same grace period;
- on an encrypted store, removes data-key wrappings that no version or rendition of their
  Akte needs (older than the grace period) and key rows a disposed Akte still has.

Each action that changed something is recorded in the audit log (``repair.index_refreshed``,
``repair.orphans_removed`` with every removed SHA-256, ``repair.temp_removed``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from eakte._disposal import referenced_by_survivors
from eakte.access import StoreJob
from eakte.audit.events import CONTENT_ACTIONS, Action
from eakte.audit.log import PendingEvent, append_events
from eakte.audit.problems import ProblemKind
from eakte.crypto.keycheck import KeyCleanup, clean_keys
from eakte.errors import Problem, StorageError
from eakte.model import AuditEvent, AuditHead
from eakte.storage import LocalBlobStore
from eakte.storage.base import innermost
from eakte.verify import verify_store

if TYPE_CHECKING:
    from eakte.context import StoreContext

__all__ = ["DEFAULT_GRACE_SECONDS", "RepairReport", "repair"]

#: Orphan blobs and temp files younger than this (by modification time) are left alone.
DEFAULT_GRACE_SECONDS = 3600
_CHUNK = 500
_TEMP_DIR = "tmp"


@dataclass
class RepairReport:
    """What :func:`repair` found and did (or, with ``dry_run``, would do).

    Attributes:
        dry_run: nothing was changed.
        refused: errors were found, so nothing was changed; see ``problems``.
        problems: the errors that made repair refuse (from verify, or evidence found here).
        outbox: search outbox entries replayed (or waiting, in a dry run).
        index_refreshed: index entries written or deleted (or drifting, in a dry run).
        index_rebuilt: the index was rebuilt from scratch (its backend asked for it).
        orphans_removed: orphan blobs removed (or removable, in a dry run).
        orphans_kept: orphan blobs left alone, with the reason.
        temp_removed: temporary files removed (or removable, in a dry run).
        keys: key rows of an encrypted store removed (or removable, in a dry run).
        notes: what was skipped and why.
    """

    dry_run: bool = False
    refused: bool = False
    problems: list[Problem] = field(default_factory=list)
    outbox: int = 0
    index_refreshed: int = 0
    index_rebuilt: bool = False
    orphans_removed: list[str] = field(default_factory=list)
    orphans_kept: list[tuple[str, str]] = field(default_factory=list)
    temp_removed: int = 0
    keys: KeyCleanup = field(default_factory=KeyCleanup)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True unless repair refused because of errors."""
        return not self.refused

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible summary."""
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "refused": self.refused,
            "problems": [
                {"severity": p.severity, "kind": p.kind, "subject": p.subject,
                 "message": p.message}
                for p in self.problems
            ],
            "index": {"outbox": self.outbox, "refreshed": self.index_refreshed,
                      "rebuilt": self.index_rebuilt},
            "orphans": {
                "removed": list(self.orphans_removed),
                "kept": [{"sha256": sha, "reason": why} for sha, why in self.orphans_kept],
            },
            "temp_removed": self.temp_removed,
            "keys": self.keys.as_dict(),
            "notes": list(self.notes),
        }


def _audit(store: StoreContext, actor: str, action: str, details: dict[str, Any]) -> None:
    try:
        with store.orm_session() as orm, orm.begin():
            append_events(orm, actor, [PendingEvent(action, "store",
                                                    store.setting("store_id") or "",
                                                    details)], store.clock())
    except SQLAlchemyError as exc:
        raise StorageError(f"database error while recording {action}: {exc}") from exc


def _blob_age(store: StoreContext, sha: str, now: float) -> float | None:
    """Seconds since the blob file was written, or None when the backend cannot tell."""
    if not isinstance(local := innermost(store.blobs), LocalBlobStore):
        return None
    try:
        return now - os.stat(local.path_for(sha)).st_mtime
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot examine blob {sha}: {exc}") from exc


def _recorded_content(store: StoreContext) -> tuple[set[str], set[str]]:
    """Return the SHA-256s the audit log records as content, and those disposal deleted."""
    recorded: set[str] = set()
    deleted: set[str] = set()
    with store.read_connection() as conn:
        rows = conn.execute(
            select(AuditEvent.action, AuditEvent.details)
            .where(AuditEvent.action.in_((*sorted(CONTENT_ACTIONS), Action.DISPOSAL_DELETED)))
            .execution_options(yield_per=5000))
        for action, details in rows:
            if not isinstance(details, dict):
                continue
            if action == Action.DISPOSAL_DELETED:
                blobs = details.get("blobs_deleted")
                if isinstance(blobs, list):
                    deleted.update(sha for sha in blobs if isinstance(sha, str))
            elif isinstance(details.get("sha256"), str):
                recorded.add(details["sha256"])
    return recorded, deleted


def _classify_orphans(store: StoreContext, orphans: Sequence[str], grace: float,
                      report: RepairReport) -> list[str]:
    """Return the orphans that may go; the others land in ``report`` (kept or problems)."""
    if not orphans:
        return []
    recorded, deleted = _recorded_content(store)
    now = time.time()
    removable: list[str] = []
    for sha in orphans:
        if sha in recorded and sha not in deleted:
            report.problems.append(Problem(
                ProblemKind.BLOB_RECORDED_ORPHAN, f"blob {sha}",
                "the audit log records this blob as a version's content, but no version or "
                "rendition row refers to it: a row was removed outside eakte. Kept as evidence"))
            report.orphans_kept.append((sha, "recorded in the audit log; its row is gone"))
            continue
        age = _blob_age(store, sha, now)
        if age is None and grace > 0:
            report.orphans_kept.append(
                (sha, "the blob store cannot tell its age; run with a grace of 0 to remove it"))
        elif age is not None and age < grace:
            report.orphans_kept.append(
                (sha, f"written {age:.0f} s ago, within the grace period of {grace:.0f} s"))
        else:
            removable.append(sha)
    return removable


def _remove_orphans(store: StoreContext, shas: Sequence[str], grace: float, actor: str,
                    report: RepairReport) -> None:
    """Delete ``shas`` in batches, each under the audit head lock with references re-checked.

    Every committing writer takes the same lock and re-checks the blobs it deduplicated, so a
    writer that reused one of these blobs either committed first (then it is referenced and
    kept here) or finds it gone and saves nothing. The removal is recorded in the same
    transaction.
    """
    for start in range(0, len(shas), _CHUNK):
        chunk = shas[start:start + _CHUNK]
        removed: list[str] = []
        try:
            with store.orm_session() as orm, orm.begin():
                orm.execute(select(AuditHead.seq).where(AuditHead.id == 1).with_for_update())
                used = referenced_by_survivors(orm, chunk)
                now = time.time()
                for sha in chunk:
                    if not store.blobs.exists(sha):
                        continue
                    age = _blob_age(store, sha, now)
                    if sha in used:
                        report.orphans_kept.append((sha, "referenced meanwhile"))
                    elif age is not None and age < grace:
                        report.orphans_kept.append((sha, "rewritten meanwhile"))
                    else:
                        store.blobs.delete(sha)
                        removed.append(sha)
                if removed:
                    append_events(orm, actor, [PendingEvent(
                        Action.REPAIR_ORPHANS_REMOVED, "store", store.setting("store_id") or "",
                        {"sha256": removed, "count": len(removed), "grace_seconds": grace})],
                        store.clock())
        except SQLAlchemyError as exc:
            raise StorageError(
                f"database error while removing orphan blobs ({len(removed)} removed, "
                f"not recorded): {exc}") from exc
        report.orphans_removed.extend(removed)


def _stale_temp_files(blobs: LocalBlobStore, grace: float) -> int:
    cutoff = time.time() - grace
    try:
        with os.scandir(blobs.root / _TEMP_DIR) as entries:
            return sum(1 for e in entries if e.is_file(follow_symlinks=False)
                       and e.stat(follow_symlinks=False).st_mtime < cutoff)
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise StorageError(f"cannot list {blobs.root / _TEMP_DIR}: {exc}") from exc


def _refresh_index(store: StoreContext, actor: str, dry_run: bool, report: RepairReport) -> None:
    indexer = store.indexer
    if indexer is None:
        report.notes.append("the store has no search index")
        return
    report.outbox = indexer.pending()
    if dry_run:
        reason = indexer.backend.needs_rebuild()
        if reason:
            report.index_rebuilt = True
            report.notes.append(f"the index would be rebuilt: {reason}")
        else:
            report.index_refreshed = len(indexer.drift())
        return
    result = indexer.reindex()
    report.index_refreshed = result.indexed + result.deleted
    report.index_rebuilt = result.full
    if report.index_refreshed or report.outbox or result.full:
        _audit(store, actor, Action.REPAIR_INDEX_REFRESHED, {
            "outbox": report.outbox, "indexed": result.indexed, "deleted": result.deleted,
            "rebuilt": result.full})


def _orphans_from(problems: Iterable[Problem]) -> list[str]:
    return sorted(p.subject.removeprefix("blob ") for p in problems
                  if p.kind == ProblemKind.BLOB_ORPHAN)


def repair(
    store: StoreContext,
    *,
    dry_run: bool = False,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    user: str | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> RepairReport:
    """Verify ``store``, then fix what is derivable, unless tampering or loss was found.

    See the module docstring for what is fixed and why nothing is touched when verify
    reports an error. Safe to run again at any time.

    Args:
        store: the store.
        dry_run: only report what would be done.
        grace_seconds: leave orphan blobs and temp files younger than this alone.
        user: the principal on whose behalf the repair runs, recorded for its events; it
            needs the administrator role on the whole store (default: the store's
            administrator).
        progress: passed to :func:`eakte.verify.verify_store`.

    Returns:
        the report; ``report.refused`` when errors were found (then nothing was changed).

    Raises:
        AccessDenied: ``user`` is no administrator of the whole store.
        NotFoundError: no such user.
        StorageError: the database, blob store or checkpoint key failed.
        SearchError: the search backend failed.
    """
    with store.session(user) as s:  # as Store.require_job: refused attempts are audited
        s.require_store_job(StoreJob.REPAIR)
    report = RepairReport(dry_run=dry_run)
    actor = user or store.admin
    verified = verify_store(store, blobs=True, index=False, progress=progress)
    report.problems.extend(verified.errors)
    removable = _classify_orphans(store, _orphans_from(verified.notices), grace_seconds,
                                  report)
    if report.problems:
        report.refused = True
        report.orphans_kept.extend((sha, "repair refused") for sha in removable)
        report.notes.append("errors found: nothing was changed (run 'eakte verify')")
        return report
    if dry_run:
        report.orphans_removed = list(removable)
    elif removable:
        _remove_orphans(store, removable, grace_seconds, actor, report)
    if isinstance(local := innermost(store.blobs), LocalBlobStore):
        if dry_run:
            report.temp_removed = _stale_temp_files(local, grace_seconds)
        else:
            report.temp_removed = local.cleanup_temp(grace_seconds)
            if report.temp_removed:
                _audit(store, actor, Action.REPAIR_TEMP_REMOVED,
                       {"count": report.temp_removed, "grace_seconds": grace_seconds})
    report.keys = clean_keys(store, grace_seconds=grace_seconds, actor=actor, dry_run=dry_run)
    _refresh_index(store, actor, dry_run, report)
    return report
