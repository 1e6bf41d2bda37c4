"""Idempotent filing under external keys: retries, new versions, batches, rights, retrieval."""

from __future__ import annotations

import io

import pytest

import eakte
from eakte.filing import CaseRecord, DocumentRecord, ExternalKey, Filer, FilingStatus
from eakte.mapping import FieldMapping
from tests.conftest import build_plan

MAPPING = FieldMapping({
    "system": "bauportal",
    "akte": {"key": "{vorhaben}", "plan_unit": "630.10", "title": "Bauvorhaben {adresse}",
             "retention_years": 30, "metadata": {"flurstueck": "{vorhaben}"}},
    "vorgang": {"title": "Bauantrag {nummer}", "metadata": {"bauherr": "{bauherr.name}"}},
    "document": {"metadata": {"quelle": "bauportal/{document_id}"}},
})


def case(number: str = "BA-1", content: bytes = b"Antrag", **fields) -> CaseRecord:
    return CaseRecord(
        number,
        fields={"vorhaben": "FLST-1", "adresse": "Lindenstraße 4", "nummer": number,
                "bauherr": {"name": "Familie Müller"}, **fields},
        documents=[DocumentRecord("antrag", content, filename="antrag.txt",
                                  attachments=[DocumentRecord("plan", b"Plan",
                                                              filename="plan.txt")])],
    )


@pytest.fixture
def filer(store: eakte.Store) -> Filer:
    build_plan(store)
    return Filer(store, "bauportal", mapping=MAPPING)


def count_documents(store: eakte.Store) -> int:
    with store.session() as s:
        return sum(len(s.documents(a)) for a in s.list_akten())


def statuses(result) -> list[str]:
    return [r.status.value for r in result.walk()]


def test_retry_returns_the_existing_objects(filer: Filer, store: eakte.Store) -> None:
    first = filer.file_case(case())
    assert statuses(first) == ["created", "created", "created"]
    again = filer.file_case(case())
    assert statuses(again) == ["unchanged", "unchanged", "unchanged"]
    assert (again.vorgang_id, again.akte_id) == (first.vorgang_id, first.akte_id)
    assert [r.document_id for r in again.walk()] == [r.document_id for r in first.walk()]
    assert count_documents(store) == 2
    with store.session() as s:
        akte = s.get_akte(first.akte_id)
        assert akte.title == "Bauvorhaben Lindenstraße 4"
        assert akte.meta == {"flurstueck": "FLST-1"}
        assert s.retention_years(akte) == 30
        assert s.external_ids(akte) == ["bauportal:FLST-1"]


def test_changed_content_is_a_new_version_same_content_is_not(filer: Filer) -> None:
    filer.file_case(case())
    changed = filer.file_case(case(content=b"Antrag, korrigiert"))
    assert changed.status == FilingStatus.NEW_VERSION
    antrag, plan = changed.documents[0], changed.documents[0].documents[0]
    assert (antrag.status, antrag.version) == (FilingStatus.NEW_VERSION, 2)
    assert (plan.status, plan.version) == (FilingStatus.UNCHANGED, 1)
    assert filer.file_case(case(content=b"Antrag, korrigiert")).status == "unchanged"
    key = filer.key("BA-1", "antrag")
    assert filer.read(key) == b"Antrag, korrigiert"
    assert filer.read(key, 1) == b"Antrag"
    assert filer.get_version(key).number == 2


def test_changed_fields_update_the_vorgang_metadata(filer: Filer) -> None:
    filer.file_case(case())
    result = filer.file_case(case(bauherr={"name": "Familie Weiß"}, neu="unbekanntes Feld"))
    assert result.status == FilingStatus.UPDATED
    vorgang = filer.get_vorgang("BA-1")
    assert vorgang.meta["bauherr"] == "Familie Weiß"
    assert vorgang.meta["fields"]["neu"] == "unbekanntes Feld"  # unknown fields are kept
    assert vorgang.title == "Bauantrag BA-1"


