"""Encryption at rest of a store's blobs: status, master key rotation, and opening rules.

A store chooses encryption when it is created (``eakte.init(..., encrypt=True,
master_key="master.key")`` or ``eakte init --encrypt --master-key FILE``); it is recorded in
the store's settings and its configuration file, so opening it later without the master
key, or with another one, fails with :class:`~eakte.errors.MasterKeyError` instead of
reading or writing plaintext. The key is found in this order: ``master_key=``,
``$EAKTE_MASTER_KEY_FILE``, the key file recorded in ``eakte-store.json`` at init.

Example::

    status = encryption_status(store)
    report = rotate_master_key(store, generate_master_key_file("master-2027.key"))
    # the Akte keys are now wrapped by the new key; the old one is no longer needed
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from eakte._keyring import MASTER_SETTING, SCHEME, SCHEME_SETTING, KeyRing, akte_context
from eakte._store_config import StoreConfig
from eakte.audit.log import PendingEvent, append_events
from eakte.errors import InvalidInput, MasterKeyError, StorageError
from eakte.masterkey import FileMasterKey, MasterKey, resolve_master_key
from eakte.model import AkteKey, AuditHead, BlobKey, EncryptedBlob, Setting
from eakte.storage.base import BlobStore
from eakte.storage.encrypted import EncryptedBlobStore
from eakte.storage.local import LocalBlobStore

if TYPE_CHECKING:
    from eakte.context import StoreContext
    from eakte.store import Store

__all__ = [
    "EncryptionStatus",
    "RotationReport",
    "encryption_status",
    "keyring_of",
    "rotate_master_key",
]

_BATCH = 1000


def keyring_of(store: StoreContext) -> KeyRing | None:
    """Return the key ring of an encrypted store, None for a plain one."""
    blobs = store.blobs
    return blobs.keyring if isinstance(blobs, EncryptedBlobStore) else None


# -- opening and creating stores ---------------------------------------------------------


def new_folder_blobs(root: Path, *, encrypt: bool, master_key: MasterKey | None
                     ) -> BlobStore:
    """Return the blob store of a store being created in a folder.

    Raises:
        MasterKeyError: ``encrypt`` without a master key (argument or environment).
        InvalidInput: ``master_key`` without ``encrypt``.
    """
    if not encrypt:
        if master_key is not None:
            raise InvalidInput("master_key= is for encrypted stores; pass encrypt=True too")
        return LocalBlobStore(root)
    provider = resolve_master_key(master_key)
    if provider is None:
        raise MasterKeyError("encrypt=True needs a master key: pass master_key= (a key file "
                             "from 'eakte keys generate') or set EAKTE_MASTER_KEY_FILE")
    provider.key_id  # noqa: B018  (reads the key now: a bad key fails before anything exists)
    return EncryptedBlobStore(root, master_key=provider)


def config_entry(blobs: BlobStore, master_key: MasterKey | None) -> dict[str, str] | None:
    """Return what ``eakte-store.json`` records about encryption (None: not encrypted).

    The master key's path is recorded when it was given as a path (never the key itself).
    """
    if not isinstance(blobs, EncryptedBlobStore):
        return None
    entry = {"scheme": SCHEME}
    if isinstance(master_key, str | os.PathLike):
        entry["master_key_file"] = str(Path(master_key).absolute())
    return entry


def folder_blobs(root: Path, recorded: Mapping[str, Any] | None,
                 master_key: MasterKey | None) -> BlobStore:
    """Return the blob store of an existing folder store, as its configuration says.

    Raises:
        MasterKeyError: the store is encrypted and no master key is given or configured.
        InvalidInput: a master key is given for a store that is not encrypted.
    """
    if recorded is None:
        if master_key is not None:
            raise InvalidInput(f"the store at {str(root.parent)!r} is not encrypted; "
                               "encryption is chosen when a store is created")
        return LocalBlobStore(root)
    hint = recorded.get("master_key_file")
    provider = resolve_master_key(master_key, fallback=hint if isinstance(hint, str) else None)
    if provider is None:
        raise MasterKeyError(
            f"the store at {str(root.parent)!r} is encrypted: give its master key "
            "(master_key=, or the key file in EAKTE_MASTER_KEY_FILE)")
    return EncryptedBlobStore(root, master_key=provider)


def record_encryption(store: Store) -> None:
    """Record in a new store's settings that (and with which key) its blobs are encrypted.

    Raises:
        StorageError: the database failed.
    """
    ring = keyring_of(store)
    if ring is None:
        return
    try:
        with store.orm_session() as orm, orm.begin():
            orm.add_all([Setting(key=SCHEME_SETTING, value=SCHEME),
                         Setting(key=MASTER_SETTING, value=ring.master.key_id)])
    except SQLAlchemyError as exc:
        raise StorageError(f"database error while recording encryption: {exc}") from exc
    store.forget_settings()  # drop the settings cache of the new store


def check_encryption(store: Store) -> None:
    """Refuse to use a store whose blob store does not match its recorded encryption.

    Raises:
        MasterKeyError: the store is encrypted, but opened without a master key or with
            another one than the store's.
        InvalidInput: the store is not encrypted but opened with an encrypted blob store.
    """
    scheme = store.setting(SCHEME_SETTING)
    ring = keyring_of(store)
    if scheme is None:
        if ring is not None:
            raise InvalidInput("this store was created without encryption; it cannot be opened "
                               "with an encrypted blob store (encryption is chosen at init)")
        return
    if scheme != SCHEME:
        raise MasterKeyError(f"the store is encrypted with {scheme!r}, which this eakte does "
                             "not know; upgrade eakte")
    if ring is None:
        raise MasterKeyError(
            "the store's blobs are encrypted, but it was opened without its master key "
            "(pass master_key=, set EAKTE_MASTER_KEY_FILE, or open the folder itself); "
            "nothing was read or written")
    recorded = store.setting(MASTER_SETTING)
    given = ring.master.key_id
    if given != recorded:
        raise MasterKeyError(
            f"wrong master key: the store's Akte keys are wrapped by {recorded}, but the "
            f"given key ({ring.master!r}) is {given}")


# -- status ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptionStatus:
    """What :func:`encryption_status` reports.

    Attributes:
        encrypted: the store's blobs are encrypted.
        scheme: the encryption scheme (``aes-256-gcm-stream-v1``), None if not encrypted.
        master_key_id: the store's master key, as recorded in its settings.
        akte_keys: Akte keys, by the master key that wraps them.
        blob_keys: data-key wrappings (one per blob and Akte filing it).
        encrypted_blobs: blob addresses ever written encrypted.
    """

    encrypted: bool
    scheme: str | None = None
    master_key_id: str | None = None
    akte_keys: dict[str, int] = field(default_factory=dict)
    blob_keys: int = 0
    encrypted_blobs: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible view."""
        return {"encrypted": self.encrypted, "scheme": self.scheme,
                "master_key_id": self.master_key_id, "akte_keys": dict(self.akte_keys),
                "blob_keys": self.blob_keys, "encrypted_blobs": self.encrypted_blobs}


