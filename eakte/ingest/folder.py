"""Take files from a folder: the one rule for symbolic links and hidden entries, safe opening.

Everything that files what lies in a folder (``eakte add DIR``, the drop-folder adapter)
walks it with :func:`scan_folder` and opens what it found with :func:`open_in_folder`:

- Entries whose name starts with a dot (``.DS_Store``, ``.git/``) are skipped.
- Symbolic links are skipped; with ``follow_symlinks`` they are followed, but only to
  files and folders inside the given folder (resolved and checked), and a folder reached
  twice (a link loop) is walked once.
- Anything that is not a regular file or folder (a FIFO, a socket, a device) is skipped.

Each skipped entry comes back with its reason, for the caller to report. Opening goes
down from the folder one path component at a time with ``O_NOFOLLOW`` (where the system
has it), so a file or folder replaced by a symbolic link after the listing is refused,
not followed.

Example:
    >>> scan = scan_folder("bauantrag")                      # doctest: +SKIP
    >>> [f.relative for f in scan.files]                     # doctest: +SKIP
    ['antrag.pdf', 'plaene/grundriss.pdf']
    >>> scan.summary()                                       # doctest: +SKIP
    'skipped 2: passwd (symlink), .DS_Store (hidden)'
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from eakte.errors import InvalidInput, UnsafeContent

__all__ = [
    "FolderFile",
    "FolderScan",
    "SkippedEntry",
    "open_in_folder",
    "read_in_folder",
    "scan_folder",
    "scan_paths",
    "summarize_skipped",
]

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in must not block the open
_O_BINARY = getattr(os, "O_BINARY", 0)
_DIR_FD = os.open in os.supports_dir_fd and bool(_O_NOFOLLOW)
_SUMMARY_NAMES = 10


@dataclass(frozen=True)
class FolderFile(os.PathLike[str]):
    """A regular file found below a folder, opened safely by :meth:`open`.

    It is a path (``os.fspath`` gives the file's path), so it can be filed like one;
    ``eakte`` opens it through :func:`open_in_folder` and keeps ``relative`` in the
    document's metadata.

    Attributes:
        root: the folder that was walked.
        relative: the file's path below ``root``, with ``/`` separators.
        follow_symlinks: whether links inside ``root`` may be followed to open it.
    """

    root: Path
    relative: str
    follow_symlinks: bool = False

    @property
    def path(self) -> Path:
        """The file's path (``root`` joined with ``relative``)."""
        return self.root.joinpath(*self.relative.split("/"))

    @property
    def name(self) -> str:
        """The file's name (the last component of ``relative``)."""
        return self.relative.rsplit("/", 1)[-1]

    def __fspath__(self) -> str:
        return str(self.path)

    def open(self) -> BinaryIO:
        """Open the file for reading (see :func:`open_in_folder`).

        Raises:
            InvalidInput: it is missing, unreadable or no longer a regular file.
            UnsafeContent: it (or a folder on the way) is now a symbolic link, or one
                that leads outside ``root``.
        """
        return open_in_folder(self.root, self.relative, follow_symlinks=self.follow_symlinks)


@dataclass(frozen=True)
class SkippedEntry:
    """An entry that :func:`scan_folder` left out, and why.

    Attributes:
        relative: its path below the walked folder, with ``/`` separators.
        reason: ``hidden``, ``symlink``, ``symlink outside the folder``, ``broken
            symlink``, ``folder already walked``, ``not a regular file`` or
            ``unreadable: …``.
    """

    relative: str
    reason: str

    def __str__(self) -> str:
        return f"{self.relative} ({self.reason})"


@dataclass
class FolderScan:
    """What :func:`scan_folder` found: the files to take and the entries it skipped."""

    files: list[FolderFile] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)

    def extend(self, other: FolderScan) -> None:
        """Add the files and skipped entries of another scan."""
        self.files.extend(other.files)
        self.skipped.extend(other.skipped)

    def summary(self) -> str | None:
        """Return ``"skipped 2: passwd (symlink), .DS_Store (hidden)"``, or None."""
        return summarize_skipped(self.skipped)


