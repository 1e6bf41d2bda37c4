"""Compare the MIME type sniffed from content with what its file name and caller claim.

Usage::

    check = check_claims(detect_mime(head), filename="rechnung.pdf", head=head)
    check.refuse_if_dangerous()            # UnsafeContent for a disguised executable
    details = check.audit_details()        # {} on a match, else mime_claimed/mime_mismatch

Three outcomes:

- **match**: the content is what the extension (and an explicit ``mime=``) says, allowing
  the usual aliases: ``.txt``/``.csv``/``.xml``/``.eml`` are any ``text/*``, a ``.docx`` may
  sniff as ``application/zip`` or an OOXML type, an ``.odt`` as ``application/zip``, a
  ``.msg``/``.doc`` as an OLE2 container, ``.jpg``/``.jpeg`` as ``image/jpeg``. A name
  without a known extension and a generic claim (``application/octet-stream``) claim
  nothing and always match.
- **harmless mismatch**: any other difference (a PDF named ``.txt``, a ``.docx`` that is
  HTML): the file is stored and the difference recorded in the audit event.
- **dangerous mismatch**: executable content (a Windows, ELF or Mach-O binary, or a script
  with a ``#!`` line) under a document's name or type, or a claimed PDF that is not a PDF.
  Filing refuses it with :class:`~eakte.errors.UnsafeContent` before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase

from eakte.errors import UnsafeContent

__all__ = ["MimeCheck", "MimeVerdict", "check_claims", "extension_of"]


class MimeVerdict(StrEnum):
    """How the sniffed MIME type relates to the claimed one."""

    MATCH = "match"
    HARMLESS = "harmless"
    DANGEROUS = "dangerous"


@dataclass(frozen=True)
class _Family:
    """A kind of file: its extensions, the MIME types that claim it, those that satisfy it."""

    name: str
    extensions: frozenset[str]
    claims: tuple[str, ...]  # explicit MIME types meaning this family (fnmatch patterns)
    accepts: tuple[str, ...]  # sniffed MIME types that satisfy it (fnmatch patterns)
    executable: bool = False


def _family(name: str, extensions: str, claims: str, accepts: str = "", *,
            executable: bool = False) -> _Family:
    claimed = tuple(claims.split())
    return _Family(name, frozenset(extensions.split()), claimed,
                   claimed + tuple(accepts.split()), executable)


_OLE = "application/x-ole-storage application/CDFV2* application/vnd.ms-office"
_ZIP = "application/zip application/x-zip-compressed"
_TEXTUAL = "text/* application/json application/xml application/*+xml message/rfc822"
#: Libmagic's names for executable binaries.
_BINARIES = (
    "application/x-dosexec", "application/x-msdownload", "application/x-msdos-program",
    "application/vnd.microsoft.portable-executable", "application/x-executable",
    "application/x-pie-executable", "application/x-sharedlib", "application/x-mach-binary",
    "application/x-mach-o-executable", "application/x-elf", "application/x-object",
)
#: Libmagic's names for scripts (it recognises them by their ``#!`` line).
_SCRIPTS = (
    "text/x-shellscript", "text/x-script.*", "text/x-perl", "text/x-python", "text/x-ruby",
    "text/x-msdos-batch", "application/x-shellscript",
)
_FAMILIES: tuple[_Family, ...] = (
    _family("pdf", "pdf", "application/pdf application/x-pdf"),
    _family("text", "txt text csv tsv md log ini cfg conf asc",
            "text/plain text/csv text/tab-separated-values text/markdown application/csv",
            _TEXTUAL),
    _family("json", "json", "application/json", _TEXTUAL),
    _family("xml", "xml xsd xsl xslt gml xdomea", "application/xml text/xml application/*+xml",
            _TEXTUAL),
    _family("html", "htm html xhtml", "text/html application/xhtml+xml", _TEXTUAL),
    _family("email", "eml mbox", "message/rfc822 application/mbox", _TEXTUAL),
    _family("msg", "msg", "application/vnd.ms-outlook", _OLE),
    _family("rtf", "rtf", "text/rtf application/rtf", "text/plain"),
    _family("ooxml", "docx docm dotx dotm xlsx xlsm xltx pptx pptm potx",
            "application/vnd.openxmlformats-officedocument.* application/vnd.ms-word.* "
            "application/vnd.ms-excel.*.12 application/vnd.ms-powerpoint.*.12", _ZIP),
    _family("odf", "odt ott ods ots odp otp odg", "application/vnd.oasis.opendocument.*", _ZIP),
    _family("ole", "doc dot xls xlt ppt pot", "application/msword application/vnd.ms-excel "
            "application/vnd.ms-powerpoint", _OLE),
    _family("zip", "zip", _ZIP, "application/vnd.openxmlformats-officedocument.* "
            "application/vnd.oasis.opendocument.* application/java-archive"),
    _family("gzip", "gz tgz", "application/gzip application/x-gzip"),
    _family("jpeg", "jpg jpeg jpe jfif", "image/jpeg image/pjpeg"),
    _family("png", "png", "image/png"),
    _family("gif", "gif", "image/gif"),
    _family("tiff", "tif tiff", "image/tiff"),
    _family("bmp", "bmp", "image/bmp image/x-ms-bmp"),
    _family("webp", "webp", "image/webp"),
    _family("svg", "svg", "image/svg+xml", _TEXTUAL),
    _family("binary", "exe dll com sys scr cpl msi so dylib elf",
            " ".join(_BINARIES), "application/octet-stream", executable=True),
    _family("script", "sh bash zsh ksh csh py pl rb php js mjs bat cmd ps1 vbs vbe wsf",
            " ".join(_SCRIPTS), "text/* application/javascript application/x-*script*",
            executable=True),
)
_BY_EXTENSION = {ext: family for family in _FAMILIES for ext in family.extensions}
_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
#: The type an extension stands for where its family's first claim is a pattern.
_CANONICAL = {
    "docx": _OOXML + "wordprocessingml.document", "dotx": _OOXML + "wordprocessingml.template",
    "docm": "application/vnd.ms-word.document.macroenabled.12",
    "dotm": "application/vnd.ms-word.template.macroenabled.12",
    "xlsx": _OOXML + "spreadsheetml.sheet", "xltx": _OOXML + "spreadsheetml.template",
    "xlsm": "application/vnd.ms-excel.sheet.macroenabled.12",
    "pptx": _OOXML + "presentationml.presentation", "potx": _OOXML + "presentationml.template",
    "pptm": "application/vnd.ms-powerpoint.presentation.macroenabled.12",
    "odt": _ODF + "text", "ott": _ODF + "text-template", "ods": _ODF + "spreadsheet",
    "ots": _ODF + "spreadsheet-template", "odp": _ODF + "presentation",
    "otp": _ODF + "presentation-template", "odg": _ODF + "graphics",
}  # fmt: skip
#: Claims that say nothing about the content.
_GENERIC = frozenset({"", "application/octet-stream", "binary/octet-stream",
                      "application/unknown", "application/x-unknown", "*/*"})
_PDF_FAMILY = _BY_EXTENSION["pdf"]


def _matches(mime: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(mime, pattern.lower()) for pattern in patterns)


def _base(mime: str | None) -> str:
    return (mime or "").partition(";")[0].strip().lower()


def extension_of(filename: str | None) -> str | None:
    """Return the lower-case extension of a file name without the dot, or None.

    A leading dot alone (``.bashrc``) is not an extension.
    """
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem.strip(".") or not ext:
        return None
    return ext.lower()


def _is_executable(sniffed: str, head: bytes) -> bool:
    return head.startswith(b"#!") or _matches(sniffed, _BINARIES + _SCRIPTS)


def _looks_like_pdf(sniffed: str, head: bytes) -> bool:
    # PDF readers accept the header anywhere in the first KiB; libmagic only at the start.
    return _matches(sniffed, _PDF_FAMILY.accepts) or b"%PDF-" in head[:1024]


def _claimed_family(mime: str) -> _Family | None:
    for family in _FAMILIES:
        if _matches(mime, family.claims):
            return family
    return None


@dataclass(frozen=True)
class MimeCheck:
    """The outcome of :func:`check_claims`.

    Attributes:
        verdict: match, harmless or dangerous.
        sniffed: the MIME type seen in the content.
        claimed: what was claimed: the explicit MIME type, else the type the extension
            stands for (``None`` when nothing specific was claimed).
        filename: the file name that was judged.
        reason: why it is a mismatch (``None`` on a match).
    """

    verdict: MimeVerdict
    sniffed: str
    claimed: str | None
    filename: str | None
    reason: str | None = None

    @property
    def dangerous(self) -> bool:
        """True if the file must be refused."""
        return self.verdict is MimeVerdict.DANGEROUS

    def audit_details(self) -> dict[str, str]:
        """Return what the audit event records: nothing on a match, else claim and reason."""
        if self.verdict is MimeVerdict.MATCH:
            return {}
        return {"mime_claimed": self.claimed or "", "mime_mismatch": self.reason or ""}

    def refuse_if_dangerous(self) -> None:
        """Raise for a dangerous mismatch; do nothing otherwise.

        Raises:
            UnsafeContent: executable content under a document's name or type, or a
                claimed PDF that is not a PDF.
        """
        if self.dangerous:
            raise UnsafeContent(
                f"refusing {self.filename or 'the content'!r}: claimed type {self.claimed}, "
                f"sniffed type {self.sniffed}: {self.reason}; file it under a name and type "
                "that say what it is"
            )


def check_claims(
    sniffed: str,
    *,
    filename: str | None = None,
    claimed_mime: str | None = None,
    head: bytes = b"",
) -> MimeCheck:
    """Judge the sniffed MIME type against the file name's extension and a claimed type.

    Pure: no I/O, no libmagic; ``head`` (the leading bytes) only helps to see ``#!`` lines
    and PDF headers that libmagic misses.

    Args:
        sniffed: the MIME type libmagic reported for the content.
        filename: the original file name; its extension is a claim.
        claimed_mime: a MIME type the caller declared (parameters such as ``charset`` are
            ignored); generic types like ``application/octet-stream`` claim nothing.
        head: the content's leading bytes.

    Returns:
        The verdict with the claim and a reason; the worst finding of both claims wins.
    """
    seen = _base(sniffed) or "application/octet-stream"
    executable = _is_executable(seen, head)
    claims: list[tuple[str, _Family | None, str]] = []  # (what was claimed, family, wording)
    explicit = _base(claimed_mime)
    if explicit not in _GENERIC:
        claims.append((explicit, _claimed_family(explicit), f"declared as {explicit}"))
    ext = extension_of(filename)
    if ext is not None and ext in _BY_EXTENSION:
        named = _BY_EXTENSION[ext]
        claims.append((_CANONICAL.get(ext, named.claims[0]), named, f"named .{ext}"))
    worst = MimeCheck(MimeVerdict.MATCH, seen, explicit or None, filename)
    for claimed, family, wording in claims:
        check = _judge(seen, claimed, family, wording, executable, head, filename)
        if _RANK[check.verdict] > _RANK[worst.verdict]:
            worst = check
    return worst


_RANK = {MimeVerdict.MATCH: 0, MimeVerdict.HARMLESS: 1, MimeVerdict.DANGEROUS: 2}


def _judge(seen: str, claimed: str, family: _Family | None, wording: str, executable: bool,
           head: bytes, filename: str | None) -> MimeCheck:
    claims_executable = family.executable if family is not None else _matches(
        claimed, _BINARIES + _SCRIPTS)
    if executable and not claims_executable:
        kind = "a script" if head.startswith(b"#!") or _matches(seen, _SCRIPTS) else \
            "an executable program"
        return MimeCheck(MimeVerdict.DANGEROUS, seen, claimed, filename,
                         f"{wording} but the content is {kind}")
    if family is _PDF_FAMILY:
        if _looks_like_pdf(seen, head):
            return MimeCheck(MimeVerdict.MATCH, seen, claimed, filename)
        return MimeCheck(MimeVerdict.DANGEROUS, seen, claimed, filename,
                         f"{wording} but the content is not a PDF")
    accepted = family.accepts if family is not None else (claimed,)
    if seen == claimed or _matches(seen, accepted):
        return MimeCheck(MimeVerdict.MATCH, seen, claimed, filename)
    return MimeCheck(MimeVerdict.HARMLESS, seen, claimed, filename,
                     f"{wording} but the content is {seen}")
