"""Guards for untrusted input: size caps, zip bombs, traversal, safe XML, JSON and e-mail.

Everything here raises :class:`~eakte.errors.UnsafeContent` when input crosses a limit, and
never needs to decompress or expand more than the limit to decide: ZIP members are judged
by their central-directory sizes first and then read in bounded chunks (a lying header cannot
make us read more than :attr:`ExtractLimits.max_member_bytes`); XML is parsed by expat with
every document type declaration refused before an entity can be declared, let alone expanded.
JSON is measured for nesting before it is parsed (:func:`load_json`), and e-mail MIME trees
are measured right after parsing (:func:`parse_email`), so no nesting bomb reaches code
that recurses over the structure.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any, BinaryIO, Final, Protocol
from xml.parsers import expat

from eakte.errors import InvalidInput, UnsafeContent

__all__ = [
    "MAX_EMAIL_DEPTH",
    "MAX_JSON_DEPTH",
    "ExtractLimits",
    "XmlHandler",
    "check_zip",
    "email_depth",
    "iter_member",
    "json_depth",
    "load_json",
    "parse_email",
    "parse_xml",
    "read_at_most",
    "read_bounded",
    "unsafe_member_name",
]

#: Deepest nesting of arrays and objects :func:`load_json` accepts.
MAX_JSON_DEPTH: Final = 64
#: Deepest nesting of MIME parts (multiparts and attached messages) in one e-mail.
MAX_EMAIL_DEPTH: Final = 32

_MiB = 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ExtractLimits:
    """Caps applied while extracting text from one file; the defaults suit office documents.

    Attributes:
        max_input_bytes: largest input accepted for extraction at all.
        max_text_chars: extracted text beyond this is cut off (a problem is recorded).
        max_pdf_pages: pages after this are not read (a problem is recorded).
        max_archive_members: most entries a DOCX/ODT container may list.
        max_archive_bytes: most uncompressed bytes all entries may declare together.
        max_member_bytes: most uncompressed bytes read from one entry.
        max_compression_ratio: most uncompressed/compressed ratio of one entry larger than
            ``ratio_floor_bytes`` (XML compresses 5-20x; bombs reach 1000x).
        ratio_floor_bytes: entries up to this size are not ratio-checked.
        max_xml_depth: deepest element nesting accepted in XML.
        max_email_parts: most MIME parts (attachments included) read from one e-mail.
        max_email_depth: deepest nesting of MIME parts in one e-mail.
        max_nesting: deepest nesting of attachments (an e-mail attached to an e-mail …).
    """

    max_input_bytes: int = 256 * _MiB
    max_text_chars: int = 20_000_000
    max_pdf_pages: int = 5_000
    max_archive_members: int = 10_000
    max_archive_bytes: int = 1024 * _MiB
    max_member_bytes: int = 128 * _MiB
    max_compression_ratio: float = 200.0
    ratio_floor_bytes: int = 1 * _MiB
    max_xml_depth: int = 512
    max_email_parts: int = 200
    max_email_depth: int = MAX_EMAIL_DEPTH
    max_nesting: int = 3


def read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """Read up to ``limit`` bytes of ``stream`` in chunks.

    ``stream.read(limit)`` would allocate ``limit`` bytes up front however short the
    stream is (hundreds of MiB for every small file); chunks keep memory to what was read.
    """
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = stream.read(min(_CHUNK * 16, left))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_bounded(stream: BinaryIO, limit: int, *, what: str = "input") -> bytes:
    """Read all of ``stream`` but refuse to hold more than ``limit`` bytes.

    Raises:
        UnsafeContent: the stream is longer than ``limit``.
    """
    data = read_at_most(stream, limit + 1)
    if len(data) > limit:
        raise UnsafeContent(f"{what} is larger than the limit of {limit} bytes")
    return bytes(data)


_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_member_name(name: str) -> str | None:
    """Return why an archive member name is unsafe (absolute, traversal, NUL), else ``None``."""
    if "\x00" in name:
        return "NUL byte in name"
    normal = name.replace("\\", "/")
    if normal.startswith("/") or _DRIVE.match(normal):
        return "absolute path"
    if ".." in normal.split("/"):
        return "path traversal ('..')"
    return None


def check_zip(archive: zipfile.ZipFile, limits: ExtractLimits) -> None:
    """Judge a ZIP container by its central directory, without decompressing anything.

    Raises:
        UnsafeContent: too many members, a traversal name, a zip bomb by declared total
            size or by one member's compression ratio.
    """
    infos = archive.infolist()
    if len(infos) > limits.max_archive_members:
        raise UnsafeContent(
            f"zip bomb: {len(infos)} archive members exceed the limit of "
            f"{limits.max_archive_members}"
        )
    total = 0
    for info in infos:
        # zipfile cuts a name at a NUL byte; the raw name shows what another tool would see
        reason = unsafe_member_name(info.orig_filename) or unsafe_member_name(info.filename)
        if reason:
            raise UnsafeContent(f"unsafe archive member {info.filename!r}: {reason}")
        total += info.file_size
        if total > limits.max_archive_bytes:
            raise UnsafeContent(
                f"zip bomb: archive declares more than {limits.max_archive_bytes} "
                "uncompressed bytes"
            )
        if info.file_size > limits.ratio_floor_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise UnsafeContent(
                    f"zip bomb: member {info.filename!r} expands {ratio:.0f}x "
                    f"(limit {limits.max_compression_ratio:.0f}x)"
                )


def iter_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ExtractLimits
) -> Iterator[bytes]:
    """Yield the decompressed content of one member in chunks, within the limits.

    The declared size is checked first; the running total is checked again while reading,
    so a member whose header lies is stopped at ``max_member_bytes`` or at the ratio limit.

    Raises:
        UnsafeContent: the member is (or turns out to be) larger than allowed.
        zipfile.BadZipFile: the member is corrupt (CRC mismatch, truncated data).
    """
    if info.file_size > limits.max_member_bytes:
        raise UnsafeContent(
            f"archive member {info.filename!r} declares {info.file_size} bytes "
            f"(limit {limits.max_member_bytes})"
        )
    cap = min(
        limits.max_member_bytes,
        max(limits.ratio_floor_bytes,
            int(max(info.compress_size, 1) * limits.max_compression_ratio)),
    )
    seen = 0
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            seen += len(chunk)
            if seen > cap:
                raise UnsafeContent(
                    f"zip bomb: member {info.filename!r} expands beyond {cap} bytes"
                )
            yield chunk


class XmlHandler(Protocol):
    """Receives the events of :func:`parse_xml` (names are ``namespace}local`` or ``local``)."""

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """Called at an element's start tag."""

    def end(self, name: str) -> None:
        """Called at an element's end tag."""

    def data(self, text: str) -> None:
        """Called with character data in document order."""


