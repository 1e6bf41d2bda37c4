"""Tables for human output: identifiers and dates are never cut, long text wraps.

Columns made with :func:`id_col` (Aktenzeichen, ids, SHA-256 prefixes, dates, states) keep
their full width; when the terminal is narrow, rich shrinks only the :func:`text_col` columns
(titles, reasons, file names), which wrap at word boundaries and fold longer words.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.table import Column

__all__ = ["fmt_utc", "id_col", "text_col"]


def id_col(header: str, *, justify: str = "left") -> Column:
    """A column of identifiers or dates: never wrapped, shortened or given an ellipsis."""
    return Column(header, no_wrap=True, overflow="fold",
                  justify="right" if justify == "right" else "left")


def text_col(header: str) -> Column:
    """A column of free text that wraps (words longer than the column fold)."""
    return Column(header, overflow="fold")


def fmt_utc(value: datetime | str | None) -> str:
    """Return a timestamp (or its ISO text) for table cells: UTC to the second.

    ``2026-03-02 14:05:09``; headers say "(UTC)". ``-`` for None.
    """
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")
