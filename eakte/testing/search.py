"""The contract suites every :class:`~eakte.search.base.SearchBackend` must pass.

:class:`SearchBackendContract` is what every backend MUST do: indexing, replacing,
deleting, the access filter, ordering, the query syntax of
:class:`~eakte.search.base.SearchQuery`, rebuild bookkeeping and errors. Its German texts
are matched in the forms they are written (any case), so a backend with plain
tokenisation passes it.

:class:`GermanAnalysisContract` is what eakte's German analysis adds (DESIGN §4): umlaut
and ß folding both ways (Müller = Mueller, Straße = Strasse), stemming (Anträge finds
Antrag) and compound parts (Antrag finds Bauantrag). Include it where the backend can;
PostgreSQL's ``german`` text search configuration, for example, stems but neither folds
ue↔ü nor splits compounds.

Decisions the suite pins for every backend: an empty query, an unbalanced ``"``, a date
that does not parse and a range that ends before it starts raise
:class:`~eakte.errors.InvalidInput`; punctuation, symbols and words such as ``OR`` never
raise; ``limit=0`` still counts. Snippets are only required to contain the matched word
(how matches are marked is up to the backend).

Use, in a backend's own tests::

    import pytest
    from eakte.testing.search import GermanAnalysisContract, SearchBackendContract

    class TestMyBackend(SearchBackendContract, GermanAnalysisContract):
        @pytest.fixture
        def search_backend(self, tmp_path):
            backend = MyBackend(tmp_path / "index")
            yield backend
            backend.close()

The fixture returns a new, empty backend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from eakte.errors import InvalidInput
from eakte.search.base import (
    IndexDocument,
    IndexEntry,
    SearchBackend,
    SearchHit,
    SearchQuery,
    SearchResult,
)

__all__ = ["CORPUS", "GermanAnalysisContract", "SearchBackendContract", "make_document"]


def make_document(document_id: int, **fields: Any) -> IndexDocument:
    """Return an :class:`IndexDocument` with plausible defaults for fields not given."""
    values: dict[str, Any] = {
        "document_id": document_id,
        "akte_id": 1,
        "aktenzeichen": "000.00-0001/26",
        "title": f"Dokument {document_id}",
        "text": "",
        "kind": "internal",
        "mime": "text/plain",
        "filename": f"dokument-{document_id}.txt",
        "version": 1,
        "sha256": f"{document_id:064x}",
        "created_at": datetime(2026, 1, 1, 12, 0, tzinfo=UTC) + timedelta(hours=document_id),
    }
    values.update(fields)
    return IndexDocument(**values)


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


#: A small German collection; see the tests for which query finds what.
CORPUS: tuple[IndexDocument, ...] = (
    make_document(
        1, akte_id=10, aktenzeichen="630.10-0001/26",
        title="Bauantrag Einfamilienhaus Lindenstraße 5",
        text="Sehr geehrte Damen und Herren, hiermit beantrage ich die Baugenehmigung für "
             "ein Einfamilienhaus. Der Lageplan und die Bauzeichnungen liegen bei.",
        kind="incoming", mime="application/pdf", filename="gutachten.pdf",
        created_at=_at("2026-01-15"), document_date=date(2026, 1, 12),
        metadata={"bauherr": "Erika Mustermann", "gemarkung": "Nordstadt"}),
    make_document(
        2, akte_id=10, aktenzeichen="630.10-0001/26", title="Eingangsbestätigung",
        text="Ihr Schreiben ist am 15. Januar 2026 eingegangen. Die Prüfung der Unterlagen "
             "hat begonnen.",
        kind="outgoing", mime="text/plain", filename="eingang.txt",
        created_at=_at("2026-01-20"), document_date=date(2026, 2, 1)),
    make_document(
        3, akte_id=11, aktenzeichen="630.20-0002/26", title="Stellungnahme der Denkmalpflege",
        text="Das Gebäude steht unter Denkmalschutz. Eine Genehmigung kann nur mit Auflagen "
             "erteilt werden.",
        kind="internal", mime="text/plain", created_at=_at("2026-02-10")),
    make_document(
        4, akte_id=12, aktenzeichen="020.10-0003/26", title="Vermerk zur Haushaltsplanung",
        text="Die Mittel für die Digitalisierung werden im Haushalt 2026 bereitgestellt.",
        kind="internal", mime="text/plain", created_at=_at("2026-03-05"),
        metadata={"sachgebiet": "Finanzen"}),
    make_document(
        5, akte_id=13, aktenzeichen="110.30-0004/25", title="Beschwerde über Baulärm",
        text="Der Anwohner beschwert sich über die Sperrung der Hauptstraße am Markt.",
        kind="incoming", mime="message/rfc822", filename="beschwerde.eml",
        created_at=_at("2025-11-30")),
    make_document(
        6, akte_id=12, aktenzeichen="020.10-0003/26", title="Gebührenbescheid",
        text="Für die Amtshandlung wird eine Gebühr von 120 Euro festgesetzt. Die Sperrung "
             "der Brücke bleibt bestehen.",
        kind="outgoing", mime="application/pdf", created_at=_at("2026-04-02")),
    make_document(
        7, akte_id=10, aktenzeichen="630.10-0001/26", title="Rücknahme",
        text="Der Bauantrag wurde am 3. März zurückgezogen. Der Antrag wurde abgelehnt.",
        kind="incoming", mime="text/plain", created_at=_at("2026-03-03")),
)


def _ids(result: SearchResult) -> list[int]:
    return [hit.document_id for hit in result.hits]


class _Helpers:
    """Shortcuts shared by the contract classes."""

    @staticmethod
    def find(backend: SearchBackend, text: str, **options: Any) -> set[int]:
        """Return the ids of all hits of ``text``, checking that total agrees."""
        result = backend.search(SearchQuery(text, limit=options.pop("limit", 1000), **options))
        ids = _ids(result)
        assert len(ids) == len(set(ids)), f"duplicate hits for {text!r}: {ids}"
        assert result.total == len(ids), f"total {result.total} != {len(ids)} hits for {text!r}"
        return set(ids)

    @staticmethod
    def corpus(backend: SearchBackend, docs: Iterable[IndexDocument] = CORPUS) -> None:
        """Index ``docs`` in one batch."""
        backend.index(list(docs))


class SearchBackendContract(_Helpers):
    """Tests every :class:`~eakte.search.base.SearchBackend` MUST pass.

    Subclass it in a class whose name starts with ``Test`` and provide a ``search_backend``
    fixture returning a new, empty backend (see the module docstring).
    """

    # -- protocol and empty index ------------------------------------------------------

    def test_satisfies_protocol(self, search_backend: SearchBackend) -> None:
        """The backend has every member of the protocol and a name."""
        assert isinstance(search_backend, SearchBackend)
        assert isinstance(type(search_backend).name, str) and type(search_backend).name

    def test_empty_index_finds_nothing(self, search_backend: SearchBackend) -> None:
        """Searching an empty index returns no hits and a total of 0."""
        result = search_backend.search(SearchQuery("Antrag"))
        assert result == SearchResult(hits=[], total=0)
        assert list(search_backend.entries()) == []

    # -- finding -----------------------------------------------------------------------

    def test_finds_by_content_word_with_hit_fields(self, search_backend: SearchBackend) -> None:
        """A word of the text finds the document; the hit carries its fields and a snippet."""
        self.corpus(search_backend)
        result = search_backend.search(SearchQuery("Lageplan"))
        assert result.total == 1
        [hit] = result.hits
        assert isinstance(hit, SearchHit)
        assert (hit.document_id, hit.akte_id, hit.aktenzeichen, hit.title) == (
            1, 10, "630.10-0001/26", "Bauantrag Einfamilienhaus Lindenstraße 5")
        assert isinstance(hit.score, float) and hit.score > 0
        assert "lageplan" in hit.snippet.lower()

    def test_finds_by_title_word(self, search_backend: SearchBackend) -> None:
        """A word only in the title finds the document."""
        self.corpus(search_backend)
        assert self.find(search_backend, "Stellungnahme") == {3}

    def test_matching_ignores_case(self, search_backend: SearchBackend) -> None:
        """Upper, lower and mixed case find the same documents."""
        self.corpus(search_backend)
        for text in ("LAGEPLAN", "lageplan", "LaGePlAn"):
            assert self.find(search_backend, text) == {1}

    def test_every_word_must_match(self, search_backend: SearchBackend) -> None:
        """Several words find only documents containing all of them."""
        self.corpus(search_backend)
        assert self.find(search_backend, "Sperrung") == {5, 6}
        assert self.find(search_backend, "Sperrung Brücke") == {6}
        assert self.find(search_backend, "Denkmalschutz Brücke") == set()

    def test_umlauts_match_as_written(self, search_backend: SearchBackend) -> None:
        """Words with umlauts and ß find the same spelling."""
        self.corpus(search_backend)
        assert self.find(search_backend, "Gebäude") == {3}
        assert self.find(search_backend, "Lindenstraße") == {1}

    def test_relevance_ranks_title_matches_first(self, search_backend: SearchBackend) -> None:
        """A word in a short title ranks above the same word once in a long text."""
        filler = " ".join(["Die Unterlagen wurden geprüft und zur Akte genommen."] * 8)
        search_backend.index([
            make_document(1, title="Vermerk", text=f"{filler} Widerspruch. {filler}"),
            make_document(2, title="Widerspruch", text="Widerspruch gegen den Bescheid."),
        ])
        result = search_backend.search(SearchQuery("Widerspruch"))
        assert _ids(result) == [2, 1]
        assert result.hits[0].score >= result.hits[1].score > 0

    def test_limit_and_total(self, search_backend: SearchBackend) -> None:
        """``limit`` caps the hits; ``total`` counts every match."""
        search_backend.index([make_document(i, text=f"Akteneinsicht Nummer {i}")
                              for i in range(1, 31)])
        result = search_backend.search(SearchQuery("Akteneinsicht", limit=5))
        assert len(result.hits) == 5
        assert result.total == 30
        assert search_backend.search(SearchQuery("Akteneinsicht", limit=0)).total == 30

    def test_total_is_exact_with_a_small_limit(self, search_backend: SearchBackend) -> None:
        """The total does not depend on the limit, for words, prefixes and fields."""
        search_backend.index([
            make_document(i, akte_id=i % 3, title="Bauvorhaben" if i % 2 else "Vermerk",
                          text=f"Bauabschnitt {i}, Baubeginn im Frühjahr, Bauleitung vor Ort")
            for i in range(1, 41)])
        for text in ("Baubeginn", "Bau*", "Bauvorhaben", "Baubeginn kind:internal",
                     "created:2026-01-01..2026-12-31"):
            for akte_ids in (None, frozenset({1, 2})):
                full = search_backend.search(SearchQuery(text, limit=1000, akte_ids=akte_ids))
                small = search_backend.search(SearchQuery(text, limit=2, akte_ids=akte_ids))
                dated = search_backend.search(SearchQuery(text, limit=2, akte_ids=akte_ids,
                                                          order="date"))
                assert full.total == len(full.hits) > 2, text
                assert small.total == dated.total == full.total, (text, akte_ids)

    # -- replacing and deleting ----------------------------------------------------------

    def test_reindex_replaces(self, search_backend: SearchBackend) -> None:
        """Indexing a document id again replaces it: no duplicate, old text gone."""
        self.corpus(search_backend)
        new = dataclasses.replace(CORPUS[0], text="Nachtrag zur Statik", version=2,
                                  sha256="e" * 64)
        search_backend.index([new])
        assert self.find(search_backend, "Lageplan") == set()
        assert self.find(search_backend, "Statik") == {1}
        assert self.find(search_backend, "Einfamilienhaus") == {1}  # still in the title
        entries = {e.document_id: e for e in search_backend.entries()}
        assert entries[1] == IndexEntry(1, 2, "e" * 64)
        assert len(entries) == len(CORPUS)

    def test_same_id_twice_in_one_batch_keeps_the_last(
            self, search_backend: SearchBackend) -> None:
        """A batch naming a document twice indexes its last entry once."""
        search_backend.index([make_document(1, text="Entwurf"),
                              make_document(1, text="Endfassung", version=2, sha256="f" * 64)])
        assert self.find(search_backend, "Entwurf") == set()
        assert self.find(search_backend, "Endfassung") == {1}
        assert list(search_backend.entries()) == [IndexEntry(1, 2, "f" * 64)]

    def test_delete_removes(self, search_backend: SearchBackend) -> None:
        """Deleted documents are no longer found; unknown ids and empty lists are fine."""
        self.corpus(search_backend)
        search_backend.delete([5, 999])
        search_backend.delete([])
        assert self.find(search_backend, "Sperrung") == {6}
        assert {e.document_id for e in search_backend.entries()} == {1, 2, 3, 4, 6, 7}

    def test_batch_becomes_visible_whole(self, search_backend: SearchBackend) -> None:
        """A batch of 200 documents is found completely after one index() call."""
        search_backend.index([make_document(i, akte_id=i % 7, text=f"Wohngeldantrag Fall {i}")
                              for i in range(1, 201)])
        result = search_backend.search(SearchQuery("Wohngeldantrag", limit=10))
        assert result.total == 200
        assert len(list(search_backend.entries())) == 200
        search_backend.index([])  # an empty batch changes nothing
        assert search_backend.search(SearchQuery("Wohngeldantrag")).total == 200

    def test_entries_lists_exactly_the_index(self, search_backend: SearchBackend) -> None:
        """entries() yields id, version and sha256 of every indexed document once."""
        self.corpus(search_backend)
        search_backend.delete([2])
        expected = {IndexEntry(d.document_id, d.version, d.sha256)
                    for d in CORPUS if d.document_id != 2}
        entries = list(search_backend.entries())
        assert len(entries) == len(expected)
        assert set(entries) == expected

    # -- access filter -----------------------------------------------------------------

    def test_akte_filter_restricts_hits(self, search_backend: SearchBackend) -> None:
        """Documents outside akte_ids are never returned, even as the only match."""
        self.corpus(search_backend)
        assert self.find(search_backend, "Denkmalschutz", akte_ids=frozenset({10, 12})) == set()
        assert self.find(search_backend, "Denkmalschutz", akte_ids=frozenset({11})) == {3}
        assert self.find(search_backend, "Sperrung", akte_ids=frozenset({12, 99})) == {6}

    def test_akte_filter_applies_before_counting(self, search_backend: SearchBackend) -> None:
        """The total counts only allowed documents; hits and snippets come only from them."""
        search_backend.index([make_document(i, akte_id=1 if i <= 3 else 2,
                                            text=f"Akteneinsicht beantragt, Vorgang {i}")
                              for i in range(1, 11)])
        result = search_backend.search(
            SearchQuery("Akteneinsicht", limit=2, akte_ids=frozenset({1})))
        assert result.total == 3
        assert len(result.hits) == 2
        assert {hit.akte_id for hit in result.hits} == {1}
        assert all(hit.document_id <= 3 for hit in result.hits)

    def test_empty_akte_filter_finds_nothing(self, search_backend: SearchBackend) -> None:
        """An empty frozenset of Akten allows nothing (None allows everything)."""
        self.corpus(search_backend)
        result = search_backend.search(SearchQuery("Sperrung", akte_ids=frozenset()))
        assert result == SearchResult(hits=[], total=0)
        assert self.find(search_backend, "Sperrung", akte_ids=None) == {5, 6}

    def test_akte_filter_with_unknown_akten(self, search_backend: SearchBackend) -> None:
        """Only unknown Akten allowed: nothing is found and nothing is counted."""
        self.corpus(search_backend)
        result = search_backend.search(SearchQuery("Sperrung", akte_ids=frozenset({404})))
        assert result == SearchResult(hits=[], total=0)

    # -- order -------------------------------------------------------------------------

    def test_order_by_date_newest_first(self, search_backend: SearchBackend) -> None:
        """order="date" returns the newest filed documents first, scores still positive."""
        base = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
        days = [3, 9, 1, 7, 5]
        search_backend.index([
            make_document(i, text="Widerspruch " * (i + 1), created_at=base + timedelta(days=d))
            for i, d in enumerate(days, start=1)])
        result = search_backend.search(SearchQuery("Widerspruch", order="date", limit=3))
        assert _ids(result) == [2, 4, 5]
        assert result.total == 5
        assert all(hit.score > 0 for hit in result.hits)

    def test_relevance_scores_descend(self, search_backend: SearchBackend) -> None:
        """Relevance order returns hits with non-increasing scores."""
        self.corpus(search_backend)
        scores = [hit.score for hit in search_backend.search(SearchQuery("Sperrung")).hits]
        assert scores == sorted(scores, reverse=True)

    # -- query syntax ------------------------------------------------------------------

    def test_phrase_matches_exact_phrase_only(self, search_backend: SearchBackend) -> None:
        """A quoted phrase needs its words adjacent and in order."""
        search_backend.index([
            make_document(1, text="Der Antrag wurde abgelehnt."),
            make_document(2, text="Abgelehnt wurde der Antrag nicht."),
            make_document(3, text="Der Antrag auf Verlängerung wurde später abgelehnt."),
        ])
        assert self.find(search_backend, '"Antrag wurde abgelehnt"') == {1}
        assert self.find(search_backend, "Antrag abgelehnt") == {1, 2, 3}
        assert self.find(search_backend, '"abgelehnt wurde" Antrag') == {2}

    def test_excluded_words(self, search_backend: SearchBackend) -> None:
        """-word, -"phrase" and -field:value exclude matching documents."""
        self.corpus(search_backend)
        assert self.find(search_backend, "Sperrung -Markt") == {6}
        assert self.find(search_backend, 'Sperrung -"am Markt"') == {6}
        assert self.find(search_backend, "Sperrung -kind:outgoing") == {5}
        assert self.find(search_backend, "-Sperrung -Denkmalschutz") == {1, 2, 4, 7}

    def test_excluded_word_before_the_first_match(self, search_backend: SearchBackend) -> None:
        """An excluded word is honoured wherever it occurs first (a Whoosh AndNot trap)."""
        search_backend.index([make_document(1, text="Genehmigung erteilt"),
                              make_document(2, text="Antrag und Genehmigung"),
                              make_document(3, text="Antrag ohne Bescheid")])
        assert self.find(search_backend, "Antrag -Genehmigung") == {3}
        assert search_backend.search(SearchQuery("Antrag -Genehmigung", limit=1)).total == 1

    def test_title_field(self, search_backend: SearchBackend) -> None:
        """title: matches the title only."""
        self.corpus(search_backend)
        assert self.find(search_backend, "Bauantrag") == {1, 7}
        assert self.find(search_backend, "title:Bauantrag") == {1}
        assert self.find(search_backend, 'title:"Bauantrag Einfamilienhaus"') == {1}
        assert self.find(search_backend, "title:Lageplan") == set()

    def test_aktenzeichen_field(self, search_backend: SearchBackend) -> None:
        """aktenzeichen: matches the whole Aktenzeichen or, with a trailing *, its start."""
        self.corpus(search_backend)
        assert self.find(search_backend, "aktenzeichen:630.10-*") == {1, 2, 7}
        assert self.find(search_backend, "aktenzeichen:630.*") == {1, 2, 3, 7}
        assert self.find(search_backend, "aktenzeichen:630.1*") == {1, 2, 7}
        assert self.find(search_backend, "aktenzeichen:630.10-000*") == {1, 2, 7}
        assert self.find(search_backend, "aktenzeichen:63*") == {1, 2, 3, 7}
        assert self.find(search_backend, "aktenzeichen:020.10-0003/26") == {4, 6}
        assert self.find(search_backend, "aktenzeichen:020.10") == set()
        assert self.find(search_backend, "Sperrung aktenzeichen:020.*") == {6}

    def test_kind_and_mime_fields(self, search_backend: SearchBackend) -> None:
        """kind: and mime: match whole values; mime: also with a trailing *."""
        self.corpus(search_backend)
        assert self.find(search_backend, "kind:outgoing") == {2, 6}
        assert self.find(search_backend, "kind:incoming Sperrung") == {5}
        assert self.find(search_backend, "mime:application/pdf") == {1, 6}
        assert self.find(search_backend, "mime:message/*") == {5}

    def test_meta_field(self, search_backend: SearchBackend) -> None:
        """meta: matches metadata values."""
        self.corpus(search_backend)
        assert self.find(search_backend, "meta:Mustermann") == {1}
        assert self.find(search_backend, "meta:Finanzen") == {4}
        assert self.find(search_backend, "meta:Lageplan") == set()

    def test_filename_field(self, search_backend: SearchBackend) -> None:
        """filename: matches the original file name."""
        self.corpus(search_backend)
        assert self.find(search_backend, "filename:gutachten.pdf") == {1}
        assert self.find(search_backend, "filename:beschwerde.eml") == {5}

    def test_created_date_range(self, search_backend: SearchBackend) -> None:
        """created: takes inclusive ranges, open ends and single days."""
        self.corpus(search_backend)
        assert self.find(search_backend, "created:2026-01-01..2026-01-31") == {1, 2}
        assert self.find(search_backend, "created:2026-03-01..") == {4, 6, 7}
        assert self.find(search_backend, "created:..2025-12-31") == {5}
        assert self.find(search_backend, "created:2026-01-15..2026-01-15") == {1}
        assert self.find(search_backend, "created:2026-01-20") == {2}
        assert self.find(search_backend, "Sperrung created:2026-01-01..2026-12-31") == {6}

    def test_document_date_range(self, search_backend: SearchBackend) -> None:
        """date: filters on the document's own date; documents without one never match."""
        self.corpus(search_backend)
        assert self.find(search_backend, "date:2026-01-01..2026-01-31") == {1}
        assert self.find(search_backend, "date:2026-01-01..") == {1, 2}

    @pytest.mark.parametrize("text", [
        '"abc', 'Antrag "am Markt', "created:notadate..x", "created:2026-13-01..",
        "date:2026-02-30", "created:2026-05-01..2026-04-01", "created:..", "", "   ",
    ])
    def test_invalid_query_raises_invalid_input(self, search_backend: SearchBackend,
                                                text: str) -> None:
        """Unbalanced quotes, bad dates and empty queries raise InvalidInput."""
        self.corpus(search_backend)
        with pytest.raises(InvalidInput):
            search_backend.search(SearchQuery(text))
        assert self.find(search_backend, "Lageplan") == {1}  # still usable

    @pytest.mark.parametrize("text", [
        "C++", "§ 34 BauGB", "foo:bar", "Straße:", "(Antrag)", "Antrag OR Bescheid", "AND",
        "*", "-", "--Sperrung", "ä ö ü", "title:*", "630.10-0001/26", "a" * 300, "🙂",
        "Sperrung\tBrücke\n",
    ])
    def test_odd_queries_do_not_fail(self, search_backend: SearchBackend, text: str) -> None:
        """Punctuation, operators and symbols are searched, never an error."""
        self.corpus(search_backend)
        result = search_backend.search(SearchQuery(text))
        assert isinstance(result, SearchResult)
        assert result.total >= len(result.hits)

    def test_odd_text_is_indexed(self, search_backend: SearchBackend) -> None:
        """Empty, symbol-only, control-character and very long texts index fine."""
        long_text = "Verwaltung " * 20_000 + "Schlusswort"
        search_backend.index([
            make_document(1, text="", title=""),
            make_document(2, text="🙂 \x00\x07 ¶ — ‚Zitat‘ „Zitat“ ﬁnal", title="Symbole"),
            make_document(3, text=long_text, title="Lang"),
        ])
        assert self.find(search_backend, "Symbole") == {2}
        assert self.find(search_backend, "Verwaltung") == {3}
        assert len(list(search_backend.entries())) == 3

    # -- maintenance ---------------------------------------------------------------------

    def test_clear_empties_and_counts_as_built(self, search_backend: SearchBackend) -> None:
        """clear() removes everything and leaves an index that needs no rebuild."""
        reason = search_backend.needs_rebuild()
        assert reason is None or isinstance(reason, str)
        self.corpus(search_backend)
        search_backend.clear()
        assert search_backend.needs_rebuild() is None
        assert search_backend.search(SearchQuery("Sperrung")).total == 0
        assert list(search_backend.entries()) == []
        assert search_backend.stats()["documents"] == 0
        self.corpus(search_backend)  # usable after clear
        assert self.find(search_backend, "Sperrung") == {5, 6}

    def test_stats(self, search_backend: SearchBackend) -> None:
        """stats() reports at least documents and size_bytes."""
        self.corpus(search_backend)
        stats = search_backend.stats()
        assert stats["documents"] == len(CORPUS)
        assert isinstance(stats["size_bytes"], int) and stats["size_bytes"] >= 0

    def test_close_is_idempotent(self, search_backend: SearchBackend) -> None:
        """close() may be called more than once."""
        search_backend.close()
        search_backend.close()


