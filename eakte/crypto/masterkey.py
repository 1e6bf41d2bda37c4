"""Master keys of encrypted stores: the MasterKeyProvider protocol and its key-file implementation.

The master key never lives in the store's database or blob folder. It only wraps the
per-Akte keys (which wrap the per-blob data keys), so changing it re-wraps a few bytes per
Akte and never re-encrypts content. The reference implementation reads a 256-bit key from
a file created with mode 0600; an HSM or a KMS fits behind the same three members.

A key file holds the base64 of 32 random bytes on one line; lines starting with ``#`` are
comments. ``eakte keys generate FILE`` writes one, and so does
``(umask 077; openssl rand -base64 32 > master.key)``.

Example::

    provider = generate_master_key_file("/etc/eakte/master.key")
    store = eakte.init("./akten", encrypt=True, master_key=provider)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from eakte.crypto.aead import KEY_SIZE, new_key, seal, unseal
from eakte.crypto.keyfile import read_key_file
from eakte.errors import MasterKeyError, StateConflict

__all__ = [
    "MASTER_KEY_ENV",
    "FileMasterKey",
    "MasterKey",
    "MasterKeyProvider",
    "generate_master_key_file",
    "master_key_id",
    "resolve_master_key",
]

#: Environment variable naming the master key file when no key is passed.
MASTER_KEY_ENV: Final = "EAKTE_MASTER_KEY_FILE"


@runtime_checkable
class MasterKeyProvider(Protocol):
    """Wraps and unwraps Akte keys with a master key kept outside the store.

    Contract (RFC 2119 words):

    - ``wrap`` MUST use authenticated encryption that binds ``context``: ``unwrap`` of the
      result with another context, or with another key, MUST fail.
    - ``unwrap`` MUST return exactly the bytes given to ``wrap``, and MUST raise
      :class:`~eakte.errors.MasterKeyError` when it cannot (wrong key, damaged bytes).
    - ``key_id`` MUST be stable for one key and differ between keys; it is stored next to
      every wrapped Akte key, so it MUST NOT reveal the key.
    - The master key MUST NOT be stored in the store's database or blob folder.
    """

    @property
    def key_id(self) -> str:
        """A short, stable name of the key (e.g. ``aes256:`` + 16 hex digits)."""
        ...

    def wrap(self, key: bytes, context: bytes) -> bytes:
        """Return ``key`` encrypted under the master key, bound to ``context``."""
        ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Return the key that :meth:`wrap` encrypted with the same ``context``."""
        ...


#: What ``master_key=`` accepts: a key file path or a provider.
MasterKey = str | os.PathLike[str] | MasterKeyProvider


def master_key_id(key: bytes) -> str:
    """Return the name of a raw master key: ``aes256:`` and 16 hex digits of a hash of it."""
    return "aes256:" + hashlib.sha256(b"eakte master key id\x00" + key).hexdigest()[:16]


def _parse(data: bytes, path: Path) -> bytes:
    lines = [line.strip() for line in data.splitlines()]
    body = [line for line in lines if line and not line.startswith(b"#")]
    if len(body) != 1:
        raise MasterKeyError(
            f"{str(path)!r} is not a master key file: expected one line with the base64 of "
            "32 random bytes; create one with 'eakte keys generate'")
    try:
        key = base64.b64decode(body[0], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MasterKeyError(f"{str(path)!r} is not a master key file: the key line is not "
                             "base64") from exc
    if len(key) != KEY_SIZE:
        raise MasterKeyError(f"{str(path)!r} holds a {len(key) * 8}-bit key; a master key "
                             "has 256 bits (32 bytes)")
    return key


class FileMasterKey:
    """A :class:`MasterKeyProvider` holding a 256-bit key read from a file.

    The file is read once, when first needed. A file that others may read draws a warning
    (as for checkpoint keys: secrets mounted 0644 by containers stay usable).

    Args:
        path: the key file, as written by :func:`generate_master_key_file`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path: Final = Path(path)
        self._key: bytes | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def _load(self) -> bytes:
        """Return the raw key, reading the file on first use.

        Raises:
            MasterKeyError: the file cannot be read or holds no 256-bit key.
        """
        if self._key is not None:
            return self._key
        data = read_key_file(self.path, "master key", MasterKeyError)
        self._key = _parse(data, self.path)
        return self._key

    @property
    def key_id(self) -> str:
        """The key's name (see :func:`master_key_id`).

        Raises:
            MasterKeyError: the key file cannot be read.
        """
        return master_key_id(self._load())

    def wrap(self, key: bytes, context: bytes) -> bytes:
        """Return ``key`` sealed with AES-256-GCM under the master key, bound to ``context``.

        Raises:
            MasterKeyError: the key file cannot be read.
        """
        return seal(self._load(), key, context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Return the key sealed by :meth:`wrap` with the same ``context``.

        Raises:
            MasterKeyError: the key file cannot be read, or ``wrapped`` was not sealed by
                this key for this context.
        """
        key = unseal(self._load(), wrapped, context)
        if key is None:
            raise MasterKeyError(
                f"the master key {self.key_id} cannot unwrap this key: it was wrapped by "
                "another master key, or the stored bytes are damaged")
        return key


def generate_master_key_file(path: str | os.PathLike[str]) -> FileMasterKey:
    """Create a new random 256-bit master key in ``path`` (mode 0600).

    Keep the file apart from the store and its backups, and back it up separately: without
    it nothing in the store can be read.

    Returns:
        a provider for the new key.

    Raises:
        StateConflict: ``path`` exists already (keys are never overwritten).
        MasterKeyError: the file cannot be written.
    """
    target = Path(path)
    text = ("# eakte master key (AES-256). Keep it secret and apart from the store; "
            "without it the store cannot be read.\n"
            + base64.b64encode(new_key()).decode("ascii") + "\n").encode("ascii")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise StateConflict(f"{str(target)!r} exists already; a master key is never "
                            "overwritten (move it away first if you really mean to)") from exc
    except OSError as exc:
        raise MasterKeyError(f"cannot create the master key file {str(target)!r}: "
                             f"{exc.strerror or exc}") from exc
    try:
        view = memoryview(text)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except OSError as exc:
        raise MasterKeyError(f"cannot write the master key file {str(target)!r}: "
                             f"{exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    return FileMasterKey(target)


def resolve_master_key(spec: MasterKey | None, *, fallback: str | None = None
                       ) -> MasterKeyProvider | None:
    """Return the provider for ``spec``: itself, a key file, ``$EAKTE_MASTER_KEY_FILE``, fallback.

    Args:
        spec: a key file path or a provider; None to look further.
        fallback: a key file path used when neither ``spec`` nor the environment names one
            (the path recorded in the store configuration).

    Raises:
        TypeError: ``spec`` is neither a path nor a :class:`MasterKeyProvider`.
    """
    if spec is None:
        env = os.environ.get(MASTER_KEY_ENV)
        if env:
            return FileMasterKey(env)
        return FileMasterKey(fallback) if fallback else None
    if isinstance(spec, str | os.PathLike):
        return FileMasterKey(spec)
    if isinstance(spec, MasterKeyProvider):
        return spec
    raise TypeError(f"master_key must be a path or a MasterKeyProvider, "
                    f"not {type(spec).__name__}")
