"""The encrypted blob format: AES-256-GCM in segments (STREAM), and sealing of small keys.

An encrypted blob file is a 17-byte header followed by segments::

    offset  size  field
         0     8  magic  b"EAKTEENC"
         8     1  format version (1)
         9     1  segment size as a power of two (16: 64 KiB of plaintext per segment)
        10     7  nonce prefix, random per file
        17     …  segments: AES-256-GCM ciphertext of up to 2**shift plaintext bytes + 16-byte tag

Segment ``i`` (counting from 0) is encrypted under the blob's data key with the 96-bit nonce
``prefix ‖ i (4 bytes, big-endian) ‖ last`` where ``last`` is 0x01 for the final segment and
0x00 for every other (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár).
Every segment is authenticated together with the header (format version, segment size,
nonce prefix); the final segment's associated data further carries the SHA-256 of the whole
plaintext (32 raw bytes, the blob's address) and its length (8 bytes, big-endian). All
segments are full except the final one, which holds the rest (1…2**shift bytes; 0 bytes
only for the empty blob, which is a single empty final segment). Hence reordered, dropped,
duplicated or appended segments, a cut-off file and a file moved to another address all
fail authentication, and the plaintext length follows from the file length alone.

Small keys (a data key under an Akte key, an Akte key under the master key) are *sealed*:
``0x01 ‖ 12-byte random nonce ‖ AES-256-GCM(key, nonce, secret, context)``, where the
context names what the secret belongs to, so a sealed key moved to another row fails.

``cryptography`` is imported on first use only; ``import eakte`` does not load it.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
from typing import TYPE_CHECKING, BinaryIO, Final

from eakte.audit.problems import ProblemKind
from eakte.errors import IntegrityError, Problem, StorageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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

MAGIC: Final = b"EAKTEENC"
FORMAT_VERSION: Final = 1
#: Default segment size: 2**16 = 64 KiB of plaintext per segment.
SEGMENT_SHIFT: Final = 16
KEY_SIZE: Final = 32
TAG_SIZE: Final = 16
HEADER_SIZE: Final = 17
_PREFIX_SIZE: Final = 7
_MIN_SHIFT: Final = 10
_MAX_SHIFT: Final = 24
_MAX_SEGMENTS: Final = 2**32
_SEAL_VERSION: Final = b"\x01"
_SEAL_NONCE: Final = 12


def _aead(key: bytes) -> AESGCM:
    """Return an AES-256-GCM cipher for ``key`` (imports ``cryptography`` on first use)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(key) != KEY_SIZE:
        raise ValueError(f"an AES-256 key has {KEY_SIZE} bytes, not {len(key)}")
    return AESGCM(key)


def new_key() -> bytes:
    """Return a fresh random 256-bit key."""
    return os.urandom(KEY_SIZE)


def key_check(key: bytes) -> str:
    """Return a public 128-bit fingerprint of a data key (HMAC-SHA-256, 32 hex digits).

    It tells whether two sealed copies hold the same key without revealing the key.
    """
    return hmac.new(key, b"eakte key check v1", hashlib.sha256).hexdigest()[:32]


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= _MAX_SEGMENTS:
        raise ValueError("blob too large for the segment counter")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _final_aad(header: bytes, sha256: str, size: int) -> bytes:
    return header + bytes.fromhex(sha256) + size.to_bytes(8, "big")


