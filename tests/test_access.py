"""Access control: grants, inheritance, groups, confidentiality, and enforcement everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

import eakte
from eakte.errors import AccessDenied, InvalidInput, NotFoundError
from eakte.exchange.bagit import export_bagit
from tests.conftest import MakeAkte


@pytest.fixture
def world(store: eakte.Store, make_akte: MakeAkte) -> dict[str, eakte.Akte]:
    """Three Akten: two under 630.10 (one VS-NfD), one under 630.20, with a document each."""
    bau = make_akte(store, "Neubau Lindenstraße 4")
    geheim = make_akte(store, "Gutachten Statik", confidentiality="vs-nfd")
    gewerbe = make_akte(store, "Lagerhalle Hafenstraße", kennzeichen="630.20")
    with store.session() as s:
        for akte, text in ((bau, "Bauantrag Lindenstraße Einfamilienhaus"),
                           (geheim, "Statik Gutachten Tragwerk vertraulich"),
                           (gewerbe, "Bauantrag Lagerhalle Hafenstraße")):
            vorgang = s.create_vorgang(akte, "Antrag")
            s.file_document(akte, text.encode(), filename="antrag.txt", vorgang=vorgang)
        s.add_user("mueller", org_unit="Bauordnungsamt")
        s.add_user("gast")
    return {"bau": bau, "geheim": geheim, "gewerbe": gewerbe}


def _doc(store: eakte.Store, akte: eakte.Akte) -> eakte.Document:
    with store.session() as s:
        return s.documents(akte)[0]


def _denials(store: eakte.Store, actor: str) -> list[eakte.AuditEvent]:
    with store.session() as s:
        return [e for e in s.audit_events() if e.action == "access.denied" and e.actor == actor]


def test_without_a_grant_nothing_is_visible(store: eakte.Store, world) -> None:
    bau = world["bau"]
    doc = _doc(store, bau)
    with store.session() as s:
        vorgang = s.vorgaenge(bau)[0]
    with store.session("gast") as s:
        assert s.list_akten() == []
        assert s.search("Bauantrag").total == 0
        assert s.changes().events == []
        assert s.disposal_due() == []
        for attempt in (lambda: s.get_akte(bau.aktenzeichen), lambda: s.get_akte(bau.id),
                        lambda: s.get_document(doc.id), lambda: s.get_vorgang(vorgang.id),
                        lambda: s.documents(bau), lambda: s.vorgaenge(bau),
                        lambda: s.read_content(doc), lambda: s.versions(doc),
                        lambda: s.holds(bau), lambda: s.disposal_status(bau),
                        lambda: s.search("Bauantrag", akte=bau.aktenzeichen)):
            with pytest.raises(NotFoundError):
                attempt()
        with pytest.raises(AccessDenied):
            list(s.audit_events())
    # every refused read is in the audit log, content reads are not
    denied = _denials(store, "gast")
    assert len(denied) >= 11
    assert {e.details["permission"] for e in denied} <= {"read", "audit"}
    with store.session() as s:
        assert not [e for e in s.audit_events() if e.action == "content.read"
                    and e.actor == "gast"]


def test_hidden_and_missing_objects_look_the_same(store: eakte.Store, world) -> None:
    doc = _doc(store, world["bau"])
    with store.session("gast") as s:
        with pytest.raises(NotFoundError) as hidden:
            s.get_document(doc.id)
        with pytest.raises(NotFoundError) as missing:
            s.get_document(doc.id + 1000)
        assert str(hidden.value).replace(str(doc.id), "N") == \
            str(missing.value).replace(str(doc.id + 1000), "N")
        with pytest.raises(NotFoundError) as hidden_akte:
            s.get_akte(world["bau"].aktenzeichen)
        with pytest.raises(NotFoundError) as missing_akte:
            s.get_akte("630.10-9999/99")
        assert type(hidden_akte.value) is type(missing_akte.value)
        assert str(hidden_akte.value).replace(world["bau"].aktenzeichen, "X") == \
            str(missing_akte.value).replace("630.10-9999/99", "X")


def test_roles_build_on_each_other(store: eakte.Store, world) -> None:
    bau = world["bau"]
    doc = _doc(store, bau)
    with store.session() as s:
        s.grant("gast", "reader", bau.aktenzeichen)
    with store.session("gast") as s:
        assert s.read_content(doc).startswith(b"Bauantrag")
        with pytest.raises(AccessDenied, match="needs edit"):
            s.add_version(doc, b"neu")
        with pytest.raises(AccessDenied):
            s.update_akte(bau, title="Umbenannt")
    with store.session() as s:
        s.grant("gast", "editor", bau.aktenzeichen)
    with store.session("gast") as s:
        assert s.add_version(doc, b"neue Fassung").number == 2
        s.create_vorgang(bau, "Nachforderung")
        with pytest.raises(AccessDenied, match="needs manage"):
            s.close_akte(bau)
        with pytest.raises(AccessDenied):
            s.set_hold(bau, "Klage")
        with pytest.raises(AccessDenied):
            s.grant("gast", "manager", bau.aktenzeichen)
    with store.session() as s:
        s.grant("gast", "manager", bau.aktenzeichen)
    with store.session("gast") as s:
        s.close_akte(bau)
        with pytest.raises(AccessDenied):
            s.add_user("dritter")


def test_grants_on_a_unit_reach_sub_units_not_siblings(store: eakte.Store, world) -> None:
    with store.session() as s:
        s.grant("gast", "reader", "630")  # parent of 630.10 and 630.20
        s.grant("mueller", "reader", "630.10")
    with store.session("gast") as s:
        names = {a.title for a in s.list_akten()}
        assert names == {"Neubau Lindenstraße 4", "Lagerhalle Hafenstraße"}  # not VS-NfD
    with store.session("mueller") as s:
        assert [a.title for a in s.list_akten()] == ["Neubau Lindenstraße 4"]
        with pytest.raises(NotFoundError):
            s.get_akte(world["gewerbe"].aktenzeichen)
        with pytest.raises(AccessDenied, match=r"630\.10"):
            s.create_akte("630.10", "Darf nicht")


def test_org_units_and_nested_groups_pass_rights_on(store: eakte.Store, world) -> None:
    with store.session() as s:
        s.add_group("Sachgebiet 63")
        s.add_member("Bauordnungsamt", "Sachgebiet 63")  # mueller's org unit, nested
        s.grant("Sachgebiet 63", "editor", "630.20")
        s.add_user("klein", groups=["Bauausschuss"])
        s.grant("Bauausschuss", "reader", world["bau"].aktenzeichen)
    with store.session("mueller") as s:
        akte = s.create_akte("630.20", "Carport Mühlweg")
        assert sorted(a.title for a in s.list_akten()) == sorted(
            ["Lagerhalle Hafenstraße", akte.title])
    with store.session("klein") as s:
        assert [a.title for a in s.list_akten()] == ["Neubau Lindenstraße 4"]
    with store.session() as s:
        with pytest.raises(InvalidInput):
            s.add_member("Sachgebiet 63", "klein")  # into a user
        with pytest.raises(InvalidInput):
            s.add_member("Bauausschuss", "Bauausschuss")


def test_confidentiality_is_a_second_gate(store: eakte.Store, world) -> None:
    geheim = world["geheim"]
    doc = _doc(store, geheim)
    with store.session() as s:
        s.grant("mueller", "manager", "630.10")
    with store.session("mueller") as s:
        assert geheim.aktenzeichen not in {a.aktenzeichen for a in s.list_akten()}
        with pytest.raises(NotFoundError):
            s.get_document(doc.id)
        assert s.search("Tragwerk").total == 0
    with store.session() as s:
        s.set_clearance("mueller", "vs-nfd")
    with store.session("mueller") as s:
        assert s.read_content(doc).startswith(b"Statik")
        assert s.search("Tragwerk").total == 1


def test_search_results_counts_and_snippets_respect_grants(store: eakte.Store, world) -> None:
    with store.session() as s:
        assert s.search("Bauantrag").total == 2
        s.grant("gast", "reader", world["gewerbe"].aktenzeichen)
    with store.session("gast") as s:
        result = s.search("Bauantrag")
        assert result.total == 1
        assert [h.akte_id for h in result.hits] == [world["gewerbe"].id]
        assert all("Lindenstraße" not in (h.snippet or "") for h in result.hits)
        assert s.search("Lindenstraße").total == 0


def test_revoking_takes_effect_with_the_next_session(store: eakte.Store, world) -> None:
    bau = world["bau"]
    with store.session() as s:
        s.grant("gast", "reader", bau.aktenzeichen)
        assert [g.role for g in s.grants("gast")] == [eakte.Role.READER]
    with store.session("gast") as s:
        assert len(s.list_akten()) == 1
    with store.session() as s:
        assert s.revoke("gast", "reader", bau.aktenzeichen) is True
        assert s.revoke("gast", "reader", bau.aktenzeichen) is False
    with store.session("gast") as s:
        assert s.list_akten() == []
    with store.session() as s:
        actions = [e.action for e in s.audit_events() if e.action.startswith("grant.")]
    assert actions == ["grant.add", "grant.revoke"]


def test_audit_view_is_scoped_for_auditors(store: eakte.Store, world) -> None:
    bau, gewerbe = world["bau"], world["gewerbe"]
    with store.session() as s:
        s.add_user("pruefer")
        s.add_user("revision")
        s.grant("pruefer", "auditor", bau.aktenzeichen)
        s.grant("revision", "auditor", "*")
        total = s.audit_count()
    with store.session("pruefer") as s:
        events = list(s.audit_events())
        assert events and {e.akte_id for e in events} == {bau.id}
        assert s.audit_count() == len(events)
        with pytest.raises(NotFoundError):  # an auditor reads no content
            s.documents(bau)
    with store.session("revision") as s:
        assert s.audit_count() >= total
        assert any(e.akte_id == gewerbe.id for e in list(s.audit_events()))


def test_feed_shows_only_what_the_principal_may_read(store: eakte.Store, world) -> None:
    bau, gewerbe = world["bau"], world["gewerbe"]
    with store.session() as s:
        s.grant("gast", "reader", gewerbe.aktenzeichen)
    with store.session() as s:
        everything = s.changes()
    with store.session("gast") as s:
        page = s.changes()
    assert {e.akte_id for e in everything} == {bau.id, gewerbe.id, world["geheim"].id}
    assert {e.akte_id for e in page} == {gewerbe.id}
    assert [e.action for e in page] == ["created", "created", "filed"]
    # the position stops at the last visible event: the log's head is not told
    assert page.position == page.events[-1].sequence < everything.position
    with store.session() as s:
        s.file_document(bau, b"Nachtrag", filename="n.txt")
    with store.session("gast") as s:
        again = s.changes(page.position)
        assert again.events == [] and again.position == page.position


def test_exports_need_read_access(store: eakte.Store, world, tmp_path: Path) -> None:
    with store.session("gast") as s, pytest.raises(NotFoundError):
        export_bagit(s, [world["bau"].aktenzeichen], tmp_path / "bag")
    assert not (tmp_path / "bag").exists()


def test_principal_names_and_roles_are_checked(store: eakte.Store, world) -> None:
    with store.session() as s:
        with pytest.raises(InvalidInput):
            s.grant("gast", "superuser", "630.10")
        with pytest.raises(NotFoundError):
            s.grant("niemand", "reader", "630.10")
        with pytest.raises(NotFoundError):
            s.grant("gast", "reader", "999.99")
        with pytest.raises(InvalidInput):
            s.add_user("*")
        with pytest.raises(InvalidInput):
            s.add_user("zwei worte")
        with pytest.raises(InvalidInput):
            s.add_user("x", clearance="streng geheim")
