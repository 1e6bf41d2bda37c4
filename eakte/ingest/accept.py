"""The one way content enters the store: sniff, check claims, screen, then write the blob.

Filing, new versions, renditions, xdomea takeover and adapters all pass their bytes through
:func:`accept_stream`, so every door applies the same rules: no empty files, no disguised
executables, no zip bombs or XML entity attacks, nothing over the size limit.

Example:
    >>> import io
    >>> from eakte.storage.memory import MemoryBlobStore
    >>> accepted = accept_stream(io.BytesIO(b"Antrag"), "antrag.txt", MemoryBlobStore(),
    ...                          max_size=1024)
    >>> accepted.mime, accepted.size
    ('text/plain', 6)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import BinaryIO

from eakte.errors import InvalidInput
from eakte.ingest.claims import check_claims
from eakte.ingest.mime import SNIFF_BYTES, detect_mime
from eakte.ingest.screen import needs_screening, screen_content
from eakte.ingest.source import ChainedReader
from eakte.storage.base import BlobStore

__all__ = ["Accepted", "accept_stream"]


@dataclass(frozen=True)
class Accepted:
    """Content written to the blob store, with what was learnt about it on the way."""

    sha256: str
    size: int
    mime: str
    filename: str
    #: False when the blob was stored already (deduplicated): the commit must check that
    #: no concurrent disposal deleted it meanwhile.
    created: bool
    #: Harmless mismatches between sniffed type, file name and claimed type, for the audit.
    mime_notes: dict[str, str] = field(default_factory=dict)


def accept_stream(
    stream: BinaryIO,
    filename: str,
    blobs: BlobStore,
    *,
    max_size: int,
    claimed_mime: str | None = None,
    allow_empty: bool = False,
) -> Accepted:
    """Check ``stream`` and write it to ``blobs``; return what was stored.

    The MIME type is sniffed from the first bytes and checked against ``filename`` and
    ``claimed_mime`` (:mod:`eakte.ingest.claims`): a dangerous mismatch is refused before
    anything is written. Archives and XML are screened while they stream
    (:mod:`eakte.ingest.screen`).

    Raises:
        InvalidInput: the content is empty (unless ``allow_empty``).
        UnsafeContent: a disguised executable, a zip bomb, an XML entity attack, or more
            than ``max_size`` bytes.
        OSError: reading ``stream`` failed (callers say which file it was).
    """
    head = stream.read(SNIFF_BYTES)
    if not head and not allow_empty:
        raise InvalidInput(f"{filename!r} is empty; refusing to file it")
    mime = detect_mime(head)
    claims = check_claims(mime, filename=filename, claimed_mime=claimed_mime, head=head)
    claims.refuse_if_dangerous()
    content: BinaryIO = ChainedReader(head, stream)  # type: ignore[assignment]
    with contextlib.ExitStack() as cleanup:
        if needs_screening(head, mime):
            content = cleanup.enter_context(
                screen_content(head, content, mime, name=filename, max_size=max_size))
        info = blobs.put(content, max_size=max_size)
    return Accepted(info.sha256, info.size, mime, filename, info.created,
                    claims.audit_details())
