"""Whole-store verification: audit chain, versions against their audit record, blobs, index."""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from eakte.audit.checkpoint_verify import verify_store_checkpoints
from eakte.audit.problems import ProblemKind
from eakte.audit.replay import ReplayResult, replay_check
from eakte.audit.replay import stream_rows as rows
from eakte.audit.replay.process import ReplayProcess
from eakte.audit.verify import verify_chain
from eakte.crypto.keycheck import check_keys, where_used
from eakte.errors import EakteError, IntegrityError, Problem

if TYPE_CHECKING:
    from eakte.audit.checkpoint import Checkpoint
    from eakte.context import StoreContext

__all__ = ["VerifyReport", "verify_store"]

VerifyProgress = Callable[[str, int, int | None], None]
_ORPHAN_BATCH = 500
_HEX = re.compile(r"[0-9a-f]{64}")
#: From this many audit events on, the replay runs in a second process (see
#: :mod:`eakte.audit.replay.process`); below, starting one costs more than it saves.
PARALLEL_MIN_EVENTS = 200_000


@dataclass
class VerifyReport:
    """The outcome of :meth:`eakte.Store.verify`.

    Attributes:
        events: audit events checked.
        versions: version rows compared with the audit log.
        akten: Akten compared with the state the audit log replays to.
        documents: documents compared likewise.
        replay_from: the replay applied the events after this one (0: all of them; a
            store migrated from before replayable events starts at its baseline).
        checkpoints: signed checkpoints compared with the audit log.
        blobs: distinct blobs re-hashed.
        blob_bytes: bytes read while re-hashing.
        problems: findings; those with severity ``"error"`` make the report fail.
        seconds: time taken per stage.
    """

    events: int = 0
    versions: int = 0
    akten: int = 0
    documents: int = 0
    replay_from: int = 0
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
            "akten": self.akten,
            "documents": self.documents,
            "replay_from": self.replay_from,
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


def _check_records(result: ReplayResult, report: VerifyReport, *, chain_intact: bool
                   ) -> set[int]:
    """Add the replay's comparison of the log with the rows (:mod:`eakte.audit.replay`).

    When the chain itself is damaged, the differences are listed as notices: they may
    follow from the damaged events, which are reported as errors already.

    Returns:
        the ids of Akten whose content a deletion record in the audit log covers.
    """
    report.versions = result.versions
    report.documents = result.documents
    report.akten = result.akten
    report.replay_from = result.from_seq
    if chain_intact:
        report.problems.extend(result.problems)
    else:
        report.problems.extend(
            replace(p, severity="notice",
                    message=f"{p.message}; the audit chain is damaged, so this may follow "
                            "from the damaged events")
            for p in result.problems)
    return result.deleted_akten


def _replay_helper(store: StoreContext) -> ReplayProcess | None:
    """Start a process for the replay when the store is large enough to gain from one."""
    try:
        with store.read_connection() as conn:
            events = int(conn.exec_driver_sql("SELECT seq FROM audit_head").scalar() or 0)
    except (EakteError, SQLAlchemyError):
        return None
    return ReplayProcess.start(store) if events >= PARALLEL_MIN_EVENTS else None


#: Every blob a version or rendition refers to, with its size and Akte, by address.
_REFERENCES = (
    "SELECT v.sha256, v.size, d.akte_id, d.id, v.number FROM versions v "
    "JOIN documents d ON d.id = v.document_id "
    "UNION ALL SELECT r.sha256, r.size, d.akte_id, NULL, NULL FROM renditions r "
    "JOIN versions v ON v.id = r.version_id JOIN documents d ON d.id = v.document_id"
)


def _expected_blobs(conn: Connection, deleted: set[int], report: VerifyReport
                    ) -> Iterator[tuple[str, int]]:
    """Yield ``(address, size)`` of every blob to expect, in address order, streamed.

    Content of Akten a deletion record covers is not expected. Two sizes recorded for one
    address are reported as ``version.size_conflict``.
    """
    sql = f"SELECT * FROM ({_REFERENCES}) refs ORDER BY 1"  # noqa: S608
    for sha, group in itertools.groupby(rows(conn, sql), key=lambda r: r[0]):
        size: int | None = None
        for _sha, this_size, akte_id, doc_id, number in group:
            if akte_id in deleted:
                continue
            if size is None:
                size = int(this_size)
            elif this_size != size and doc_id is not None:
                report.problems.append(Problem(
                    ProblemKind.VERSION_SIZE_CONFLICT, f"document {doc_id} version {number}",
                    f"blob {sha[:12]}… is recorded with two different sizes"))
        if size is not None:
            yield str(sha), size


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


def _check_blobs(store: StoreContext, conn: Connection, deleted: set[int], report: VerifyReport,
                 progress: VerifyProgress | None) -> None:
    done = 0
    for sha, size in _expected_blobs(conn, deleted, report):
        done += 1
        if progress is not None and done % 256 == 0:
            progress("blobs", done, None)
        _check_blob(store, sha, size, report)
    if progress is not None:
        progress("blobs", done, done)
    _check_orphans(store, conn, deleted, report)


