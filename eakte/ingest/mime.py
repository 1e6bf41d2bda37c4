"""MIME type detection from content bytes with libmagic (python-magic)."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from eakte.errors import BackendUnavailable

__all__ = ["SNIFF_BYTES", "detect_mime"]

#: How many leading bytes are handed to libmagic.
SNIFF_BYTES = 8192

_lock = threading.Lock()
_PDF_PROBE = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"


@lru_cache(maxsize=1)
def _magic() -> Any:
    try:
        import magic
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise BackendUnavailable(
            "python-magic could not load libmagic; install it (Debian/Ubuntu: "
            "'apt-get install libmagic1', macOS: 'brew install libmagic')"
        ) from exc
    detector = magic.Magic(mime=True)
    probe = detector.from_buffer(_PDF_PROBE)
    if probe != "application/pdf":
        raise BackendUnavailable(
            f"libmagic's database does not recognise a PDF header (got {probe!r}); "
            "install a complete magic database (Debian/Ubuntu: 'apt-get install libmagic-mgc')"
        )
    return detector


def detect_mime(head: bytes) -> str:
    """Return the MIME type libmagic sees in the leading bytes of a file.

    Raises:
        BackendUnavailable: libmagic is missing or its database is broken.
    """
    if not head:
        return "application/x-empty"
    detector = _magic()
    with _lock:  # libmagic handles are not thread-safe
        return str(detector.from_buffer(head[:SNIFF_BYTES]))
