"""The query syntax parser and snippet building shared by the search backends."""

from __future__ import annotations

from datetime import date

import pytest

from eakte.errors import InvalidInput
from eakte.search.analysis import TOKEN_PATTERN, german_analyzer
from eakte.search.base import SearchQuery
from eakte.search.query import (
    TEXT_FIELDS,
    WORD_PATTERN,
    DateClause,
    KeywordClause,
    ParsedQuery,
    TextClause,
    check_query,
    filename_text,
    make_snippet,
    match_spans,
    parse_query,
)


def test_words_phrases_and_exclusions() -> None:
    assert parse_query('Bauantrag "am Markt" -Widerspruch -"nicht erteilt"') == ParsedQuery(
        required=(TextClause("Bauantrag"), TextClause("am Markt")),
        excluded=(TextClause("Widerspruch"), TextClause("nicht erteilt")),
    )


def test_fields() -> None:
    parsed = parse_query('title:"Neubau Lindenstraße" Filename:plan.pdf meta:Nordstadt '
                         "aktenzeichen:630.10-* kind:Incoming mime:image/* -kind:internal")
    assert parsed.required == (
        TextClause("Neubau Lindenstraße", ("title",)),
        TextClause("plan.pdf", ("filename",)),
        TextClause("Nordstadt", ("meta",)),
        KeywordClause("aktenzeichen", "630.10-", prefix=True),
        KeywordClause("kind", "incoming"),
        KeywordClause("mime", "image/", prefix=True),
    )
    assert parsed.excluded == (KeywordClause("kind", "internal"),)


def test_unknown_prefix_and_punctuation_stay_text() -> None:
    assert parse_query("Az.: foo:bar https://x.de").required == (
        TextClause("Az.:"), TextClause("foo:bar"), TextClause("https://x.de"))
    assert parse_query("- Antrag").required == (TextClause("-"), TextClause("Antrag"))


def test_word_prefix() -> None:
    assert parse_query("Bau* *").required == (TextClause("Bau", TEXT_FIELDS, prefix=True),
                                              TextClause("*"))  # dropped by analysis
    assert parse_query('"Bau*"').required == (TextClause("Bau*"),)


@pytest.mark.parametrize(("text", "start", "end"), [
    ("created:2026-01-01..2026-03-31", date(2026, 1, 1), date(2026, 3, 31)),
    ("created:2026-03..", date(2026, 3, 1), None),
    ("created:..2026-02", None, date(2026, 2, 28)),
    ("created:2024", date(2024, 1, 1), date(2024, 12, 31)),
    ("created:15.01.2026", date(2026, 1, 15), date(2026, 1, 15)),
    ("created:2026-1-5..2026-1-5", date(2026, 1, 5), date(2026, 1, 5)),
])
def test_date_ranges(text: str, start: date | None, end: date | None) -> None:
    assert parse_query(text).required == (DateClause("created", start, end),)


@pytest.mark.parametrize("text", [
    "", "  ", '"abc', 'a "b" "c', "title:", "kind:", 'title:""', "created:..",
    "created:gestern", "date:2026-02-30", "created:2026-13", "date:2026-05..2026-04",
    "created:2026-01-01...2026-02-01",
])
def test_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_query(text)


@pytest.mark.parametrize("query", [
    SearchQuery("Antrag", limit=-1), SearchQuery("Antrag", order="alphabet"),  # type: ignore[arg-type]
])
def test_check_query_refuses_bad_options(query: SearchQuery) -> None:
    with pytest.raises(InvalidInput):
        check_query(query)


def test_filename_text() -> None:
    assert filename_text("Lageplan_Nordstadt.pdf") == (
        "Lageplan_Nordstadt.pdf Lageplan Nordstadt pdf")
    assert filename_text("plan") == "plan"


def test_word_pattern_matches_the_analyzer_tokenizer() -> None:
    assert WORD_PATTERN.pattern == TOKEN_PATTERN


def test_spans_cover_stems_folding_and_compounds() -> None:
    analyzer = german_analyzer()
    text = "Der Bauantrag von Herrn Mueller zur Straße; Anträge folgen."
    spans = match_spans(analyzer, text, frozenset({"antrag", "mull", "strass"}))
    assert [text[a:b] for a, b in spans] == ["Bauantrag", "Mueller", "Straße", "Anträge"]


def test_snippet_marks_and_cuts() -> None:
    text = "Anfang. " + "Füllwort " * 60 + "Der Lageplan fehlt noch. " + "Rest " * 60
    start = text.index("Lageplan")
    snippet = make_snippet(text, [(start, start + len("Lageplan"))], width=80)
    assert "«Lageplan»" in snippet
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert len(snippet) < 110


def test_snippet_without_matches_is_the_start() -> None:
    assert make_snippet("Kurzer Text.\n\nZweite Zeile.", []) == "Kurzer Text. Zweite Zeile."
    assert make_snippet("Wort " * 100, [], width=20).endswith("…")
