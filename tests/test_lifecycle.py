"""Lifecycle: z.d.A. of Vorgänge, retention, legal holds and the Aussonderung state machine."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

import eakte
from eakte import DisposalDecision, DisposalState, InvalidInput, StateConflict

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class Clock:
    """A clock the test moves forward."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Env:
    store: eakte.Store
    clock: Clock

    def session(self) -> eakte.Session:
        return self.store.session()

    def akte(self, kennzeichen: str = "630.10", title: str = "Neubau Lindenstraße 4",
             content: bytes | None = None, close: bool = True) -> eakte.Akte:
        with self.session() as s:
            akte = s.create_akte(kennzeichen, title)
            if content is not None:
                s.file_document(akte, content, filename="antrag.txt")
            if close:
                s.close_akte(akte)
        return akte

    def events(self, action: str) -> list[eakte.AuditEvent]:
        with self.session() as s:
            return [e for e in s.audit_events() if e.action == action]


PLAN = (
    ("630", "Bauaufsicht", None, 30, "B"),
    ("630.10", "Baugenehmigungen", "630", 30, "A"),
    ("630.20", "Bauvoranfragen", "630", 10, "V"),
    ("630.30", "Abbruch", "630", 5, "B"),
    ("630.40", "Denkmalschutz", "630", None, "A"),
    ("630.50", "Sofort", "630", 0, "V"),
)


def _years(day: date, years: int) -> date:
    return day.replace(year=day.year + years)


@pytest.fixture
def env(db_url: str | None, store_factory, tmp_path: Path) -> Env:
    clock = Clock()
    store = store_factory.init(tmp_path / "lifecycle", db_url=db_url, clock=clock)
    with store.session() as s:
        for kennzeichen, title, parent, years, disposal in PLAN:
            s.add_plan_unit(kennzeichen, title, parent=parent, retention_years=years,
                            disposal=disposal)
    return Env(store, clock)


# -- retention ---------------------------------------------------------------------------


def test_retention_runs_from_closing_with_the_unit_default(env: Env) -> None:
    akte = env.akte(close=False)
    with env.session() as s:
        assert s.retention_until(akte) is None
        assert s.disposal_status(akte).state == DisposalState.OPEN
        assert s.retention_years(akte) == 30
    env.clock.advance(days=10)
    with env.session() as s:
        s.close_akte(akte)
    closed_day = (T0 + timedelta(days=10)).date()
    with env.session() as s:
        assert s.retention_until(akte) == _years(closed_day, 30)
        status = s.disposal_status(akte)
        assert status.state == DisposalState.RETAINED
        assert status.retention_until == _years(closed_day, 30)
        assert status.default_decision == DisposalDecision.ARCHIVE
        assert not status.retention_override
        assert s.disposal_due() == []
        assert s.disposal_due(as_of=_years(closed_day, 30) - timedelta(days=1)) == []
        due = s.disposal_due(as_of=_years(closed_day, 30))
    assert [d.aktenzeichen for d in due] == [akte.aktenzeichen]
    assert due[0].due_since == _years(closed_day, 30)
    assert due[0].retention_years == 30
    assert due[0].decision == DisposalDecision.ARCHIVE
    assert due[0].state == DisposalState.DUE
    assert due[0].as_dict()["due_since"] == _years(closed_day, 30).isoformat()


def test_retention_override_and_unlimited(env: Env) -> None:
    akte = env.akte()
    with env.session() as s:
        s.set_retention(akte, 2)
    with env.session() as s:
        assert s.retention_years(akte) == 2
        assert s.retention_until(akte) == _years(T0.date(), 2)
        assert s.disposal_status(akte).retention_override
        assert [d.id for d in s.disposal_due(as_of=_years(T0.date(), 2))] == [akte.id]
        s.set_retention(akte, None)
    with env.session() as s:
        assert s.retention_years(akte) is None
        assert s.retention_until(akte) is None
        assert s.disposal_due(as_of=date(9000, 1, 1)) == []
        status = s.disposal_status(akte, as_of=date(9000, 1, 1))
        assert status.state == DisposalState.RETAINED and status.retention_until is None
    events = env.events("akte.retention")
    assert [e.details["new"]["years"] for e in events] == [2, None]
    assert events[0].details["old"] == {"years": 30, "override": False}
    with env.session() as s, pytest.raises(InvalidInput):
        s.set_retention(akte, -1)
    with env.session() as s, pytest.raises(InvalidInput):
        s.set_retention(akte, True)  # type: ignore[arg-type]


