"""Verification and clean-up of an encrypted store's key rows (for verify and repair).

Findings:

- ``keys.master_key_mismatch`` (error): an Akte key is wrapped by another master key than
  the store's; ``keys.akte_key_damaged`` / ``keys.blob_key_damaged`` (errors): a wrapped key
  does not open, or opens to another data key than the blob's file uses.
- ``keys.wrapping_missing`` (error): an Akte files a blob but holds no key for it (rows
  were removed outside eakte; the content depends on other Akten's keys).
- ``keys.not_shredded`` (notice): a disposed Akte still has key rows; ``repair`` deletes them.
- ``keys.orphan`` (notice): a wrapping for an Akte that files no such blob (left by a put
  outside a session, or by an orphan blob); ``repair`` deletes it after the grace period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, exists, select, tuple_, union
from sqlalchemy.exc import SQLAlchemyError

from eakte.audit.events import Action
from eakte.audit.log import PendingEvent, append_events
from eakte.audit.problems import ProblemKind
from eakte.crypto.aead import key_check, unseal
from eakte.crypto.keyring import blob_context
from eakte.crypto.settings import keyring_of
from eakte.errors import IntegrityError, MasterKeyError, Problem, StorageError
from eakte.model import (
    Akte,
    AkteKey,
    AuditHead,
    BlobKey,
    Document,
    EncryptedBlob,
    Rendition,
    Version,
)
from eakte.model.lifecycle import disposed_akte_ids

if TYPE_CHECKING:
    from eakte.context import StoreContext

__all__ = ["KeyCleanup", "check_keys", "clean_keys", "where_used"]

_LIST = 10


def _unreferenced_wrappings() -> Any:
    """Return the condition "this wrapping's Akte files no version or rendition of it"."""
    by_version = exists().where(
        Version.sha256 == BlobKey.sha256, Document.id == Version.document_id,
        Document.akte_id == BlobKey.akte_id)
    by_rendition = exists().where(
        Rendition.sha256 == BlobKey.sha256, Version.id == Rendition.version_id,
        Document.id == Version.document_id, Document.akte_id == BlobKey.akte_id)
    return and_(~by_version, ~by_rendition, BlobKey.akte_id.not_in(disposed_akte_ids()))


def _unwrapped_pairs() -> Any:
    """Return the (Akte, address) pairs filed by non-disposed Akten that lack a wrapping."""
    survivors = Document.akte_id.not_in(disposed_akte_ids())
    missing = ~exists().where(BlobKey.sha256 == Version.sha256,
                              BlobKey.akte_id == Document.akte_id)
    missing_r = ~exists().where(BlobKey.sha256 == Rendition.sha256,
                                BlobKey.akte_id == Document.akte_id)
    return union(
        select(Document.akte_id, Version.sha256)
        .join(Document, Document.id == Version.document_id).where(survivors, missing),
        select(Document.akte_id, Rendition.sha256)
        .join(Version, Version.id == Rendition.version_id)
        .join(Document, Document.id == Version.document_id).where(survivors, missing_r),
    )


def check_keys(store: StoreContext, conn: Connection, *, unwrap_blob_keys: bool = True
               ) -> list[Problem]:
    """Check every key row of an encrypted store (nothing for a plain store).

    Args:
        store: the store.
        conn: a connection in the verifying read transaction.
        unwrap_blob_keys: also open every data-key wrapping (reads no content).
    """
    ring = keyring_of(store)
    if ring is None:
        return []
    problems: list[Problem] = []
    disposed = set(conn.scalars(disposed_akte_ids()))
    keks: dict[int, bytes] = {}
    for akte_id, master_key_id, wrapped in conn.execute(
            select(AkteKey.akte_id, AkteKey.master_key_id, AkteKey.wrapped)):
        if akte_id in disposed:
            problems.append(Problem(
                ProblemKind.KEYS_NOT_SHREDDED, f"Akte {akte_id}",
                "the Akte was disposed but its key still exists ('eakte repair' deletes it)",
                severity="notice"))
            continue
        try:
            keks[akte_id] = ring.unwrap_akte_key(akte_id, master_key_id, wrapped)
        except MasterKeyError as exc:
            problems.append(Problem(ProblemKind.KEYS_MASTER_KEY_MISMATCH, f"Akte {akte_id}",
                                    str(exc)))
        except IntegrityError as exc:
            problems.append(Problem(ProblemKind.KEYS_AKTE_KEY_DAMAGED, f"Akte {akte_id}", str(exc)))
    if unwrap_blob_keys:
        rows = conn.execute(
            select(BlobKey.sha256, BlobKey.akte_id, BlobKey.wrapped_dek, EncryptedBlob.key_check)
            .outerjoin(EncryptedBlob, EncryptedBlob.sha256 == BlobKey.sha256)
            .execution_options(yield_per=5000))
        for sha, akte_id, wrapped_dek, expected in rows:
            kek = keks.get(akte_id)
            if kek is None:
                continue  # reported with the Akte key (or shredding leftovers)
            dek = unseal(kek, wrapped_dek, blob_context(sha, akte_id))
            if dek is None or (expected is not None and key_check(dek) != expected):
                problems.append(Problem(
                    ProblemKind.KEYS_BLOB_KEY_DAMAGED, f"blob {sha}",
                    f"the key wrapped for Akte {akte_id} does not open this blob: the key "
                    "row was altered"))
    leftovers = conn.execute(select(BlobKey.akte_id).where(BlobKey.akte_id.in_(disposed))
                             .distinct()).scalars().all() if disposed else []
    problems.extend(Problem(
        ProblemKind.KEYS_NOT_SHREDDED, f"Akte {akte_id}",
        "the Akte was disposed but data-key wrappings for it remain ('eakte repair' deletes "
        "them)", severity="notice") for akte_id in leftovers)
    for sha, akte_id in conn.execute(select(BlobKey.sha256, BlobKey.akte_id)
                                     .where(_unreferenced_wrappings())):
        problems.append(Problem(
            ProblemKind.KEYS_ORPHAN, f"blob {sha}",
            f"a key for Akte {akte_id}, which files no such content (left by an interrupted "
            "or outside write); 'eakte repair' removes it", severity="notice"))
    missing = conn.execute(_unwrapped_pairs()).all()
    if missing:
        names = {int(row[0]): str(row[1]) for row in conn.execute(
            select(Akte.id, Akte.aktenzeichen).where(
                Akte.id.in_({int(akte_id) for akte_id, _ in missing})))}
        problems.extend(Problem(
            ProblemKind.KEYS_WRAPPING_MISSING, f"blob {sha}",
            f"Akte {names.get(akte_id, akte_id)} files this blob but holds no key for it: key "
            "rows were removed outside eakte") for akte_id, sha in missing)
    return problems


def where_used(store: StoreContext, sha256: str) -> tuple[str, list[dict[str, Any]]]:
    """Say which versions and renditions refer to a blob: a phrase and the rows."""
    try:
        with store.read_connection() as conn:
            rows = conn.execute(
                select(Document.id, Version.number, Akte.aktenzeichen)
                .join(Document, Document.id == Version.document_id)
                .join(Akte, Akte.id == Document.akte_id)
                .where(Version.sha256 == sha256).order_by(Document.id, Version.number)).all()
            renditions = conn.execute(
                select(Document.id, Version.number, Akte.aktenzeichen, Rendition.kind)
                .join(Version, Version.id == Rendition.version_id)
                .join(Document, Document.id == Version.document_id)
                .join(Akte, Akte.id == Document.akte_id)
                .where(Rendition.sha256 == sha256).order_by(Rendition.id)).all()
    except SQLAlchemyError:
        return "", []
    used = [{"document": d, "version": n, "aktenzeichen": az} for d, n, az in rows]
    used += [{"document": d, "version": n, "aktenzeichen": az, "rendition": kind}
             for d, n, az, kind in renditions]
    if not used:
        return "", used
    words = [f"document {u['document']} version {u['version']}"
             + (f" rendition {u['rendition']}" if "rendition" in u else "")
             + f" (Akte {u['aktenzeichen']})" for u in used[:_LIST]]
    more = f" and {len(used) - _LIST} more" if len(used) > _LIST else ""
    return "used by " + ", ".join(words) + more, used


@dataclass
class KeyCleanup:
    """What :func:`clean_keys` removed (or would remove, in a dry run).

    Attributes:
        wrappings: orphan data-key wrappings older than the grace period.
        shredded: disposed Akten whose leftover key rows were deleted.
    """

    wrappings: int = 0
    shredded: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible view."""
        return {"wrappings": self.wrappings, "shredded_akten": list(self.shredded)}