def plaintext_size(file_size: int, *, segment_shift: int = SEGMENT_SHIFT) -> int:
    """Return the plaintext length of an encrypted blob file of ``file_size`` bytes.

    Raises:
        ValueError: no valid file has this length.
    """
    body = file_size - HEADER_SIZE
    block = (1 << segment_shift) + TAG_SIZE
    if body < TAG_SIZE:
        raise ValueError(f"{file_size} bytes is too short for an encrypted blob")
    segments = -(-body // block)
    size = body - segments * TAG_SIZE
    if segments > 1 and body - (segments - 1) * block <= TAG_SIZE:
        raise ValueError(f"{file_size} bytes cannot be an encrypted blob (empty last segment)")
    return size


class StreamEncryptor:
    """Encrypt one blob incrementally: ``header``, then ``update`` chunks, then ``finalize``.

    Memory stays at one segment plus the chunk being processed. The caller hashes the
    plaintext (it needs the address anyway) and hands the digest to :meth:`finalize`.

    Args:
        key: the blob's 32-byte data key.
        segment_shift: log2 of the plaintext bytes per segment.
    """

    def __init__(self, key: bytes, *, segment_shift: int = SEGMENT_SHIFT) -> None:
        if not _MIN_SHIFT <= segment_shift <= _MAX_SHIFT:
            raise ValueError(f"segment_shift must be {_MIN_SHIFT}…{_MAX_SHIFT}")
        self._aead = _aead(key)
        self._segment = 1 << segment_shift
        self._prefix = os.urandom(_PREFIX_SIZE)
        #: The file header; write it before the first segment.
        self.header: Final = MAGIC + bytes((FORMAT_VERSION, segment_shift)) + self._prefix
        self._pending = b""
        self._index = 0
        self._done = False

    def update(self, data: bytes) -> list[bytes]:
        """Add plaintext; return the ciphertext of every segment now known not to be last."""
        if self._done:
            raise ValueError("finalize() was called already")
        buffer = self._pending + data if self._pending else bytes(data)
        view = memoryview(buffer)
        out: list[bytes] = []
        pos = 0
        # keep at least one byte back: only the end of the stream says which segment is last
        while len(buffer) - pos > self._segment:
            nonce = _nonce(self._prefix, self._index, False)
            out.append(self._aead.encrypt(nonce, view[pos:pos + self._segment], self.header))
            pos += self._segment
            self._index += 1
        self._pending = bytes(view[pos:])
        return out

    def finalize(self, sha256: str, size: int) -> bytes:
        """Return the final segment, authenticated with the plaintext's address and length.

        Args:
            sha256: hex SHA-256 of all plaintext given to :meth:`update`.
            size: its length in bytes.
        """
        self._done = True
        nonce = _nonce(self._prefix, self._index, True)
        return self._aead.encrypt(nonce, self._pending, _final_aad(self.header, sha256, size))


def _read_exact(raw: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, or fewer only at the end of the stream."""
    parts: list[bytes] = []
    missing = size
    while missing:
        chunk = raw.read(missing)
        if not chunk:
            break
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


def _damaged(sha256: str, where: str, why: str) -> IntegrityError:
    return IntegrityError(
        f"blob {sha256} is damaged: {where} {why}; the encrypted file was altered, cut off or "
        "swapped. Run 'eakte verify' and restore the file from a backup",
        [Problem(ProblemKind.BLOB_CORRUPT, f"blob {sha256}", f"{where} {why}")],
    )


def _parse_header(header: bytes, sha256: str) -> int:
    """Return the segment shift of a header, or raise IntegrityError."""
    if len(header) < HEADER_SIZE or header[:8] != MAGIC:
        raise _damaged(sha256, "the file", "is not an eakte encrypted blob (bad header)")
    if header[8] != FORMAT_VERSION:
        raise _damaged(sha256, "the file", f"has the unknown format version {header[8]}")
    shift = header[9]
    if not _MIN_SHIFT <= shift <= _MAX_SHIFT:
        raise _damaged(sha256, "the file", f"has an invalid segment size 2**{shift}")
    return shift


class DecryptingReader(io.RawIOBase):
    """Decrypt an encrypted blob while it is read; every segment is checked before use.

    A segment that fails authentication raises :class:`~eakte.errors.IntegrityError`
    naming the segment, before any of its bytes are handed out. Bytes of earlier segments
    have been handed out by then, so consumers publish content only after a clean end of
    stream (the same rule as for :class:`~eakte.storage.verifying.VerifyingReader`). The
    final segment authenticates the address, so a clean end of stream proves that the
    plaintext is exactly the blob ``sha256``.

    Args:
        raw: the encrypted file, positioned at its start; closed with the reader.
        key: the blob's data key.
        sha256: the blob's address.
    """

    def __init__(self, raw: BinaryIO, key: bytes, sha256: str) -> None:
        self._raw = raw
        self._sha256 = sha256
        try:
            self._header = _read_exact(raw, HEADER_SIZE)
            shift = _parse_header(self._header, sha256)
            self._aead = _aead(key)
            self._segment = 1 << shift
            self._block = self._segment + TAG_SIZE
            self._next = self._read(self._block)
        except BaseException:
            raw.close()
            raise
        self._prefix = self._header[10:HEADER_SIZE]
        self._index = 0
        self._size = 0
        self._buffer = memoryview(b"")
        self._done = False

    def _read(self, size: int) -> bytes:
        try:
            return _read_exact(self._raw, size)
        except OSError as exc:
            raise StorageError(f"cannot read blob {self._sha256}: {exc}") from exc

    def readable(self) -> bool:
        """Return True: this stream is for reading."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read plaintext into ``buffer``; 0 at the end of the blob.

        Raises:
            IntegrityError: a segment fails authentication (altered, reordered, cut off).
            StorageError: the underlying read failed.
        """
        while not self._buffer and not self._done:
            self._advance()
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def _advance(self) -> None:
        from cryptography.exceptions import InvalidTag

        current = self._next
        if len(current) == self._block:
            self._next = self._read(self._block)
            last = not self._next
        else:
            self._next = b""
            last = True
        where = f"segment {self._index} (from plaintext byte {self._index * self._segment})"
        if len(current) < TAG_SIZE:
            raise _damaged(self._sha256, where, "is cut off")
        if last:
            aad = _final_aad(self._header, self._sha256, self._size + len(current) - TAG_SIZE)
        else:
            aad = self._header
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._index, last), current, aad)
        except InvalidTag:
            why = ("fails authentication" if not last else
                   "fails authentication (as the last segment: altered, cut off, or not "
                   "this blob's content)")
            raise _damaged(self._sha256, where, why) from None
        self._index += 1
        self._size += len(plain)
        self._done = last
        self._buffer = memoryview(plain)

    def close(self) -> None:
        """Close the underlying file."""
        try:
            self._raw.close()
        finally:
            super().close()


def decrypts_with(raw: BinaryIO, key: bytes, sha256: str) -> bool:
    """Tell whether the encrypted file ``raw`` starts with a segment that ``key`` opens.

    Reads the header and at most two segments; a file encrypted under another key, or
    not an encrypted blob at all, gives False. ``raw`` is closed.

    Raises:
        StorageError: the file cannot be read.
    """
    try:
        reader = DecryptingReader(raw, key, sha256)
    except IntegrityError:
        return False
    with reader:
        try:
            reader.read(1)  # decrypts (and authenticates) the first segment
        except IntegrityError:
            return False
    return True


def seal(key: bytes, secret: bytes, context: bytes) -> bytes:
    """Encrypt a small ``secret`` (a key) under ``key``, bound to ``context``."""
    nonce = os.urandom(_SEAL_NONCE)
    return _SEAL_VERSION + nonce + _aead(key).encrypt(nonce, secret, context)


def unseal(key: bytes, sealed: bytes, context: bytes) -> bytes | None:
    """Return the secret sealed by :func:`seal`, or None if ``key`` or ``context`` differ.

    Damaged bytes also give None.
    """
    from cryptography.exceptions import InvalidTag

    if len(sealed) < 1 + _SEAL_NONCE + TAG_SIZE or sealed[:1] != _SEAL_VERSION:
        return None
    nonce = sealed[1:1 + _SEAL_NONCE]
    try:
        return _aead(key).decrypt(nonce, sealed[1 + _SEAL_NONCE:], context)
    except InvalidTag:
        return None
