"""The key ring of an encrypted store: Akte keys and data-key wrappings kept in the database.

Envelope encryption: every blob has a random data key (DEK); each Akte that files the blob
holds a wrapping of that DEK under the Akte's key (KEK); each KEK is wrapped by the master
key, which never enters the database. Rows (see :mod:`eakte.model.crypto`):

- ``encrypted_blobs`` (one per address): the writer of new content inserts it, and every
  later writer of the same content locks it, while choosing the DEK. So concurrent writers
  agree on one DEK per address, and a file is only ever replaced when no stored key can
  open it (the leftover of a crash or of a crypto-shredded Akte).
- ``blob_keys`` (address, Akte): written when the session that files the content commits
  (:meth:`KeyRing.seal`, run by the commit pipeline under the audit head lock),
  for exactly the Akten whose versions or renditions refer to the address. The DEKs of a
  session's puts wait in ``orm.info`` until then. Keys therefore commit atomically with the
  rows that need them; a crash before the commit leaves at most an orphan file that no key
  opens, which ``eakte repair`` removes and a later put of the same content replaces.
- ``akte_keys``: created with an Akte's first wrapping, deleted at its disposal together
  with its wrappings (crypto-shredding).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, cast

from sqlalchemy import (
    CompoundSelect,
    Connection,
    CursorResult,
    Table,
    bindparam,
    delete,
    insert,
    select,
    union,
    update,
)
from sqlalchemy.orm import Session as OrmSession

from eakte._commit import CommitPipeline, Stage
from eakte.audit.problems import ProblemKind
from eakte.crypto.aead import key_check, new_key, seal, unseal
from eakte.crypto.masterkey import MasterKeyProvider
from eakte.errors import IntegrityError, MasterKeyError, Problem
from eakte.model import (
    AkteKey,
    AuditHead,
    BlobKey,
    Document,
    EncryptedBlob,
    Rendition,
    Setting,
    Version,
)
from eakte.model.lifecycle import disposed_akte_ids

if TYPE_CHECKING:
    from eakte._commit import PendingCommit
    from eakte.context import StoreContext

__all__ = [
    "MASTER_SETTING",
    "SCHEME",
    "SCHEME_SETTING",
    "KeyRing",
    "akte_context",
    "blob_context",
    "referenced_pairs",
    "shred_akte_keys",
]

#: The encryption scheme recorded for encrypted stores (settings and store config).
SCHEME: Final = "aes-256-gcm-stream-v1"
#: Setting naming the scheme; present only in encrypted stores.
SCHEME_SETTING: Final = "encryption"
#: Setting naming the master key that wraps the Akte keys.
MASTER_SETTING: Final = "master_key_id"
_STAGE: Final = "eakte.staged_blob_keys"
_CHUNK: Final = 500
_CACHE_LIMIT: Final = 10_000

# Statements built once (puts and reads run them per blob; building costs more than running)
# (``__table__`` is typed as a FromClause; for declarative models it is a Table)
_EB, _BK, _AK = (cast(Table, m.__table__) for m in (EncryptedBlob, BlobKey, AkteKey))
_FIND = (select(_BK.c.akte_id, _BK.c.wrapped_dek, _AK.c.master_key_id, _AK.c.wrapped,
                _EB.c.key_check)
         .join(_AK, _AK.c.akte_id == _BK.c.akte_id)
         .outerjoin(_EB, _EB.c.sha256 == _BK.c.sha256)
         .where(_BK.c.sha256 == bindparam("sha")).order_by(_BK.c.akte_id))
_LOCK = select(_EB.c.sha256).where(_EB.c.sha256 == bindparam("sha")).with_for_update()
_SET_CHECK = update(_EB).where(_EB.c.sha256 == bindparam("sha")).values(
    key_check=bindparam("check"))
_HAVE = select(_BK.c.akte_id).where(_BK.c.sha256 == bindparam("sha"),
                                    _BK.c.akte_id == bindparam("akte"))
_AKTE_KEY = select(_AK.c.master_key_id, _AK.c.wrapped).where(_AK.c.akte_id == bindparam("akte"))
_CLAIMS: dict[str, Any] = {}


def _claim(dialect: str) -> Any:
    """Return the insert-if-absent of an ``encrypted_blobs`` row for ``dialect``."""
    if dialect not in _CLAIMS:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
        _CLAIMS[dialect] = (
            dialect_insert(_EB)
            .values(sha256=bindparam("sha"), key_check=bindparam("check"),
                    created_at=bindparam("now"))
            .on_conflict_do_nothing(index_elements=["sha256"]).returning(_EB.c.sha256))
    return _CLAIMS[dialect]

#: Where key rows are read and written: an ORM session or a Core connection.
Executor = OrmSession | Connection


def akte_context(akte_id: int) -> bytes:
    """Return what an Akte key's wrapping is bound to."""
    return b"eakte akte key v1\x00" + akte_id.to_bytes(8, "big", signed=True)


