"""eakte's query syntax, parsed once for every backend, and the snippets backends return.

The syntax (see :class:`~eakte.search.base.SearchQuery`)::

    Bauantrag Lindenstraße            every word must match (title, text, file name, metadata)
    "Antrag wurde abgelehnt"          an exact phrase
    -Widerspruch  -"am Markt"         excluded word or phrase (also -field:value)
    title:Bescheid  title:"…"         restricted to the title (also filename:, meta:)
    Bau*                              a trailing wildcard on a word
    aktenzeichen:630.10-*             Aktenzeichen, exact or with a trailing ``*``
    kind:incoming  mime:image/*       document kind and MIME type, exact or with ``*``
    created:2026-01-01..2026-03-31    filing date range, inclusive; also ``2026-03..``,
    date:..2026                       ``..2026-06-30``, one day ``2026-01-15``,
                                      a month ``2026-03``, a year ``2026``, or ``15.01.2026``

A ``word:`` prefix that is not one of these fields is ordinary text (``Az.:``, URLs).
There are no operators: ``OR``, ``AND`` and brackets are searched as words (a word that
leaves no term after analysis, such as ``(`` or ``*``, is dropped).

Parsing is strict where guessing would mislead: an empty query, an unbalanced ``"``, a
field without a value and any date that does not parse raise
:class:`~eakte.errors.InvalidInput`.

Dates compare calendar days of UTC (``created`` timestamps are converted to UTC first).

Snippets are plain text (never HTML; escape them when rendering HTML) of about
:data:`SNIPPET_CHARS` characters, with each matched word wrapped in :data:`MARK_START`
and :data:`MARK_END` (``«Bauantrag»``) and ``…`` where text was cut.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from eakte.errors import InvalidInput
from eakte.search.base import SearchQuery

__all__ = [
    "DATE_FIELDS",
    "KEYWORD_FIELDS",
    "MARK_END",
    "MARK_START",
    "SNIPPET_CHARS",
    "TEXT_FIELDS",
    "Clause",
    "DateClause",
    "KeywordClause",
    "ParsedQuery",
    "TextClause",
    "check_query",
    "filename_text",
    "highlight_terms",
    "make_snippet",
    "match_spans",
    "parse_query",
    "utc_naive",
]

#: Fields every plain word is searched in.
TEXT_FIELDS: tuple[str, ...] = ("title", "content", "filename", "meta")
#: Fields compared as whole lower-case values (with an optional trailing ``*``).
KEYWORD_FIELDS: tuple[str, ...] = ("aktenzeichen", "kind", "mime")
#: Fields taking a date range.
DATE_FIELDS: tuple[str, ...] = ("created", "date")
#: Field prefixes that restrict a text clause to one field.
_TEXT_PREFIXES = ("title", "filename", "meta")

#: Marks around a matched word in a snippet.
MARK_START = "«"
MARK_END = "»"
#: Approximate length of a snippet, marks and ellipses not counted.
SNIPPET_CHARS = 200

_FIELD = re.compile(r"([A-Za-z]+):")
_ISO = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_GERMAN = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_WHITESPACE = re.compile(r"\s+")
_FILENAME_SPLIT = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class TextClause:
    """Words or a phrase to be analysed and matched in text fields.

    Attributes:
        text: the words as typed, without quotes or a trailing ``*``.
        fields: the fields to search, any of :data:`TEXT_FIELDS`.
        prefix: the word ended in ``*``: match terms starting with it.
    """

    text: str
    fields: tuple[str, ...] = TEXT_FIELDS
    prefix: bool = False


@dataclass(frozen=True)
class KeywordClause:
    """A whole-value match on ``aktenzeichen``, ``kind`` or ``mime`` (case-insensitive).

    Attributes:
        field: one of :data:`KEYWORD_FIELDS`.
        value: the lower-case value, without the trailing ``*``.
        prefix: match values starting with ``value``.
    """

    field: str
    value: str
    prefix: bool = False


@dataclass(frozen=True)
class DateClause:
    """An inclusive range of calendar days on ``created`` or ``date``; open ends are None."""

    field: str
    start: date | None
    end: date | None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """Return the range as naive UTC datetimes: start of the first day, end of the last."""
        low = datetime.combine(self.start, time.min) if self.start else None
        high = datetime.combine(self.end, time.max) if self.end else None
        return low, high


Clause = TextClause | KeywordClause | DateClause


@dataclass(frozen=True)
class ParsedQuery:
    """A query as clauses: a document matches all ``required`` and none of ``excluded``.

    With no required clause (only exclusions) every document not excluded matches.
    """

    required: tuple[Clause, ...]
    excluded: tuple[Clause, ...]


def parse_query(text: str) -> ParsedQuery:
    """Parse eakte's query syntax (see the module docstring).

    Raises:
        InvalidInput: the query is empty, has an unbalanced quote, a field without a
            value or a date that does not parse.
    """
    if not text.strip():
        raise InvalidInput("empty search query")
    if text.count('"') % 2:
        raise InvalidInput(f"unbalanced quote in search query {text!r}")
    required: list[Clause] = []
    excluded: list[Clause] = []
    pos, size = 0, len(text)
    while pos < size:
        if text[pos].isspace():
            pos += 1
            continue
        negated = text[pos] == "-" and pos + 1 < size and not text[pos + 1].isspace()
        if negated:
            pos += 1
        field = None
        match = _FIELD.match(text, pos)
        if match and match.group(1).lower() in (*_TEXT_PREFIXES, *KEYWORD_FIELDS,
                                                 *DATE_FIELDS):
            field = match.group(1).lower()
            pos = match.end()
        if pos < size and text[pos] == '"':
            close = text.index('"', pos + 1)  # balanced, checked above
            value, quoted, pos = text[pos + 1:close], True, close + 1
        else:
            stop = pos
            while stop < size and not text[stop].isspace() and text[stop] != '"':
                stop += 1
            value, quoted, pos = text[pos:stop], False, stop
        clause = _clause(field, value, quoted)
        if clause is not None:
            (excluded if negated else required).append(clause)
    return ParsedQuery(tuple(required), tuple(excluded))


def check_query(query: SearchQuery) -> ParsedQuery:
    """Validate a whole :class:`SearchQuery` and parse its text.

    Raises:
        InvalidInput: a negative limit, an unknown order, or text :func:`parse_query`
            refuses.
    """
    if not isinstance(query.limit, int) or query.limit < 0:
        raise InvalidInput(f"search limit must be a whole number >= 0, not {query.limit!r}")
    if query.order not in ("relevance", "date"):
        raise InvalidInput(f"search order must be 'relevance' or 'date', not {query.order!r}")
    if query.akte_ids is not None and not all(isinstance(i, int) for i in query.akte_ids):
        raise InvalidInput("akte_ids must be whole numbers")
    return parse_query(query.text)


def _clause(field: str | None, value: str, quoted: bool) -> Clause | None:
    if field is None or field in _TEXT_PREFIXES:
        fields = TEXT_FIELDS if field is None else (field,)
        if field is not None and not value.strip():
            raise InvalidInput(f"'{field}:' needs a value")
        prefix = not quoted and value.endswith("*") and len(value.rstrip("*")) > 0
        words = value.rstrip("*") if prefix else value
        return TextClause(words, fields, prefix) if words.strip() else None
    if not value.strip():
        raise InvalidInput(f"'{field}:' needs a value")
    if field in KEYWORD_FIELDS:
        prefix = not quoted and value.endswith("*")
        stripped = value.rstrip("*") if prefix else value
        return KeywordClause(field, stripped.strip().lower(), prefix)
    return _date_clause(field, value.strip())


def _date_clause(field: str, value: str) -> DateClause:
    if ".." in value:
        low, _, high = value.partition("..")
    else:
        low = high = value
    if not low and not high:
        raise InvalidInput(f"'{field}:' needs at least one date, e.g. {field}:2026-01-01..")
    start = _parse_day(field, low, last=False) if low else None
    end = _parse_day(field, high, last=True) if high else None
    if start and end and start > end:
        raise InvalidInput(f"'{field}:{value}' ends before it starts")
    return DateClause(field, start, end)


def _parse_day(field: str, text: str, *, last: bool) -> date:
    """Parse ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or ``DD.MM.YYYY``; periods to their ends."""
    try:
        german = _GERMAN.fullmatch(text)
        if german:
            return date(int(german.group(3)), int(german.group(2)), int(german.group(1)))
        iso = _ISO.fullmatch(text)
        if iso:
            year = int(iso.group(1))
            if iso.group(2) is None:
                return date(year, 12, 31) if last else date(year, 1, 1)
            month = int(iso.group(2))
            if iso.group(3) is None:
                day = calendar.monthrange(year, month)[1] if last else 1
                return date(year, month, day)
            return date(year, month, int(iso.group(3)))
    except (ValueError, calendar.IllegalMonthError) as exc:
        raise InvalidInput(f"'{field}:' has an impossible date {text!r}") from exc
    raise InvalidInput(
        f"'{field}:' expects dates like 2026-03-31, 2026-03, 2026 or 31.03.2026, not {text!r}")


def utc_naive(value: datetime | date) -> datetime:
    """Return a datetime as naive UTC (aware ones are converted), a date as its midnight."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time.min)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def filename_text(filename: str) -> str:
    """Return what a file name is indexed as: the name itself and its parts.

    ``Lageplan_Nordstadt.pdf`` matches ``filename:Lageplan_Nordstadt.pdf`` as well as
    ``filename:Nordstadt``.
    """
    parts = _FILENAME_SPLIT.sub(" ", filename).strip()
    return f"{filename} {parts}" if parts and parts != filename else filename


