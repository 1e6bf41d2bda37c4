"""The four-stage Aussonderung over xdomea: 0501 → 0504 → 0502 → 0505 → 0503 → 0506."""

from __future__ import annotations

from pathlib import Path

import pytest
from xdomea_helpers import appraisal_0502, build_varied, confirmation_0506, receipt

import eakte
from eakte import DisposalState
from eakte.exchange.xdomea import export_xdomea, import_xdomea, validate_message


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_four_stage_aussonderung(make_store, xsd: bool, tmp_path: Path) -> None:
    store = make_store()
    varied = build_varied(store)
    akten = [varied.main, varied.nfd, varied.empty]
    with store.session() as s:
        offer = export_xdomea(s, akten, message="0501", out_dir=tmp_path / "out")
    pid = offer.prozess_id
    with store.session() as s:
        assert {s.disposal_status(a).state for a in akten} == {DisposalState.OFFERED}

    with store.session() as s:  # 0504: the archive confirms it received the offer
        got = import_xdomea(s, _write(tmp_path, f"{pid}_0504.xml", receipt("0504", pid)))
    assert got.message == "0504" and got.warnings == [] and got.schema_validated is xsd

    with store.session() as s:
        vorgang_uuid = s.vorgaenge(varied.main)[0].uuid
    answer = appraisal_0502(pid, {varied.main.uuid: "A", varied.nfd.uuid: "V",
                                  varied.empty.uuid: "A", vorgang_uuid: "A"})
    with store.session() as s:
        appraised = import_xdomea(s, _write(tmp_path, f"{pid}_0502.xml", answer),
                                  receipt_dir=tmp_path / "receipts")
    assert appraised.counts == {"appraised": 3, "unchanged": 0, "ignored": 1}
    assert appraised.receipt is not None
    assert appraised.receipt.name == f"{pid}_Aussonderung.BewertungEmpfangBestaetigen.0505.zip"
    report = validate_message(appraised.receipt)
    assert report.ok and report.schema_validated is xsd and report.prozess_id == pid
    with store.session() as s:  # the same 0502 again changes nothing
        repeated = import_xdomea(s, tmp_path / f"{pid}_0502.xml")
    assert repeated.counts == {"appraised": 0, "unchanged": 3, "ignored": 1}
    with store.session() as s:
        assert s.disposal_status(varied.nfd).decision == eakte.DisposalDecision.DESTROY
        assert s.disposal_status(varied.main).decision == eakte.DisposalDecision.ARCHIVE

    with store.session() as s:  # only the A Akten go to the archive
        with pytest.raises(eakte.StateConflict):
            export_xdomea(s, [varied.nfd], message="0503", out_dir=tmp_path / "out")
    with store.session() as s:
        transfer = export_xdomea(s, [varied.main, varied.empty], message="0503",
                                 out_dir=tmp_path / "out")
    assert transfer.prozess_id == pid and transfer.schema_validated is xsd

    confirm = confirmation_0506(pid, {varied.main.uuid: "LA-NRW 1234/2026",
                                      varied.empty.uuid: None})
    with store.session() as s:
        done = import_xdomea(s, _write(tmp_path, f"{pid}_0506.xml", confirm))
    assert done.counts == {"transferred": 1, "unchanged": 0, "failed": 1, "ignored": 0}
    with store.session() as s:  # importing the same 0506 again is safe
        again = import_xdomea(s, tmp_path / f"{pid}_0506.xml")
    assert again.counts == {"transferred": 0, "unchanged": 1, "failed": 1, "ignored": 0}
    with store.session() as s:
        main = s.disposal_status(varied.main)
        assert main.state == DisposalState.TRANSFERRED
        assert main.disposal.archivkennung == "LA-NRW 1234/2026"
        assert main.disposal.transfer_message_id == pid
        assert s.disposal_status(varied.empty).state == DisposalState.EXPORTED
        doc = s.documents(varied.main)[0]
        with pytest.raises(eakte.StateConflict, match="destroyed"):
            s.read_content(doc)
        failed = [e for e in s.audit_events() if e.action == "disposal.transfer_failed"]
        assert failed[0].details["errors"] == ["Primärdatei unlesbar"]
        receipts = [e for e in s.audit_events() if e.action.startswith("xdomea.receipt")]
        assert [e.action for e in receipts] == ["xdomea.receipt", "xdomea.receipt_sent"]
    assert store.verify(index=False).ok


def test_appraisal_is_all_or_nothing(make_store, no_schemas: None, tmp_path: Path) -> None:
    store = make_store()
    varied = build_varied(store)
    with store.session() as s:
        offer = export_xdomea(s, [varied.main], message="0501", out_dir=tmp_path)
    # nfd was never offered: the lifecycle refuses its appraisal, main's must not stick
    answer = appraisal_0502(offer.prozess_id, {varied.main.uuid: "A", varied.nfd.uuid: "V"})
    with store.session() as s:
        with pytest.raises(eakte.StateConflict):
            import_xdomea(s, _write(tmp_path, "a.xml", answer))
        s.add_user("schmidt")  # the caller goes on and commits other work
    with store.session() as s:
        assert s.disposal_status(varied.main).state == DisposalState.OFFERED
        assert not [e for e in s.audit_events() if e.action == "disposal.appraised"]


@pytest.mark.parametrize("case", ["unknown", "undecided", "other-process"])
def test_appraisals_that_do_not_fit_are_refused(case: str, make_store, no_schemas: None,
                                                tmp_path: Path) -> None:
    store = make_store()
    varied = build_varied(store)
    with store.session() as s:
        offer = export_xdomea(s, [varied.main], message="0501", out_dir=tmp_path)
    pid = offer.prozess_id
    decisions = {varied.main.uuid: "A"}
    if case == "unknown":
        decisions["0a9b8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"] = "A"
    elif case == "undecided":
        decisions[varied.main.uuid] = "B"
    else:
        pid = "0a9b8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
    with store.session() as s:
        before = s.audit_count()
    with pytest.raises(eakte.ArchiveImportError), store.session() as s:
        import_xdomea(s, _write(tmp_path, "a.xml", appraisal_0502(pid, decisions)))
    with store.session() as s:
        assert s.disposal_status(varied.main).state == DisposalState.OFFERED
        assert s.audit_count() == before


def test_receipt_for_an_unknown_process_is_recorded_with_a_warning(
        make_store, no_schemas: None, tmp_path: Path) -> None:
    store = make_store()
    pid = "0a9b8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
    with store.session() as s:
        got = import_xdomea(s, _write(tmp_path, "r.xml", receipt("0505", pid)))
    assert got.warnings and not got.schema_validated
    with store.session() as s:
        event = [e for e in s.audit_events() if e.action == "xdomea.receipt"][-1]
    assert event.object_id == pid and event.details["known"] is False