def test_unlimited_unit_is_never_due(env: Env) -> None:
    akte = env.akte("630.40")
    with env.session() as s:
        assert s.disposal_due(as_of=date(9999, 12, 31)) == []
        with pytest.raises(StateConflict, match="unlimited retention"):
            s.mark_offered([akte], "0501-x")


def test_as_of_default_follows_the_clock_and_leap_days(env: Env) -> None:
    env.clock.now = datetime(2028, 2, 29, 12, tzinfo=UTC)
    akte = env.akte("630.20")
    with env.session() as s:
        assert s.retention_until(akte) == date(2038, 2, 28)
        assert s.disposal_due() == []
        with pytest.raises(InvalidInput):
            s.disposal_due(as_of="2040-01-01")  # type: ignore[arg-type]
    env.clock.now = datetime(2038, 2, 28, 0, 1, tzinfo=UTC)
    with env.session() as s:
        assert [d.id for d in s.disposal_due()] == [akte.id]
        assert s.disposal_status(akte).state == DisposalState.DUE


# -- legal holds -------------------------------------------------------------------------


def test_hold_blocks_due_and_offer_and_release_reenables(env: Env) -> None:
    akte = env.akte("630.50")
    with env.session() as s:
        hold = s.set_hold(akte, "Klage VG Neustadt 3 K 12/26")
        s.set_hold(akte, "Auskunftsersuchen Art. 15 DSGVO")
    with env.session() as s:
        assert s.disposal_due() == []
        status = s.disposal_status(akte)
        assert status.state == DisposalState.DUE and status.on_hold
        assert len(status.active_holds) == 2
        with pytest.raises(StateConflict, match="legal hold") as info:
            s.mark_offered([akte], "0501-1")
        assert "Klage VG Neustadt" in str(info.value)
    with env.session() as s:
        released = s.release_hold(akte, "Verfahren beendet", hold=hold.id)
        assert [h.id for h in released] == [hold.id]
    with env.session() as s:
        assert s.disposal_due() == []  # the second hold still holds
        s.release_hold(akte)
    with env.session() as s:
        assert [d.id for d in s.disposal_due()] == [akte.id]
        holds = s.holds(akte)
        with pytest.raises(StateConflict, match="no active legal hold"):
            s.release_hold(akte)
    assert [h.active for h in holds] == [False, False]
    assert holds[0].release_reason == "Verfahren beendet"
    assert holds[1].release_reason is None
    assert holds[0].released_by == env.store.admin
    assert [e.details["reason"] for e in env.events("hold.set")] == [
        "Klage VG Neustadt 3 K 12/26", "Auskunftsersuchen Art. 15 DSGVO"]
    assert [e.details["hold"] for e in env.events("hold.release")] == [h.id for h in holds]
    with env.session() as s, pytest.raises(InvalidInput):
        s.set_hold(akte, "   ")


