"""Check signed checkpoints against a store's audit log: signature, prefix, truncation.

The log is hashed again from the stored canonical bytes (the chain from the genesis hash and
the RFC 6962 tree over the chain hashes); each checkpoint's signed head and root must come
out for its first N events. That catches what the chain check alone cannot: an attacker
with database access who edits, inserts, deletes or reorders events and then recomputes
every hash after the change, and the audit head, leaves a chain that is consistent in
itself, but not one that reproduces a root signed before the change.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from eakte.audit.checkpoint import CHECKPOINT_ACTION, Checkpoint, unpack_hashes
from eakte.audit.log import GENESIS_HASH, format_time
from eakte.audit.merkle import MerkleAccumulator
from eakte.audit.problems import ProblemKind
from eakte.audit.signing import key_id
from eakte.errors import InvalidInput, Problem
from eakte.model import AuditEvent
from eakte.model.checkpoint import AuditCheckpoint

if TYPE_CHECKING:
    from eakte.context import StoreContext

__all__ = ["verify_checkpoints", "verify_store_checkpoints"]

_HASH = 32
_FETCH = 10_000


@dataclass
class _Target:
    """A checkpoint whose signature holds, to be compared with the log."""

    subject: str
    cp: Checkpoint


class _Leaves:
    """The chain hashes the stored checkpoints recorded, as blocks in position order.

    They are only trusted where the signed root confirms them (see ``_compare``).
    """

    def __init__(self, conn: Connection, spans: list[tuple[int, int]],
                 problems: list[Problem]) -> None:
        self._conn = conn
        self._problems = problems
        self._spans: list[tuple[int, int]] = []  # (first position, last position), tiling
        end = 0
        for base, seq in spans:
            if base != end:
                problems.append(Problem(
                    ProblemKind.CHECKPOINT_DATA_MISMATCH, f"checkpoint {seq}",
                    f"its stored event hashes start after event {base}, but the previous "
                    f"checkpoint ends at event {end}: a checkpoint row was removed or altered"))
            else:
                self._spans.append((base + 1, seq))
            end = seq

    def block(self, pos: int) -> tuple[int, int, bytes]:
        """Return ``(first, last, packed hashes)`` of the block holding ``pos``.

        Positions only ever increase. The hashes are empty when none are recorded for
        ``first`` … ``last``.
        """
        spans = self._spans
        while spans and spans[0][1] < pos:
            spans.pop(0)
        if not spans:
            return pos, 1 << 62, b""
        first, last = spans[0]
        if first > pos:
            return pos, first - 1, b""
        data = bytes(self._conn.scalar(
            select(AuditCheckpoint.event_hashes).where(AuditCheckpoint.seq == last)) or b"")
        if len(data) != _HASH * (last - first + 1):
            self._problems.append(Problem(
                ProblemKind.CHECKPOINT_DATA_MISMATCH, f"checkpoint {last}",
                f"its stored event hashes cover {len(data) / _HASH:g} events, not "
                f"{last - first + 1}"))
            data = b""
        return first, last, data


def _signature_problem(cp: Checkpoint, trusted: Sequence[bytes]) -> str | None:
    """Return why ``cp``'s signature is not acceptable, or None."""
    keys = list(trusted) or [cp.public_key]
    if any(cp.signature_valid(k) for k in keys):
        return None
    if trusted and cp.public_key not in trusted:
        names = ", ".join(key_id(k) for k in trusted)
        return (f"not signed by a trusted key: it names key {cp.key_id}, trusted are {names} "
                "(forged, or signed by a key you did not pass)")
    return (f"the signature (key {cp.key_id}) does not match the text: the checkpoint was "
            "altered after signing")


def _column_differences(row: AuditCheckpoint, cp: Checkpoint) -> list[str]:
    columns = {
        "seq": (row.seq, cp.size),
        "head_hash": (row.head_hash, cp.head),
        "merkle_root": (row.merkle_root, cp.root),
        "time": (format_time(row.time), format_time(cp.time)),
        "key_id": (row.key_id, cp.key_id),
        "public_key": (row.public_key, base64.b64encode(cp.public_key).decode("ascii")),
        "signature": (row.signature, base64.b64encode(cp.signature).decode("ascii")),
    }
    return [name for name, (stored, signed) in columns.items() if stored != signed]


