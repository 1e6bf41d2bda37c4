"""xdomea code lists and names: namespaces, message types, Dateiformat, confidentiality.

The Dateiformat list is an *external* code list (``urn:xoev-de:xdomea:codeliste:dateiformat``,
version 1.0) that the XSD does not enumerate; its codes are copied here from the genericode
file ``Dateiformat_1.0.xml``. Codes are written with ``@listVersionID`` and without ``<name>``
(the XSD forbids it). Formats the list does not know are written as ``100`` (Sonstiges) with
the format's name in ``SonstigerName``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from eakte.types import Confidentiality, DisposalDecision

__all__ = [
    "DATEIFORMAT_LIST_URI",
    "DATEIFORMAT_LIST_VERSION",
    "DEFAULT_VERSION",
    "EXTENSION_NS",
    "MESSAGES",
    "NAMESPACES",
    "SONSTIGES",
    "Dateiformat",
    "MessageType",
    "confidentiality_from_code",
    "confidentiality_to_code",
    "container_name",
    "dateiformat_for",
    "dateiformat_suffix",
    "member_name",
    "message_type_for",
    "namespace_version",
]

#: xdomea versions eakte writes and reads, with their target namespace.
NAMESPACES: Final[dict[str, str]] = {
    "3.0.0": "urn:xoev-de:xdomea:schema:3.0.0",
    "3.1.0": "urn:xoev-de:xdomea:schema:3.1.0",
}
DEFAULT_VERSION: Final = "3.1.0"
#: Namespace of eakte's own data in ``AnwendungsspezifischeErweiterungXML`` (lax in the XSD).
EXTENSION_NS: Final = "urn:eakte:xdomea-erweiterung:1"

NACHRICHTENTYP_LIST_URI: Final = "urn:xoev-de:xdomea:codeliste:nachrichtentyp"
NACHRICHTENTYP_LIST_VERSION: Final = "2.0"
DATEIFORMAT_LIST_URI: Final = "urn:xoev-de:xdomea:codeliste:dateiformat"
DATEIFORMAT_LIST_VERSION: Final = "1.0"
AUSSONDERUNGSART_LIST_URI: Final = "urn:xoev-de:xdomea:codeliste:aussonderungsart"
VERTRAULICHKEIT_LIST_URI: Final = "urn:xoev-de:xdomea:codeliste:vertraulichkeitsstufe"
MEDIUM_LIST_URI: Final = "urn:xoev-de:xdomea:codeliste:medium"
#: Medium code 001: the object exists in electronic form only.
MEDIUM_ELEKTRONISCH: Final = "001"


@dataclass(frozen=True)
class MessageType:
    """One message of the Aussonderung message group.

    Attributes:
        code: the Nachrichtentyp code, e.g. ``"0503"``.
        element: the root element's local name, e.g. ``"Aussonderung.Aussonderung.0503"``.
        description: what the message does, in English.
    """

    code: str
    element: str
    description: str


MESSAGES: Final[dict[str, MessageType]] = {
    m.code: m
    for m in (
        MessageType("0501", "Aussonderung.Anbieteverzeichnis.0501",
                    "offer (Anbieteverzeichnis, metadata only)"),
        MessageType("0502", "Aussonderung.Bewertungsverzeichnis.0502",
                    "appraisal by the archive (Bewertungsverzeichnis)"),
        MessageType("0503", "Aussonderung.Aussonderung.0503",
                    "transfer with primary files (Aussonderung)"),
        MessageType("0504", "Aussonderung.AnbietungEmpfangBestaetigen.0504",
                    "receipt of an offer"),
        MessageType("0505", "Aussonderung.BewertungEmpfangBestaetigen.0505",
                    "receipt of an appraisal"),
        MessageType("0506", "Aussonderung.AussonderungImportBestaetigen.0506",
                    "import confirmation with Archivkennung"),
        MessageType("0507", "Aussonderung.AussonderungEmpfangBestaetigen.0507",
                    "receipt of a transfer"),
    )
}
_BY_ELEMENT = {m.element: m for m in MESSAGES.values()}


def message_type_for(element: str) -> MessageType | None:
    """Return the message type whose root element has this local name, if eakte knows it."""
    return _BY_ELEMENT.get(element)


def namespace_version(namespace: str | None) -> str | None:
    """Return the xdomea version of a namespace URI (``"3.1.0"``), or None if not supported."""
    for version, uri in NAMESPACES.items():
        if uri == namespace:
            return version
    return None


def container_name(prozess_id: str, message: MessageType, suffix: str = "zip") -> str:
    """Return ``{ProzessID}_{root element}.{suffix}``, the xdomea file name of a message."""
    return f"{prozess_id}_{message.element}.{suffix}"


# -- Vertraulichkeitsstufe and Aussonderungsart -------------------------------------------

_CONF_TO_CODE: Final = {Confidentiality.OPEN: "003", Confidentiality.VS_NFD: "002"}
_CODE_TO_CONF: Final = {code: conf for conf, code in _CONF_TO_CODE.items()}
#: Levels of the code list that eakte does not hold (classified material).
UNSUPPORTED_CONFIDENTIALITY: Final = {
    "001": "Geheim", "004": "Streng geheim", "005": "VS-Vertraulich",
}


def confidentiality_to_code(value: str) -> str:
    """Return the Vertraulichkeitsstufe code of an eakte confidentiality (offen → ``003``)."""
    return _CONF_TO_CODE[Confidentiality(value)]


def confidentiality_from_code(code: str) -> Confidentiality | None:
    """Return eakte's confidentiality for a Vertraulichkeitsstufe code; None if unsupported."""
    return _CODE_TO_CONF.get(code.strip())


DISPOSAL_CODES: Final = frozenset(d.value for d in DisposalDecision)