def test_hold_blocks_destroy_and_transfer(env: Env) -> None:
    doomed = env.akte("630.50", content=b"Vernichten")
    kept = env.akte("630.50", content=b"Archivieren")
    with env.session() as s:
        s.mark_offered([doomed, kept], "0501-1")
        s.record_appraisal(doomed, "V", message_id="0502-1")
        s.record_appraisal(kept, DisposalDecision.ARCHIVE, message_id="0502-1")
    with env.session() as s:
        s.set_hold(doomed, "Prüfung Rechnungshof")
        s.set_hold(kept, "Prüfung Rechnungshof")
    with env.session() as s:
        with pytest.raises(StateConflict, match="legal hold"):
            s.destroy(doomed)
        with pytest.raises(StateConflict, match="legal hold"):
            s.mark_exported([kept], "0503-1")
    with env.session() as s:
        s.release_hold(kept)
        s.mark_exported([kept], "0503-1")
        s.set_hold(kept, "neue Klage")
    with env.session() as s, pytest.raises(StateConflict, match="legal hold"):
        s.confirm_transfer(kept, "ARCH-1")
    with env.session() as s:
        assert s.read_content(s.documents(doomed)[0]) == b"Vernichten"
        assert s.read_content(s.documents(kept)[0]) == b"Archivieren"
        s.release_hold(doomed)
        s.release_hold(kept)
    with env.session() as s:
        s.destroy(doomed)
        s.confirm_transfer(kept, "ARCH-1")
    with env.session() as s:
        assert s.disposal_status(doomed).state == DisposalState.DESTROYED
        assert s.disposal_status(kept).state == DisposalState.TRANSFERRED
        with pytest.raises(StateConflict, match="disposed"):
            s.set_hold(kept, "zu spät")


# -- the state machine -------------------------------------------------------------------


def _fill(env: Env, akte: eakte.Akte) -> dict[str, str]:
    """File two documents with versions and a rendition into a (re-opened) Akte."""
    with env.session() as s:
        s.reopen_akte(akte)
        vorgang = s.create_vorgang(akte, "Bauantrag")
        first = s.file_document(akte, b"Antrag auf Baugenehmigung", filename="antrag.txt",
                                vorgang=vorgang)
        s.add_version(first, b"Antrag auf Baugenehmigung, korrigiert")
        second = s.file_document(akte, b"%PDF-1.4 Lageplan", filename="lageplan.pdf")
        s.add_rendition(s.get_version(second), b"%PDF-1.7 Lageplan PDF/A", kind="pdfa")
        s.close_akte(akte)
    with env.session() as s:
        shas = {}
        for doc in s.documents(akte):
            for version in s.versions(doc):
                shas[f"{doc.id}/{version.number}"] = version.sha256
                for rendition in s.renditions(version):
                    shas[f"{doc.id}/{version.number}/{rendition.kind}"] = rendition.sha256
    return shas


def test_archive_path_offer_appraise_export_transfer(env: Env) -> None:
    akte = env.akte("630.50", close=False)
    with env.session() as s:
        s.close_akte(akte)
    shas = _fill(env, akte)
    assert len(shas) == 4
    with env.session() as s:
        [offered] = s.mark_offered([akte], "0501-4711")
        assert offered.state == DisposalState.OFFERED
        assert offered.disposal is not None and offered.disposal.offer_message_id == "0501-4711"
        assert [d.state for d in s.disposal_due()] == [DisposalState.OFFERED]
    with env.session() as s:
        appraised = s.record_appraisal(akte, "A", message_id="0502-4711")
        assert (appraised.state, appraised.decision) == (DisposalState.APPRAISED,
                                                         DisposalDecision.ARCHIVE)
        assert appraised.decision_source == "archive"
        [exported] = s.mark_exported([akte], "0503-4712")
        assert exported.state == DisposalState.EXPORTED
        # content is still there until the archive confirms
        assert s.read_content(s.documents(akte)[0], version=1) == b"Antrag auf Baugenehmigung"
    with env.session() as s:
        done = s.confirm_transfer(akte, "Best. 12 Nr. 345", message_id="0506-4713")
    assert done.state == DisposalState.TRANSFERRED
    assert done.archivkennung == "Best. 12 Nr. 345"
    for sha in shas.values():
        assert not env.store.blobs.exists(sha)
    with env.session() as s:
        doc = s.documents(akte)[0]
        with pytest.raises(StateConflict, match=r"destroyed on .* after Aussonderung"):
            s.read_content(doc)
        # metadata stays: documents, versions and their hashes
        assert [v.number for v in s.versions(doc)] == [1, 2]
        assert s.disposal_due() == []
    actions = [e.action for e in env.events("disposal.offered") + env.events("disposal.appraised")
               + env.events("disposal.exported") + env.events("disposal.transferred")]
    assert actions == ["disposal.offered", "disposal.appraised", "disposal.exported",
                       "disposal.transferred"]
    [record] = env.events("disposal.deleted")
    assert record.object_id == str(akte.id)
    assert record.actor == env.store.admin
    details = record.details
    assert details["reason"] == "transferred"
    assert details["decision"] == "A"
    assert details["archivkennung"] == "Best. 12 Nr. 345"
    assert details["aktenzeichen"] == akte.aktenzeichen
    listed = {}
    for document in details["documents"]:
        for version in document["versions"]:
            listed[f"{document['id']}/{version['number']}"] = version["sha256"]
            for rendition in version["renditions"]:
                listed[f"{document['id']}/{version['number']}/{rendition['kind']}"] = (
                    rendition["sha256"])
    assert listed == shas
    assert sorted(details["blobs_deleted"]) == sorted(set(shas.values()))
    assert details["blobs_shared"] == []
    report = env.store.verify()
    assert report.ok, report.problems
    assert report.problems == []


