"""A thin incremental XML writer over ``lxml.etree.xmlfile`` for xdomea messages.

Every element is written through ``xmlfile``'s own element contexts, so the ``xdomea`` prefix
declared on the root is reused everywhere (writing finished ``Element`` objects would
re-declare the namespace as ``ns0``). Text is stripped of characters XML 1.0 cannot carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["XmlWriter", "clean_text", "xs_date", "xs_datetime"]

_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean_text(value: object) -> str:
    """Return ``value`` as text that XML 1.0 can carry (invalid characters removed)."""
    return _INVALID_XML.sub("", str(value))


def xs_datetime(value: datetime) -> str:
    """Return an ``xs:dateTime`` in UTC to the second, e.g. ``2026-01-15T10:30:00+00:00``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def xs_date(value: date | datetime) -> str:
    """Return an ``xs:date`` (a datetime is taken in UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).date().isoformat()
    return value.isoformat()


class XmlWriter:
    """Writes elements of one namespace (prefix ``xdomea``) into an ``xmlfile`` context."""

    def __init__(self, xf: Any, namespace: str) -> None:
        self.xf = xf
        self.ns = namespace

    def q(self, name: str) -> str:
        """Return the qualified tag of a local name."""
        return f"{{{self.ns}}}{name}"

    @contextmanager
    def el(self, name: str, attrib: dict[str, str] | None = None,
           nsmap: dict[str | None, str] | None = None) -> Iterator[None]:
        """Open an element of the namespace; children are written inside the block."""
        with self.xf.element(self.q(name), attrib or {}, nsmap=nsmap):
            yield

    @contextmanager
    def foreign(self, tag: str, attrib: dict[str, str] | None = None,
                nsmap: dict[str | None, str] | None = None) -> Iterator[None]:
        """Open an element with a fully qualified or unqualified tag."""
        with self.xf.element(tag, attrib or {}, nsmap=nsmap):
            yield

    def text(self, value: object) -> None:
        """Write character data."""
        self.xf.write(clean_text(value))

    def leaf(self, name: str, value: object | None) -> None:
        """Write ``<xdomea:name>value</xdomea:name>``; nothing when ``value`` is None."""
        if value is None:
            return
        with self.el(name):
            text = clean_text(value)
            if text:
                self.xf.write(text)

    def code(self, name: str, code: str, *, list_uri: str | None = None,
             list_version: str | None = None) -> None:
        """Write a code element: ``<xdomea:name listURI=… listVersionID=…><code>…</code>``.

        The ``code`` child is unqualified, as the XÖV code type requires; no ``name`` child
        is written (the Dateiformat type forbids it, the others do not need it).
        """
        attrib: dict[str, str] = {}
        if list_uri is not None:
            attrib["listURI"] = list_uri
        if list_version is not None:
            attrib["listVersionID"] = list_version
        with self.el(name, attrib), self.xf.element("code"):
            self.xf.write(code)
