"""Store-wide jobs, the feed position and BagIt audit excerpts tell nobody more than allowed."""

from __future__ import annotations

import json
from pathlib import Path

import bagit
import pytest

import eakte
from eakte.access import StoreJob
from eakte.errors import AccessDenied, NotFoundError
from eakte.exchange.bagit import AUDIT_OMITTED_LABEL, export_bagit
from eakte.repair import repair
from tests.conftest import MakeAkte


@pytest.fixture
def people(store: eakte.Store, make_akte: MakeAkte) -> dict[str, eakte.Akte]:
    """Akten under 630.10 and 630.20; 'leser' reads 630.10, 'pruefer' audits the store."""
    bau = make_akte(store, "Neubau Lindenstraße 4")
    halle = make_akte(store, "Lagerhalle Hafenstraße", kennzeichen="630.20")
    with store.session() as s:
        s.file_document(bau, b"Bauantrag", filename="antrag.txt")
        for name in ("leser", "pruefer", "fremder"):
            s.add_user(name)
    with store.session() as s:
        s.grant("leser", "reader", "630.10")
        s.grant("pruefer", "auditor", "*")
    return {"bau": bau, "halle": halle}


def test_store_jobs_need_the_auditor_or_administrator_role(store: eakte.Store,
                                                           people) -> None:
    for job in StoreJob:
        with pytest.raises(AccessDenied) as refused:
            store.require_job("leser", job)
        assert "on the whole store" in str(refused.value)
    with pytest.raises(AccessDenied, match="administrator"):
        repair(store, user="leser")
    # an auditor of the whole store verifies and reads checkpoints, but repairs nothing
    for job in (StoreJob.VERIFY, StoreJob.READ_CHECKPOINTS, StoreJob.CREATE_CHECKPOINT):
        store.require_job("pruefer", job)
    for job in (StoreJob.REPAIR, StoreJob.REINDEX):
        with pytest.raises(AccessDenied, match="administrator role"):
            store.require_job("pruefer", job)
    # an auditor of one unit may not see counts of the whole store
    with store.session() as s:
        s.grant("fremder", "auditor", "630.10")
    with pytest.raises(AccessDenied):
        store.require_job("fremder", StoreJob.VERIFY)
    # the administrator (and the embedding application's own call) may do everything
    for job in StoreJob:
        store.require_job(None, job)
        store.require_job(store.admin, job)
    assert not repair(store, dry_run=True).refused
    with pytest.raises(NotFoundError):
        store.require_job("niemand", StoreJob.VERIFY)
    with store.session() as s:
        denied = [e for e in s.audit_events() if e.action == "access.denied"]
    assert {e.actor for e in denied} == {"leser", "pruefer", "fremder"}
    assert {e.details["operation"] for e in denied if e.actor == "leser"} == \
        {job.value for job in StoreJob}


def test_feed_position_does_not_tell_the_log_size(store: eakte.Store, people) -> None:
    with store.session() as s:
        head = s.audit_count()
    with store.session("fremder") as s:  # sees nothing at all
        page = s.changes()
        assert page.events == [] and page.position == 0
        assert s.changes(7).position == 7
    with store.session("leser") as s:
        page = s.changes()
    assert page.events and page.position == page.events[-1].sequence < head
    with store.session() as s:  # more work elsewhere moves nothing for the reader
        s.file_document(people["halle"], b"Nachtrag", filename="n.txt")
    with store.session("leser") as s:
        assert s.changes(page.position).position == page.position
    with store.session() as s:
        head = s.audit_count()
    with store.session("pruefer") as s:  # an auditor of the store may know the head
        assert s.changes().position == head > page.position
    with store.session() as s:  # ... until something it may see happens
        s.file_document(people["bau"], b"Nachtrag", filename="n.txt")
    with store.session("leser") as s:
        later = s.changes(page.position)
    assert [e.action for e in later] == ["filed"]
    assert later.position == later.events[0].sequence


def _bag(store: eakte.Store, user: str, akte: eakte.Akte, out: Path) -> dict:
    with store.session(user) as s:
        export_bagit(s, [akte.aktenzeichen], out)
    bagit.Bag(str(out)).validate()
    return json.loads((out / "data" / "metadata.json").read_text(encoding="utf-8"))


def test_bagit_holds_the_audit_excerpt_only_for_who_may_read_it(store: eakte.Store, people,
                                                                tmp_path: Path) -> None:
    bau = people["bau"]
    with store.session("fremder") as s, pytest.raises(NotFoundError):
        s.get_akte(bau.aktenzeichen)  # another user's refusal, now in the Akte's audit trail
    with store.session("leser") as s, pytest.raises(AccessDenied):
        list(s.audit_events())  # what `eakte audit` refuses the reader ...
    meta = _bag(store, "leser", bau, tmp_path / "leser")
    entry = meta["akten"][0]
    assert entry["audit_events"] is None and "audit log" in entry["audit_excerpt_omitted"]
    assert "fremder" not in json.dumps(meta)  # ... the bag does not carry either
    info = bagit.Bag(str(tmp_path / "leser")).info
    assert info[AUDIT_OMITTED_LABEL] == bau.aktenzeichen
    assert "not included" in info["Internal-Sender-Description"]
    # a reader who also audits the Akte gets the excerpt, other users' events included
    with store.session() as s:
        s.grant("leser", "auditor", bau.aktenzeichen)
    meta = _bag(store, "leser", bau, tmp_path / "auditor")
    events = meta["akten"][0]["audit_events"]
    assert any(e["action"] == "access.denied" and e["actor"] == "fremder" for e in events)
    assert "audit_excerpt_omitted" not in meta["akten"][0]
    assert AUDIT_OMITTED_LABEL not in bagit.Bag(str(tmp_path / "auditor")).info
    with store.session() as s:
        exports = [e.details["audit_excerpt"] for e in s.audit_events()
                   if e.action == "export.bagit"]
    assert exports == [False, True]