def test_destroy_path_after_appraisal_v(env: Env) -> None:
    akte = env.akte("630.50", content=b"Vermerk zur Ortsbesichtigung")
    with env.session() as s:
        s.mark_offered([akte], "0501-1")
        s.record_appraisal(akte, DisposalDecision.DESTROY)
    with env.session() as s:
        status = s.destroy(akte)
    assert status.state == DisposalState.DESTROYED
    assert status.disposal is not None and status.disposal.destroyed_at == env.clock.now
    [record] = env.events("disposal.deleted")
    assert record.details["reason"] == "destroyed"
    assert record.details["decision"] == "V"
    assert record.details["archivkennung"] is None
    [destroyed] = env.events("disposal.destroyed")
    assert destroyed.details["source"] == "archive"
    with env.session() as s:
        with pytest.raises(StateConflict, match="disposed"):
            s.file_document(akte, b"nachgereicht", filename="x.txt")
        with pytest.raises(StateConflict, match="disposed"):
            s.add_version(s.documents(akte)[0], b"neue Fassung")
        with pytest.raises(StateConflict):
            s.reopen_akte(akte)
    assert env.store.verify().ok


def test_two_stage_procedure_appraises_by_the_aktenplan_default(env: Env) -> None:
    doomed = env.akte("630.50", content=b"Routinevorgang")
    with env.session() as s:
        status = s.appraise_by_default(doomed)  # straight from due, no offer
        assert (status.decision, status.decision_source) == (DisposalDecision.DESTROY,
                                                             "aktenplan")
        s.destroy(doomed)
    env.clock.advance(days=366 * 5)
    archive = env.akte("630.30", content=b"Abbruchgenehmigung", close=False)
    with env.session() as s:
        s.close_akte(archive)
    env.clock.advance(days=366 * 5 + 2)
    with env.session() as s:
        with pytest.raises(StateConflict, match="says B"):
            s.appraise_by_default(archive)
    with env.session() as s:
        s.mark_offered([archive], "0501-2")
        with pytest.raises(InvalidInput, match="not a final"):
            s.record_appraisal(archive, "B")
        with pytest.raises(InvalidInput):
            s.record_appraisal(archive, "X")
    assert [e.details["source"] for e in env.events("disposal.appraised")] == ["aktenplan"]


