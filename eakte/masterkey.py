"""Master keys of encrypted stores (kept here for existing imports).

The code lives in :mod:`eakte.crypto.masterkey`.
"""

from __future__ import annotations

from eakte.crypto.masterkey import (
    MASTER_KEY_ENV,
    FileMasterKey,
    MasterKey,
    MasterKeyProvider,
    generate_master_key_file,
    master_key_id,
    resolve_master_key,
)

__all__ = [
    "MASTER_KEY_ENV",
    "FileMasterKey",
    "MasterKey",
    "MasterKeyProvider",
    "generate_master_key_file",
    "master_key_id",
    "resolve_master_key",
]
