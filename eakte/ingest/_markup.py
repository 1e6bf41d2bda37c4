"""Text from HTML (stdlib html.parser: scripts and styles dropped) and from generic XML."""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from xml.parsers.expat import ExpatError

from eakte.ingest._draft import Draft, ExtractionFailed
from eakte.ingest.charset import decode_text
from eakte.ingest.limits import parse_xml

__all__ = ["extract_html", "extract_xml"]

#: Elements whose content is never text a reader sees.
_SKIP = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg"})
#: Elements that end a line of text.
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "title",
    "tr", "ul",
})  # fmt: skip
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class _HtmlText(HTMLParser):
    def __init__(self, draft: Draft) -> None:
        super().__init__(convert_charrefs=True)
        self._draft = draft
        self._skipping: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping[tag] = self._skipping.get(tag, 0) + 1
        elif tag in _BLOCK:
            self._draft.newline()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self._draft.newline()

    def handle_endtag(self, tag: str) -> None:
        if self._skipping.get(tag):
            self._skipping[tag] -= 1
        elif tag in _BLOCK:
            self._draft.newline()

    def handle_data(self, data: str) -> None:
        if any(self._skipping.values()):
            return
        text = _SPACES.sub(" ", data.replace("\n", " "))
        if text.strip():
            self._draft.add(text)


def html_charset(data: bytes, declared: str | None) -> str | None:
    """Return the charset a ``<meta>`` in the first 4 KiB declares, else ``declared``."""
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else declared


def extract_html(data: bytes, draft: Draft, declared: str | None) -> None:
    """Extract the visible text of an HTML document into ``draft``.

    Raises:
        TextFull: the text limit was reached.
    """
    text, draft.charset = decode_text(data, html_charset(data, declared))
    parser = _HtmlText(draft)
    parser.feed(text)
    parser.close()


class _XmlText:
    """Collects character data of any XML vocabulary, one line per element with text."""

    def __init__(self, draft: Draft) -> None:
        self._draft = draft

    def start(self, name: str, attrs: dict[str, str]) -> None:
        pass

    def end(self, name: str) -> None:
        self._draft.newline()

    def data(self, text: str) -> None:
        if not text.isspace():
            self._draft.add(text.strip("\r\n"))


def extract_xml(data: bytes, draft: Draft) -> None:
    """Extract the character data of an XML document into ``draft`` (no DTDs, no entities).

    Raises:
        UnsafeContent: a DTD or an entity declaration, or nesting beyond the limit.
        ExtractionFailed: the XML is not well-formed.
        TextFull: the text limit was reached.
    """
    try:
        parse_xml(data, _XmlText(draft), draft.limits)
    except ExpatError as exc:
        raise ExtractionFailed(f"malformed XML: {exc}") from exc
    finally:
        draft.charset = xml_charset(data)


def xml_charset(data: bytes) -> str:
    """Return the charset of an XML document: BOM, then the XML declaration, else UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    match = _XML_ENCODING.match(data[:256])
    if match is None:
        return "utf-8"
    try:
        return codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return match.group(1).decode("ascii")
