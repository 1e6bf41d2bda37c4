"""Encryption of blobs at rest: the format, master keys, key ring, checks and rotation.

Modules: :mod:`~eakte.crypto.aead` (the encrypted blob format and sealed keys),
:mod:`~eakte.crypto.masterkey` (master key providers and files),
:mod:`~eakte.crypto.keyfile` (reading secret key files),
:mod:`~eakte.crypto.keyring` (Akte and data keys in the database),
:mod:`~eakte.crypto.blobstore` (:class:`EncryptingBlobStore`, in front of any blob store),
:mod:`~eakte.crypto.settings` (what a store records, opening rules, status),
:mod:`~eakte.crypto.rotation` (master key rotation) and
:mod:`~eakte.crypto.keycheck` (verify and repair of the key rows).

This package module re-exports the blob format only; it imports nothing else, so every
module of the package may import :mod:`eakte.crypto.aead` without a cycle.
"""

from __future__ import annotations

from eakte.crypto.aead import (
    FORMAT_VERSION,
    HEADER_SIZE,
    KEY_SIZE,
    MAGIC,
    SEGMENT_SHIFT,
    TAG_SIZE,
    DecryptingReader,
    StreamEncryptor,
    decrypts_with,
    key_check,
    new_key,
    plaintext_size,
    seal,
    unseal,
)

__all__ = [
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "KEY_SIZE",
    "MAGIC",
    "SEGMENT_SHIFT",
    "TAG_SIZE",
    "DecryptingReader",
    "StreamEncryptor",
    "decrypts_with",
    "key_check",
    "new_key",
    "plaintext_size",
    "seal",
    "unseal",
]