def summarize_skipped(skipped: Sequence[SkippedEntry]) -> str | None:
    """Return ``"skipped 2: passwd (symlink), .DS_Store (hidden)"`` (None: nothing skipped).

    At most ten entries are named; the rest are counted.
    """
    if not skipped:
        return None
    shown = ", ".join(str(s) for s in skipped[:_SUMMARY_NAMES])
    more = len(skipped) - _SUMMARY_NAMES
    return f"skipped {len(skipped)}: {shown}" + (f" and {more} more" if more > 0 else "")


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def scan_folder(folder: str | os.PathLike[str], *, follow_symlinks: bool = False,
                recursive: bool = True) -> FolderScan:
    """List the regular files below ``folder`` by the rule above, sorted, without recursion.

    The files of a folder come before those of its sub-folders (as ``os.walk`` orders
    them). ``folder`` itself is taken as given, even if it is a symbolic link.

    Args:
        folder: the folder to walk.
        follow_symlinks: follow links that stay inside ``folder``.
        recursive: also walk sub-folders (else they are left out without a report).

    Raises:
        InvalidInput: ``folder`` does not exist or is not a folder.
    """
    root = Path(folder)
    try:
        real_root = root.resolve(strict=True)
        root_stat = real_root.stat()
    except (OSError, RuntimeError) as exc:
        raise InvalidInput(f"cannot read folder {str(root)!r}: "
                           f"{getattr(exc, 'strerror', None) or exc}") from exc
    if not stat.S_ISDIR(root_stat.st_mode):
        raise InvalidInput(f"{str(root)!r} is not a folder")
    scan = FolderScan()
    walked = {_identity(root_stat)}
    pending = [""]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(root.joinpath(*current.split("/")) if current else root) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            scan.skipped.append(SkippedEntry(current or ".",
                                             f"unreadable: {exc.strerror or exc}"))
            continue
        folders: list[str] = []
        for entry in entries:
            relative = _join(current, entry.name)
            kind = _classify(entry, real_root, follow_symlinks)
            if kind == "file":
                scan.files.append(FolderFile(root, relative, follow_symlinks))
            elif kind == "folder":
                if not recursive:
                    continue
                try:
                    identity = _identity(os.stat(entry.path))
                except OSError as exc:
                    scan.skipped.append(SkippedEntry(relative,
                                                     f"unreadable: {exc.strerror or exc}"))
                    continue
                if identity in walked:
                    scan.skipped.append(SkippedEntry(relative, "folder already walked"))
                    continue
                walked.add(identity)
                folders.append(relative)
            else:
                scan.skipped.append(SkippedEntry(relative, kind))
        pending.extend(reversed(folders))
    return scan


def scan_paths(paths: Sequence[str | os.PathLike[str]], *, follow_symlinks: bool = False
               ) -> tuple[list[Path | FolderFile], list[SkippedEntry]]:
    """Return what to file for paths named by a user: files as given, folders walked.

    A named file is taken as named (a symbolic link named explicitly is the user's
    choice); a named folder is walked by :func:`scan_folder`, whose skipped entries are
    returned with the folder's name in front.

    Raises:
        InvalidInput: a path does not exist.
    """
    found: list[Path | FolderFile] = []
    skipped: list[SkippedEntry] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            scan = scan_folder(path, follow_symlinks=follow_symlinks)
            found.extend(scan.files)
            skipped.extend(scan.skipped)
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise InvalidInput(f"{str(path)!r} does not exist")
    return found, skipped


def _classify(entry: os.DirEntry[str], real_root: Path, follow_symlinks: bool) -> str:
    """Return ``file``, ``folder`` or the reason to skip ``entry``."""
    if entry.name.startswith("."):
        return "hidden"
    try:
        if entry.is_symlink():
            if not follow_symlinks:
                return "symlink"
            try:
                target = Path(entry.path).resolve(strict=True)
            except (OSError, RuntimeError):  # RuntimeError: a loop on older Pythons
                return "broken symlink"
            if not target.is_relative_to(real_root):
                return "symlink outside the folder"
            mode = target.stat().st_mode
        else:
            mode = entry.stat(follow_symlinks=False).st_mode
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISREG(mode):
        return "file"
    return "not a regular file"


def _parts(relative: str) -> list[str]:
    parts = relative.split("/")
    if not relative or any(p in ("", ".", "..") for p in parts) or "\x00" in relative:
        raise InvalidInput(f"{relative!r} is not a path below the folder")
    return parts