def _pairs(rows: Iterable[Any]) -> list[tuple[str, int]]:
    return [(str(sha), int(akte_id)) for sha, akte_id in rows]


def clean_keys(store: StoreContext, *, grace_seconds: float, actor: str, dry_run: bool
               ) -> KeyCleanup:
    """Delete orphan wrappings older than the grace period and disposed Akten's key rows.

    Runs under the audit head lock, which committing sessions hold while they wrap their
    keys, so a wrapping that a session needs is either committed with its rows (then it is
    no orphan) or written after this clean-up.

    Raises:
        StorageError: the database failed; nothing was removed.
    """
    result = KeyCleanup()
    if keyring_of(store) is None:
        return result
    cutoff = store.clock() - timedelta(seconds=grace_seconds)
    try:
        with store.orm_session() as orm, orm.begin():
            orm.execute(select(AuditHead.seq).where(AuditHead.id == 1).with_for_update())
            disposed = set(orm.scalars(disposed_akte_ids()))
            shred = sorted(set(orm.scalars(select(AkteKey.akte_id)
                                           .where(AkteKey.akte_id.in_(disposed))))
                           | set(orm.scalars(select(BlobKey.akte_id).distinct()
                                             .where(BlobKey.akte_id.in_(disposed))))
                           ) if disposed else []
            orphans = _pairs(orm.execute(select(BlobKey.sha256, BlobKey.akte_id).where(
                _unreferenced_wrappings(), BlobKey.created_at <= cutoff)))
            result.shredded, result.wrappings = shred, len(orphans)
            if dry_run or not (shred or orphans):
                return result
            for start in range(0, len(orphans), 500):
                chunk = orphans[start:start + 500]
                orm.execute(delete(BlobKey).where(
                    tuple_(BlobKey.sha256, BlobKey.akte_id).in_(chunk))
                    .execution_options(synchronize_session=False))
            if shred:
                orm.execute(delete(BlobKey).where(BlobKey.akte_id.in_(shred))
                            .execution_options(synchronize_session=False))
                orm.execute(delete(AkteKey).where(AkteKey.akte_id.in_(shred))
                            .execution_options(synchronize_session=False))
            append_events(orm, actor, [PendingEvent(
                Action.REPAIR_KEYS_REMOVED, "store", store.setting("store_id") or "",
                {"orphan_wrappings": sorted(f"{sha}/{akte}" for sha, akte in orphans),
                 "shredded_akten": shred, "grace_seconds": grace_seconds})], store.clock())
    except SQLAlchemyError as exc:
        raise StorageError(f"database error while removing orphan keys: {exc}") from exc
    return result