def encryption_status(store: Store) -> EncryptionStatus:
    """Return whether ``store`` is encrypted and how many keys it holds.

    Raises:
        StorageError: the database failed.
    """
    scheme = store.setting(SCHEME_SETTING)
    if scheme is None:
        return EncryptionStatus(encrypted=False)
    try:
        with store.read_connection() as conn:
            by_master = {str(k): int(n) for k, n in conn.execute(
                select(AkteKey.master_key_id, func.count()).group_by(AkteKey.master_key_id))}
            wrappings = int(conn.execute(select(func.count()).select_from(BlobKey)).scalar()
                            or 0)
            blobs = int(conn.execute(select(func.count()).select_from(EncryptedBlob)).scalar()
                        or 0)
    except SQLAlchemyError as exc:
        raise StorageError(f"database error: {exc}") from exc
    return EncryptionStatus(encrypted=True, scheme=scheme,
                            master_key_id=store.setting(MASTER_SETTING),
                            akte_keys=by_master, blob_keys=wrappings, encrypted_blobs=blobs)


# -- rotation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationReport:
    """What :func:`rotate_master_key` did.

    Attributes:
        old_key_id: the master key that wrapped the Akte keys before.
        new_key_id: the master key that wraps them now.
        akte_keys: how many Akte keys were re-wrapped.
        config_updated: the key file recorded in ``eakte-store.json`` now names the new key.
    """

    old_key_id: str
    new_key_id: str
    akte_keys: int
    config_updated: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible view."""
        return {"old_master_key_id": self.old_key_id, "new_master_key_id": self.new_key_id,
                "akte_keys": self.akte_keys, "config_updated": self.config_updated}


def rotate_master_key(store: Store, new_key: MasterKey, *, user: str | None = None
                      ) -> RotationReport:
    """Re-wrap every Akte key under ``new_key``; no content is re-encrypted.

    One transaction re-wraps all Akte keys, records the new key's id and appends a
    ``keys.rotate`` audit event; it holds the audit head lock, which every committing
    writer takes, so no Akte key wrapped by the old key can be added meanwhile. Afterwards
    ``store`` uses the new key, and when ``eakte-store.json`` recorded a key file and the
    new key is a file, it records the new one. The old key is then no longer needed for
    this store (database backups taken before the rotation still need it).

    Args:
        store: an encrypted store, opened with its current master key.
        new_key: the new master key file or provider.
        user: the actor recorded in the audit event (default: the administrator).

    Returns:
        what was re-wrapped.

    Raises:
        InvalidInput: the store is not encrypted, or ``new_key`` is the current key.
        MasterKeyError: a key cannot be read, or the store is opened with another key.
        StorageError: the database failed; nothing was changed.
    """
    ring = keyring_of(store)
    if ring is None:
        raise InvalidInput("the store is not encrypted; there is no master key to rotate")
    new = resolve_master_key(new_key)
    assert new is not None  # new_key is not None
    old_id, new_id = ring.master.key_id, new.key_id
    if new_id == old_id:
        raise InvalidInput(f"the new master key is the current one ({old_id})")
    count = 0
    try:
        with store.orm_session() as orm, orm.begin():
            orm.execute(select(AuditHead.seq).where(AuditHead.id == 1).with_for_update())
            ring.check_master(orm)
            last = -(2**62)
            while rows := orm.execute(
                    select(AkteKey.akte_id, AkteKey.master_key_id, AkteKey.wrapped)
                    .where(AkteKey.akte_id > last).order_by(AkteKey.akte_id).limit(_BATCH)
            ).all():
                for akte_id, master_key_id, wrapped in rows:
                    kek = ring.unwrap_akte_key(akte_id, master_key_id, wrapped)
                    orm.execute(update(AkteKey).where(AkteKey.akte_id == akte_id).values(
                        master_key_id=new_id, wrapped=new.wrap(kek, akte_context(akte_id))))
                    count += 1
                last = rows[-1].akte_id
            orm.execute(update(Setting).where(Setting.key == MASTER_SETTING)
                        .values(value=new_id))
            append_events(orm, user or store.admin, [PendingEvent(
                "keys.rotate", "store", store.setting("store_id") or "",
                {"old_master_key_id": old_id, "new_master_key_id": new_id,
                 "akte_keys": count})], store.clock())
    except SQLAlchemyError as exc:
        raise StorageError(f"database error, the master key was not changed: {exc}") from exc
    ring.use_master(new)
    store.forget_settings()  # the recorded master key changed
    return RotationReport(old_id, new_id, count,
                          config_updated=_record_key_file(store, new))


def _record_key_file(store: Store, new: object) -> bool:
    """Point a recorded key file in ``eakte-store.json`` at the new key; True if done."""
    if store.location is None or not isinstance(new, FileMasterKey):
        return False
    config = StoreConfig.read(store.location)
    if not config.encryption or "master_key_file" not in config.encryption:
        return False
    entry = dict(config.encryption)
    entry["master_key_file"] = str(new.path.absolute())
    from dataclasses import replace

    replace(config, encryption=entry).write(store.location)
    return True
