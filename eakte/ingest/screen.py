"""Refuse content at filing time whose mere processing could hurt the system.

Two kinds of files are judged before anything is written, because every later reader of
them (text extraction, exports, other tools of the agency) would be at risk:

- ZIP containers (DOCX, ODT, plain ZIP): by their central directory, without inflating
  anything: too many members, a declared total size or a single member's compression ratio
  of a zip bomb, absolute or traversing member names, NUL bytes in names.
- XML and HTML, also the XML parts of office containers: a document type declaration that
  declares entities (billion laughs, external entities) or refers to an external DTD (HTML
  may name a public W3C DTD, which is never fetched).

Other damaged content (a corrupt or encrypted PDF, undecodable text) is harmless to store:
it is filed, and its text extraction records the problem.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
import zlib
from typing import BinaryIO

from eakte.errors import UnsafeContent
from eakte.ingest._markup import xml_charset
from eakte.ingest.limits import ExtractLimits, check_zip

__all__ = ["needs_screening", "screen_content"]

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_MARKUP = ("text/xml", "application/xml", "text/html", "application/xhtml+xml",
           "image/svg+xml")
_PROLOG_BYTES = 64 * 1024
_XML_PARTS = (".xml", ".rels")
_MAX_XML_PARTS = 1000
_SPOOL_IN_MEMORY = 8 * 1024 * 1024
_DOCTYPE = re.compile(r"<!DOCTYPE\s+[^\s>\[]+(?P<external>\s+(?:SYSTEM|PUBLIC)\b)?",
                      re.IGNORECASE)


def _is_markup(mime: str) -> bool:
    base = mime.split(";", 1)[0].strip().lower()
    return base in _MARKUP or base.endswith("+xml")


def needs_screening(head: bytes, mime: str) -> bool:
    """Return whether content starting with ``head`` (sniffed as ``mime``) is screened."""
    return head.startswith(_ZIP_MAGIC) or _is_markup(mime)


def _screen_markup(prolog: bytes, mime: str, name: str) -> None:
    text = prolog.decode(xml_charset(prolog), errors="replace")
    doctype = _DOCTYPE.search(text)
    if doctype is None:
        return
    if "<!ENTITY" in text[doctype.start():]:
        raise UnsafeContent(
            f"{name!r} declares XML entities in its document type declaration (entity "
            "expansion or external entities); refusing to file it"
        )
    is_html = mime.split(";", 1)[0].strip().lower() in ("text/html", "application/xhtml+xml")
    external = doctype.group("external")
    # HTML may name the W3C's public DTDs (never fetched); everything else is refused
    if external and not (is_html and external.strip().upper() == "PUBLIC"):
        raise UnsafeContent(
            f"{name!r} refers to an external DTD in its document type declaration; "
            "refusing to file it"
        )


def _screen_members(archive: zipfile.ZipFile) -> None:
    """Check the prolog of every XML part of an office container (DOCX, ODT, …).

    Only the first 64 KiB of each part are inflated, after :func:`check_zip` has bounded
    the parts' sizes and ratios.
    """
    for info in archive.infolist()[:_MAX_XML_PARTS]:
        if info.is_dir() or not info.filename.lower().endswith(_XML_PARTS):
            continue
        try:
            with archive.open(info) as part:
                prolog = part.read(_PROLOG_BYTES)
        except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError,
                ValueError, OSError, EOFError):
            continue  # damaged or encrypted part: stored as it is, never parsed
        _screen_markup(prolog, "application/xml", info.filename)


def screen_content(head: bytes, stream: BinaryIO, mime: str, *, name: str,
                   max_size: int | None, limits: ExtractLimits | None = None) -> BinaryIO:
    """Judge content that :func:`needs_screening`; return a stream of all of it.

    ``stream`` must yield the content from its start (``head`` included). It is spooled (in
    memory up to 8 MiB, then to a temporary file) so that a ZIP's central directory and an
    XML prolog can be read; the returned stream reads the spool from its start.

    Raises:
        UnsafeContent: a zip bomb, hostile member names, XML entity declarations or an
            external DTD; or the content is larger than ``max_size``.
    """
    limits = limits or ExtractLimits()
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)
    try:
        size = 0
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if max_size is not None and size > max_size:
                raise UnsafeContent(f"{name!r} is larger than the limit of {max_size} bytes")
            spool.write(chunk)
        spool.seek(0)
        if head.startswith(_ZIP_MAGIC):
            try:
                with zipfile.ZipFile(spool) as archive:
                    check_zip(archive, limits)
                    _screen_members(archive)
            except UnsafeContent as exc:
                raise UnsafeContent(f"{name!r}: {exc}") from exc
            except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError):
                pass  # not a readable ZIP after all: stored as it is, extraction records it
        else:
            _screen_markup(spool.read(_PROLOG_BYTES), mime, name)
        spool.seek(0)
        return spool  # type: ignore[return-value]
    except BaseException:
        spool.close()
        raise