# -- snippets -----------------------------------------------------------------------------

#: An analyzer as Whoosh calls it: ``analyzer(text, chars=True, mode="index")`` yields
#: tokens with ``text``, ``startchar`` and ``endchar``.
Analyzer = Callable[..., Iterable[Any]]

#: Words as :data:`eakte.search.analysis.TOKEN_PATTERN` finds them (kept in step by a test;
#: not imported, so that this module does not load Whoosh).
WORD_PATTERN = re.compile(r"[\w\u0300-\u036f\u00ad]+(?:\.[\w\u0300-\u036f\u00ad]+)*")
_PLAIN = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "\u00ad": None})
#: After the first match, how much further text is searched for a better window.
_LOOKAHEAD = 4000


def match_spans(
    analyzer: Analyzer,
    text: str,
    terms: frozenset[str],
    prefixes: tuple[str, ...] = (),
    *,
    limit: int = 1_000_000,
) -> list[tuple[int, int]]:
    """Return ``(start, end)`` of the words in ``text`` whose index terms match.

    Words are analysed one by one in index mode, so ``Antrag`` marks ``Bauantrag``. Only
    words that contain a query term once lower-cased and folded (ä→a, ß→ss, ue→u) are
    analysed, which holds for stems and compound parts and makes this fast; the search
    stops :data:`_LOOKAHEAD` characters after the first match.

    Args:
        analyzer: the analyzer the text was indexed with.
        text: the text.
        terms: the query's terms.
        prefixes: the query's prefix terms.
        limit: look at most at this many leading characters.
    """
    needles = tuple(terms) + prefixes
    if not needles:
        return []
    spans: list[tuple[int, int]] = []
    for match in WORD_PATTERN.finditer(text, 0, limit):
        if spans and match.start() > spans[0][0] + _LOOKAHEAD:
            break
        plain = match.group().lower().translate(_PLAIN)
        folded = plain.replace("ae", "a").replace("oe", "o").replace("ue", "u")
        if not any(n in plain or n in folded for n in needles):
            continue
        for token in analyzer(match.group(), mode="index"):
            term: str = token.text
            if term in terms or (prefixes and term.startswith(prefixes)):
                spans.append(match.span())
                break
    return spans