def test_an_appraisal_on_paper_may_come_without_a_recorded_offer(env: Env) -> None:
    due = env.akte("630.30", content=b"Abbruchgenehmigung")  # default B: the archive decides
    retained = env.akte("630.10")
    env.clock.advance(days=366 * 10 + 2)
    with env.session() as s:
        with pytest.raises(StateConflict, match="not been offered"):
            s.record_appraisal(due, "V")  # a 0502 needs its 0501
        with pytest.raises(StateConflict, match="retained until"):
            s.record_appraisal(retained, "V", on_paper=True)
        with pytest.raises(InvalidInput, match="reason"):
            s.record_appraisal(due, "V", on_paper=True, reason="\x00")
    with env.session() as s:
        s.set_hold(due, "Prüfung")  # a hold does not stop recording the appraisal
        status = s.record_appraisal(due, "V", on_paper=True, reason="Brief vom 2.3.")
        assert (status.state, status.decision, status.decision_source) == (
            DisposalState.APPRAISED, DisposalDecision.DESTROY, "archive")
    with env.session() as s:
        with pytest.raises(StateConflict, match="legal hold"):
            s.destroy(due)
        s.release_hold(due)
        s.destroy(due)
    [event] = env.events("disposal.appraised")
    assert event.details == {"aktenzeichen": due.aktenzeichen,
                             "decision": "V", "source": "archive", "message_id": None,
                             "reason": "Brief vom 2.3.", "on_paper": True}
    assert env.store.verify().ok


def test_illegal_transitions_say_where_the_akte_stands(env: Env) -> None:
    open_akte = env.akte("630.50", close=False)
    retained = env.akte("630.10")
    due = env.akte("630.50")
    with env.session() as s:
        with pytest.raises(StateConflict, match="is open; close it"):
            s.destroy(open_akte)
        with pytest.raises(StateConflict, match="retained until"):
            s.mark_offered([retained], "0501-1")
        with pytest.raises(StateConflict, match="not been offered"):
            s.record_appraisal(due, "A")
        with pytest.raises(StateConflict, match="not been offered"):
            s.mark_exported([due], "0503-1")
        with pytest.raises(InvalidInput, match="twice"):
            s.mark_offered([due, due], "0501-1")
        with pytest.raises(InvalidInput):
            s.mark_offered([], "0501-1")
    with env.session() as s:
        # all or nothing: one bad Akte offers none
        with pytest.raises(StateConflict):
            s.mark_offered([due, retained], "0501-1")
        assert s.disposal_status(due).state == DisposalState.DUE
    with env.session() as s:
        s.mark_offered([due], "0501-1")
    with env.session() as s:
        with pytest.raises(StateConflict, match="awaits its appraisal"):
            s.mark_offered([due], "0501-2")
        with pytest.raises(StateConflict, match="Aussonderung"):
            s.reopen_akte(due)
        with pytest.raises(StateConflict, match="Aussonderung has begun"):
            s.set_retention(due, 100)
        s.record_appraisal(due, "V")
    with env.session() as s:
        with pytest.raises(StateConflict, match="appraised V"):
            s.mark_exported([due], "0503-1")
        with pytest.raises(StateConflict, match="appraised V"):
            s.confirm_transfer(due, "ARCH-1")
        with pytest.raises(StateConflict, match="appraised V"):
            s.record_appraisal(due, "A")
        s.destroy(due)
    with env.session() as s:
        with pytest.raises(StateConflict, match="was destroyed on"):
            s.destroy(due)
    a = env.akte("630.50")
    with env.session() as s:
        s.mark_offered([a], "0501-3")
        s.record_appraisal(a, "A")
    with env.session() as s:
        with pytest.raises(StateConflict, match="appraised A"):
            s.destroy(a)
        with pytest.raises(StateConflict, match="appraised A"):
            s.confirm_transfer(a, "ARCH-2")
        with pytest.raises(InvalidInput):
            s.mark_exported([a], "  ")


# -- Vorgänge ----------------------------------------------------------------------------


