"""A reader that checks a blob's SHA-256 while it is read and refuses damaged content."""

from __future__ import annotations

import hashlib
import io
from typing import BinaryIO

from eakte.audit.problems import ProblemKind
from eakte.errors import IntegrityError, Problem, StorageError

__all__ = ["VerifyingReader"]


class VerifyingReader(io.RawIOBase):
    """Wrap a blob stream; raise :class:`IntegrityError` at its end if the bytes are damaged.

    Every byte handed out is hashed; when the underlying stream is exhausted the digest and
    length are compared with the blob's address and recorded size. A consumer that writes
    to a temporary file and renames it only after a clean end of stream therefore never
    publishes corrupted content. OS errors while reading become :class:`StorageError`.
    """

    def __init__(self, raw: BinaryIO, sha256: str, size: int | None = None) -> None:
        self._raw = raw
        self._sha256 = sha256
        self._size = size
        self._digest = hashlib.sha256()
        self._read = 0
        self._checked = False

    def readable(self) -> bool:
        """Return True: this stream is for reading."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read into ``buffer``; at the end of the stream check the hash.

        Raises:
            IntegrityError: the content does not match its address (at the end).
            StorageError: the underlying read failed.
        """
        try:
            data = self._raw.read(len(buffer))
        except OSError as exc:
            raise StorageError(f"cannot read blob {self._sha256}: {exc}") from exc
        n = len(data)
        if n:
            buffer[:n] = data
            self._digest.update(data)
            self._read += n
        elif not self._checked:
            self._checked = True
            self._check()
        return n

    def _check(self) -> None:
        actual = self._digest.hexdigest()
        if actual != self._sha256 or (self._size is not None and self._read != self._size):
            raise IntegrityError(
                f"blob {self._sha256} is damaged: its content hashes to {actual} "
                f"({self._read} bytes); run 'eakte verify' and restore it from a backup",
                [Problem(ProblemKind.BLOB_CORRUPT, f"blob {self._sha256}",
                         "content does not match its SHA-256")],
            )

    def close(self) -> None:
        """Close the underlying blob stream."""
        try:
            self._raw.close()
        finally:
            super().close()
