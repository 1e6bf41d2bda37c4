"""The mutable work area shared by the format extractors while one file is being read."""

from __future__ import annotations

from dataclasses import dataclass, field

from eakte.ingest.limits import ExtractLimits

__all__ = ["Draft", "DraftPart", "ExtractionFailed", "TextFull"]


class ExtractionFailed(Exception):
    """The file is damaged or unreadable; the message is recorded as the problem."""


class TextFull(Exception):
    """The text limit is reached; raised to stop a parser early (not an error)."""


@dataclass
class DraftPart:
    """An attachment's extraction, before it is frozen into an ``ExtractedPart``."""

    filename: str | None
    mime: str
    text: str
    status: str
    problems: list[str]


@dataclass
class Draft:
    """Collects text within ``limits.max_text_chars``, problems, parts and the charset."""

    limits: ExtractLimits
    problems: list[str] = field(default_factory=list)
    parts: list[DraftPart] = field(default_factory=list)
    charset: str | None = None
    needs_ocr: bool = False
    truncated: bool = False
    _pieces: list[str] = field(default_factory=list)
    _size: int = 0

    def add(self, text: str) -> None:
        """Append text; past the limit keep what fits and raise :class:`TextFull`."""
        if not text:
            return
        room = self.limits.max_text_chars - self._size
        if len(text) > room:
            if room > 0:
                self._pieces.append(text[:room])
                self._size += room
            self.truncated = True
            raise TextFull
        self._pieces.append(text)
        self._size += len(text)

    def newline(self) -> None:
        """End the current line unless the text is empty or already ends one."""
        if self._pieces and not self._pieces[-1].endswith("\n"):
            self.add("\n")

    @property
    def size(self) -> int:
        """Characters collected so far."""
        return self._size

    def text(self) -> str:
        """Return the collected text."""
        return "".join(self._pieces)
