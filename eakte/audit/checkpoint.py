"""Signed checkpoints of the audit log: the text format, creating them, and taking them often.

A checkpoint states "the first N events of store S hash to chain head H and Merkle root R"
at time T, signed with Ed25519 by a key kept outside the database. Exported as text, it lets
an auditor prove later that the log was not rewritten, without trusting eakte's database:
an attacker who edits an event and recomputes every hash after it still cannot reproduce H
and R. :mod:`eakte.audit.checkpoint_verify` checks checkpoints against a store's log.

The text format (``eakte-checkpoint v1``), every line ending in LF::

    eakte-checkpoint v1
    store: <store id>
    size: <N, the number of events covered = the last sequence number>
    head: <hex chain hash of event N>
    root: <hex RFC 6962 Merkle root over the chain hashes of events 1..N>
    time: <UTC, 2026-11-24T10:15:00.000000Z>
    key: <base64 of the raw 32-byte Ed25519 public key>
    sig: <base64 of the Ed25519 signature over the seven lines above, LFs included>
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession

from eakte._commit import Stage
from eakte.audit.events import Action
from eakte.audit.log import GENESIS_HASH, PendingEvent, append_events, format_time
from eakte.audit.merkle import MerkleAccumulator
from eakte.audit.problems import ProblemKind
from eakte.audit.signing import KeyProvider, key_id, verify_signature
from eakte.errors import (
    EakteError,
    EakteWarning,
    IntegrityError,
    InvalidInput,
    Problem,
    StorageError,
)
from eakte.model import AuditEvent, AuditHead
from eakte.model.checkpoint import AuditCheckpoint

if TYPE_CHECKING:
    from eakte._commit import CommitPipeline, PendingCommit
    from eakte.context import StoreContext
    from eakte.store import Store

__all__ = [
    "CHECKPOINT_ACTION",
    "FORMAT_LINE",
    "AutoCheckpointer",
    "Checkpoint",
    "create_checkpoint",
    "iter_event_bytes",
    "pack_hashes",
    "stored_checkpoints",
    "unpack_hashes",
]

#: First line of every checkpoint text; names the format and its version.
FORMAT_LINE: Final = "eakte-checkpoint v1"
#: The audit action recorded for each checkpoint taken.
CHECKPOINT_ACTION: Final = Action.AUDIT_CHECKPOINT
_HASH: Final = 32
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"
_LINE_PATTERNS: Final = (
    ("store", re.compile(r"[^\x00-\x1f\x7f]{1,200}")),
    ("size", re.compile(r"[1-9][0-9]{0,18}")),
    ("head", re.compile(r"[0-9a-f]{64}")),
    ("root", re.compile(r"[0-9a-f]{64}")),
    ("time", re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")),
    ("key", re.compile(r"[A-Za-z0-9+/]{43}=")),
    ("sig", re.compile(r"[A-Za-z0-9+/]{86}==")),
)
_FETCH: Final = 5000


@dataclass(frozen=True)
class Checkpoint:
    """One signed checkpoint; :attr:`text` is its exported form, :meth:`parse` reads it back.

    Attributes:
        store_id: the store whose log this is.
        size: the number of events covered (events 1 … size).
        head: hex chain hash of event ``size``.
        root: hex RFC 6962 Merkle root over the chain hashes of events 1 … ``size``.
        time: when it was taken (UTC).
        public_key: the raw 32-byte Ed25519 public key that signed it.
        signature: the 64-byte signature over :meth:`signed_bytes` (empty before signing).
    """

    store_id: str
    size: int
    head: str
    root: str
    time: datetime
    public_key: bytes
    signature: bytes = field(default=b"", repr=False)

    @property
    def key_id(self) -> str:
        """The name of the signing key (see :func:`eakte.keys.key_id`)."""
        return key_id(self.public_key)

    def signed_bytes(self) -> bytes:
        """Return exactly the bytes the signature covers: the first seven lines, LF-terminated."""
        lines = [
            FORMAT_LINE,
            f"store: {self.store_id}",
            f"size: {self.size}",
            f"head: {self.head}",
            f"root: {self.root}",
            f"time: {format_time(self.time)}",
            f"key: {base64.b64encode(self.public_key).decode('ascii')}",
        ]
        return "".join(line + "\n" for line in lines).encode("utf-8")

    @property
    def text(self) -> str:
        """The checkpoint as exported: the signed lines and the ``sig:`` line."""
        sig = base64.b64encode(self.signature).decode("ascii")
        return self.signed_bytes().decode("utf-8") + f"sig: {sig}\n"

    def signature_valid(self, public_key: bytes | None = None) -> bool:
        """Return True if the signature verifies with ``public_key`` (default: the embedded key).

        Pass the key you trust: the embedded key only shows that the text was not altered
        after whoever holds that key signed it.
        """
        key = self.public_key if public_key is None else public_key
        return verify_signature(key, self.signature, self.signed_bytes())

    @classmethod
    def parse(cls, text: str | bytes) -> Checkpoint:
        """Read a checkpoint text (LF or CRLF line ends; the final line end is optional).

        Raises:
            InvalidInput: the text is not an ``eakte-checkpoint v1``, or a field is malformed.
        """
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput("a checkpoint must be UTF-8 text") from exc
        lines = text.replace("\r\n", "\n").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if not lines or lines[0] != FORMAT_LINE:
            raise InvalidInput(f"not a checkpoint: the first line must be {FORMAT_LINE!r}")
        if len(lines) != len(_LINE_PATTERNS) + 1:
            raise InvalidInput(
                f"a checkpoint has {len(_LINE_PATTERNS) + 1} lines, this text has {len(lines)}"
            )
        values: dict[str, str] = {}
        for line, (name, pattern) in zip(lines[1:], _LINE_PATTERNS, strict=True):
            prefix = f"{name}: "
            if not line.startswith(prefix) or not pattern.fullmatch(line[len(prefix):]):
                raise InvalidInput(f"malformed checkpoint line {line[:80]!r}: expected "
                                   f"'{name}: …'")
            values[name] = line[len(prefix):]
        try:
            time = datetime.strptime(values["time"], _TIME_FORMAT).replace(tzinfo=UTC)
            public_key = base64.b64decode(values["key"], validate=True)
            signature = base64.b64decode(values["sig"], validate=True)
        except (ValueError, binascii.Error) as exc:
            raise InvalidInput(f"malformed checkpoint field: {exc}") from exc
        return cls(store_id=values["store"], size=int(values["size"]), head=values["head"],
                   root=values["root"], time=time, public_key=public_key, signature=signature)

    def details(self) -> dict[str, Any]:
        """Return the audit event details that record this checkpoint (all of its fields)."""
        return {
            "size": self.size,
            "head": self.head,
            "root": self.root,
            "time": format_time(self.time),
            "key": base64.b64encode(self.public_key).decode("ascii"),
            "key_id": self.key_id,
            "sig": base64.b64encode(self.signature).decode("ascii"),
        }


def pack_hashes(hashes: list[bytes]) -> bytes:
    """Join 32-byte hashes into one byte string (the storage form of blocks and frontiers)."""
    return b"".join(hashes)


def unpack_hashes(data: bytes) -> list[bytes]:
    """Split a packed byte string into 32-byte hashes.

    Raises:
        ValueError: the length is not a multiple of 32.
    """
    data = bytes(data)
    if len(data) % _HASH:
        raise ValueError(f"{len(data)} bytes are not a whole number of hashes")
    return [data[i:i + _HASH] for i in range(0, len(data), _HASH)]


def iter_event_bytes(conn: Connection, *, after: int = 0, limit: int | None = None
                     ) -> Iterator[tuple[int, bytes, str]]:
    """Yield ``(seq, canonical bytes, stored hash)`` of events after ``after``, in order.

    At most ``limit`` rows are read; rows are fetched in batches, not all at once.
    """
    stmt = (select(AuditEvent.seq, AuditEvent.canonical, AuditEvent.hash)
            .where(AuditEvent.seq > after).order_by(AuditEvent.seq))
    if limit is not None:
        stmt = stmt.limit(limit)
    result = conn.execute(stmt.execution_options(yield_per=_FETCH))
    try:
        for seq, canonical, stored in result:
            yield int(seq), bytes(canonical), str(stored)
    finally:
        result.close()


def _problem(kind: str, seq: int, message: str) -> Problem:
    return Problem(kind, f"audit event {seq}", message, data={"seq": seq})


@dataclass
class _Plan:
    """What phase one computed without locks: the next checkpoint, unsigned."""

    base_seq: int
    size: int
    head: bytes
    acc: MerkleAccumulator
    block: list[bytes]


def _trusted_base(seq: int, head_hash: str, text: str, frontier: bytes,
                  public_key: bytes) -> MerkleAccumulator | None:
    """Return the Merkle state after a stored checkpoint if it is intact and ours.

    It is ours when ``public_key`` signed it; intact when the stored frontier folds to the
    signed root and the columns agree with the signed text.
    """
    try:
        signed = Checkpoint.parse(text)
        acc = MerkleAccumulator(signed.size, unpack_hashes(frontier))
    except (InvalidInput, ValueError):
        return None
    if (signed.public_key != public_key or not signed.signature_valid(public_key)
            or signed.size != seq or acc.root().hex() != signed.root
            or signed.head != head_hash):
        return None
    return acc


def _plan(store: StoreContext, public_key: bytes) -> _Plan | None:
    """Phase one: hash the events since the last checkpoint (or all), checking the chain.

    Raises:
        IntegrityError: the log does not extend the last checkpoint, or its chain is broken;
            no checkpoint is signed over a damaged log.
    """
    with store.read_connection() as conn, conn.begin():
        head = conn.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
        last = conn.execute(
            select(AuditCheckpoint.seq, AuditCheckpoint.head_hash, AuditCheckpoint.text,
                   AuditCheckpoint.frontier)
            .order_by(AuditCheckpoint.seq.desc()).limit(1)).first()
        last_seq = last.seq if last else 0
        if head.seq < last_seq:
            raise IntegrityError(
                f"the audit log ends at event {head.seq}, but checkpoint {last_seq} covers "
                f"{last_seq} events; refusing to sign it (run 'eakte verify')",
                [Problem(ProblemKind.CHECKPOINT_TRUNCATED, f"checkpoint {last_seq}",
                         "events were removed from the end of the log")])
        if last:
            new = conn.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.seq > last_seq, AuditEvent.action != CHECKPOINT_ACTION))
            if not new:
                return None
        acc: MerkleAccumulator | None = None
        if last:
            acc = _trusted_base(last.seq, last.head_hash, last.text, bytes(last.frontier),
                                public_key)
        if last and acc is not None:
            start, prev = last_seq, bytes.fromhex(last.head_hash)
        else:  # no checkpoint yet, or the last one is not ours: hash the whole log
            start, prev, acc = 0, bytes.fromhex(GENESIS_HASH), MerkleAccumulator()
        signed_heads: dict[int, str] = {}  # earlier checkpoints the full pass must agree with
        for seq, text in conn.execute(select(AuditCheckpoint.seq, AuditCheckpoint.text)
                                      .where(AuditCheckpoint.seq > start)):
            try:
                cp: Checkpoint | None = Checkpoint.parse(text)
            except InvalidInput:
                cp = None
            if cp is None or not cp.signature_valid():
                raise IntegrityError(
                    f"checkpoint {seq} is damaged; run 'eakte verify' before taking new "
                    "checkpoints",
                    [Problem(ProblemKind.CHECKPOINT_SIGNATURE_INVALID, f"checkpoint {seq}",
                             "its signature does not verify")])
            signed_heads[seq] = cp.head
        block: list[bytes] = []
        expected = start + 1
        sha256 = hashlib.sha256
        for seq, canonical, stored in iter_event_bytes(conn, after=start, limit=head.seq - start):
            if seq != expected:
                raise IntegrityError(
                    f"the audit log has a gap at event {expected}; run 'eakte verify'",
                    [_problem(ProblemKind.AUDIT_SEQUENCE_GAP, expected, "event missing")])
            prev = sha256(prev + canonical).digest()
            if prev.hex() != stored or signed_heads.get(seq, stored) != stored:
                raise IntegrityError(
                    f"the audit log does not extend the last checkpoint at event {seq}; "
                    "refusing to sign it (run 'eakte verify')",
                    [_problem(ProblemKind.AUDIT_HASH_MISMATCH, seq,
                              "the chain recomputed from the signed checkpoint differs")])
            acc.add(prev)
            if seq > last_seq:
                block.append(prev)
            expected += 1
        if expected - 1 != head.seq or (head.seq and prev.hex() != head.hash):
            raise IntegrityError(
                "the audit head does not match the log; refusing to sign it (run 'eakte verify')",
                [Problem(ProblemKind.AUDIT_HEAD_MISMATCH, "audit head", "head and log disagree")])
    return _Plan(base_seq=last_seq, size=head.seq, head=prev, acc=acc, block=block)


def create_checkpoint(store: StoreContext, key: KeyProvider, *, actor: str | None = None,
                      attempts: int = 3) -> Checkpoint | None:
    """Sign a checkpoint over the whole log, store it and record it as an audit event.

    The events since the previous checkpoint are hashed without holding a lock; only the
    insert of the checkpoint row and its ``audit.checkpoint`` event take the audit head lock.
    When the previous checkpoint was signed with this key, the work continues from it
    (its stored Merkle frontier is checked against its signed root first); else the whole
    log is hashed again and must agree with every earlier checkpoint's signed head.

    Args:
        store: the store.
        key: signs the checkpoint.
        actor: recorded as the event's actor (default: the store's administrator).
        attempts: how often to start over when another process checkpoints at the same time.

    Returns:
        the new checkpoint, or None when no event was appended since the last one
        (other than checkpoint records).

    Raises:
        IntegrityError: the log is broken or does not extend the previous checkpoint.
        StorageError: the database or the key failed.
        InvalidInput: the key is not an Ed25519 key.
    """
    public_key = key.public_key()
    store_id = store.setting("store_id") or ""
    for _ in range(attempts):
        try:
            plan = _plan(store, public_key)
        except SQLAlchemyError as exc:
            raise StorageError(f"database error while checkpointing: {exc}") from exc
        if plan is None:
            return None
        now = store.clock()
        unsigned = Checkpoint(store_id=store_id, size=plan.size, head=plan.head.hex(),
                              root=plan.acc.root().hex(), time=now, public_key=public_key)
        cp = replace(unsigned, signature=key.sign(unsigned.signed_bytes()))
        if not cp.signature_valid():
            raise InvalidInput(f"the key provider {key.key_id} returned an invalid signature")
        try:
            with store.orm_session() as orm, orm.begin():
                if not _insert(orm, cp, plan, actor or store.admin, now):
                    continue
        except SQLAlchemyError as exc:
            raise StorageError(f"database error while checkpointing: {exc}") from exc
        return cp
    return None


def _insert(orm: OrmSession, cp: Checkpoint, plan: _Plan, actor: str, now: datetime) -> bool:
    """Phase two, under the audit head lock: store ``cp`` unless another checkpoint came first."""
    orm.execute(select(AuditHead.seq).where(AuditHead.id == 1).with_for_update())
    newest = orm.scalar(select(func.max(AuditCheckpoint.seq))) or 0
    if newest != plan.base_seq:
        return False
    orm.add(AuditCheckpoint(
        seq=cp.size, head_hash=cp.head, merkle_root=cp.root, time=cp.time, key_id=cp.key_id,
        public_key=base64.b64encode(cp.public_key).decode("ascii"),
        signature=base64.b64encode(cp.signature).decode("ascii"), text=cp.text,
        base_seq=plan.base_seq, event_hashes=pack_hashes(plan.block),
        frontier=pack_hashes(plan.acc.frontier)))
    orm.flush()
    append_events(orm, actor, [PendingEvent(CHECKPOINT_ACTION, "checkpoint", cp.size,
                                            cp.details())], now)
    return True


def stored_checkpoints(store: StoreContext, *, seq: int | None = None,
                       newest: bool = False) -> list[Checkpoint]:
    """Return the checkpoints stored in ``store``, oldest first, as signed (not verified).

    Args:
        store: the store.
        seq: only the checkpoint over exactly this many events.
        newest: only the newest checkpoint.

    Raises:
        InvalidInput: a stored checkpoint text is damaged (``eakte verify`` says more).
        StorageError: the database failed.
    """
    stmt = select(AuditCheckpoint.text)
    if seq is not None:
        stmt = stmt.where(AuditCheckpoint.seq == seq)
    stmt = stmt.order_by(AuditCheckpoint.seq.desc() if newest else AuditCheckpoint.seq)
    if newest:
        stmt = stmt.limit(1)
    try:
        with store.read_connection() as conn:
            texts = list(conn.scalars(stmt))
    except SQLAlchemyError as exc:
        raise StorageError(f"database error: {exc}") from exc
    return [Checkpoint.parse(text) for text in texts]


class AutoCheckpointer:
    """Takes a checkpoint after a commit that leaves ``every`` or more events unchecked.

    A participant of the Store's commit pipeline (``Store(checkpoint_every=N)``) at the
    ``CHECKPOINT`` stage: inside a transaction that appended audit events it compares the
    new head with the newest checkpoint; once the commit has succeeded, a due checkpoint is
    taken. A failure never undoes the commit; it is reported as an
    :class:`~eakte.errors.EakteWarning`.
    """

    def __init__(self, store: Store, every: int) -> None:
        if every < 1:
            raise ValueError(f"checkpoint_every must be at least 1, not {every}")
        self.store = store
        self.every = every
        self._busy = threading.local()

    def register(self, pipeline: CommitPipeline) -> None:
        """Take part in ``pipeline``'s commits."""
        pipeline.register(self, Stage.CHECKPOINT)

    def before_commit(self, commit: PendingCommit) -> None:
        """Note whether the events this commit appends make a checkpoint due."""
        if not commit.appended:
            return
        newest = commit.orm.scalar(select(func.max(AuditCheckpoint.seq))) or 0
        commit.note(self, commit.appended[-1][0] - int(newest) >= self.every)

    def after_commit(self, commit: PendingCommit) -> None:
        """Take the checkpoint noted as due; warn if that fails."""
        if not commit.noted(self, False) or getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            self.store.checkpoint()
        except EakteError as exc:
            warnings.warn(f"committed, but taking the audit checkpoint failed: {exc}",
                          EakteWarning, stacklevel=4)
        finally:
            self._busy.on = False

    def after_rollback(self, orm: OrmSession) -> None:
        """Nothing is kept between commits."""

    def due(self) -> bool:
        """Return True when ``every`` events or more follow the newest checkpoint.

        Raises:
            StorageError: the database failed.
        """
        try:
            with self.store.read_connection() as conn:
                head = conn.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0
                newest = conn.scalar(select(func.max(AuditCheckpoint.seq))) or 0
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc}") from exc
        return int(head) - int(newest) >= self.every

    def run_if_due(self) -> Checkpoint | None:
        """Take a checkpoint if one is due (see :meth:`due`).

        Raises:
            IntegrityError: the log is damaged; see :func:`create_checkpoint`.
            StorageError: the database or the key failed.
            InvalidInput: no usable key is configured.
        """
        if not self.due():
            return None
        return self.store.checkpoint()
