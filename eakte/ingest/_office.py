"""Text from DOCX (WordprocessingML) and ODT (OpenDocument) behind zip-bomb and XML guards."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from xml.parsers.expat import ExpatError

from eakte.errors import UnsafeContent
from eakte.ingest._draft import Draft, ExtractionFailed
from eakte.ingest.limits import XmlHandler, check_zip, iter_member, parse_xml

__all__ = ["container_kind", "extract_docx", "extract_odt"]

_W = ("http://schemas.openxmlformats.org/wordprocessingml/2006/main}",
      "http://purl.oclc.org/ooxml/wordprocessingml/main}")  # transitional, strict
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_ODT_MIMETYPES = (b"application/vnd.oasis.opendocument.text",
                  b"application/vnd.oasis.opendocument.text-template")
#: What zipfile and zlib raise for a damaged member (bad CRC, bad deflate data, bad offsets).
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError)
#: WordprocessingML parts read after the body, in this order (numbered parts sorted).
_DOCX_EXTRA = re.compile(r"^word/(header\d*|footer\d*|footnotes|endnotes|comments)\.xml$")


def _open(data: bytes, draft: Draft) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ExtractionFailed(f"damaged document: not a readable ZIP container ({exc})") from exc
    try:
        check_zip(archive, draft.limits)
    except BaseException:
        archive.close()
        raise
    return archive


def _read_bytes(archive: zipfile.ZipFile, name: str, draft: Draft) -> bytes:
    try:
        return b"".join(iter_member(archive, archive.getinfo(name), draft.limits))
    except UnsafeContent:
        raise
    except _DAMAGED as exc:
        raise ExtractionFailed(f"damaged document: {name} cannot be read ({exc})") from exc


def _read_xml(archive: zipfile.ZipFile, name: str, handler: XmlHandler, draft: Draft) -> None:
    info = archive.getinfo(name)
    if info.flag_bits & 0x1:
        raise ExtractionFailed(f"encrypted document: member {name!r} is password-protected")
    try:
        parse_xml(iter_member(archive, info, draft.limits), handler, draft.limits)
    except UnsafeContent:
        raise  # also a ValueError: must not be mistaken for damage
    except ExpatError as exc:
        raise ExtractionFailed(f"damaged document: {name} is not well-formed XML ({exc})") from exc
    except _DAMAGED as exc:
        raise ExtractionFailed(f"damaged document: {name} cannot be read ({exc})") from exc


def container_kind(data: bytes) -> str | None:
    """Tell a ZIP container apart: ``"docx"``, ``"odt"`` or ``None`` (never raises)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return "docx"
            if "content.xml" in names and "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size <= 100:
                    with archive.open(info) as member:
                        if member.read(101).strip() in _ODT_MIMETYPES:
                            return "odt"
    except _DAMAGED:
        return None
    return None


class _DocxText:
    """Paragraphs of ``w:t`` runs; tabs and breaks kept; deleted text and field codes not."""

    def __init__(self, draft: Draft) -> None:
        self._draft = draft
        self._in_text = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        ns, _, local = name.rpartition("}")
        if ns + "}" not in _W:
            return
        if local == "t":
            self._in_text += 1
        elif local == "tab":
            self._draft.add("\t")
        elif local in {"br", "cr"}:
            self._draft.add("\n")

    def end(self, name: str) -> None:
        ns, _, local = name.rpartition("}")
        if ns + "}" not in _W:
            return
        if local == "t":
            self._in_text -= 1
        elif local == "p":
            self._draft.newline()

    def data(self, text: str) -> None:
        if self._in_text:
            self._draft.add(text)


def extract_docx(data: bytes, draft: Draft) -> None:
    """Extract a DOCX's body, then its headers, footers, foot- and endnotes and comments.

    Raises:
        UnsafeContent: zip bomb, traversal names, DTDs or entities.
        ExtractionFailed: not a DOCX, damaged, or encrypted.
        TextFull: the text limit was reached.
    """
    with _open(data, draft) as archive:
        names = archive.namelist()
        if "word/document.xml" not in names:
            raise ExtractionFailed("not a DOCX document: word/document.xml is missing")
        _read_xml(archive, "word/document.xml", _DocxText(draft), draft)
        for name in sorted(n for n in names if _DOCX_EXTRA.match(n)):
            draft.newline()
            _read_xml(archive, name, _DocxText(draft), draft)
    draft.charset = "utf-8"


class _OdtText:
    """Text of ``text:p``/``text:h`` paragraphs, skipping tracked deletions.

    With ``only_in`` set, text is collected only inside those elements (used for the
    headers and footers in ``styles.xml``).
    """

    def __init__(self, draft: Draft, only_in: frozenset[str] = frozenset()) -> None:
        self._draft = draft
        self._only_in = only_in
        self._inside = 0 if only_in else 1
        self._skip = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name in self._only_in:
            self._inside += 1
        if name == _TEXT + "tracked-changes":
            self._skip += 1
        if not self._inside or self._skip:
            return
        if name == _TEXT + "tab":
            self._draft.add("\t")
        elif name == _TEXT + "line-break":
            self._draft.add("\n")
        elif name == _TEXT + "s":
            count = attrs.get(_TEXT + "c", "1")
            self._draft.add(" " * min(int(count) if count.isdigit() else 1, 1000))

    def end(self, name: str) -> None:
        if name == _TEXT + "tracked-changes":
            self._skip -= 1
        elif self._inside and not self._skip and name in {_TEXT + "p", _TEXT + "h"}:
            self._draft.newline()
        if name in self._only_in:
            self._inside -= 1

    def data(self, text: str) -> None:
        if self._inside and not self._skip:
            self._draft.add(text)


_ODT_HEADERS = frozenset(
    _STYLE + local for local in ("header", "header-left", "footer", "footer-left")
)


def extract_odt(data: bytes, draft: Draft) -> None:
    """Extract an ODT's ``content.xml`` text, then the headers and footers in ``styles.xml``.

    Raises:
        UnsafeContent: zip bomb, traversal names, DTDs or entities.
        ExtractionFailed: not an ODT, damaged, or encrypted.
        TextFull: the text limit was reached.
    """
    with _open(data, draft) as archive:
        names = set(archive.namelist())
        if "content.xml" not in names:
            raise ExtractionFailed("not an OpenDocument text: content.xml is missing")
        if "META-INF/manifest.xml" in names:
            manifest = _read_bytes(archive, "META-INF/manifest.xml", draft)
            if b"encryption-data" in manifest:
                raise ExtractionFailed("encrypted document: the ODT is password-protected")
        _read_xml(archive, "content.xml", _OdtText(draft), draft)
        if "styles.xml" in names:
            draft.newline()
            _read_xml(archive, "styles.xml", _OdtText(draft, _ODT_HEADERS), draft)
    draft.charset = "utf-8"