def test_version_labels(filer: Filer) -> None:
    record = case()
    record.documents[0].version = "v1"
    filer.file_case(record)
    record.documents[0].version, record.documents[0].content = "v2", b"Antrag 2"
    assert filer.file_case(record).documents[0].version == 2
    record.documents[0].content = b"Antrag 2, anders"  # same label, other content
    refused = filer.file_case(record)
    assert refused.status == FilingStatus.FAILED
    assert isinstance(refused.error, eakte.StateConflict)
    key = filer.key("BA-1", "antrag")
    assert filer.read(key, "v1") == b"Antrag"
    assert filer.read(ExternalKey("bauportal", "BA-1", "antrag", "v2")) == b"Antrag 2"
    with pytest.raises(eakte.NotFoundError):
        filer.get_version(key, "v9")


def test_batch_reports_each_item_and_the_good_ones_land(filer: Filer,
                                                        store: eakte.Store) -> None:
    bad = CaseRecord("BA-BAD", fields={"vorhaben": "X"}, documents=[])  # lacks fields
    empty = CaseRecord("BA-EMPTY", fields=case().fields,
                       documents=[DocumentRecord("leer", b"", filename="leer.txt")])
    batch = [case("BA-1"), bad, case("BA-2"), empty, case("BA-3")]
    results = filer.file_cases(batch, group_size=2)
    assert [r.status.value for r in results] == [
        "created", "failed", "created", "failed", "created"]
    assert "nummer" in str(results[1].error)
    assert isinstance(results[3].error, eakte.InvalidInput)
    assert count_documents(store) == 6
    again = filer.file_cases(batch, group_size=5)
    assert [r.status.value for r in again] == [
        "unchanged", "failed", "unchanged", "failed", "unchanged"]
    assert count_documents(store) == 6


class Crash(Exception):
    pass


def test_crash_mid_batch_keeps_what_was_committed(filer: Filer, store: eakte.Store) -> None:
    def cases():
        yield case("BA-1")
        yield case("BA-2")
        raise Crash("the process died here")

    with pytest.raises(Crash):
        filer.file_cases(cases())
    assert count_documents(store) == 4
    results = filer.file_cases([case("BA-1"), case("BA-2"), case("BA-3")])
    assert [r.status.value for r in results] == ["unchanged", "unchanged", "created"]
    assert count_documents(store) == 6


def test_streams_and_paths_are_hashed_before_filing(filer: Filer, tmp_path) -> None:
    path = tmp_path / "antrag.txt"
    path.write_bytes(b"Antrag")
    record = case()
    record.documents[0].content = path
    record.documents[0].attachments[0].content = io.BytesIO(b"Plan")
    assert filer.file_case(record).status == FilingStatus.CREATED
    record.documents[0].attachments[0].content = io.BytesIO(b"Plan")
    assert filer.file_case(record).status == FilingStatus.UNCHANGED


def test_explicit_aktenzeichen_and_cases_without_vorgang(filer: Filer,
                                                         store: eakte.Store) -> None:
    with store.session() as s:
        akte = s.create_akte("630.20", "Posteingang")
    record = CaseRecord("MAIL-1", fields={"betreff": "Hallo"}, vorgang=False,
                        aktenzeichen=akte.aktenzeichen,
                        documents=[DocumentRecord("message", b"Mail", filename="m.eml")])
    result = Filer(store, "mail").file_case(record)
    assert result.status == FilingStatus.CREATED and result.vorgang_id is None
    assert result.aktenzeichen == akte.aktenzeichen
    with store.session() as s:
        doc = s.get_document(result.documents[0].document_id)
        assert doc.vorgang_id is None and doc.meta["fields"] == {"betreff": "Hallo"}
    assert Filer(store, "mail").file_case(record).status == FilingStatus.UNCHANGED


def test_without_mapping_or_aktenzeichen_the_item_fails(store: eakte.Store) -> None:
    result = Filer(store, "x").file_case(case())
    assert result.status == FilingStatus.FAILED
    assert "no Aktenzeichen" in str(result.error)