def _refuse(what: str) -> Callable[..., None]:
    def handler(*_args: object) -> None:
        raise UnsafeContent(f"XML {what} refused (entity expansion and external references)")

    return handler


def _refuse_external(
    context: str, base: str | None, system_id: str | None, public_id: str | None
) -> int:
    raise UnsafeContent(f"XML external entity reference {system_id!r} refused")


def parse_xml(
    chunks: Iterator[bytes] | bytes, handler: XmlHandler, limits: ExtractLimits
) -> None:
    """Stream XML through expat into ``handler``, refusing DTDs, entities and deep nesting.

    Any ``<!DOCTYPE`` is refused at its start, so no entity can be declared, expanded
    (billion laughs) or fetched (XXE). Nothing is resolved over the network or from disk.

    Raises:
        UnsafeContent: a DTD, an entity declaration or nesting deeper than the limit.
        xml.parsers.expat.ExpatError: the XML is not well-formed.
    """
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse("document type declaration (DTD)")
    parser.EntityDeclHandler = _refuse("entity declaration")
    parser.UnparsedEntityDeclHandler = _refuse("unparsed entity declaration")
    parser.ExternalEntityRefHandler = _refuse_external
    depth = 0

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > limits.max_xml_depth:
            raise UnsafeContent(f"XML nested deeper than {limits.max_xml_depth} elements")
        handler.start(name, attrs)

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        handler.end(name)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = handler.data
    source = iter((chunks,)) if isinstance(chunks, bytes) else chunks
    for chunk in source:
        parser.Parse(chunk, False)
    parser.Parse(b"", True)