def _stored_targets(conn: Connection, store_id: str, trusted: Sequence[bytes],
                    problems: list[Problem]) -> tuple[list[_Target], list[tuple[int, int]]]:
    """Check every stored checkpoint row; return those to compare and their hash spans."""
    # The records first: a checkpoint committed meanwhile then has a row but no record
    # here, never the other way round.
    recorded = {}
    for seq, details in conn.execute(
        select(AuditEvent.seq, AuditEvent.details).where(AuditEvent.action == CHECKPOINT_ACTION)
    ):
        if isinstance(details, dict) and isinstance(details.get("size"), int):
            recorded[details["size"]] = seq
    targets: list[_Target] = []
    spans: list[tuple[int, int]] = []
    seen: set[int] = set()
    columns = [c for c in AuditCheckpoint.__table__.c if c.name != "event_hashes"]
    for values in conn.execute(select(*columns).order_by(AuditCheckpoint.seq)):
        row = AuditCheckpoint(**values._asdict())
        seen.add(row.seq)
        subject = f"checkpoint {row.seq}"
        spans.append((row.base_seq, row.seq))
        try:
            cp = Checkpoint.parse(row.text)
        except InvalidInput as exc:
            problems.append(Problem(ProblemKind.CHECKPOINT_UNREADABLE, subject,
                                    f"the stored text is not a checkpoint: {exc}"))
            continue
        differ = _column_differences(row, cp)
        if differ:
            problems.append(Problem(
                ProblemKind.CHECKPOINT_COLUMN_MISMATCH, subject,
                f"column(s) {', '.join(differ)} differ from the signed text (row edited)",
                data={"seq": row.seq}))
        why = _signature_problem(cp, trusted)
        if why is not None:
            problems.append(Problem(ProblemKind.CHECKPOINT_SIGNATURE_INVALID, subject, why,
                                    data={"seq": cp.size}))
            continue
        if cp.store_id != store_id:
            problems.append(Problem(
                ProblemKind.CHECKPOINT_STORE_MISMATCH, subject,
                f"signed for store {cp.store_id}, this is store {store_id}"))
            continue
        try:
            folded = MerkleAccumulator(cp.size, unpack_hashes(bytes(row.frontier))).root().hex()
        except ValueError:
            folded = ""
        if folded != cp.root:
            problems.append(Problem(
                ProblemKind.CHECKPOINT_DATA_MISMATCH, subject,
                "its stored Merkle frontier does not fold to the signed root (row edited)"))
        targets.append(_Target(subject, cp))
    for size, seq in sorted(recorded.items()):
        if size not in seen:
            problems.append(Problem(
                ProblemKind.CHECKPOINT_MISSING, f"checkpoint {size}",
                f"audit event {seq} records this checkpoint, but its row is gone from "
                "audit_checkpoints (removed)", data={"seq": size}))
    return targets, spans


