"""Extract searchable text from PDF, plain text, HTML, XML, e-mail, DOCX and ODT.

Usage::

    result = extract_text(pdf_bytes, "application/pdf", filename="Bauantrag.pdf")
    if result.status == "needs_ocr": ...

One bad file never fails a batch: a damaged, encrypted or truncated file, and by default
also unsafe content (zip bomb, XML with a DTD or entities, traversal names, input over the
size limits), comes back with ``status="failed"`` and the reason in ``problems``; unsafe
reasons start with ``"unsafe: "``. Callers that would rather refuse such a file pass
``strict=True`` and get :class:`~eakte.errors.UnsafeContent` instead. Only programmer
errors (a non-bytes ``data``) and ``MemoryError`` propagate otherwise: an unexpected
exception from a parser is recorded as the file's problem rather than ending the batch.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import BinaryIO

from eakte.errors import UnsafeContent
from eakte.ingest._draft import Draft, DraftPart, ExtractionFailed, TextFull
from eakte.ingest._email import extract_eml
from eakte.ingest._markup import extract_html, extract_xml
from eakte.ingest._office import container_kind, extract_docx, extract_odt
from eakte.ingest._pdf import extract_pdf
from eakte.ingest.charset import decode_text
from eakte.ingest.limits import ExtractLimits, read_bounded

__all__ = [
    "ExtractedPart",
    "Extraction",
    "ExtractionStatus",
    "extract_text",
    "supported_mime",
]


class ExtractionStatus(StrEnum):
    """Outcome of extracting one file (compares equal to its string value)."""

    OK = "ok"
    """Text was extracted (``problems`` may still list minor issues)."""
    NEEDS_OCR = "needs_ocr"
    """A PDF without a text layer (a scan): only OCR can find its text."""
    UNSUPPORTED = "unsupported"
    """No extractor for this MIME type; the file is stored without text."""
    FAILED = "failed"
    """Damaged, encrypted or unsafe content; ``problems`` says why."""


@dataclass(frozen=True)
class ExtractedPart:
    """The text of one e-mail attachment.

    Attributes:
        filename: the attachment's file name (``"outer.eml/inner.pdf"`` when nested).
        mime: the MIME type the text was extracted as.
        text: the extracted text.
        status: the attachment's own outcome.
        problems: the attachment's own problems.
    """

    filename: str | None
    mime: str
    text: str
    status: ExtractionStatus = ExtractionStatus.OK
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Extraction:
    """The outcome of :func:`extract_text`.

    Attributes:
        text: the extracted text (NFC); for e-mail the headers and body. A failed file
            keeps whatever text was read before the failure.
        status: ``"ok"``, ``"needs_ocr"``, ``"unsupported"`` or ``"failed"``.
        problems: readable findings; unsafe content is reported as ``"unsafe: …"``.
        parts: e-mail attachments with their own text, nested ones flattened.
        charset: the character set the text was decoded from, where that applies.
    """

    text: str
    status: ExtractionStatus
    problems: list[str] = field(default_factory=list)
    parts: list[ExtractedPart] = field(default_factory=list)
    charset: str | None = None

    @property
    def full_text(self) -> str:
        """The text followed by every part's text: what a search index should see."""
        return "\n\n".join([self.text, *(part.text for part in self.parts if part.text)])


_DOCX_MIMES = (
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    "application/vnd.ms-word.document.macroenabled.12",
    "application/vnd.ms-word.template.macroenabled.12",
)
_ODT_MIMES = ("application/vnd.oasis.opendocument.text",
              "application/vnd.oasis.opendocument.text-template")
_KIND_BY_MIME: dict[str, str] = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/xml": "xml",
    "text/xml": "xml",
    "message/rfc822": "eml",
    "application/json": "text",
    **dict.fromkeys(_DOCX_MIMES, "docx"),
    **dict.fromkeys(_ODT_MIMES, "odt"),
}
_KIND_BY_EXTENSION: dict[str, str] = {
    "pdf": "pdf", "txt": "text", "text": "text", "csv": "text", "tsv": "text", "md": "text",
    "log": "text", "json": "text", "htm": "html", "html": "html", "xhtml": "html",
    "xml": "xml", "eml": "eml", "docx": "docx", "docm": "docx", "dotx": "docx",
    "odt": "odt", "ott": "odt",
}  # fmt: skip
_CANONICAL_MIME = {
    "pdf": "application/pdf", "text": "text/plain", "html": "text/html",
    "xml": "application/xml", "eml": "message/rfc822", "docx": _DOCX_MIMES[0],
    "odt": _ODT_MIMES[0],
}  # fmt: skip
#: MIME types that say nothing about the content: decide by file name, then by content.
_GENERIC = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/zip",
                      "application/x-zip-compressed", "application/unknown"})
#: text/* types that are not plain text to read.
_NOT_PLAIN = frozenset({"text/rtf", "text/richtext", "text/calendar", "text/vcard",
                        "text/x-vcard"})
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def _split_mime(mime: str) -> tuple[str, str | None]:
    base, _, params = mime.partition(";")
    match = _CHARSET_PARAM.search(params)
    return base.strip().lower(), match.group(1) if match else None


def _kind_of_mime(base: str) -> str | None:
    kind = _KIND_BY_MIME.get(base)
    if kind is None and base.endswith("+xml"):
        kind = "xml"
    if kind is None and base.startswith("text/") and base not in _NOT_PLAIN:
        kind = "text"
    return kind


