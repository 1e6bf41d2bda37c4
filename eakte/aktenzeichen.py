"""Aktenzeichen patterns and validation of Kennzeichen and Aktenzeichen text."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from eakte.errors import InvalidInput

__all__ = [
    "DEFAULT_PATTERN",
    "AktenzeichenPattern",
    "validate_kennzeichen",
]

#: Kennzeichen + running number per unit and year, e.g. ``020.10-0042/2026``.
DEFAULT_PATTERN = "{kennzeichen}-{number:04d}/{year}"

_KENNZEICHEN = re.compile(r"^[0-9A-Za-z]{1,20}(\.[0-9A-Za-z]{1,20}){0,9}$")
_FIELDS = frozenset({"kennzeichen", "number", "year", "org_unit"})
_AKTENZEICHEN_CHARS = re.compile(r"^[0-9A-Za-zÄÖÜäöüß .,:/_\-()]{1,200}$")
_MAX_AKTENZEICHEN = 200  # the column's width
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def validate_kennzeichen(kennzeichen: str) -> str:
    """Return ``kennzeichen`` stripped, or raise if it is not a valid Aktenplan Kennzeichen.

    A Kennzeichen is one or more groups of letters or digits separated by dots, such as
    ``6``, ``630`` or ``020.10``.

    Raises:
        InvalidInput: the text is not a Kennzeichen.
    """
    value = kennzeichen.strip() if isinstance(kennzeichen, str) else kennzeichen
    if not isinstance(value, str) or not _KENNZEICHEN.match(value):
        raise InvalidInput(
            f"invalid Aktenplan Kennzeichen {kennzeichen!r}: use groups of letters or digits "
            "separated by dots, e.g. '020.10'"
        )
    return value


@dataclass(frozen=True)
class AktenzeichenPattern:
    """A configurable Aktenzeichen format.

    The pattern is a Python format string over ``kennzeichen``, ``number``, ``year`` and
    ``org_unit``; it must contain ``{kennzeichen}`` and ``{number}``. Without ``{year}`` the
    running number continues across years.

    Example:
        >>> AktenzeichenPattern("{kennzeichen}-{number:04d}/{year}").format(
        ...     kennzeichen="020.10", number=42, year=2026)
        '020.10-0042/2026'
    """

    pattern: str = DEFAULT_PATTERN

    def __post_init__(self) -> None:
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(self.pattern) if f is not None}
        except ValueError as exc:
            raise InvalidInput(f"invalid Aktenzeichen pattern {self.pattern!r}: {exc}") from exc
        unknown = names - _FIELDS
        if unknown:
            raise InvalidInput(
                f"invalid Aktenzeichen pattern {self.pattern!r}: unknown field(s) "
                f"{', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_FIELDS))}"
            )
        if not {"kennzeichen", "number"} <= names:
            raise InvalidInput(
                f"invalid Aktenzeichen pattern {self.pattern!r}: it must contain "
                "{kennzeichen} and {number} so that every Aktenzeichen is unique"
            )
        if self.format(kennzeichen="1", number=1, year=2000, org_unit="1").isdigit():
            raise InvalidInput(
                f"invalid Aktenzeichen pattern {self.pattern!r}: it can produce digits only, "
                "which cannot be told apart from document ids; add a separator such as '-'"
            )

    @property
    def per_year(self) -> bool:
        """True if running numbers restart every year (the pattern contains ``{year}``)."""
        return "{year" in self.pattern

    def format(
        self, *, kennzeichen: str, number: int, year: int, org_unit: str | None = None
    ) -> str:
        """Return the Aktenzeichen for these parts.

        Raises:
            InvalidInput: the pattern cannot be applied to these parts.
        """
        try:
            text = self.pattern.format(
                kennzeichen=kennzeichen, number=number, year=year, org_unit=org_unit or ""
            )
        except (ValueError, KeyError, IndexError) as exc:
            raise InvalidInput(f"Aktenzeichen pattern {self.pattern!r} failed: {exc}") from exc
        if len(text) > _MAX_AKTENZEICHEN or _CONTROL.search(text):
            raise InvalidInput(
                f"Aktenzeichen pattern {self.pattern!r} gives {text[:60]!r}…, which is longer "
                f"than {_MAX_AKTENZEICHEN} characters or holds control characters"
            )
        return text


def looks_like_aktenzeichen(text: str) -> bool:
    """Return True if ``text`` is plausible Aktenzeichen text (not a guarantee it exists)."""
    return bool(_AKTENZEICHEN_CHARS.match(text)) and not text.isdigit()
