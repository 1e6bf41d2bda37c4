"""Whole-store verification: audit chain, versions against their audit record, blobs, index."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import Connection, select

from eakte._keycheck import check_keys, where_used
from eakte.audit.checkpoint_verify import verify_store_checkpoints
from eakte.audit.verify import verify_chain
from eakte.errors import EakteError, IntegrityError, Problem
from eakte.model import AuditEvent, Document, Rendition, Version
from eakte.model.lifecycle import disposed_akte_ids

if TYPE_CHECKING:
    from eakte.audit.checkpoint import Checkpoint
    from eakte.store import Store

__all__ = ["VerifyReport", "verify_store"]

VerifyProgress = Callable[[str, int, int | None], None]
_CONTENT_ACTIONS = ("document.file", "version.add")
_DELETION_ACTION = "disposal.deleted"


@dataclass
class VerifyReport:
    """The outcome of :meth:`eakte.Store.verify`.

    Attributes:
        events: audit events checked.
        versions: version rows compared with the audit log.
        checkpoints: signed checkpoints compared with the audit log.
        blobs: distinct blobs re-hashed.
        blob_bytes: bytes read while re-hashing.
        problems: findings; those with severity ``"error"`` make the report fail.
        seconds: time taken per stage.
    """

    events: int = 0
    versions: int = 0
    checkpoints: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        """Problems that mean tampering or loss."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def notices(self) -> list[Problem]:
        """Repairable leftovers, e.g. orphan blobs from an interrupted write."""
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        """True when no error was found (notices are allowed)."""
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible summary."""
        return {
            "ok": self.ok,
            "events": self.events,
            "versions": self.versions,
            "checkpoints": self.checkpoints,
            "blobs": self.blobs,
            "blob_bytes": self.blob_bytes,
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
            "problems": [
                {"severity": p.severity, "kind": p.kind, "subject": p.subject,
                 "message": p.message}
                for p in self.problems
            ],
        }


def _check_versions(conn: Connection, report: VerifyReport) -> dict[str, int]:
    """Compare every version row with the audit event that recorded its content.

    Returns:
        expected size per referenced blob address.
    """
    recorded: dict[str, tuple[str, int]] = {}
    deleted_versions, deleted_renditions = _deleted_by_disposal(conn)
    disposed = set(conn.scalars(disposed_akte_ids()))
    events = conn.execute(
        select(AuditEvent.details).where(AuditEvent.action.in_(_CONTENT_ACTIONS))
    )
    for (details,) in events:
        key = details.get("version_uuid") if isinstance(details, dict) else None
        if key:
            recorded[str(key)] = (str(details.get("sha256")), int(details.get("size", -1)))
    expected: dict[str, int] = {}
    rows = conn.execute(
        select(Version.id, Version.uuid, Version.document_id, Version.number, Version.sha256,
               Version.size, Document.akte_id)
        .join(Document, Document.id == Version.document_id)
    )
    for vid, vuuid, doc_id, number, sha, size, akte_id in rows:
        report.versions += 1
        subject = f"document {doc_id} version {number}"
        if vuuid in deleted_versions:
            # content deleted by disposal, with a deletion record: no blob to expect
            if akte_id not in disposed:
                report.problems.append(Problem(
                    "disposal.state_mismatch", subject,
                    "the audit log records this version's deletion by disposal, but its Akte "
                    "is not marked disposed", data={"version_id": vid}))
        audit = recorded.get(vuuid)
        if audit is None:
            report.problems.append(Problem(
                "version.unaudited", subject,
                "no audit event records this version's content (row inserted outside eakte)",
                data={"version_id": vid}))
        elif audit != (sha, size):
            report.problems.append(Problem(
                "version.hash_changed", subject,
                f"row says sha256 {sha[:12]}… size {size}, but the audit log recorded "
                f"{audit[0][:12]}… size {audit[1]}: the version row was altered",
                data={"version_id": vid}))
        if vuuid in deleted_versions:
            continue
        if expected.setdefault(sha, size) != size:
            report.problems.append(Problem(
                "version.size_conflict", subject,
                f"blob {sha[:12]}… is recorded with two different sizes"))
    for rid, sha, size in conn.execute(select(Rendition.id, Rendition.sha256, Rendition.size)):
        if rid not in deleted_renditions:
            expected.setdefault(sha, size)
    return expected


def _deleted_by_disposal(conn: Connection) -> tuple[set[str], set[int]]:
    """Return the version UUIDs and rendition ids whose content disposal deleted.

    Only the audit log's deletion records count, so a version hidden by editing the
    disposal table alone still has its blob checked.
    """
    versions: set[str] = set()
    renditions: set[int] = set()
    events = conn.execute(select(AuditEvent.details).where(AuditEvent.action == _DELETION_ACTION))
    for (details,) in events:
        documents = details.get("documents") if isinstance(details, dict) else None
        for document in documents if isinstance(documents, list) else ():
            for version in document.get("versions", ()) if isinstance(document, dict) else ():
                if isinstance(version, dict):
                    versions.add(str(version.get("uuid")))
                    for rendition in version.get("renditions", ()):
                        if isinstance(rendition, dict) and isinstance(rendition.get("id"), int):
                            renditions.add(rendition["id"])
    return versions, renditions


def _hash_stream(fh: BinaryIO) -> tuple[Any, int]:
    """Return the SHA-256 of a stream read to its end, and how many bytes it had."""
    digest = hashlib.sha256()
    read = 0
    buffer = bytearray(1024 * 1024)
    view = memoryview(buffer)
    readinto = getattr(fh, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
        else:
            chunk = fh.read(len(buffer))
            if not chunk:
                break
            n = len(chunk)
            digest.update(chunk)
        read += n
    return digest, read


def _check_blobs(store: Store, expected: dict[str, int], report: VerifyReport,
                 progress: VerifyProgress | None) -> None:
    total = len(expected)
    for done, (sha, size) in enumerate(sorted(expected.items()), 1):
        subject = f"blob {sha}"
        try:
            with store.blobs.open(sha) as fh:
                digest, read = _hash_stream(fh)
        except IntegrityError as exc:  # an encrypted blob: altered, or no key opens it
            used, rows = where_used(store, sha)
            report.problems.append(Problem(
                exc.problems[0].kind if exc.problems else "blob.corrupt", subject,
                f"{exc}" + (f"; {used}" if used else ""), data={"used_by": rows}))
            continue
        except EakteError as exc:
            report.problems.append(Problem("blob.missing", subject, f"cannot read: {exc}"))
            continue
        except OSError as exc:
            report.problems.append(Problem("blob.unreadable", subject, f"cannot read: {exc}"))
            continue
        report.blobs += 1
        report.blob_bytes += read
        if digest.hexdigest() != sha:
            report.problems.append(Problem(
                "blob.corrupt", subject,
                f"content hashes to {digest.hexdigest()[:12]}…: the stored bytes were altered"
                + (f"; {used}" if (used := where_used(store, sha)[0]) else "")))
        elif read != size:
            report.problems.append(Problem(
                "blob.size_mismatch", subject, f"{read} bytes stored, {size} recorded"))
        if progress is not None and (done % 256 == 0 or done == total):
            progress("blobs", done, total)
    for sha in store.blobs:
        if sha not in expected:
            report.problems.append(Problem(
                "blob.orphan", f"blob {sha}",
                "no version refers to this blob (left by an interrupted write); harmless",
                severity="notice"))


def verify_store(store: Store, *, blobs: bool = True, index: bool = True,
                 progress: VerifyProgress | None = None,
                 checkpoints: Sequence[tuple[str, Checkpoint]] = (),
                 public_keys: Sequence[bytes] = ()) -> VerifyReport:
    """Verify ``store`` completely; see :meth:`eakte.Store.verify`.

    Raises:
        StorageError: the configured checkpoint key cannot be read.
        InvalidInput: it is not an Ed25519 key.
    """
    report = VerifyReport()
    with store.read_connection() as conn, conn.begin():
        t0 = time.perf_counter()
        report.events, chain_problems = verify_chain(
            conn, progress=(lambda n: progress("audit", n, None)) if progress else None)
        report.problems.extend(chain_problems)
        t1 = time.perf_counter()
        expected = _check_versions(conn, report)
        t2 = time.perf_counter()
        report.checkpoints, checkpoint_problems = verify_store_checkpoints(
            store, conn, external=checkpoints, public_keys=public_keys,
            progress=(lambda n: progress("checkpoints", n, None)) if progress else None)
        report.problems.extend(checkpoint_problems)
        report.problems.extend(check_keys(store, conn, unwrap_blob_keys=blobs))
        tc = time.perf_counter()
    report.seconds["audit"] = t1 - t0
    report.seconds["versions"] = t2 - t1
    report.seconds["checkpoints"] = tc - t2
    if blobs:
        _check_blobs(store, expected, report, progress)
        report.seconds["blobs"] = time.perf_counter() - tc
    if index:
        t3 = time.perf_counter()
        try:
            indexer = store.indexer
            if indexer is not None:
                reason = indexer.backend.needs_rebuild()
                if reason:
                    report.problems.append(Problem(
                        "index.rebuild_needed", "search index",
                        f"{reason} (run 'eakte reindex --full')", severity="notice"))
                else:
                    report.problems.extend(indexer.pending_problems())
                    report.problems.extend(indexer.drift())
        except EakteError as exc:
            report.problems.append(Problem(
                "index.unavailable", "search index", f"cannot check the index: {exc}",
                severity="notice"))
        report.seconds["index"] = time.perf_counter() - t3
    return report
