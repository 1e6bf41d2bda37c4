"""Session: Aktenplan, Akten and Aktenzeichen, Vorgänge, documents, versions, renditions."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

import eakte
from eakte import AkteStatus, InvalidInput, NotFoundError, StateConflict
from eakte.ingest.source import Source

TABLES = ("akten", "vorgaenge", "documents", "versions", "renditions", "audit_events")


def counts(store: eakte.Store) -> dict[str, int]:
    """Rows per table, read with raw SQL (independent of the ORM)."""
    with store.engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in TABLES}


def events(store: eakte.Store, action: str | None = None) -> list[eakte.AuditEvent]:
    with store.session() as s:
        found = list(s.audit_events())
    return [e for e in found if action is None or e.action == action]


# -- Aktenplan ---------------------------------------------------------------------------


def test_plan_units_nest(store: eakte.Store) -> None:
    with store.session() as s:
        top = s.add_plan_unit("6", "Bauwesen", retention_years=None, disposal="A")
        mid = s.add_plan_unit("630", "Baugenehmigungen", parent="6")
        leaf = s.add_plan_unit(" 630.10 ", "Wohngebäude", parent="630", retention_years=30,
                               disposal=eakte.DisposalDecision.DESTROY)
    with store.session() as s:
        units = {u.kennzeichen: u for u in s.plan_units()}
        assert list(units) == ["6", "630", "630.10"]
        assert units["6"].parent_id is None
        assert units["630"].parent_id == top.id
        assert units["630.10"].parent_id == mid.id
        assert units["630.10"].id == leaf.id
        assert units["6"].retention_years is None
        assert units["6"].disposal == "A"
        assert units["630"].retention_years == 10 and units["630"].disposal == "B"
        assert units["630.10"].retention_years == 30 and units["630.10"].disposal == "V"
        assert s.get_plan_unit("630.10").title == "Wohngebäude"
    created = events(store, "plan.create")
    assert [e.details["kennzeichen"] for e in created] == ["6", "630", "630.10"]
    assert created[2].details["parent"] == "630"


def test_duplicate_kennzeichen_conflicts(store: eakte.Store) -> None:
    with store.session() as s:
        s.add_plan_unit("630", "Baugenehmigungen")
    with store.session() as s, pytest.raises(StateConflict, match="630"):
        s.add_plan_unit("630", "Noch einmal")
    # also inside one session, before anything was committed
    with store.session() as s:
        s.add_plan_unit("631", "Abbruch")
        with pytest.raises(StateConflict):
            s.add_plan_unit("631", "Abbruch 2")
    with store.session() as s:
        assert [u.title for u in s.plan_units()] == ["Baugenehmigungen", "Abbruch"]


@pytest.mark.parametrize("kennzeichen", ["", "   ", "63-1", "../x", "a b", "630.", ".630",
                                         "630..10", "630/10", "6" * 21])
def test_invalid_kennzeichen(mem_store: eakte.Store, kennzeichen: str) -> None:
    with mem_store.session() as s, pytest.raises(InvalidInput, match="Kennzeichen"):
        s.add_plan_unit(kennzeichen, "Titel")
    with mem_store.session() as s:
        assert s.plan_units() == []


def test_unknown_parent(mem_store: eakte.Store) -> None:
    with mem_store.session() as s, pytest.raises(NotFoundError) as info:
        s.add_plan_unit("630.10", "Wohngebäude", parent="630")
    assert info.value.kind == "Aktenplan unit"
    assert info.value.key == "630"
    with mem_store.session() as s:
        assert s.plan_units() == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"disposal": "X"}, "disposal"),
        ({"disposal": "archive"}, "disposal"),
        ({"retention_years": -1}, "retention_years"),
        ({"retention_years": 1001}, "retention_years"),
        ({"retention_years": "10"}, "retention_years"),
        ({"retention_years": 2.5}, "retention_years"),
    ],
)
def test_disposal_and_retention_validation(mem_store: eakte.Store, options, message) -> None:
    with mem_store.session() as s, pytest.raises(InvalidInput, match=message):
        s.add_plan_unit("630", "Baugenehmigungen", **options)


def test_retention_bounds_are_accepted(mem_store: eakte.Store) -> None:
    with mem_store.session() as s:
        assert s.add_plan_unit("1", "Null", retention_years=0).retention_years == 0
        assert s.add_plan_unit("2", "Tausend", retention_years=1000).retention_years == 1000


def test_empty_title_refused(mem_store: eakte.Store) -> None:
    with mem_store.session() as s, pytest.raises(InvalidInput, match="title"):
        s.add_plan_unit("630", "  ")


# -- Akten and Aktenzeichen --------------------------------------------------------------


def test_aktenzeichen_consecutive_per_unit_and_year(store: eakte.Store, make_akte) -> None:
    made = [make_akte(store, f"Akte {i}", year=2026) for i in range(3)]
    assert [a.aktenzeichen for a in made] == [
        "630.10-0001/2026", "630.10-0002/2026", "630.10-0003/2026"]
    assert [a.number for a in made] == [1, 2, 3]
    # another unit counts on its own
    other = make_akte(store, "Halle", kennzeichen="630.20", year=2026)
    assert other.aktenzeichen == "630.20-0001/2026"
    assert make_akte(store, "Akte 4", year=2026).aktenzeichen == "630.10-0004/2026"
    # a new year restarts, the old year continues where it was
    assert make_akte(store, "Neu", year=2027).aktenzeichen == "630.10-0001/2027"
    assert make_akte(store, "Alt", year=2026).aktenzeichen == "630.10-0005/2026"
    with store.session() as s:
        assert [a.aktenzeichen for a in s.list_akten(kennzeichen="630.20")] == [
            "630.20-0001/2026"]
        akte = s.get_akte("630.10-0002/2026")
        assert akte.title == "Akte 1"
        assert akte.status == AkteStatus.OPEN
        assert akte.year == 2026
        assert s.get_akte(akte.id).aktenzeichen == "630.10-0002/2026"


def test_aktenzeichen_defaults_to_the_clocks_year(store_factory, db_url, make_akte) -> None:
    from datetime import UTC, datetime

    store = store_factory.init(db_url=db_url, clock=lambda: datetime(2031, 5, 6, tzinfo=UTC))
    assert make_akte(store).aktenzeichen == "630.10-0001/2031"


def test_custom_pattern_without_year_continues_across_years(
    store_factory, db_url, make_akte
) -> None:
    store = store_factory.init(db_url=db_url, aktenzeichen_pattern="{kennzeichen}/{number}")
    assert make_akte(store, year=2025).aktenzeichen == "630.10/1"
    assert make_akte(store, year=2026).aktenzeichen == "630.10/2"
    assert make_akte(store, kennzeichen="630.20", year=2026).aktenzeichen == "630.20/1"


def test_custom_pattern_with_org_unit(store_factory, make_akte) -> None:
    store = store_factory.init(aktenzeichen_pattern="{org_unit}-{kennzeichen}-{number:03d}/{year}")
    assert make_akte(store, org_unit="BA2", year=2026).aktenzeichen == "BA2-630.10-001/2026"


@pytest.mark.parametrize(
    "pattern",
    [
        "{kennzeichen}",  # no number: not unique
        "{number}/{year}",  # no kennzeichen
        "{kennzeichen}-{number}-{color}",  # unknown field
        "{kennzeichen}-{number",  # broken format string
        "{kennzeichen}-{number:q}",  # bad format spec
        "{kennzeichen}-{number}-{0}",  # positional field
        "{kennzeichen.upper}-{number}",  # attribute access
    ],
)
def test_invalid_patterns(tmp_path: Path, pattern: str) -> None:
    with pytest.raises(InvalidInput, match="pattern"):
        eakte.init(tmp_path / "s", aktenzeichen_pattern=pattern)
    assert not (tmp_path / "s").exists()
    with pytest.raises(InvalidInput):
        eakte.AktenzeichenPattern(pattern)


def test_rollback_returns_the_number(store: eakte.Store, make_akte) -> None:
    assert make_akte(store, year=2026).aktenzeichen == "630.10-0001/2026"
    before = counts(store)
    with pytest.raises(RuntimeError, match="boom"), store.session() as s:
        lost = s.create_akte("630.10", "Wird verworfen", year=2026)
        assert lost.aktenzeichen == "630.10-0002/2026"
        raise RuntimeError("boom")
    assert counts(store) == before
    # a failed commit (duplicate external id) returns the number too
    with store.session() as s:
        s.create_akte("630.20", "Anderswo", external_ids=[("bauportal", "BA-7")], year=2026)
    before = counts(store)
    with pytest.raises(StateConflict), store.session() as s:
        s.create_akte("630.10", "Doppelt", external_ids=[("bauportal", "BA-7")], year=2026)
    assert counts(store) == before
    assert make_akte(store, year=2026).aktenzeichen == "630.10-0002/2026"


def test_external_ids(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store, external_ids=[("bauportal", "BA-2026-17"), ("dms", "X1")])
    with store.session() as s:
        assert s.find_akte("bauportal", "BA-2026-17").id == akte.id
        assert s.find_akte("dms", "X1").id == akte.id
        assert s.external_ids(akte) == ["bauportal:BA-2026-17", "dms:X1"]
        with pytest.raises(NotFoundError):
            s.find_akte("bauportal", "BA-2026-18")
        with pytest.raises(NotFoundError):
            s.find_akte("other", "BA-2026-17")
    with pytest.raises(StateConflict, match="bauportal:BA-2026-17"), store.session() as s:
        s.create_akte("630.10", "Zweite", external_ids=[("bauportal", "BA-2026-17")])
    with store.session() as s:
        assert len(s.list_akten()) == 1
        # the same id in another system is fine
        other = s.create_akte("630.10", "Zweite", external_ids=[("dms", "BA-2026-17")])
    created = events(store, "akte.create")
    assert created[0].details["external_ids"] == ["bauportal:BA-2026-17", "dms:X1"]
    assert created[1].object_id == str(other.id)


def test_list_akten_by_query_and_status(store: eakte.Store, make_akte) -> None:
    mueller = make_akte(store, "Bauantrag Familie Müller, Lindenstraße 4",
                        external_ids=[("bauportal", "BA-2026-17")])
    rabatt = make_akte(store, "Rabatt 100% für Gebühren_2026", kennzeichen="630.20")
    other = make_akte(store, "Garage Schmidt", external_ids=[("ozg", "X-9")])
    with store.session() as s:
        s.close_akte(other)
        s.add_user("gast")
        s.grant("gast", "reader", rabatt.aktenzeichen)

    def found(user: str | None = None, **options: object) -> list[str]:
        with store.session(user) as s:
            return [a.title for a in s.list_akten(**options)]  # type: ignore[arg-type]

    assert found(query="MÜLLER") == [mueller.title]  # Unicode letters fold on both databases
    assert found(query="LINDENSTRAßE") == [mueller.title]
    assert found(query=mueller.aktenzeichen.upper()) == [mueller.title]
    assert found(query="630.20-") == [rabatt.title]
    assert found(query="ba-2026") == [mueller.title]  # an external id
    assert found(query="bauportal:BA") == [mueller.title]  # system:id
    assert found(query="%") == [rabatt.title]  # wildcards are plain characters
    assert found(query="_") == [rabatt.title]
    assert found(query="0%") == [rabatt.title]
    assert found(query="\\") == []
    assert found(query="  garage ") == [other.title]
    assert found(status="closed") == [other.title]
    assert found(status=AkteStatus.OPEN) == [mueller.title, rabatt.title]
    assert found(status="open", query="garage") == []
    assert found(kennzeichen="630.10", query="a") == [mueller.title, other.title]
    assert found("gast", query="a") == [rabatt.title]  # only what the user may read
    assert found("gast", query="müller") == []
    for bad in ({"query": "   "}, {"status": "z.d.A."}):
        with store.session() as s, pytest.raises(InvalidInput):
            s.list_akten(**bad)  # type: ignore[arg-type]


def test_get_akte_unknown(store: eakte.Store, make_akte) -> None:
    make_akte(store)
    with store.session() as s:
        with pytest.raises(NotFoundError):
            s.get_akte("630.10-9999/2026")
        with pytest.raises(NotFoundError):
            s.get_akte(10**6)
        with pytest.raises(NotFoundError):
            s.create_akte("999", "Keine Einheit")


def test_update_akte_is_audited_with_old_and_new(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store, "Alter Titel", metadata={"a": 1})
    with store.session() as s:
        akte = s.get_akte(akte.id)
        s.update_akte(akte, title="Neuer Titel", metadata={"a": 2, "ü": "ß"})
        s.update_akte(akte, title="Neuer Titel")  # no change, no event
    with store.session() as s:
        assert s.get_akte(akte.id).title == "Neuer Titel"
        assert s.get_akte(akte.id).meta == {"a": 2, "ü": "ß"}
    (update,) = events(store, "akte.update")
    assert update.object_id == str(akte.id)
    assert update.details["title"] == {"old": "Alter Titel", "new": "Neuer Titel"}
    assert update.details["metadata"] == {"old": {"a": 1}, "new": {"a": 2, "ü": "ß"}}


# -- Vorgänge ----------------------------------------------------------------------------


def test_vorgaenge_nest(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store)
    with store.session() as s:
        antrag = s.create_vorgang(akte, "Bauantrag")
        nachforderung = s.create_vorgang(akte, "Nachforderung", parent=antrag)
        s.create_vorgang(akte, "Stellungnahme Brandschutz", parent=nachforderung)
    with store.session() as s:
        found = s.vorgaenge(akte)
        assert [v.title for v in found] == [
            "Bauantrag", "Nachforderung", "Stellungnahme Brandschutz"]
        assert [v.parent_id for v in found] == [None, found[0].id, found[1].id]
        assert s.get_vorgang(found[1].id).akte_id == akte.id
        by_title = s.find_vorgang(akte, "Nachforderung")
        assert by_title is not None and by_title.id == found[1].id
        assert s.find_vorgang(akte, "Fehlt") is None
        with pytest.raises(NotFoundError):
            s.get_vorgang(10**6)
    other = make_akte(store, "Andere Akte")
    with store.session() as s, pytest.raises(InvalidInput, match="same Akte"):
        s.create_vorgang(other, "Fremd", parent=antrag)
    with store.session() as s, pytest.raises(InvalidInput, match="another Akte"):
        s.file_document(other, b"x", vorgang=antrag)
    assert [e.details["parent"] for e in events(store, "vorgang.create")] == [
        None, antrag.id, nachforderung.id]


# -- documents ---------------------------------------------------------------------------


def test_file_document_from_bytes_path_and_stream(store: eakte.Store, make_akte,
                                                  tmp_path: Path) -> None:
    akte = make_akte(store)
    path = tmp_path / "Lageplan.txt"
    path.write_bytes("Lageplan Flurstück 12/3\n".encode())
    stream = io.BytesIO(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    with store.session() as s:
        vorgang = s.create_vorgang(akte, "Bauantrag")
        from_bytes = s.file_document(akte, b"Antrag auf Baugenehmigung", title="Antrag",
                                     kind="incoming", vorgang=vorgang)
        from_path = s.file_document(akte, path)
        from_stream = s.file_document(akte, stream, filename="plan.pdf",
                                      metadata={"seiten": 1})
    with store.session() as s:
        docs = s.documents(akte)
        assert [d.id for d in docs] == [from_bytes.id, from_path.id, from_stream.id]
        assert [d.title for d in docs] == ["Antrag", "Lageplan.txt", "plan.pdf"]
        assert docs[0].kind == "incoming" and docs[0].vorgang_id == vorgang.id
        assert docs[2].meta == {"seiten": 1}
        versions = [s.get_version(d) for d in docs]
        assert [v.filename for v in versions] == ["document", "Lageplan.txt", "plan.pdf"]
        assert [v.mime for v in versions] == ["text/plain", "text/plain", "application/pdf"]
        assert s.read_content(docs[0]) == b"Antrag auf Baugenehmigung"
        assert s.read_content(docs[1]) == path.read_bytes()
        assert s.read_content(docs[2]) == stream.getvalue()
        assert versions[1].size == path.stat().st_size
    filed = events(store, "document.file")
    assert [e.object_id for e in filed] == [str(d.id) for d in docs]
    assert filed[1].details["sha256"] == versions[1].sha256
    assert filed[1].details["aktenzeichen"] == akte.aktenzeichen


@pytest.mark.parametrize("kind", ["bytes", "path", "stream"])
def test_empty_content_is_refused_and_nothing_written(
    store: eakte.Store, make_akte, tmp_path: Path, kind: str
) -> None:
    akte = make_akte(store)
    empty = tmp_path / "leer.txt"
    empty.write_bytes(b"")
    sources: dict[str, Source] = {"bytes": b"", "path": empty, "stream": io.BytesIO(b"")}
    source = sources[kind]
    before, blobs_before = counts(store), set(store.blobs)
    with pytest.raises(InvalidInput, match="empty"), store.session() as s:
        s.file_document(akte, source)
    assert counts(store) == before
    assert set(store.blobs) == blobs_before


def test_missing_or_unreadable_path(store: eakte.Store, make_akte, tmp_path: Path) -> None:
    akte = make_akte(store)
    before = counts(store)
    with pytest.raises(InvalidInput, match=r"fehlt\.txt"), store.session() as s:
        s.file_document(akte, tmp_path / "fehlt.txt")
    with pytest.raises(InvalidInput, match="not a regular file"), store.session() as s:
        s.file_document(akte, tmp_path)
    with pytest.raises(InvalidInput, match=r"fehlt\.txt"), store.session() as s:
        s.file_documents(akte, [tmp_path / "fehlt.txt"])
    assert counts(store) == before


def test_file_documents_checks_every_path_first(store: eakte.Store, make_akte,
                                                tmp_path: Path) -> None:
    akte = make_akte(store)
    good = tmp_path / "a.txt"
    good.write_text("a")
    before, blobs_before = counts(store), set(store.blobs)
    with pytest.raises(InvalidInput), store.session() as s:
        s.file_documents(akte, [good, tmp_path / "fehlt.txt"])
    assert counts(store) == before
    assert set(store.blobs) == blobs_before
    seen = []
    with store.session() as s:
        docs = s.file_documents(akte, [good, good], progress=lambda d, t: seen.append((d, t)))
    assert len(docs) == 2 and seen == [(1, 2), (2, 2)]


def test_closed_akte_refuses_changes_until_reopened(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store)
    with store.session() as s:
        doc = s.file_document(akte, b"vorher")
        version = s.get_version(doc)
        s.close_akte(akte)
    with store.session() as s:
        akte = s.get_akte(akte.id)
        assert akte.status == AkteStatus.CLOSED and akte.closed_at is not None
        with pytest.raises(StateConflict, match="already closed"):
            s.close_akte(akte)
    before = counts(store)
    attempts: dict[str, Callable[[eakte.Session], object]] = {
        "document": lambda s: s.file_document(akte, b"neu"),
        "version": lambda s: s.add_version(doc, b"neu"),
        "vorgang": lambda s: s.create_vorgang(akte, "Neu"),
        "rendition": lambda s: s.add_rendition(version, b"%PDF-1.4 neu", kind="pdfa"),
        "update": lambda s: s.update_document(doc, title="Neu"),
    }
    for what, attempt in attempts.items():
        with pytest.raises(StateConflict, match=r"z\.d\.A\.") as info, store.session() as s:
            attempt(s)
        assert akte.aktenzeichen in str(info.value), what
    assert counts(store) == before
    with store.session() as s:
        s.reopen_akte(akte)
        with pytest.raises(StateConflict, match="is open"):
            s.reopen_akte(akte)
    with store.session() as s:
        for attempt in attempts.values():
            attempt(s)
    assert [e.action for e in events(store)][-8:-5] == ["document.file", "akte.close",
                                                       "akte.reopen"]


def test_versions_are_numbered_and_exact(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store)
    contents = [b"Fassung %d " % n * n for n in range(1, 6)]
    with store.session() as s:
        doc = s.file_document(akte, contents[0], filename="bescheid.txt", comment="erste")
        for data in contents[1:]:
            s.add_version(doc, data, comment="neu")
        assert doc.version_count == 5
    with store.session() as s:
        doc = s.get_document(doc.id)
        versions = s.versions(doc)
        assert [v.number for v in versions] == [1, 2, 3, 4, 5]
        assert [v.comment for v in versions] == ["erste", "neu", "neu", "neu", "neu"]
        for n, data in enumerate(contents, 1):
            assert s.read_content(doc, version=n) == data
            assert s.get_version(doc, n).size == len(data)
        assert s.read_content(doc) == contents[-1]
        assert s.get_version(doc).number == 5
        with pytest.raises(NotFoundError):
            s.get_version(doc, 6)
    added = events(store, "version.add")
    assert [e.details["version"] for e in added] == [2, 3, 4, 5]


def test_a_version_identical_to_the_newest_adds_nothing(store: eakte.Store,
                                                        make_akte) -> None:
    akte = make_akte(store)
    with store.session() as s:
        doc = s.file_document(akte, b"Bescheid", filename="bescheid.txt")
        first = s.get_version(doc)
    with store.session() as s:
        doc = s.get_document(doc.id)
        same = s.add_version(doc, b"Bescheid", filename="kopie.txt", comment="nochmal")
        assert (same.id, same.number, same.filename, same.comment) == (
            first.id, 1, "bescheid.txt", None)
        assert doc.version_count == 1
    assert events(store, "version.add") == []
    with store.session() as s:
        doc = s.get_document(doc.id)
        assert s.add_version(doc, b"Bescheid, berichtigt").number == 2
        assert s.add_version(doc, b"Bescheid").number == 3  # an older content is new again
        forced = s.add_version(doc, b"Bescheid", allow_identical=True, comment="bewusst")
        assert forced.number == 4 and forced.comment == "bewusst"
        assert [v.sha256 for v in s.versions(doc)][2:] == [first.sha256, first.sha256]
    assert [e.details["version"] for e in events(store, "version.add")] == [2, 3, 4]


def test_same_content_twice_shares_one_blob(mem_store: eakte.Store, make_akte) -> None:
    akte = make_akte(mem_store)
    with mem_store.session() as s:
        a = s.file_document(akte, b"gleich")
        b = s.file_document(akte, b"gleich")
        assert s.get_version(a).sha256 == s.get_version(b).sha256
    assert len(list(mem_store.blobs)) == 1


def test_renditions(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store)
    pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n% PDF/A"
    with store.session() as s:
        doc = s.file_document(akte, b"Bescheid (Entwurf)", filename="bescheid.docx")
        version = s.get_version(doc)
        rendition = s.add_rendition(version, pdf, kind="pdfa", filename="bescheid.pdf")
    with store.session() as s:
        assert s.read_content(doc, rendition="pdfa") == pdf
        assert s.read_content(doc, version=1, rendition="original") == b"Bescheid (Entwurf)"
        (found,) = s.renditions(version)
        assert found.id == rendition.id
        assert (found.kind, found.mime, found.filename) == ("pdfa", "application/pdf",
                                                            "bescheid.pdf")
        with pytest.raises(NotFoundError):
            s.read_content(doc, rendition="tiff")
        with pytest.raises(InvalidInput, match="original"):
            s.add_rendition(version, pdf, kind="original")
    with pytest.raises(StateConflict), store.session() as s:
        s.add_rendition(version, b"%PDF-1.4 other", kind="pdfa")
    with store.session() as s:
        assert len(s.renditions(version)) == 1
    (added,) = events(store, "rendition.add")
    assert added.details["kind"] == "pdfa" and added.details["version"] == 1


def test_update_document_is_audited_with_old_and_new(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store)
    with store.session() as s:
        doc = s.file_document(akte, b"x", title="Entwurf", metadata={"stand": 1})
    with store.session() as s:
        doc = s.get_document(doc.id)
        s.update_document(doc, title="Bescheid", kind="outgoing", metadata={"stand": 2})
        s.update_document(doc, title="Bescheid")  # unchanged: no event
        with pytest.raises(InvalidInput):
            s.update_document(doc, kind="sideways")
        with pytest.raises(InvalidInput):
            s.update_document(doc, title="")
    with store.session() as s:
        doc = s.get_document(doc.id)
        assert (doc.title, doc.kind, doc.meta) == ("Bescheid", "outgoing", {"stand": 2})
    (update,) = events(store, "document.update")
    assert update.object_id == str(doc.id)
    assert update.akte_id == doc.akte_id
    assert update.details == {
        "akte": doc.akte_id,
        "title": {"old": "Entwurf", "new": "Bescheid"},
        "kind": {"old": "internal", "new": "outgoing"},
        "metadata": {"old": {"stand": 1}, "new": {"stand": 2}},
    }


def test_content_reads_are_audited(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store)
    with store.session() as s:
        doc = s.file_document(akte, b"vertraulich")
        sha = s.get_version(doc).sha256
    with store.session("admin") as s:
        assert s.read_content(doc) == b"vertraulich"
        with s.open_content(doc, version=1) as fh:
            assert fh.read() == b"vertraulich"
    reads = events(store, "content.read")
    assert len(reads) == 2
    assert all(e.object_id == str(doc.id) and e.actor == "admin" for e in reads)
    assert reads[0].details == {"akte": akte.id, "version": 1, "rendition": "original",
                                "sha256": sha}


def test_content_read_is_kept_when_the_session_fails(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store)
    with store.session() as s:
        doc = s.file_document(akte, b"vertraulich")
    before = counts(store)
    with pytest.raises(RuntimeError, match="later failure"), store.session() as s:
        assert s.read_content(doc) == b"vertraulich"
        s.create_vorgang(akte, "wird verworfen")
        raise RuntimeError("later failure")
    after = counts(store)
    assert after["vorgaenge"] == before["vorgaenge"]
    assert after["audit_events"] == before["audit_events"] + 1
    last = events(store)[-1]
    assert (last.action, last.object_id) == ("content.read", str(doc.id))
    assert store.verify().ok


def test_unknown_document_and_user(store: eakte.Store) -> None:
    with store.session() as s:
        with pytest.raises(NotFoundError) as info:
            s.get_document(123456)
        assert info.value.kind == "Document"
        with pytest.raises(NotFoundError):
            s.get_document("1")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="nobody") as info:
        store.session("nobody")
    assert info.value.kind == "Principal"


def test_users(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store)
    with store.session() as s:
        s.add_user("mueller", display_name="Erika Müller", org_unit="BA2")
        with pytest.raises(StateConflict):
            s.add_user("mueller")
        s.grant("BA2", "editor", akte.aktenzeichen)
    with store.session("mueller") as s:
        s.file_document(akte, b"von Frau Mueller")
        with pytest.raises(eakte.AccessDenied):
            s.add_user("mallory")
    assert events(store, "document.file")[-1].actor == "mueller"


def test_max_file_size(store: eakte.Store, db_url, make_akte, store_factory) -> None:
    akte = make_akte(store)
    assert store.location is not None
    small = store_factory.open(store.location, db_url=db_url, max_file_size=10)
    before, blobs_before = counts(small), set(small.blobs)
    with pytest.raises(eakte.UnsafeContent, match="10 bytes"), small.session() as s:
        s.file_document(akte, b"elf Zeichen")
    assert counts(small) == before
    assert set(small.blobs) == blobs_before
    with small.session() as s:
        s.file_document(akte, b"zehn Bytes")
        assert len(s.documents(akte)) == 1


# -- objects from earlier sessions and objects not yet flushed ------------------------------


def test_changes_through_objects_of_an_earlier_session_persist(store: eakte.Store,
                                                               make_akte) -> None:
    akte = make_akte(store)  # returned by an earlier, finished session
    with store.session() as s:
        doc = s.file_document(akte, b"x", title="Entwurf")
    with store.session() as s:
        s.update_document(doc, title="Bescheid")
        s.update_akte(akte, title="Umbenannt")
        s.close_akte(akte)
    with store.session() as s:
        fresh = s.get_akte(akte.id)
        assert (fresh.status, fresh.title) == (AkteStatus.CLOSED, "Umbenannt")
        assert s.get_document(doc.id).title == "Bescheid"
    # the caller's object still says "open": the session must look at the row
    assert akte.status == AkteStatus.OPEN
    with pytest.raises(StateConflict, match=r"z\.d\.A\."), store.session() as s:
        s.file_document(akte, b"y")
    with pytest.raises(StateConflict, match=r"z\.d\.A\."), store.session() as s:
        s.create_vorgang(akte, "Neu")
    with store.session() as s:
        s.reopen_akte(akte)
    with store.session() as s:
        assert s.get_akte(akte.id).status == AkteStatus.OPEN


def test_objects_created_in_the_same_session_can_be_used_at_once(store: eakte.Store,
                                                                 make_akte) -> None:
    akte = make_akte(store)
    with store.session() as s:
        vorgang = s.create_vorgang(akte, "Bauantrag")
        teil = s.create_vorgang(akte, "Nachforderung", parent=vorgang)
        main = s.file_document(akte, b"Anschreiben", vorgang=teil)
        anlage = s.file_document(akte, b"Anlage 1", parent=main, vorgang=teil)
        assert s.get_version(main).number == 1
        v2 = s.add_version(main, b"Anschreiben, korrigiert")
        s.add_rendition(v2, b"%PDF-1.4 korrigiert", kind="pdfa")
        assert [r.kind for r in s.renditions(v2)] == ["pdfa"]
        assert [v.number for v in s.versions(main)] == [1, 2]
    with store.session() as s:
        assert s.get_vorgang(teil.id).parent_id == vorgang.id
        found = {d.id: d for d in s.documents(akte)}
        assert found[main.id].vorgang_id == teil.id
        assert found[anlage.id].parent_document_id == main.id
        assert found[anlage.id].vorgang_id == teil.id
        assert s.read_content(main, rendition="pdfa") == b"%PDF-1.4 korrigiert"
    filed = events(store, "document.file")
    assert filed[1].details["parent"] == main.id
    assert filed[1].details["vorgang"] == teil.id
