"""Signing keys for audit checkpoints (kept here for existing imports).

The code lives in :mod:`eakte.audit.signing`; master keys of encrypted stores are in
:mod:`eakte.crypto.masterkey`.
"""

from __future__ import annotations

from eakte.audit.signing import (
    KEY_ENV,
    CheckpointKey,
    FileKeyProvider,
    KeyProvider,
    generate_key_file,
    key_id,
    load_public_key,
    resolve_key_provider,
    verify_signature,
)
from eakte.crypto.keyfile import read_key_file

__all__ = [
    "KEY_ENV",
    "CheckpointKey",
    "FileKeyProvider",
    "KeyProvider",
    "generate_key_file",
    "key_id",
    "load_public_key",
    "read_key_file",
    "resolve_key_provider",
    "verify_signature",
]
