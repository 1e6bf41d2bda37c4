"""Encryption at rest of a store's blobs: how stores record it, opening rules, and status.

A store chooses encryption when it is created (``eakte.init(..., encrypt=True,
master_key="master.key")`` or ``eakte init --encrypt --master-key FILE``); it is recorded in
the store's settings and its configuration file, so opening it later without the master
key, or with another one, fails with :class:`~eakte.errors.MasterKeyError` instead of
reading or writing plaintext. The key is found in this order: ``master_key=``,
``$EAKTE_MASTER_KEY_FILE``, the key file recorded in ``eakte-store.json`` at init.

Example::

    status = encryption_status(store)
    print(status.master_key_id, status.akte_keys)

Master key rotation is in :mod:`eakte.crypto.rotation`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from eakte.crypto.blobstore import EncryptedBlobStore
from eakte.crypto.keyring import MASTER_SETTING, SCHEME, SCHEME_SETTING, KeyRing
from eakte.crypto.masterkey import MasterKey, resolve_master_key
from eakte.errors import InvalidInput, MasterKeyError, StorageError
from eakte.model import AkteKey, BlobKey, EncryptedBlob, Setting
from eakte.storage.base import BlobStore
from eakte.storage.local import LocalBlobStore

if TYPE_CHECKING:
    from eakte.context import StoreContext

__all__ = [
    "EncryptionStatus",
    "check_encryption",
    "config_entry",
    "encryption_status",
    "folder_blobs",
    "keyring_for",
    "keyring_of",
    "new_folder_blobs",
    "record_encryption",
]


def keyring_for(blobs: BlobStore) -> KeyRing | None:
    """Return the key ring of an encrypting blob store (its ``keyring``), None for others."""
    ring = getattr(blobs, "keyring", None)
    return ring if isinstance(ring, KeyRing) else None


def keyring_of(store: StoreContext) -> KeyRing | None:
    """Return the key ring of an encrypted store, None for a plain one."""
    return keyring_for(store.blobs)


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
    if keyring_for(blobs) is None:
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


def record_encryption(store: StoreContext) -> None:
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


def check_encryption(store: StoreContext) -> None:
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


def encryption_status(store: StoreContext) -> EncryptionStatus:
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
