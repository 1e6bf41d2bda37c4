"""Decode text of unknown encoding, tuned for German: BOMs, UTF-8, then legacy 8-bit code pages.

Order: a byte-order mark wins; then a declared charset that decodes cleanly; then strict
UTF-8; then UTF-16 without BOM (many NUL bytes); then the legacy code pages German text
actually arrives in (Windows-1252, Latin-1, DOS code page 850, Mac Roman), each scored by how
German the result looks. General-purpose detectors (charset-normalizer, chardet) guess
exotic code pages for short German text (``"Müller Straße"`` in Windows-1252 comes back as
cp1006), so this small, predictable detector is used instead.
"""

from __future__ import annotations

import codecs
import unicodedata

__all__ = ["decode_text", "normalise_charset"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

#: Legacy candidates in order of preference on equal scores.
_LEGACY = ("cp1252", "iso8859-1", "cp850", "mac-roman")

#: Bytes scored when guessing a legacy code page (the rest is decoded with the winner).
_SAMPLE = 256 * 1024

_GERMAN = frozenset("äöüÄÖÜß")
_TYPOGRAPHIC = frozenset("„“”‚‘’–—…€§°«»·")
_ALLOWED_CONTROLS = frozenset("\t\n\r\f")


def normalise_charset(name: str | None) -> str | None:
    """Return Python's canonical codec name for a charset label, or ``None`` if unknown.

    Labels ``iso-8859-1``, ``latin-1`` and ``us-ascii`` map to ``cp1252`` as in the WHATWG
    encoding standard: mail and web software label Windows-1252 text that way.
    """
    if not name:
        return None
    try:
        canonical = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    if canonical in {"iso8859-1", "latin-1", "ascii"}:
        return "cp1252"
    return canonical


def _score(text: str) -> int:
    score = 0
    prev_alpha = False
    for index, char in enumerate(text):
        if char < "\x80":
            if char < " " and char not in _ALLOWED_CONTROLS:
                score -= 10
            prev_alpha = char.isalpha()
            continue
        if char in _GERMAN:
            score += 3
        elif char == "\ufffd":
            score -= 10
        elif char in _TYPOGRAPHIC:
            next_alpha = index + 1 < len(text) and text[index + 1].isalpha()
            score += -3 if prev_alpha and next_alpha else 1
        elif char.isalpha():
            score -= 1  # é, á, Š …: possible, but rarer than German letters
        elif unicodedata.category(char) == "Cc":
            score -= 10
        else:
            score -= 3  # box drawing, math and other symbols: a wrong code page
        prev_alpha = char.isalpha()
    return score


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _decode_legacy(data: bytes) -> tuple[str, str]:
    sample = data[:_SAMPLE]
    best_name, best_score = _LEGACY[0], None
    for name in _LEGACY:
        score = _score(sample.decode(name, errors="replace"))
        if best_score is None or score > best_score:
            best_name, best_score = name, score
    return data.decode(best_name, errors="replace"), best_name


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes of plain text, guessing the charset where none is certain.

    Args:
        data: the raw bytes.
        declared: a charset label from a MIME header or ``<meta>``; used when the bytes
            decode cleanly with it (a byte-order mark still wins).

    Returns:
        ``(text, charset)`` with ``charset`` the canonical codec name used, e.g.
        ``"utf-8"`` or ``"cp1252"``. Undecodable bytes become U+FFFD; this never raises.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(name, errors="replace"), name
    codec = normalise_charset(declared)
    if codec is not None and codec != "cp1252":
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return data.decode(utf16, errors="replace"), utf16
    if codec == "cp1252":
        return data.decode("cp1252", errors="replace"), "cp1252"
    return _decode_legacy(data)