def highlight_terms(parsed: ParsedQuery,
                    analyzer: Analyzer) -> tuple[frozenset[str], tuple[str, ...]]:
    """Return the query terms and prefix terms to mark in a document's text.

    Only required text clauses that search the content count; excluded ones never match.
    """
    terms: set[str] = set()
    prefixes: list[str] = []
    for clause in parsed.required:
        if isinstance(clause, TextClause) and "content" in clause.fields:
            found = [token.text for token in analyzer(clause.text, mode="query")]
            if clause.prefix and len(found) == 1:
                prefixes.extend(found)
            else:
                terms.update(found)
    return frozenset(terms), tuple(prefixes)


def make_snippet(text: str, spans: list[tuple[int, int]], *,
                 width: int = SNIPPET_CHARS) -> str:
    """Cut a window of about ``width`` characters with the most matches and mark them.

    Args:
        text: the document text.
        spans: sorted ``(start, end)`` of matched words (see :func:`match_spans`).
        width: the window size.

    Returns:
        One line of plain text; the start of ``text`` when there are no spans.
    """
    if not spans:
        end = _window_end(text, 0, width)
        return _tidy(text[:end], 0, end, total=len(text))
    best, best_count = 0, 0
    for i, (start, _) in enumerate(spans):
        count = 0
        for _, other_end in spans[i:]:
            if other_end - start > width:
                break
            count += 1
        if count > best_count:
            best, best_count = i, count
    first = spans[best][0]
    lead = min(width // 4, first)
    begin = first - lead
    space = text.rfind(" ", max(0, begin - 20), begin + 1) if begin else -1
    if space >= 0:
        begin = space + 1
    end = _window_end(text, begin, width)
    pieces: list[str] = []
    at = begin
    for start, stop in spans:
        if start < at or stop > end:
            continue
        pieces.append(text[at:start])
        pieces.append(f"{MARK_START}{text[start:stop]}{MARK_END}")
        at = stop
    pieces.append(text[at:end])
    return _tidy("".join(pieces), begin, end, total=len(text))


def _window_end(text: str, begin: int, width: int) -> int:
    """Return where a window of ``width`` chars from ``begin`` ends, at a space if possible."""
    end = min(len(text), begin + width)
    if end < len(text):
        cut = text.rfind(" ", begin + width // 2, end)
        end = cut if cut > 0 else end
    return end


def _tidy(body: str, begin: int, end: int, *, total: int) -> str:
    body = _WHITESPACE.sub(" ", body).strip()
    if begin > 0:
        body = "… " + body
    if end < total and body:
        body += " …"
    return body
