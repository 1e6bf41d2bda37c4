"""JSON views (eakte.views): the keys of every shape, JSON-ready values, reads checked."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

import eakte
from eakte import views
from eakte.errors import NotFoundError
from tests.conftest import MakeAkte


def _dump(data: object) -> str:
    def default(value: object) -> str:
        assert isinstance(value, datetime | date), type(value)
        return value.isoformat()

    return json.dumps(data, default=default)


@pytest.fixture
def filed(mem_store: eakte.Store, make_akte: MakeAkte) -> dict[str, int]:
    akte = make_akte(mem_store, external_ids=[("bauportal", "BA-1")])
    with mem_store.session() as s:
        vorgang = s.create_vorgang(akte, "Antrag")
        document = s.file_document(akte, b"Bauantrag", filename="antrag.txt",
                                   vorgang=vorgang, title="Bauantrag")
        version = s.add_version(document, b"Bauantrag, ergaenzt", comment="ergaenzt")
        s.add_rendition(version, b"%PDF-1.4 rendition", kind="pdf", filename="antrag.pdf")
        s.add_user("gast")
    return {"akte": akte.id, "document": document.id, "vorgang": vorgang.id}


def test_every_view_is_exported() -> None:
    functions = {name for name in dir(views) if name.endswith(("_view", "_summary"))}
    assert functions <= set(views.__all__)
    assert list(views.__all__) == sorted(views.__all__, key=lambda n: (n[0].islower(), n))


def test_akte_and_vorgang_views(mem_store: eakte.Store, filed: dict[str, int]) -> None:
    with mem_store.session() as s:
        akte = s.get_akte(filed["akte"])
        view = views.akte_view(s, akte)
        summary = views.akte_summary(akte, akte.unit.kennzeichen)
    assert set(summary) == {"id", "aktenzeichen", "title", "status", "kennzeichen",
                            "confidentiality", "org_unit", "created_at", "created_by",
                            "closed_at"}
    assert set(view) == set(summary) | {"external_ids", "metadata", "vorgaenge", "documents"}
    assert view["external_ids"] == ["bauportal:BA-1"]
    assert view["vorgaenge"] == [{"id": filed["vorgang"], "title": "Antrag",
                                  "parent_id": None, "status": "open"}]
    [document] = view["documents"]
    assert set(document) == {"id", "title", "kind", "vorgang_id", "parent_document_id",
                             "version", "sha256", "size", "mime", "filename"}
    assert document["version"] == 2 and document["size"] == len(b"Bauantrag, ergaenzt")
    json.loads(_dump(view))


def test_document_version_and_rendition_views(mem_store: eakte.Store,
                                              filed: dict[str, int]) -> None:
    with mem_store.session() as s:
        document = s.get_document(filed["document"])
        view = views.document_view(s, document)
        latest = s.get_version(document)
        summary = views.document_summary(document, latest, "AZ")
    assert set(view) == {"id", "title", "aktenzeichen", "akte_id", "kind", "vorgang",
                         "parent_document_id", "document_date", "created_at", "created_by",
                         "updated_at", "metadata", "versions"}
    assert view["vorgang"] == {"id": filed["vorgang"], "title": "Antrag"}
    first, second = view["versions"]
    assert set(first) == {"number", "sha256", "size", "mime", "filename", "comment",
                          "created_at", "created_by", "renditions"}
    assert (first["number"], second["number"], second["comment"]) == (1, 2, "ergaenzt")
    [rendition] = second["renditions"]
    assert set(rendition) == {"kind", "sha256", "size", "mime", "filename", "created_at",
                              "created_by"}
    assert summary["version"] == 2 and summary["aktenzeichen"] == "AZ"
    json.loads(_dump(view))


def test_views_read_through_the_session(mem_store: eakte.Store,
                                        filed: dict[str, int]) -> None:
    with mem_store.session() as s:
        akte = s.get_akte(filed["akte"])
        document = s.get_document(filed["document"])
    with mem_store.session("gast") as s:
        with pytest.raises(NotFoundError):
            views.akte_view(s, akte)
        with pytest.raises(NotFoundError):
            views.document_view(s, document)


def test_event_principal_plan_and_search_views(mem_store: eakte.Store,
                                               filed: dict[str, int]) -> None:
    with mem_store.session() as s:
        event = next(iter(s.audit_events()))
        principal = next(p for p in s.principals() if p.name == "gast")
        units = s.plan_units()
        hits = s.search("Bauantrag").hits
    event_data = views.event_view(event)
    assert set(event_data) == {"seq", "time", "actor", "action", "object_type", "object_id",
                               "details", "hash", "canonical"}
    assert isinstance(event_data["canonical"], str)
    assert views.principal_view(principal) == {
        "name": "gast", "kind": "user", "display_name": None, "org_unit": None,
        "is_admin": False, "clearance": "offen", "active": True}
    assert set(views.plan_unit_view(units[0], None)) == {
        "id", "kennzeichen", "title", "parent", "retention_years", "disposal"}
    assert hits
    hit = views.search_hit_view(hits[0])
    assert set(hit) == {"document_id", "aktenzeichen", "title", "score", "snippet"}
    assert hit["document_id"] == filed["document"]
    assert hit["score"] == round(hits[0].score, 4)
    json.loads(_dump([event_data, hit]))