def test_closed_vorgang_refuses_documents_also_in_teilvorgaenge(env: Env) -> None:
    akte = env.akte(close=False)
    with env.session() as s:
        vorgang = s.create_vorgang(akte, "Bauantrag")
        teil = s.create_vorgang(akte, "Nachforderung", parent=vorgang)
        doc = s.file_document(akte, b"Antrag", filename="antrag.txt", vorgang=vorgang)
        s.close_vorgang(vorgang)
    with env.session() as s:
        with pytest.raises(StateConflict, match=r"Vorgang .* is closed"):
            s.file_document(akte, b"mehr", filename="mehr.txt", vorgang=vorgang)
        with pytest.raises(StateConflict, match="Bauantrag"):
            s.file_document(akte, b"mehr", filename="mehr.txt", vorgang=teil)
        with pytest.raises(StateConflict, match="is closed"):
            s.add_version(doc, b"Antrag v2")
        with pytest.raises(StateConflict, match="is closed"):
            s.create_vorgang(akte, "Unterfall", parent=vorgang)
        with pytest.raises(StateConflict, match="already closed"):
            s.close_vorgang(vorgang)
        with pytest.raises(StateConflict, match="reopen it first"):
            s.close_vorgang(teil)
            s.reopen_vorgang(teil)
        # the Akte outside the Vorgang stays open
        s.file_document(akte, b"Vermerk", filename="vermerk.txt")
    with env.session() as s:
        s.reopen_vorgang(vorgang)
        s.add_version(doc, b"Antrag v2")
        s.file_document(akte, b"mehr", filename="mehr.txt", vorgang=vorgang)
    with env.session() as s:
        with pytest.raises(StateConflict, match="is open"):
            s.reopen_vorgang(vorgang)
        s.close_akte(akte)
    with env.session() as s:
        s.close_vorgang(vorgang)
    with env.session() as s, pytest.raises(StateConflict, match="reopen the Akte"):
        s.reopen_vorgang(vorgang)
    closes = env.events("vorgang.close")
    # the Teilvorgang's close stood: only the reopen failed, and that session committed
    assert [e.object_id for e in closes] == [str(vorgang.id), str(teil.id), str(vorgang.id)]
    assert closes[0].details["aktenzeichen"] == akte.aktenzeichen
    assert [e.object_id for e in env.events("vorgang.reopen")] == [str(vorgang.id)]
    with env.session() as s:
        assert s.get_vorgang(vorgang.id).closed_at is not None


# -- deletion: dedup, verify, crashes ----------------------------------------------------


def test_blob_shared_with_another_akte_survives_disposal(env: Env) -> None:
    shared = b"Musterschreiben Anhoerung"
    doomed = env.akte("630.50", content=shared, close=False)
    with env.session() as s:
        s.file_document(doomed, b"nur hier", filename="einzeln.txt")
        s.close_akte(doomed)
    survivor = env.akte("630.10", content=shared)
    with env.session() as s:
        sha = s.get_version(s.documents(survivor)[0]).sha256
        only = s.get_version(s.documents(doomed)[1]).sha256
        s.appraise_by_default(doomed)
        s.destroy(doomed)
    assert env.store.blobs.exists(sha)
    assert not env.store.blobs.exists(only)
    [record] = env.events("disposal.deleted")
    assert record.details["blobs_shared"] == [sha]
    assert record.details["blobs_deleted"] == [only]
    with env.session() as s:
        assert s.read_content(s.documents(survivor)[0]) == shared
    report = env.store.verify()
    assert report.ok and report.problems == [], report.problems


def test_last_of_two_disposed_akten_deletes_the_shared_blob(env: Env) -> None:
    first = env.akte("630.50", content=b"gemeinsam")
    second = env.akte("630.50", content=b"gemeinsam")
    with env.session() as s:
        sha = s.get_version(s.documents(first)[0]).sha256
        s.appraise_by_default(first)
        s.appraise_by_default(second)
        s.destroy(first)
    assert env.store.blobs.exists(sha)
    with env.session() as s:
        s.destroy(second)
    assert not env.store.blobs.exists(sha)
    assert env.store.verify().problems == []


