"""Reading the content of a version or rendition (every read is audited)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import select

from eakte.audit.events import Action
from eakte.errors import NotFoundError
from eakte.model import Document, Rendition
from eakte.ops.versions import get_version
from eakte.storage.verifying import VerifyingReader

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = ["open_content", "read_content"]


def open_content(
    uow: UnitOfWork, document: Document, *, version: int | None = None,
    rendition: str | None = None,
) -> BinaryIO:
    """Open the bytes of a version (or one of its renditions) for reading.

    The read is recorded in the audit log. The stream checks the content's SHA-256 as it
    is read and raises :class:`~eakte.errors.IntegrityError` at its end if the stored
    bytes are damaged, so write to a temporary file and publish it only afterwards.

    Raises:
        NotFoundError: no such version, rendition or blob.
        StateConflict: the Akte was disposed; its content was deleted.
    """
    ver = get_version(uow, document, version)
    uow.require_content(document)
    sha, what, size = ver.sha256, "original", ver.size
    if rendition and rendition != "original":
        rend = uow.orm.scalars(
            select(Rendition).where(Rendition.version_id == ver.id,
                                    Rendition.kind == rendition)).first()
        if rend is None:
            raise NotFoundError("Rendition", f"{document.id}/{ver.number}/{rendition}")
        sha, what, size = rend.sha256, rendition, rend.size
    stream = VerifyingReader(uow.store.session_blobs(uow.orm).open(sha), sha, size)
    uow.record(Action.CONTENT_READ, "document", document, akte=document.akte_id,
                version=ver.number,
                rendition=what, sha256=sha)
    return io.BufferedReader(stream, buffer_size=1024 * 1024)


def read_content(
    uow: UnitOfWork, document: Document, *, version: int | None = None,
    rendition: str | None = None,
) -> bytes:
    """Return the bytes of a version (audited like :meth:`open_content`).

    Raises:
        NotFoundError: no such version, rendition or blob.
        StateConflict: the Akte was disposed; its content was deleted.
        IntegrityError: the stored bytes do not match the recorded SHA-256.
    """
    with open_content(uow, document, version=version, rendition=rendition) as fh:
        return fh.read()

