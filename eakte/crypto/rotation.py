"""Master key rotation: re-wrap every Akte key under a new master key, in one transaction.

Example::

    report = rotate_master_key(store, generate_master_key_file("master-2027.key"))
    # the Akte keys are now wrapped by the new key; the old one is no longer needed
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from eakte._store_config import StoreConfig
from eakte.audit.events import Action
from eakte.audit.log import PendingEvent, append_events
from eakte.crypto.keyring import MASTER_SETTING, akte_context
from eakte.crypto.masterkey import FileMasterKey, MasterKey, resolve_master_key
from eakte.crypto.settings import keyring_of
from eakte.errors import InvalidInput, StorageError
from eakte.model import AkteKey, AuditHead, Setting

if TYPE_CHECKING:
    from eakte.context import StoreContext

__all__ = ["RotationReport", "rotate_master_key"]

_BATCH = 1000

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


def rotate_master_key(store: StoreContext, new_key: MasterKey, *, user: str | None = None
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
                Action.KEYS_ROTATE, "store", store.setting("store_id") or "",
                {"old_master_key_id": old_id, "new_master_key_id": new_id,
                 "akte_keys": count})], store.clock())
    except SQLAlchemyError as exc:
        raise StorageError(f"database error, the master key was not changed: {exc}") from exc
    ring.use_master(new)
    store.forget_settings()  # the recorded master key changed
    return RotationReport(old_id, new_id, count,
                          config_updated=_record_key_file(store, new))


def _record_key_file(store: StoreContext, new: object) -> bool:
    """Point a recorded key file in ``eakte-store.json`` at the new key; True if done."""
    if store.location is None or not isinstance(new, FileMasterKey):
        return False
    config = StoreConfig.read(store.location)
    if not config.encryption or "master_key_file" not in config.encryption:
        return False
    entry = dict(config.encryption)
    entry["master_key_file"] = str(new.path.absolute())
    replace(config, encryption=entry).write(store.location)
    return True
