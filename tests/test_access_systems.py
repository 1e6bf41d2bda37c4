"""External ids belong to their system: only its holders use them, whatever exists."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import eakte
from eakte.errors import AccessDenied, InvalidInput, NotFoundError, StateConflict
from eakte.filing import CaseRecord, DocumentRecord, ExternalKey, Filer, FilingStatus
from eakte.mapping import FieldMapping
from eakte.model import ExternalSystem
from tests.conftest import MakeAkte

#: The Bauportal's mapping: one Akte per plot (its key), created under 630.10.
MAPPING = FieldMapping({
    "akte": {"key": "{flurstueck}", "plan_unit": "630.10", "title": "Bauvorhaben {flurstueck}"},
    "vorgang": {"title": "Bauantrag {object_id}"},
})


@pytest.fixture
def secret(store: eakte.Store, make_akte: MakeAkte) -> eakte.Akte:
    """An Akte under 630.20 known as portal:SECRET-1; 'mueller' may edit only 630.10."""
    akte = make_akte(store, "Vertrauliche Bauvoranfrage", kennzeichen="630.20",
                     external_ids=[("portal", "SECRET-1")])
    with store.session() as s:
        s.add_user("mueller")
    with store.session() as s:
        s.grant("mueller", "editor", "630.10")
    return akte


def _refusal(action) -> str:
    with pytest.raises(AccessDenied) as refused:
        action()
    return str(refused.value)


def _akten(store: eakte.Store) -> list[str]:
    with store.session() as s:
        return [a.aktenzeichen for a in s.list_akten()]


def test_without_the_system_taken_and_unknown_ids_answer_alike(store: eakte.Store,
                                                               secret) -> None:
    before = _akten(store)
    with store.session("mueller") as s:
        taken = _refusal(lambda: s.create_akte("630.10", "X",
                                               external_ids=[("portal", "SECRET-1")]))
        unknown = _refusal(lambda: s.create_akte("630.10", "X",
                                                 external_ids=[("portal", "NIE-VERGEBEN")]))
        found = _refusal(lambda: s.find_akte("portal", "SECRET-1"))
        missing = _refusal(lambda: s.find_akte("portal", "NIE-VERGEBEN"))
    assert taken == unknown == found == missing
    assert "not use external ids of system 'portal'" in taken
    assert "eakte grant mueller owner system:portal" in taken
    assert _akten(store) == before  # nothing was created
    with store.session() as s:
        denied = [e for e in s.audit_events()
                  if e.action == "access.denied" and e.actor == "mueller"]
    assert len(denied) == 4 and {e.object_type for e in denied} == {"system"}
    # ids of other systems and Akten without ids are unaffected
    with store.session("mueller") as s:
        assert s.create_akte("630.10", "Ohne Kennung").aktenzeichen


def test_holders_of_the_system_use_its_keys(store: eakte.Store, secret) -> None:
    with store.session() as s:
        s.grant("mueller", "owner", "system:portal")
        listed = [g for g in s.grants("mueller") if g.target_type == "system"]
    assert [(g.role.value, g.target) for g in listed] == [("owner", "system:portal")]
    with store.session("mueller") as s:
        mine = s.create_akte("630.10", "Neubau", external_ids=[("portal", "BA-2")])
        # the keys are its own: a holder may learn that a key is taken ...
        with pytest.raises(StateConflict, match="already refers"):
            s.create_akte("630.10", "X", external_ids=[("portal", "SECRET-1")])
    with store.session("mueller") as s:
        assert s.find_akte("portal", "BA-2").id == mine.id
        with pytest.raises(NotFoundError):  # ... but still not read an Akte it may not read
            s.find_akte("portal", "SECRET-1")
    with store.session() as s:  # the grant is audited with everything a replay needs
        event = [e for e in s.audit_events() if e.action == "grant.add"][-1]
        assert (event.object_id, event.details["role"], event.details["target_type"],
                event.details["on"]) == ("mueller", "owner", "system", "system:portal")
        assert s.revoke("mueller", "owner", "system:portal") is True
    with store.session("mueller") as s:
        _refusal(lambda: s.find_akte("portal", "BA-2"))


def test_groups_hold_systems_and_administrators_hold_all(store: eakte.Store, secret) -> None:
    with store.session() as s:
        s.add_group("Bauportal-Dienste")
        s.add_member("mueller", "Bauportal-Dienste")
        s.grant("Bauportal-Dienste", "owner", "system:portal")
        assert s.find_akte("portal", "SECRET-1").id == secret.id  # the administrator
    with store.session("mueller") as s:
        s.create_akte("630.10", "Neubau", external_ids=[("portal", "BA-3")])
        _refusal(lambda: s.create_akte("630.10", "Y", external_ids=[("anderes", "1")]))


def test_system_grants_are_checked(store: eakte.Store, secret) -> None:
    with store.session() as s:
        with pytest.raises(InvalidInput, match="owner role only"):
            s.grant("mueller", "reader", "system:portal")
        with pytest.raises(InvalidInput, match="external systems only"):
            s.grant("mueller", "owner", "630.10")
        with pytest.raises(InvalidInput):
            s.grant("mueller", "owner", "system:")
        assert s.revoke("mueller", "owner", "system:nie-gesehen") is False
        s.add_user("unitadmin")
        s.grant("unitadmin", "administrator", "630.10")
    with store.session("unitadmin") as s, pytest.raises(AccessDenied):
        s.grant("mueller", "owner", "system:portal")  # only store administrators
    with store.session() as s:
        assert not [g for g in s.grants() if g.target_type == "system"]
        with pytest.raises(NotFoundError):
            s.grant("niemand", "owner", "system:portal")
    with store.session() as s:  # refused grants registered no system name
        assert s.revoke("mueller", "owner", "system:portal") is False
    with store.engine.connect() as conn:
        assert conn.execute(select(ExternalSystem.name)).all() == []


def _case(plot: str, object_id: str = "BA-9") -> CaseRecord:
    return CaseRecord(object_id, fields={"flurstueck": plot},
                      documents=[DocumentRecord("antrag", b"Antrag", filename="antrag.txt")])


def test_the_filer_without_the_system_cannot_probe_keys(store: eakte.Store,
                                                        secret) -> None:
    admin = Filer(store, "portal", mapping=MAPPING)  # the store's administrator
    assert admin.file_case(_case("SECRET-1", "BA-1")).status == FilingStatus.CREATED
    with store.session() as s:
        hidden = s.create_akte("630.20", "Versteckt", external_ids=[("portal", "PLOT-7")])
    filer = Filer(store, "portal", mapping=MAPPING, user="mueller")
    existing = filer.file_case(_case("PLOT-7"))
    unknown = filer.file_case(_case("PLOT-NEU"))
    assert existing.status == unknown.status == FilingStatus.FAILED
    assert isinstance(existing.error, AccessDenied)
    assert str(existing.error) == str(unknown.error)
    lookups = (lambda: filer.find_akte("PLOT-7"), lambda: filer.find_akte("PLOT-NEU"),
               lambda: filer.get_vorgang("BA-1"), lambda: filer.get_vorgang("BA-NEU"),
               lambda: filer.read(ExternalKey("portal", "BA-1", "antrag")),
               lambda: filer.read(ExternalKey("portal", "BA-NEU", "antrag")))
    assert len({_refusal(lookup) for lookup in lookups}) == 1
    with store.session() as s:
        assert not s.vorgaenge(hidden)


def test_the_filer_works_for_the_holder_and_only_with_its_systems(store: eakte.Store,
                                                                  secret) -> None:
    with store.session() as s:
        s.grant("mueller", "owner", "system:portal")
    filer = Filer(store, "portal", mapping=MAPPING, user="mueller")
    first = filer.file_case(_case("PLOT-1", "BA-1"))
    assert first.status == FilingStatus.CREATED, first.error
    assert filer.file_case(_case("PLOT-1", "BA-1")).status == FilingStatus.UNCHANGED
    assert filer.read(ExternalKey("portal", "BA-1", "antrag")) == b"Antrag"
    assert filer.find_akte("PLOT-1").aktenzeichen == first.aktenzeichen
    # a key of another system is refused even through a filer of a held one
    message = _refusal(lambda: filer.read(ExternalKey("fremd", "BA-1", "antrag")))
    assert "system 'fremd'" in message
