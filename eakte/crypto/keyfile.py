"""Read secret key files (master keys, checkpoint signing keys), warning when others may."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from eakte.errors import EakteError, EakteWarning

__all__ = ["read_key_file"]


def read_key_file(path: Path, what: str, error: type[EakteError]) -> bytes:
    """Read a secret key file, warning if other users may read it.

    Raises:
        EakteError: (of class ``error``) the file cannot be read.
    """
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as exc:
        raise error(f"cannot read the {what} file {str(path)!r}: {exc.strerror or exc}"
                    ) from exc
    if sys.platform != "win32" and mode & 0o077:
        warnings.warn(
            f"{what} {str(path)!r} is accessible by other users "
            f"(mode {mode & 0o777:o}); restrict it with chmod 600",
            EakteWarning,
            stacklevel=4,
        )
    return data
