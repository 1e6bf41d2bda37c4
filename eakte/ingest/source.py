"""Normalise what callers file (bytes, paths, binary streams) into named byte streams."""

from __future__ import annotations

import io
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from eakte.errors import InvalidInput
from eakte.ingest.folder import FolderFile

__all__ = ["ContentSource", "Source", "clean_filename", "open_source"]

#: What callers may file: raw bytes, a filesystem path, or a readable binary stream.
Source = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO

_MAX_FILENAME = 255


def clean_filename(name: str) -> str:
    """Return a safe original file name: last path component, no control characters.

    Hostile names are sanitised, not refused, as long as a name remains: ``../x`` and
    ``a/b`` keep their last component, NUL and other control characters are dropped, a
    name over 255 characters is shortened (keeping its extension). Windows device names
    (``CON``, ``NUL.txt``) are kept as the original name; exports make them safe.

    Raises:
        InvalidInput: nothing usable remains (empty, or only dots).
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if not base.strip("."):  # empty, or only dots ("..", "...": a directory or nothing)
        raise InvalidInput(f"unusable file name {name!r}")
    if len(base) > _MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: _MAX_FILENAME - len(ext) - 1] + dot + ext) if dot else base[:_MAX_FILENAME]
    return base


@dataclass
class ContentSource:
    """A source ready to be read once: its stream, original file name and known size."""

    stream: BinaryIO
    filename: str
    size: int | None
    close: bool

    def __enter__(self) -> ContentSource:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.close:
            self.stream.close()


def open_source(source: Source, *, filename: str | None = None) -> ContentSource:
    """Open ``source`` for reading.

    Args:
        source: bytes, a path, or a readable binary stream; a
            :class:`~eakte.ingest.folder.FolderFile` is opened without following
            symbolic links out of its folder.
        filename: the original file name to record; defaults to the path's name.

    Raises:
        InvalidInput: the path is missing, not a regular file, unreadable or empty.
        UnsafeContent: a folder's file turned out to be a symbolic link.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if not data:
            raise InvalidInput("refusing to file empty content")
        return ContentSource(io.BytesIO(data), clean_filename(filename or "document"),
                             len(data), True)
    if isinstance(source, FolderFile):  # found in a folder: opened without following links
        stream = source.open()
        size = os.fstat(stream.fileno()).st_size
        if size == 0:
            stream.close()
            raise InvalidInput(f"{source.relative!r} is empty; refusing to file an empty "
                               "document")
        return ContentSource(stream, clean_filename(filename or source.name), size, True)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            st = path.stat()
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            raise InvalidInput(
                f"cannot read {str(path)!r}: {getattr(exc, 'strerror', None) or exc}"
            ) from exc
        if not path.is_file():
            raise InvalidInput(f"{str(path)!r} is not a regular file")
        if st.st_size == 0:
            raise InvalidInput(f"{str(path)!r} is empty; refusing to file an empty document")
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise InvalidInput(f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc
        return ContentSource(stream, clean_filename(filename or path.name), st.st_size, True)
    if hasattr(source, "read"):
        name = filename or os.path.basename(str(getattr(source, "name", "") or "")) or "document"
        return ContentSource(source, clean_filename(name), None, False)
    raise TypeError(f"cannot file a {type(source).__name__}; pass bytes, a path or a stream")


class ChainedReader(io.RawIOBase):
    """A readable stream that yields ``head`` and then the rest of ``tail``."""

    def __init__(self, head: bytes, tail: BinaryIO) -> None:
        self._head = memoryview(head)
        self._tail = tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head.nbytes:
            n = min(len(buffer), self._head.nbytes)
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._tail.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n