def _resolve(data: bytes, base: str, filename: str | None) -> tuple[str | None, str]:
    """Return ``(kind, mime)``: the extractor to use and the MIME type it stands for."""
    if base not in _GENERIC:
        return _kind_of_mime(base), base
    extension = (filename or "").rpartition(".")[2].lower() if "." in (filename or "") else ""
    kind = _KIND_BY_EXTENSION.get(extension)
    if kind is None and data.startswith(b"%PDF-"):
        kind = "pdf"
    elif kind is None and data.startswith(b"PK\x03\x04"):
        kind = container_kind(data)
    return kind, _CANONICAL_MIME[kind] if kind else (base or "application/octet-stream")


def supported_mime(mime: str) -> bool:
    """Tell whether :func:`extract_text` has an extractor for this MIME type."""
    return _kind_of_mime(_split_mime(mime)[0]) is not None


def _finish_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\x00", ""))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _run(kind: str, data: bytes, draft: Draft, charset: str | None, depth: int,
         strict: bool) -> None:
    if kind == "pdf":
        extract_pdf(data, draft)
    elif kind == "text":
        text, draft.charset = decode_text(data, charset)
        draft.add(text.replace("\r\n", "\n"))
    elif kind == "html":
        extract_html(data, draft, charset)
    elif kind == "xml":
        extract_xml(data, draft)
    elif kind == "docx":
        extract_docx(data, draft)
    elif kind == "odt":
        extract_odt(data, draft)
    elif kind == "eml":
        def part(blob: bytes, mime: str, name: str | None, level: int) -> list[DraftPart]:
            return _extract_part(blob, mime, name, draft.limits, strict, level)

        extract_eml(data, draft, depth, part)
    else:  # pragma: no cover - every kind above is handled
        raise AssertionError(kind)


def _extract(
    data: bytes, mime: str, filename: str | None, limits: ExtractLimits, strict: bool,
    depth: int,
) -> tuple[Extraction, str]:
    base, charset = _split_mime(mime)
    kind, resolved = _resolve(data, base, filename)
    if kind is None:
        problem = f"no text extraction for {resolved}"
        return Extraction("", ExtractionStatus.UNSUPPORTED, [problem]), resolved
    draft = Draft(limits)
    status = ExtractionStatus.OK
    try:
        if len(data) > limits.max_input_bytes:
            raise UnsafeContent(
                f"input of {len(data)} bytes is larger than the limit of "
                f"{limits.max_input_bytes} bytes"
            )
        _run(kind, data, draft, charset, depth, strict)
    except TextFull:
        pass
    except UnsafeContent as exc:
        if strict:
            raise
        status = ExtractionStatus.FAILED
        draft.problems.append(f"unsafe: {exc}")
    except ExtractionFailed as exc:
        status = ExtractionStatus.FAILED
        draft.problems.append(str(exc))
    except MemoryError:
        raise
    except Exception as exc:  # a parser tripped over a malformed file: one file, one problem
        status = ExtractionStatus.FAILED
        draft.problems.append(f"damaged file: {type(exc).__name__}: {exc}")
    if draft.truncated:
        draft.problems.append(f"text cut off at {limits.max_text_chars} characters")
    if status is ExtractionStatus.OK and draft.needs_ocr:
        status = ExtractionStatus.NEEDS_OCR
    parts = [
        ExtractedPart(p.filename, p.mime, p.text, ExtractionStatus(p.status), p.problems)
        for p in draft.parts
    ]
    result = Extraction(_finish_text(draft.text()), status, draft.problems, parts,
                        draft.charset)
    return result, resolved


def _extract_part(
    data: bytes, mime: str, filename: str | None, limits: ExtractLimits, strict: bool,
    depth: int,
) -> list[DraftPart]:
    if depth > limits.max_nesting:
        problem = f"not read: attachments nested deeper than {limits.max_nesting} levels"
        return [DraftPart(filename, mime, "", ExtractionStatus.FAILED, [problem])]
    result, resolved = _extract(data, mime, filename, limits, strict, depth)
    prefix = f"{filename or '(unnamed)'}/"
    return [
        DraftPart(filename, resolved, result.text, result.status, result.problems),
        *(
            DraftPart(prefix + (p.filename or "(unnamed)"), p.mime, p.text, p.status,
                      p.problems)
            for p in result.parts
        ),
    ]


def extract_text(
    data: bytes | bytearray | memoryview | BinaryIO,
    mime: str,
    *,
    filename: str | None = None,
    limits: ExtractLimits | None = None,
    strict: bool = False,
) -> Extraction:
    """Extract the searchable text of one file.

    Args:
        data: the file's bytes, or a readable binary stream (read up to the size limit).
        mime: its MIME type, optionally with a ``charset`` parameter. Generic types
            (``application/octet-stream``, ``application/zip``) are resolved by the file
            name's extension, then by content (``%PDF-``, DOCX/ODT containers).
        filename: the original file name, used to resolve generic MIME types.
        limits: caps on size, pages, archive members and nesting; defaults suit office use.
        strict: raise :class:`~eakte.errors.UnsafeContent` for unsafe content instead of
            returning ``status="failed"``.

    Returns:
        The text, status, problems, e-mail attachments and charset. Never raises for a
        damaged file of a supported type.

    Raises:
        UnsafeContent: only with ``strict=True``: zip bomb, XML with a DTD or entities,
            traversal names in a container, a PDF bomb, or input larger than the limits.
        TypeError: ``data`` is neither bytes nor a readable binary stream.
    """
    limits = limits or ExtractLimits()
    if isinstance(data, bytes | bytearray | memoryview):
        blob = bytes(data)
    elif hasattr(data, "read"):
        try:
            blob = read_bounded(data, limits.max_input_bytes)
        except UnsafeContent as exc:
            if strict:
                raise
            return Extraction("", ExtractionStatus.FAILED, [f"unsafe: {exc}"])
    else:
        raise TypeError(f"cannot extract text from a {type(data).__name__}; pass bytes "
                        "or a binary stream")
    return _extract(blob, mime, filename, limits, strict, 0)[0]