def _check_blob(store: StoreContext, sha: str, size: int, report: VerifyReport) -> None:
    subject = f"blob {sha}"
    try:
        with store.blobs.open(sha) as fh:
            digest, read = _hash_stream(fh)
    except IntegrityError as exc:  # an encrypted blob: altered, or no key opens it
        used, where = where_used(store, sha)
        report.problems.append(Problem(
            exc.problems[0].kind if exc.problems else ProblemKind.BLOB_CORRUPT, subject,
            f"{exc}" + (f"; {used}" if used else ""), data={"used_by": where}))
        return
    except EakteError as exc:
        report.problems.append(Problem(ProblemKind.BLOB_MISSING, subject, f"cannot read: {exc}"))
        return
    except OSError as exc:
        report.problems.append(Problem(ProblemKind.BLOB_UNREADABLE, subject, f"cannot read: {exc}"))
        return
    report.blobs += 1
    report.blob_bytes += read
    if digest.hexdigest() != sha:
        report.problems.append(Problem(
            ProblemKind.BLOB_CORRUPT, subject,
            f"content hashes to {digest.hexdigest()[:12]}…: the stored bytes were altered"
            + (f"; {used}" if (used := where_used(store, sha)[0]) else "")))
    elif read != size:
        report.problems.append(Problem(
            ProblemKind.BLOB_SIZE_MISMATCH, subject, f"{read} bytes stored, {size} recorded"))


def _check_orphans(store: StoreContext, conn: Connection, deleted: set[int],
                   report: VerifyReport) -> None:
    """Report stored blobs no surviving version or rendition refers to, batch by batch."""
    listing = iter(store.blobs)
    while batch := list(itertools.islice(listing, _ORPHAN_BATCH)):
        names = [sha for sha in batch if _HEX.fullmatch(sha)]
        if not names:
            continue
        listed = ", ".join(f"'{sha}'" for sha in names)
        sql = f"SELECT sha256, akte_id FROM ({_REFERENCES}) refs WHERE sha256 IN ({listed})"  # noqa: S608
        used = {sha for sha, akte_id in rows(conn, sql) if akte_id not in deleted}
        for sha in names:
            if sha not in used:
                report.problems.append(Problem(
                    ProblemKind.BLOB_ORPHAN, f"blob {sha}",
                    "no version refers to this blob (left by an interrupted write); harmless",
                    severity="notice"))


def verify_store(store: StoreContext, *, blobs: bool = True, index: bool = True,
                 progress: VerifyProgress | None = None,
                 checkpoints: Sequence[tuple[str, Checkpoint]] = (),
                 public_keys: Sequence[bytes] = ()) -> VerifyReport:
    """Verify ``store`` completely; see :meth:`eakte.Store.verify`.

    Raises:
        StorageError: the configured checkpoint key cannot be read.
        InvalidInput: it is not an Ed25519 key.
    """
    report = VerifyReport()
    helper = _replay_helper(store)
    try:
        with store.read_connection() as conn:
            if conn.dialect.name == "postgresql":  # every pass reads one snapshot
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                if helper is not None and not helper.pin(conn):
                    helper = None
                t0 = time.perf_counter()
                report.events, chain_problems = verify_chain(
                    conn, progress=(lambda n: progress("audit", n, None)) if progress else None)
                report.problems.extend(chain_problems)
                t1 = time.perf_counter()
                report.checkpoints, checkpoint_problems = verify_store_checkpoints(
                    store, conn, external=checkpoints, public_keys=public_keys,
                    progress=(lambda n: progress("checkpoints", n, None)) if progress else None)
                report.problems.extend(checkpoint_problems)
                report.problems.extend(check_keys(store, conn, unwrap_blob_keys=blobs))
                t2 = time.perf_counter()
                replayed = helper.result() if helper is not None else None
                if replayed is None:
                    replayed = replay_check(conn)
                    report.seconds["records"] = time.perf_counter() - t2
                else:
                    report.seconds["records"] = helper.seconds if helper else 0.0
                deleted = _check_records(replayed, report, chain_intact=not any(
                    p.severity == "error" for p in chain_problems))
                tc = time.perf_counter()
                if blobs:
                    _check_blobs(store, conn, deleted, report, progress)
                tb = time.perf_counter()
    finally:
        if helper is not None:
            helper.stop()
    report.seconds["audit"] = t1 - t0
    report.seconds["checkpoints"] = t2 - t1
    if blobs:
        report.seconds["blobs"] = tb - tc
    if index:
        t3 = time.perf_counter()
        try:
            indexer = store.indexer
            if indexer is not None:
                reason = indexer.backend.needs_rebuild()
                if reason:
                    report.problems.append(Problem(
                        ProblemKind.INDEX_REBUILD_NEEDED, "search index",
                        f"{reason} (run 'eakte reindex --full')", severity="notice"))
                else:
                    report.problems.extend(indexer.pending_problems())
                    report.problems.extend(indexer.drift())
        except EakteError as exc:
            report.problems.append(Problem(
                ProblemKind.INDEX_UNAVAILABLE, "search index", f"cannot check the index: {exc}",
                severity="notice"))
        report.seconds["index"] = time.perf_counter() - t3
    return report