def blob_context(sha256: str, akte_id: int) -> bytes:
    """Return what a data key's wrapping is bound to: the blob's address and the Akte."""
    return (b"eakte blob key v1\x00" + bytes.fromhex(sha256)
            + akte_id.to_bytes(8, "big", signed=True))


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def referenced_pairs(shas: Sequence[str]) -> CompoundSelect[Any]:
    """Return a query for the (Akte id, address) pairs that non-disposed Akten file."""
    survivors = Document.akte_id.not_in(disposed_akte_ids())
    return union(
        select(Document.akte_id, Version.sha256)
        .join(Document, Document.id == Version.document_id)
        .where(Version.sha256.in_(shas), survivors),
        select(Document.akte_id, Rendition.sha256)
        .join(Version, Version.id == Rendition.version_id)
        .join(Document, Document.id == Version.document_id)
        .where(Rendition.sha256.in_(shas), survivors),
    )


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


def shred_akte_keys(orm: OrmSession, akte_id: int) -> dict[str, Any]:
    """Delete an Akte's key and every data-key wrapping under it (crypto-shredding).

    Runs inside the disposing transaction. Blobs that other Akten file stay readable
    through their wrappings; every other copy of the Akte's blobs (backups) can no longer
    be decrypted with the store's keys.

    Returns:
        details for the ``disposal.deleted`` audit event; empty if the Akte had no key.
    """
    wrappings = _rowcount(orm.execute(
        delete(BlobKey).where(BlobKey.akte_id == akte_id)
        .execution_options(synchronize_session=False)))
    keys = _rowcount(orm.execute(
        delete(AkteKey).where(AkteKey.akte_id == akte_id)
        .execution_options(synchronize_session=False)))
    if not keys and not wrappings:
        return {}
    return {"akte_key_shredded": bool(keys), "blob_keys_shredded": wrappings}