def verify_checkpoints(
    conn: Connection,
    *,
    store_id: str,
    external: Sequence[tuple[str, Checkpoint]] = (),
    trusted_keys: Sequence[bytes] = (),
    stored: bool = True,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, list[Problem]]:
    """Check checkpoints (the stored ones and ``external``) against the audit log.

    Each must carry a valid signature (by one of ``trusted_keys`` when any are given, else
    by its embedded key, which draws the notice ``checkpoint.key_not_pinned``), name this
    store, and its head and root must follow from the first N stored events. Problem kinds:
    ``checkpoint.signature_invalid``, ``checkpoint.store_mismatch``, ``checkpoint.unreadable``,
    ``checkpoint.column_mismatch``, ``checkpoint.prefix_mismatch`` (``data["first_bad_seq"]``:
    the first event that differs, when the stored hashes let it be located, else the range
    after ``data["after_seq"]``), ``checkpoint.truncated``, ``checkpoint.missing`` (a recorded
    checkpoint's row was removed) and ``checkpoint.data_mismatch`` (the stored helper data,
    not the signed values, was altered).

    Args:
        conn: a connection in a read transaction.
        store_id: this store's id.
        external: ``(name, checkpoint)`` pairs, e.g. files an auditor kept.
        trusted_keys: raw Ed25519 public keys to accept signatures from.
        stored: also check the checkpoints stored in the database.
        progress: called with the number of events hashed so far.

    Returns:
        the number of checkpoints compared with the log, and the problems.
    """
    problems: list[Problem] = []
    targets: list[_Target] = []
    spans: list[tuple[int, int]] = []
    if stored:
        targets, spans = _stored_targets(conn, store_id, trusted_keys, problems)
    for name, cp in external:
        subject = f"checkpoint file {name} ({cp.size} events)"
        why = _signature_problem(cp, trusted_keys)
        if why is not None:
            problems.append(Problem(ProblemKind.CHECKPOINT_SIGNATURE_INVALID, subject, why,
                                    data={"seq": cp.size}))
        elif cp.store_id != store_id:
            problems.append(Problem(
                ProblemKind.CHECKPOINT_STORE_MISMATCH, subject,
                f"signed for store {cp.store_id}, this is store {store_id}"))
        else:
            targets.append(_Target(subject, cp))
    if not trusted_keys and (spans or external):
        problems.append(Problem(
            ProblemKind.CHECKPOINT_KEY_NOT_PINNED, "checkpoints",
            "signatures were checked only against the public keys the checkpoints carry; "
            "someone who can rewrite the database can sign with a key of their own. Pass the "
            "trusted public key (--public-key) or configure the checkpoint key",
            severity="notice"))
    if targets:
        _compare(conn, targets, _Leaves(conn, spans, problems), problems, progress)
    return len(targets), problems


def _canonical_batches(conn: Connection, limit: int) -> Generator[list[Any], None, None]:
    """Yield the canonical bytes of the first ``limit`` events in order, in batches of rows.

    A raw driver cursor (server-side on PostgreSQL, so memory stays flat) skips SQLAlchemy's
    per-row result processing, which would cost more than the hashing itself.
    """
    dbapi_conn: Any = conn.connection.dbapi_connection
    sql = f"SELECT canonical FROM audit_events ORDER BY seq LIMIT {int(limit)}"  # noqa: S608
    if conn.dialect.name == "postgresql":
        try:
            cursor = dbapi_conn.cursor(name="eakte_verify_checkpoints")
        except TypeError:  # a driver without named cursors
            cursor = dbapi_conn.cursor()
    else:
        cursor = dbapi_conn.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(_FETCH):
            yield rows
    finally:
        cursor.close()


def _root(stack: list[bytes]) -> bytes:
    """Fold the frontier of perfect subtrees (largest first) into the RFC 6962 root."""
    node = stack[-1]
    for left in reversed(stack[:-1]):
        node = hashlib.sha256(b"\x01" + left + node).digest()
    return node