def test_disposed_documents_leave_the_search_index(env: Env) -> None:
    akte = env.akte("630.50", content=b"Abrissverfuegung Gartenhaus Birkenweg")
    with env.session() as s:
        assert s.search("Birkenweg").total == 1
        s.appraise_by_default(akte)
        s.destroy(akte)
    with env.session() as s:
        assert s.search("Birkenweg").total == 0
    assert env.store.verify().problems == []


def test_reused_blob_deleted_before_commit_saves_nothing(env: Env) -> None:
    akte = env.akte("630.10", content=b"Vordruck", close=False)
    with env.session() as s:
        sha = s.get_version(s.documents(akte)[0]).sha256
    with pytest.raises(eakte.StorageError, match="concurrent disposal"):
        with env.session() as s:
            s.file_document(akte, b"Vordruck", filename="kopie.txt")
            env.store.blobs.delete(sha)  # what a racing disposal would do
    with env.session() as s:
        assert len(s.documents(akte)) == 1


def test_disposed_state_set_behind_eaktes_back_does_not_hide_lost_blobs(env: Env) -> None:
    akte = env.akte("630.50", content=b"wichtig")
    with env.session() as s:
        sha = s.get_version(s.documents(akte)[0]).sha256
    with env.store.engine.begin() as conn:
        conn.execute(text("INSERT INTO akte_disposal (akte_id, state) VALUES (:a, 'destroyed')"),
                     {"a": akte.id})
    env.store.blobs.delete(sha)
    report = env.store.verify()
    assert not report.ok
    # the disposal row no event created is found, and the lost blob is still expected
    assert [p.kind for p in report.errors] == ["disposal.unaudited", "blob.missing"]


CRASH_CHILD = textwrap.dedent(
    """
    import os, sys
    import eakte

    store = eakte.open(sys.argv[1], create=False)
    def die(sha):
        os._exit(9)  # the process dies after the commit, before any blob is deleted
    store.blobs.delete = die
    with store.session() as s:
        s.destroy(s.get_akte(sys.argv[2]))
    """
)


def test_crash_after_commit_before_blob_deletion_leaves_only_orphans(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    with eakte.init(folder) as store, store.session() as s:
        s.add_plan_unit("1", "Allgemeines", retention_years=0, disposal="V")
        akte = s.create_akte("1", "Sammelakte")
        s.file_document(akte, b"eins", filename="eins.txt")
        s.file_document(akte, b"zwei", filename="zwei.txt")
        s.close_akte(akte)
    with eakte.open(folder, create=False) as store, store.session() as s:
        s.appraise_by_default(s.get_akte(akte.aktenzeichen))
    child = subprocess.run([sys.executable, "-c", CRASH_CHILD, str(folder), akte.aktenzeichen],
                           capture_output=True, text=True, env={**os.environ}, check=False)
    assert child.returncode == 9, child.stderr
    with eakte.open(folder, create=False) as store:
        with store.session() as s:
            assert s.disposal_status(s.get_akte(akte.aktenzeichen)).state == (
                DisposalState.DESTROYED)
            [record] = [e for e in s.audit_events() if e.action == "disposal.deleted"]
        for sha in record.details["blobs_deleted"]:
            assert store.blobs.exists(sha)
        report = store.verify()
        assert report.ok, report.problems
        assert sorted(p.subject for p in report.notices) == sorted(
            f"blob {sha}" for sha in record.details["blobs_deleted"])
        assert {p.kind for p in report.notices} == {"blob.orphan"}


def test_blob_deletion_failure_warns_and_keeps_the_disposal(env: Env,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    akte = env.akte("630.50", content=b"Akteninhalt")

    def broken(sha: str) -> None:
        raise eakte.StorageError("disk gone")

    monkeypatch.setattr(env.store.blobs, "delete", broken)
    with pytest.warns(eakte.BlobCleanupWarning, match="orphan"):
        with env.session() as s:
            s.appraise_by_default(akte)
            s.destroy(akte)
    with env.session() as s:
        assert s.disposal_status(akte).state == DisposalState.DESTROYED
    report = env.store.verify()
    assert report.ok and [p.kind for p in report.notices] == ["blob.orphan"]