class KeyRing:
    """Finds and creates the keys of an encrypted store's blobs (see the module docstring).

    Args:
        master: the provider of the master key.
    """

    def __init__(self, master: MasterKeyProvider) -> None:
        self._master = master
        self._store: StoreContext | None = None
        self._keks: dict[tuple[int, bytes], bytes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} master={self._master!r}>"

    @property
    def master(self) -> MasterKeyProvider:
        """The master key provider in use."""
        return self._master

    def use_master(self, master: MasterKeyProvider) -> None:
        """Switch to another master key (after a rotation has re-wrapped the Akte keys)."""
        with self._lock:
            self._master = master
            self._keks.clear()

    @property
    def store(self) -> StoreContext:
        """The store this key ring belongs to.

        Raises:
            RuntimeError: the key ring is not bound to a store yet.
        """
        if self._store is None:
            raise RuntimeError("this encrypted blob store is not part of a Store yet; "
                               "pass it to eakte.open(..., blobs=...)")
        return self._store

    def bind(self, store: StoreContext, pipeline: CommitPipeline) -> None:
        """Attach to ``store``: its sessions stage data keys, its commits seal them.

        Raises:
            ValueError: the key ring belongs to another store.
        """
        if self._store is not None and self._store is not store:
            raise ValueError("an EncryptedBlobStore belongs to one Store; create another")
        self._store = store
        pipeline.register(self, Stage.KEYS)

    # -- Akte keys -----------------------------------------------------------------------

    def _remember(self, akte_id: int, wrapped: bytes, kek: bytes) -> None:
        with self._lock:
            if len(self._keks) >= _CACHE_LIMIT:
                self._keks.clear()
            self._keks[(akte_id, wrapped)] = kek

    def unwrap_akte_key(self, akte_id: int, master_key_id: str, wrapped: bytes) -> bytes:
        """Return an Akte's key from its row.

        Raises:
            MasterKeyError: the row is wrapped by another master key than the one in use.
            IntegrityError: the row is damaged.
        """
        cached = self._keks.get((akte_id, wrapped))
        if cached is not None:
            return cached
        current = self._master.key_id
        if master_key_id != current:
            raise MasterKeyError(
                f"the key of Akte {akte_id} is wrapped by the master key {master_key_id}, but "
                f"the store was opened with {current}; open it with the current master key")
        try:
            kek = self._master.unwrap(wrapped, akte_context(akte_id))
        except MasterKeyError as exc:
            raise IntegrityError(
                f"the key row of Akte {akte_id} is damaged: the master key {current} does not "
                "open it; run 'eakte verify'",
                [Problem(ProblemKind.KEYS_AKTE_KEY_DAMAGED, f"Akte {akte_id}",
                         "its key does not unwrap with the master key")]) from exc
        self._remember(akte_id, wrapped, kek)
        return kek

    def _akte_key(self, tx: Executor, akte_id: int, now: datetime) -> bytes:
        """Return the Akte's key, creating (and wrapping) it on first use."""
        row = tx.execute(_AKTE_KEY, {"akte": akte_id}).first()
        if row is not None:
            return self.unwrap_akte_key(akte_id, row.master_key_id, row.wrapped)
        kek = new_key()
        wrapped = self._master.wrap(kek, akte_context(akte_id))
        tx.execute(insert(AkteKey).values(akte_id=akte_id, master_key_id=self._master.key_id,
                                          wrapped=wrapped, created_at=now))
        self._remember(akte_id, wrapped, kek)
        return kek

    def check_master(self, tx: Executor) -> None:
        """Refuse to wrap new keys unless the store's master key is the one in use.

        Raises:
            MasterKeyError: the store records another master key (e.g. after a rotation by
                another process).
        """
        recorded = tx.execute(select(Setting.value)
                              .where(Setting.key == MASTER_SETTING)).scalar()
        if recorded != self._master.key_id:
            raise MasterKeyError(
                f"the store's master key is {recorded}, but this process uses "
                f"{self._master.key_id} (was the key rotated?); reopen the store with the "
                "current master key. Nothing was saved")

    # -- data keys -----------------------------------------------------------------------

    def find_dek(self, tx: Executor, sha256: str) -> bytes | None:
        """Return the data key of a blob from any of its wrappings; None if it has none.

        Raises:
            MasterKeyError: the Akte keys are wrapped by another master key.
            IntegrityError: wrappings exist but none yields the blob's key (damaged rows).
        """
        rows = tx.execute(_FIND, {"sha": sha256}).all()
        if not rows:
            return None
        damaged: list[int] = []
        for akte_id, wrapped_dek, master_key_id, wrapped_kek, expected in rows:
            try:
                kek = self.unwrap_akte_key(akte_id, master_key_id, wrapped_kek)
            except IntegrityError:
                damaged.append(akte_id)
                continue
            dek = unseal(kek, wrapped_dek, blob_context(sha256, akte_id))
            if dek is None or (expected is not None and key_check(dek) != expected):
                damaged.append(akte_id)
                continue
            return dek
        raise IntegrityError(
            f"blob {sha256} cannot be decrypted: the key rows of Akte(n) "
            f"{', '.join(map(str, damaged))} are damaged; run 'eakte verify'",
            [Problem(ProblemKind.KEYS_BLOB_KEY_DAMAGED, f"blob {sha256}",
                     f"no stored wrapping yields its data key (Akten {damaged})")])

    def choose_dek(self, tx: Executor, sha256: str, fresh: bytes, now: datetime) -> bytes:
        """Return the data key that the file of ``sha256`` must be encrypted with.

        Inserts or locks the blob's ``encrypted_blobs`` row in ``tx`` (until it ends), so
        no concurrent writer decides otherwise. The stored key wins; ``fresh`` (the key
        the caller encrypted with) is recorded only when no stored wrapping exists.

        Raises:
            MasterKeyError: the Akte keys are wrapped by another master key.
            IntegrityError: the blob's key rows are damaged.
        """
        created = tx.execute(_claim(self.store.dialect),
                             {"sha": sha256, "check": key_check(fresh), "now": now}).first()
        if created is None:  # another writer's row: wait for it, then hold it
            tx.execute(_LOCK, {"sha": sha256})
        stored = self.find_dek(tx, sha256)
        if stored is not None:
            if created is not None:
                tx.execute(_SET_CHECK, {"sha": sha256, "check": key_check(stored)})
            return stored
        if created is None:  # no key opens the old file: it is replaced under a new key
            tx.execute(_SET_CHECK, {"sha": sha256, "check": key_check(fresh)})
        return fresh

    def grant(self, tx: Executor, sha256: str, akte_id: int, dek: bytes,
              now: datetime) -> None:
        """Wrap ``dek`` for one Akte unless that Akte holds a wrapping of the blob already."""
        have = tx.execute(_HAVE, {"sha": sha256, "akte": akte_id}).first()
        if have is None:
            kek = self._akte_key(tx, akte_id, now)
            tx.execute(insert(BlobKey).values(
                sha256=sha256, akte_id=akte_id, created_at=now,
                wrapped_dek=seal(kek, dek, blob_context(sha256, akte_id))))

    # -- sessions ------------------------------------------------------------------------

    @staticmethod
    def staged(orm: OrmSession) -> dict[str, bytes]:
        """Return the data keys of blobs put in ``orm``'s transaction, by address."""
        stage: dict[str, bytes] = orm.info.setdefault(_STAGE, {})
        return stage

    def seal(self, orm: OrmSession) -> int:
        """Wrap the staged data keys for every Akte that files their blobs; return how many.

        Runs before the commit of ``orm``'s transaction, under the audit head lock, which
        ``eakte repair`` takes too when it removes orphan wrappings.

        Raises:
            MasterKeyError: the store's master key changed meanwhile (nothing is saved).
        """
        stage: dict[str, bytes] | None = orm.info.get(_STAGE)
        if not stage:
            return 0
        orm.flush()
        orm.execute(select(AuditHead.seq).where(AuditHead.id == 1).with_for_update())
        self.check_master(orm)
        now = self.store.clock()
        written = 0
        for chunk in _chunks(sorted(stage)):
            pairs = {(int(r[0]), str(r[1])) for r in orm.execute(referenced_pairs(chunk))}
            have = {(int(a), str(h)) for a, h in orm.execute(
                select(BlobKey.akte_id, BlobKey.sha256).where(BlobKey.sha256.in_(chunk)))}
            for akte_id, sha256 in sorted(pairs - have):
                self.grant(orm, sha256, akte_id, stage[sha256], now)
                written += 1
        return written

    def before_commit(self, commit: PendingCommit) -> None:
        """Seal the staged keys inside the committing transaction (commit pipeline)."""
        self.seal(commit.orm)

    def after_commit(self, commit: PendingCommit) -> None:
        """Forget the keys staged for the committed transaction."""
        commit.orm.info.pop(_STAGE, None)

    def after_rollback(self, orm: OrmSession) -> None:
        """Forget the staged keys after any rollback (also of a savepoint).

        It may have released the rows that reserved them; later puts choose again.
        """
        orm.info.pop(_STAGE, None)