def test_keys_are_validated_and_escaped(filer: Filer, store: eakte.Store) -> None:
    with pytest.raises(eakte.InvalidInput):
        ExternalKey("bauportal", " BA-1")
    with pytest.raises(eakte.InvalidInput):
        ExternalKey("bauportal", "BA-1", None, "v1")
    # "a/b" + "c" and "a" + "b/c" are different keys
    first = CaseRecord("a/b", fields=case().fields, documents=[
        DocumentRecord("c", b"1", filename="1.txt")])
    second = CaseRecord("a", fields=case().fields, documents=[
        DocumentRecord("b/c", b"2", filename="2.txt")])
    assert filer.file_case(first).status == FilingStatus.CREATED
    assert filer.file_case(second).status == FilingStatus.CREATED
    assert filer.read(filer.key("a/b", "c")) == b"1"
    assert filer.read(filer.key("a", "b/c")) == b"2"


def test_filing_needs_the_editor_role(filer: Filer, store: eakte.Store) -> None:
    with store.session() as s:
        s.add_user("bauportal-dienst")
        s.add_user("leser")
    with store.session() as s:
        s.grant("bauportal-dienst", "editor", "630")
        s.grant("leser", "reader", "630")
        for user in ("bauportal-dienst", "leser"):  # both may use the Bauportal's keys
            s.grant(user, "owner", "system:bauportal")
    as_reader = Filer(store, "bauportal", mapping=MAPPING, user="leser")
    refused = as_reader.file_case(case())
    assert refused.status == FilingStatus.FAILED
    assert isinstance(refused.error, eakte.AccessDenied | eakte.NotFoundError)
    assert count_documents(store) == 0
    as_service = Filer(store, "bauportal", mapping=MAPPING, user="bauportal-dienst")
    # the retention rule needs the manager role: without it, file without the rule
    mapping = FieldMapping({k: v for k, v in MAPPING.spec.items()} | {
        "akte": {k: v for k, v in MAPPING.spec["akte"].items() if k != "retention_years"}})
    as_service.mapping = mapping
    result = as_service.file_case(case())
    assert result.status == FilingStatus.CREATED, result.error
    assert as_reader.read(as_reader.key("BA-1", "antrag")) == b"Antrag"  # readers may read
    assert as_reader.file_case(case(content=b"Neu")).status == FilingStatus.FAILED


def test_results_serialise_as_receipts(filer: Filer) -> None:
    from eakte.schemas import validate

    result = filer.file_case(case())
    data = result.as_dict()
    validate(data, "filing-receipt", what="receipt")
    assert data["documents"][0]["documents"][0]["document_id"] == "plan"


class Exploding(io.RawIOBase):
    """A stream that fails as a buggy parser or a broken device might."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise RecursionError("maximum recursion depth exceeded")


@pytest.mark.parametrize("group_size", [1, 3])
def test_an_unexpected_exception_fails_only_its_item(filer: Filer, store: eakte.Store,
                                                     group_size: int) -> None:
    poison = CaseRecord("BA-POISON", fields=case().fields, documents=[
        DocumentRecord("antrag", Exploding(), filename="antrag.txt")])
    results = filer.file_cases([case("BA-1"), poison, case("BA-2")], group_size=group_size)
    assert [r.status.value for r in results] == ["created", "failed", "created"]
    error = results[1].error
    assert isinstance(error, eakte.AdapterError)
    assert "unexpected RecursionError" in str(error) and "BA-POISON" in str(error)
    assert isinstance(error.__cause__, RecursionError)
    assert results[1].as_dict()["error"]["type"] == "AdapterError"
    assert count_documents(store) == 4


def test_attempt_turns_any_failure_of_an_item_into_its_result(filer: Filer) -> None:
    def broken() -> eakte.filing.FilingResult:
        return {}["missing"]

    result = filer.attempt("eingang/a\x07.json", broken)
    assert result.status == FilingStatus.FAILED
    assert result.key == ExternalKey("bauportal", "eingang/a.json")
    assert "unexpected KeyError" in str(result.error)
    assert filer.attempt("ok", lambda: filer.file_case(case())).status == FilingStatus.CREATED

    def interrupted() -> eakte.filing.FilingResult:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # the operator's stop still stops
        filer.attempt("x", interrupted)