# -- Dateiformat ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dateiformat:
    """A Dateiformat code with, for ``100`` (Sonstiges), the format's own name.

    Attributes:
        code: three digits from the code list.
        other_name: the ``SonstigerName`` to write, only for code ``100``.
    """

    code: str
    other_name: str | None = None


SONSTIGES: Final = "100"
#: Dateiformat code list 1.0: code → file name suffix (``044`` is PDF/A).
_CODE_SUFFIX: Final[dict[str, str]] = {
    "001": "bmp", "002": "csv", "003": "doc", "004": "doc", "005": "doc", "006": "eml",
    "007": "htm", "008": "html", "009": "jpe", "010": "jpeg", "011": "jpg", "012": "msg",
    "013": "odp", "014": "ods", "015": "odt", "016": "otp", "017": "ots", "018": "pdf",
    "019": "png", "020": "ppt", "021": "ps", "022": "rtf", "023": "tif", "024": "tiff",
    "025": "wps", "026": "xlc", "027": "xlm", "028": "xls", "029": "xlw", "030": "xml",
    "031": "xsd", "032": "dot", "033": "pot", "034": "xlt", "035": "docx", "036": "xlsx",
    "037": "pptx", "038": "dotx", "039": "xltx", "040": "potx", "041": "dtd", "042": "mpp",
    "043": "ott", "044": "pdf", "045": "txt",
}
_SUFFIX_CODE: Final[dict[str, str]] = {}
for _code, _ext in _CODE_SUFFIX.items():
    if _code not in ("004", "005", "044"):  # Word DOS/Mac and PDF/A need more than a suffix
        _SUFFIX_CODE.setdefault(_ext, _code)
_SUFFIX_CODE["text"] = "045"
_MIME_CODE: Final[dict[str, str]] = {
    "image/bmp": "001", "text/csv": "002", "application/msword": "003",
    "message/rfc822": "006", "text/html": "008", "image/jpeg": "011",
    "application/vnd.ms-outlook": "012",
    "application/vnd.oasis.opendocument.presentation": "013",
    "application/vnd.oasis.opendocument.spreadsheet": "014",
    "application/vnd.oasis.opendocument.text": "015",
    "application/pdf": "018", "image/png": "019", "application/vnd.ms-powerpoint": "020",
    "application/postscript": "021", "application/rtf": "022", "text/rtf": "022",
    "image/tiff": "024", "application/vnd.ms-excel": "028",
    "application/xml": "030", "text/xml": "030",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "035",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "036",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "037",
    "text/plain": "045",
}
#: Codes that name the same format with different suffixes; the file's suffix picks one.
_FAMILIES: Final = (
    {"007", "008"}, {"009", "010", "011"}, {"023", "024"}, {"003", "032"},
    {"035", "038"}, {"036", "039"}, {"037", "040"}, {"015", "043"}, {"030", "031", "041"},
    {"028", "026", "027", "029", "034"}, {"020", "033"},
)


def _suffix(filename: str) -> str:
    _, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and ext and len(ext) <= 10 else ""


def dateiformat_for(mime: str, filename: str, *, kind: str | None = None) -> Dateiformat:
    """Return the Dateiformat code for content of this MIME type and file name.

    The sniffed MIME type decides the format; the file name's suffix only chooses between
    codes of the same format (``htm``/``html``, ``jpg``/``jpeg``, ``doc``/``dot`` …). A PDF
    rendition of kind ``pdfa`` (or a name saying PDF/A) gets ``044``. Unknown formats get
    ``100`` (Sonstiges) with the MIME type or suffix as ``SonstigerName``.

    Args:
        mime: the MIME type eakte sniffed when the content was stored.
        filename: the original file name.
        kind: the rendition kind (``None`` for the original).
    """
    mime = (mime or "").split(";", 1)[0].strip().lower()
    suffix = _suffix(filename)
    by_mime = _MIME_CODE.get(mime)
    by_suffix = _SUFFIX_CODE.get(suffix)
    code: str | None
    if by_mime is None:
        generic = mime in ("", "application/octet-stream", "application/zip",
                           "application/x-empty") or mime.startswith("text/")
        code = by_suffix if generic else None
    elif by_suffix is not None and any({by_mime, by_suffix} <= f for f in _FAMILIES):
        code = by_suffix
    else:
        code = by_mime
    if code == "018" and kind is not None and kind.replace("/", "").replace("-", "").lower(
    ).startswith("pdfa"):
        code = "044"
    if code is None:
        return Dateiformat(SONSTIGES, mime or suffix or "unbekannt")
    return Dateiformat(code)


def dateiformat_suffix(code: str) -> str | None:
    """Return the usual file name suffix of a Dateiformat code (``"018"`` → ``"pdf"``)."""
    return _CODE_SUFFIX.get(code)


# -- primary file names ---------------------------------------------------------------------

_TRANSLIT: Final = str.maketrans({
    "ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss",
})
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 120


def member_name(file_uuid: str, filename: str) -> str:
    """Return the zip member name ``{uuid}_{name}.ext`` of a primary file.

    The name part is transliterated as xdomea does (``ä`` → ``ae``), reduced to letters,
    digits, ``.``, ``_`` and ``-`` (so it is safe on every file system and in every zip
    tool), and shortened; the original name travels in ``DateinameOriginal``.
    """
    text = unicodedata.normalize("NFC", filename).translate(_TRANSLIT)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    ext = _UNSAFE_CHARS.sub("", ext)[:10]
    stem = _UNSAFE_CHARS.sub("_", stem).strip("._-")[:_MAX_NAME] or "datei"
    return f"{file_uuid}_{stem}.{ext}" if ext else f"{file_uuid}_{stem}"
