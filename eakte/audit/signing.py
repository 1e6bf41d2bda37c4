"""Signing keys for audit checkpoints: the KeyProvider protocol and its key-file implementation.

The private key never lives in the store's database: an attacker who can rewrite the
database must not be able to sign a checkpoint. The reference implementation keeps an
Ed25519 key in a PEM file (PKCS#8, created with mode 0600); an HSM or a KMS fits behind the
same three members.

Example::

    provider = generate_key_file("/etc/eakte/checkpoint.pem")  # also writes .pem.pub
    store = eakte.open("./akten", checkpoint_key=provider)
    store.checkpoint()
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

from eakte.crypto.keyfile import read_key_file
from eakte.errors import InvalidInput, StateConflict, StorageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "KEY_ENV",
    "CheckpointKey",
    "FileKeyProvider",
    "KeyProvider",
    "generate_key_file",
    "key_id",
    "load_public_key",
    "resolve_key_provider",
    "verify_signature",
]

#: Environment variable naming the checkpoint key file when no key is passed.
KEY_ENV: Final = "EAKTE_CHECKPOINT_KEY"
_RAW_KEY_SIZE: Final = 32


@runtime_checkable
class KeyProvider(Protocol):
    """Signs audit checkpoints with an Ed25519 key kept outside the database.

    Contract (RFC 2119 words):

    - ``sign`` MUST return the 64-byte Ed25519 signature (RFC 8032) of exactly ``data``.
    - ``public_key`` MUST return the 32 raw bytes of the matching public key.
    - ``key_id`` SHOULD be :func:`key_id` of that public key; it names the key in reports.
    - The private key MUST NOT be stored in the store's database.
    - Failures MUST be raised as :class:`~eakte.errors.StorageError` (key unreachable) or
      :class:`~eakte.errors.InvalidInput` (not an Ed25519 key).
    """

    @property
    def key_id(self) -> str:
        """A short, stable name of the key (``ed25519:`` + 16 hex digits)."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Return the Ed25519 signature of ``data``."""
        ...

    def public_key(self) -> bytes:
        """Return the raw 32-byte public key."""
        ...


#: What ``checkpoint_key=`` accepts: a key file path or a provider.
CheckpointKey = str | os.PathLike[str] | KeyProvider


def key_id(public_key: bytes) -> str:
    """Return the name of a public key: ``ed25519:`` and the first 16 hex digits of its SHA-256."""
    return "ed25519:" + hashlib.sha256(public_key).hexdigest()[:16]