# -- JSON --------------------------------------------------------------------------------

# A string token, or an unterminated one up to the end (a file still being written): what
# a string holds never counts as nesting.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str, *, stop_at: int | None = None) -> int:
    """Return how deeply arrays and objects nest in the JSON ``text``, without parsing it.

    Runs in one pass without recursion, so it is safe on any input; for malformed text
    it returns the depth of its brackets outside strings. With ``stop_at`` it returns
    as soon as the depth exceeds that value.
    """
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_at is not None and deepest > stop_at:
                    return deepest
        else:
            depth -= 1
    return deepest


def load_json(data: str | bytes, *, what: str = "JSON",
              max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse untrusted JSON, refusing nesting deeper than ``max_depth`` before parsing.

    Bytes must be UTF-8 (a byte order mark is allowed). Python's parser, and everything
    that later walks the result (schema validation, rendering), recurses once per level;
    the depth is therefore measured first, without recursion.

    Args:
        data: the JSON text or its UTF-8 bytes.
        what: names the input in messages, e.g. ``"sidecar x.eakte.json"``.
        max_depth: deepest nesting of arrays and objects accepted.

    Raises:
        UnsafeContent: nested deeper than ``max_depth``.
        InvalidInput: not UTF-8, or not JSON (the message gives the position).
    """
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{what} is not UTF-8: {exc}") from exc
    else:
        text = data
    # fewer brackets in all than the limit cannot nest deeper than it: no scan needed
    if (text.count("[") + text.count("{") > max_depth
            and json_depth(text, stop_at=max_depth) > max_depth):
        raise UnsafeContent(f"{what} nests arrays and objects deeper than {max_depth} "
                            "levels; refusing to parse it")
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or an integer beyond Python's digit limit
        raise InvalidInput(f"{what} is not JSON: {exc}") from exc


# -- e-mail ------------------------------------------------------------------------------


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    if part.is_multipart() and isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def email_depth(message: Message, *, stop_at: int | None = None) -> int:
    """Return how deeply MIME parts nest in ``message`` (1: a single part), iteratively.

    With ``stop_at`` it returns as soon as the depth exceeds that value.
    """
    deepest = 0
    stack: list[tuple[Message, int]] = [(message, 1)]
    while stack:
        part, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if stop_at is not None and deepest > stop_at:
                return deepest
        stack.extend((child, depth + 1) for child in _children(part))
    return deepest


def parse_email(raw: bytes, *, what: str = "e-mail",
                max_depth: int = MAX_EMAIL_DEPTH) -> EmailMessage:
    """Parse an untrusted e-mail, refusing MIME nesting deeper than ``max_depth``.

    Python's e-mail parser and every walk over a message recurse once per level; a
    message nested thousands of levels deep would exhaust the stack. It is refused with
    :class:`~eakte.errors.UnsafeContent` instead, whether the parser itself or the
    measurement after it finds the nesting too deep.

    Raises:
        UnsafeContent: MIME parts nested deeper than ``max_depth``.
    """
    try:
        message = BytesParser(policy=policy.default).parsebytes(bytes(raw))
    except RecursionError as exc:
        raise UnsafeContent(f"{what}: MIME parts nested too deeply to parse (limit "
                            f"{max_depth} levels)") from exc
    depth = email_depth(message, stop_at=max_depth)
    if depth > max_depth:
        raise UnsafeContent(f"{what}: MIME parts nested deeper than {max_depth} levels")
    assert isinstance(message, EmailMessage)  # policy.default makes EmailMessage objects
    return message