class GermanAnalysisContract(_Helpers):
    """German matching (DESIGN §4) for backends that analyse like eakte's German analyzer.

    Mix it into a test class together with :class:`SearchBackendContract`; it uses the
    same ``search_backend`` fixture.
    """

    def test_umlaut_folding_both_ways(self, search_backend: SearchBackend) -> None:
        """Müller, Mueller and muller find each other's spellings."""
        search_backend.index([make_document(1, text="Schreiben von Herrn Müller"),
                              make_document(2, text="Antwort an Frau Mueller")])
        for text in ("Müller", "Mueller", "muller", "MÜLLER"):
            assert self.find(search_backend, text) == {1, 2}, text

    def test_sharp_s_folding_both_ways(self, search_backend: SearchBackend) -> None:
        """Straße and Strasse find each other."""
        search_backend.index([make_document(1, text="Sperrung der Straße"),
                              make_document(2, text="Sperrung der Strasse")])
        assert self.find(search_backend, "Straße") == {1, 2}
        assert self.find(search_backend, "Strasse") == {1, 2}

    def test_stemming(self, search_backend: SearchBackend) -> None:
        """Inflected forms find each other: Anträge/Antrag, Genehmigungen/Genehmigung."""
        search_backend.index([make_document(1, text="Ihr Antrag vom 3. Mai"),
                              make_document(2, text="Die Genehmigung wird erteilt")])
        assert self.find(search_backend, "Anträge") == {1}
        assert self.find(search_backend, "Genehmigungen") == {2}

    def test_compound_parts_are_found(self, search_backend: SearchBackend) -> None:
        """Antrag finds Bauantrag, Digitalisierung finds Verwaltungsdigitalisierung."""
        search_backend.index([
            make_document(1, text="Eingang Bauantrag Neubau Einfamilienhaus"),
            make_document(2, text="Konzept zur Verwaltungsdigitalisierung im Landkreis"),
            make_document(3, text="Ihr Antrag ist eingegangen"),
        ])
        assert self.find(search_backend, "Antrag") == {1, 3}
        assert self.find(search_backend, "Digitalisierung") == {2}
        assert self.find(search_backend, "Bauantrag") == {1}

    def test_compound_match_is_highlighted(self, search_backend: SearchBackend) -> None:
        """The snippet of a compound match shows the compound."""
        search_backend.index([make_document(1, text="Eingang Bauantrag Neubau")])
        [hit] = search_backend.search(SearchQuery("Antrag")).hits
        assert "bauantrag" in hit.snippet.lower()

    def test_folding_in_phrases_and_fields(self, search_backend: SearchBackend) -> None:
        """Folding and stemming also apply inside phrases and title:."""
        search_backend.index([make_document(1, title="Anträge der Bürger",
                                            text="Die Anträge der Bürger liegen vor")])
        assert self.find(search_backend, '"Antrag der Buerger"') == {1}
        assert self.find(search_backend, "title:Buerger") == {1}