def _compare(conn: Connection, targets: list[_Target], leaves: _Leaves,
             problems: list[Problem], progress: Callable[[int], None] | None) -> None:
    """One pass over the log in sequence order, evaluating each target at its size.

    The loop is the hot path of checkpoint verification: chain hash, leaf hash, the merges
    of the Merkle frontier and a comparison with the recorded hash, all inline.
    """
    by_size: dict[int, list[_Target]] = {}
    for target in targets:
        by_size.setdefault(target.cp.size, []).append(target)
    sizes = sorted(by_size)
    sha256 = hashlib.sha256
    stack: list[bytes] = []  # the frontier: one subtree root per set bit of ``pos``
    alt: MerkleAccumulator | None = None  # the tree over the recorded hashes, once they differ
    first_diff: int | None = None
    last_ok = 0
    warned_data = False
    prev = bytes.fromhex(GENESIS_HASH)
    pos = 0
    next_size, boundary = 0, sizes[0]
    block_first, block_last, block = 1, 0, b""
    batches = _canonical_batches(conn, sizes[-1])
    try:
        for part in batches:
            for (raw,) in part:
                canonical = raw if type(raw) is bytes else bytes(raw)
                prev = sha256(prev + canonical).digest()
                if pos >= block_last:
                    block_first, block_last, block = leaves.block(pos + 1)
                offset = (pos + 1 - block_first) * _HASH
                recorded = block[offset:offset + _HASH]
                if first_diff is None:
                    if recorded and recorded != prev:
                        first_diff = pos + 1
                        alt = MerkleAccumulator(pos, stack) if pos else MerkleAccumulator()
                        alt.add(recorded)
                elif alt is not None:
                    if recorded:
                        alt.add(recorded)
                    else:
                        alt = None
                node = sha256(b"\x00" + prev).digest()
                n = pos
                while n & 1:
                    node = sha256(b"\x01" + stack.pop() + node).digest()
                    n >>= 1
                stack.append(node)
                pos += 1
                if pos != boundary:
                    continue
                root, head = _root(stack).hex(), prev.hex()
                for target in by_size[pos]:
                    cp = target.cp
                    if cp.root == root and cp.head == head:
                        last_ok = pos
                        if first_diff is not None and not warned_data:
                            warned_data = True
                            problems.append(Problem(
                                ProblemKind.CHECKPOINT_DATA_MISMATCH, target.subject,
                                f"the log matches the signed root, but the stored hash of "
                                f"event {first_diff} in audit_checkpoints differs (row edited)"))
                    else:
                        problems.append(_mismatch(target, pos, first_diff, alt, last_ok))
                next_size += 1
                boundary = sizes[next_size] if next_size < len(sizes) else -1
            if progress is not None:
                progress(pos)
    finally:
        batches.close()
    for size in sizes[next_size:]:
        for target in by_size[size]:
            extra = (f"; the log also differs from event {first_diff} on"
                     if first_diff is not None else "")
            problems.append(Problem(
                ProblemKind.CHECKPOINT_TRUNCATED, target.subject,
                f"the log ends at event {pos}, but this checkpoint covers {size} events: "
                f"events were removed from the end{extra}",
                data={"seq": size, "log_size": pos, "first_bad_seq": first_diff}))


def _mismatch(target: _Target, pos: int, first_diff: int | None,
              alt: MerkleAccumulator | None, last_ok: int) -> Problem:
    """Describe a checkpoint whose head or root the log no longer reproduces.

    The first differing event is named when the hashes recorded in ``audit_checkpoints``
    reproduce the signed root (then they are the originals); else the change is located
    after the newest checkpoint that still matched.
    """
    cp = target.cp
    data: dict[str, object]
    if first_diff is not None and alt is not None and alt.size == pos and (
            alt.root().hex() == cp.root):
        message = (f"event {first_diff} differs from what this checkpoint signed: from event "
                   f"{first_diff} on, events were edited, inserted, removed or reordered and "
                   "the hashes after them recomputed")
        data = {"seq": cp.size, "first_bad_seq": first_diff}
    else:
        message = (f"the first {cp.size} events no longer hash to the signed head and root: "
                   f"events after event {last_ok} (the newest checkpoint that still matches) "
                   "were edited, inserted, removed or reordered")
        data = {"seq": cp.size, "first_bad_seq": None, "after_seq": last_ok}
    return Problem(ProblemKind.CHECKPOINT_PREFIX_MISMATCH, target.subject, message, data=data)


def verify_store_checkpoints(
    store: StoreContext,
    conn: Connection,
    *,
    external: Sequence[tuple[str, Checkpoint]] = (),
    public_keys: Sequence[bytes] = (),
    progress: Callable[[int], None] | None = None,
) -> tuple[int, list[Problem]]:
    """Check ``store``'s checkpoints and ``external`` ones; see :func:`verify_checkpoints`.

    The trusted keys are ``public_keys`` and the public half of the store's configured
    checkpoint key, if any.

    Raises:
        StorageError: the configured checkpoint key cannot be read.
        InvalidInput: it is not an Ed25519 key.
    """
    trusted = list(public_keys)
    provider = store.checkpoint_key
    if provider is not None and provider.public_key() not in trusted:
        trusted.append(provider.public_key())
    return verify_checkpoints(conn, store_id=store.setting("store_id") or "",
                              external=external, trusted_keys=trusted, progress=progress)
