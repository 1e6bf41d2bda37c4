"""Encryption at rest: status and master key rotation (kept here for existing imports).

The code lives in :mod:`eakte.crypto.settings` (status, opening rules) and
:mod:`eakte.crypto.rotation` (rotation).
"""

from __future__ import annotations

from eakte.crypto.rotation import RotationReport, rotate_master_key
from eakte.crypto.settings import EncryptionStatus, encryption_status, keyring_of

__all__ = [
    "EncryptionStatus",
    "RotationReport",
    "encryption_status",
    "keyring_of",
    "rotate_master_key",
]