def _is_link(part: str, directory: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(part, dir_fd=directory).st_mode)
    except OSError:
        return False


def _refused(relative: str, exc: OSError, part: str | None = None,
             directory: int | None = None) -> InvalidInput:
    # ELOOP: a link met O_NOFOLLOW (EMLINK on BSDs); with O_DIRECTORY Linux says ENOTDIR
    link = exc.errno in (errno.ELOOP, errno.EMLINK) or (
        exc.errno == errno.ENOTDIR and part is not None and directory is not None
        and _is_link(part, directory))
    if link:
        return UnsafeContent(f"{relative!r} is (or lies below) a symbolic link; it was not "
                             "read (was it replaced after the folder was listed?)")
    return InvalidInput(f"cannot read {relative!r}: {exc.strerror or exc}")


def open_in_folder(root: str | os.PathLike[str], relative: str, *,
                   follow_symlinks: bool = False) -> BinaryIO:
    """Open the regular file ``relative`` below ``root`` without following links out of it.

    Without ``follow_symlinks`` no component of ``relative`` may be a symbolic link; each
    is opened with ``O_NOFOLLOW`` relative to its parent, so a link swapped in after the
    listing is refused. With it, the path is resolved first, must stay inside ``root``,
    and the resolved path is then opened the same way.

    Raises:
        InvalidInput: missing, unreadable, not a regular file, or not a path below root.
        UnsafeContent: a symbolic link on the way (without ``follow_symlinks``), or a
            link that leads outside ``root``.
    """
    try:
        real_root = Path(root).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise InvalidInput(f"cannot read folder {str(root)!r}: {exc}") from exc
    parts = _parts(relative)
    if follow_symlinks:
        try:
            target = real_root.joinpath(*parts).resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise InvalidInput(f"cannot read {relative!r}: "
                               f"{getattr(exc, 'strerror', None) or exc}") from exc
        if not target.is_relative_to(real_root) or target == real_root:
            raise UnsafeContent(f"{relative!r} is a symbolic link to outside the folder; "
                                "it was not read")
        parts = list(PurePosixPath(target.relative_to(real_root).as_posix()).parts)
    fd = _open_below(real_root, parts, relative)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput(f"{relative!r} is not a regular file")
        if _O_NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_below(real_root: Path, parts: list[str], relative: str) -> int:
    flags = os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY
    if not _DIR_FD:  # no openat: check each component, then open by path
        current = real_root
        for part in parts:
            current = current / part
            if current.is_symlink():
                raise UnsafeContent(f"{relative!r} is (or lies below) a symbolic link; it "
                                    "was not read")
        try:
            return os.open(current, flags | _O_NONBLOCK)
        except OSError as exc:
            raise _refused(relative, exc) from exc
    try:
        directory = os.open(real_root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    except OSError as exc:
        raise InvalidInput(f"cannot read folder {str(real_root)!r}: "
                           f"{exc.strerror or exc}") from exc
    try:
        for part in parts[:-1]:
            try:
                below = os.open(part, flags | _O_DIRECTORY, dir_fd=directory)
            except OSError as exc:
                raise _refused(relative, exc, part, directory) from exc
            os.close(directory)
            directory = below
        try:
            return os.open(parts[-1], flags | _O_NONBLOCK, dir_fd=directory)
        except OSError as exc:
            raise _refused(relative, exc) from exc
    finally:
        os.close(directory)


def read_in_folder(root: str | os.PathLike[str], relative: str, *, limit: int,
                   follow_symlinks: bool = False) -> bytes:
    """Read the whole file ``relative`` below ``root`` (as :func:`open_in_folder` opens it).

    Raises:
        InvalidInput: missing, unreadable or not a regular file.
        UnsafeContent: a symbolic link on the way, or larger than ``limit`` bytes.
    """
    from eakte.ingest.limits import read_bounded

    with open_in_folder(root, relative, follow_symlinks=follow_symlinks) as fh:
        try:
            return read_bounded(fh, limit, what=repr(relative))
        except OSError as exc:
            raise InvalidInput(f"cannot read {relative!r}: {exc.strerror or exc}") from exc