def verify_signature(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """Return True if ``signature`` is a valid Ed25519 signature of ``data`` by ``public_key``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if len(public_key) != _RAW_KEY_SIZE:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True

class FileKeyProvider:
    """A :class:`KeyProvider` reading an unencrypted Ed25519 PKCS#8 PEM file.

    The file is read once, when first needed. A file that others may read draws a warning
    (as ssh refuses such keys; warning instead keeps secrets mounted 0644 by containers usable).

    Args:
        path: the PEM file, as written by :func:`generate_key_file` or
            ``openssl genpkey -algorithm ed25519 -out key.pem``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path: Final = Path(path)
        self._key: Ed25519PrivateKey | None = None
        self._public: bytes | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def _load(self) -> Ed25519PrivateKey:
        """Return the private key, reading the file on first use.

        Raises:
            StorageError: the file cannot be read.
            InvalidInput: it holds no unencrypted Ed25519 private key.
        """
        if self._key is not None:
            return self._key
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        data = read_key_file(self.path, "checkpoint key", StorageError)
        try:
            key = load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(
                f"{str(self.path)!r} is not an unencrypted PEM private key: {exc}"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidInput(
                f"{str(self.path)!r} holds a {type(key).__name__}, not an Ed25519 key; create "
                "one with 'eakte checkpoint keygen'"
            )
        self._key = key
        return key

    @property
    def key_id(self) -> str:
        """The key's name (see :func:`key_id`).

        Raises:
            StorageError: the key file cannot be read.
            InvalidInput: it holds no Ed25519 private key.
        """
        return key_id(self.public_key())

    def sign(self, data: bytes) -> bytes:
        """Return the Ed25519 signature of ``data``.

        Raises:
            StorageError: the key file cannot be read.
            InvalidInput: it holds no Ed25519 private key.
        """
        return self._load().sign(data)

    def public_key(self) -> bytes:
        """Return the raw 32-byte public key.

        Raises:
            StorageError: the key file cannot be read.
            InvalidInput: it holds no Ed25519 private key.
        """
        if self._public is None:
            from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

            self._public = self._load().public_key().public_bytes(
                Encoding.Raw, PublicFormat.Raw
            )
        return self._public


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def generate_key_file(path: str | os.PathLike[str]) -> FileKeyProvider:
    """Create a new Ed25519 key in ``path`` (mode 0600) and its public key in ``path.pub``.

    The ``.pub`` file (PEM SubjectPublicKeyInfo, readable by ``openssl``) is what auditors
    get to check checkpoints.

    Returns:
        a provider for the new key.

    Raises:
        StateConflict: ``path`` or ``path.pub`` exists already (keys are never overwritten).
        StorageError: the files cannot be written.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    target = Path(path)
    pub = target.with_name(target.name + ".pub")
    for existing in (target, pub):
        if existing.exists():
            raise StateConflict(
                f"{str(existing)!r} exists already; a checkpoint key is never overwritten "
                "(move it away first if you really mean to replace it)"
            )
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public_pem = key.public_key().public_bytes(Encoding.PEM,
                                               PublicFormat.SubjectPublicKeyInfo)
    try:
        _write_new(target, private_pem, 0o600)
        _write_new(pub, public_pem, 0o644)
    except FileExistsError as exc:
        raise StateConflict(f"{exc.filename!r} appeared while writing the key") from exc
    except OSError as exc:
        raise StorageError(f"cannot write checkpoint key {str(target)!r}: {exc}") from exc
    return FileKeyProvider(target)


def load_public_key(data: bytes | str) -> bytes:
    """Return the raw 32-byte Ed25519 public key from PEM or base64 text.

    Accepts a PEM public key (``key.pem.pub``), a PEM private key (its public half), or the
    base64 of the raw key as in a checkpoint's ``key:`` line.

    Raises:
        InvalidInput: the text holds no Ed25519 key.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_private_key,
        load_pem_public_key,
    )

    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    text = raw.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            if b"PRIVATE KEY" in text.split(b"\n", 1)[0]:
                private = load_pem_private_key(text, password=None)
                if not isinstance(private, Ed25519PrivateKey):
                    raise InvalidInput("the PEM key is not an Ed25519 key")
                public = private.public_key()
            else:
                loaded = load_pem_public_key(text)
                if not isinstance(loaded, Ed25519PublicKey):
                    raise InvalidInput("the PEM public key is not an Ed25519 key")
                public = loaded
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"unreadable PEM key: {exc}") from exc
        return public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("expected a PEM key or the base64 of a raw Ed25519 key") from exc
    if len(key) != _RAW_KEY_SIZE:
        raise InvalidInput(f"a raw Ed25519 public key has 32 bytes, not {len(key)}")
    return key


def resolve_key_provider(spec: CheckpointKey | None) -> KeyProvider | None:
    """Return the key provider for ``spec``: itself, a key file, or ``$EAKTE_CHECKPOINT_KEY``.

    Raises:
        TypeError: ``spec`` is neither a path nor a :class:`KeyProvider`.
    """
    if spec is None:
        env = os.environ.get(KEY_ENV)
        return FileKeyProvider(env) if env else None
    if isinstance(spec, str | os.PathLike):
        return FileKeyProvider(spec)
    if isinstance(spec, KeyProvider):
        return spec
    raise TypeError(f"checkpoint_key must be a path or a KeyProvider, not {type(spec).__name__}")
