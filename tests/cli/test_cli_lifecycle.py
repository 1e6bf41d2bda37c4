"""Lifecycle commands: hold, retention, disposal due/status/destroy, export bagit."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bagit
import pytest

import eakte


@pytest.fixture
def due_akte(ok, store: Path, tmp_path: Path) -> tuple[str, int]:
    """A closed Akte under a unit with retention 0 and default V: due at once."""
    ok("plan", "add", "020", "Personal", "--retention-years", "0", "--disposal", "V")
    az = json.loads(ok("akte", "create", "020", "Stellenbesetzung Bauamt",
                       "--json").stdout)["aktenzeichen"]
    (tmp_path / "bewerbung.txt").write_text("Bewerbung von Frau Müller\n", encoding="utf-8")
    [doc] = json.loads(ok("add", az, str(tmp_path / "bewerbung.txt"), "--json").stdout)
    ok("close", az)
    return az, int(doc["id"])


def _appraise_by_default(store_dir: Path, az: str) -> None:
    with eakte.open(store_dir, create=False) as store, store.session() as s:
        s.appraise_by_default(s.get_akte(az))


def test_hold_set_list_release(ok, run, akte):
    assert "Legal hold 1 set" in ok("hold", "set", akte, "--reason", "Klage 3 K 12/26").stdout
    second = json.loads(ok("hold", "set", akte, "--reason", "DSGVO Art. 15", "--json").stdout)
    assert second["active"] is True and second["reason"] == "DSGVO Art. 15"
    listed = json.loads(ok("hold", "list", akte, "--json").stdout)
    assert [h["reason"] for h in listed] == ["Klage 3 K 12/26", "DSGVO Art. 15"]
    assert "Klage 3 K 12/26" in ok("hold", "list", akte).stdout
    released = json.loads(ok("hold", "release", akte, "--hold", "1", "--reason",
                             "Verfahren beendet", "--json").stdout)
    assert [(h["id"], h["active"], h["release_reason"]) for h in released] == [
        (1, False, "Verfahren beendet")]
    assert "Released legal hold 2" in ok("hold", "release", akte).stdout
    again = run("hold", "release", akte)
    assert again.exit_code == 7 and "no active legal hold" in again.stderr
    assert run("hold", "set", akte).exit_code == 2  # --reason is required
    assert run("hold", "set", "630.10-9999/1999", "--reason", "x").exit_code == 3
    assert run("hold", "set", akte, "--reason", "   ").exit_code == 6
    actions = [e["action"] for e in json.loads(ok("audit", "--json").stdout)]
    assert actions.count("hold.set") == 2 and actions.count("hold.release") == 2


def test_retention(ok, run, akte):
    view = json.loads(ok("retention", akte, "5", "--json").stdout)
    assert view == {"aktenzeichen": akte, "retention_years": 5, "retention_until": None}
    ok("close", akte)
    assert "until" in ok("retention", akte, "7").stdout
    assert "unlimited" in ok("retention", akte, "unlimited").stdout
    status = json.loads(ok("disposal", "status", akte, "--json").stdout)
    assert status["retention_years"] is None and status["retention_override"] is True
    bad = run("retention", akte, "ewig")
    assert bad.exit_code == 2 and "ewig" in bad.stderr


def test_disposal_due_and_status(ok, run, akte, due_akte):
    az, _ = due_akte
    ok("close", akte)  # 630.10 has unlimited retention: never due
    due = json.loads(ok("disposal", "due", "--json").stdout)
    assert [d["aktenzeichen"] for d in due] == [az]
    entry = due[0]
    assert {"aktenzeichen", "id", "title", "closed_at", "retention_years", "due_since",
            "decision"} <= entry.keys()
    assert entry["retention_years"] == 0 and entry["decision"] == "V"
    assert entry["title"] == "Stellenbesetzung Bauamt"
    assert entry["due_since"] == entry["closed_at"][:10]  # retention 0: due from closing
    assert json.loads(ok("disposal", "due", "--as-of", "2000-01-01", "--json").stdout) == []
    assert az in ok("disposal", "due").stdout
    assert run("disposal", "due", "--as-of", "gestern").exit_code == 2

    status = json.loads(ok("disposal", "status", az, "--json").stdout)
    assert status["state"] == "due" and status["default_decision"] == "V"
    human = ok("disposal", "status", akte).stdout
    assert "retained" in human and "unlimited" in human
    ok("hold", "set", az, "--reason", "Prüfung")
    assert json.loads(ok("disposal", "due", "--json").stdout) == []
    assert json.loads(ok("disposal", "status", az, "--json").stdout)["on_hold"] is True


def test_disposal_destroy(ok, run, store, due_akte, tmp_path):
    az, doc_id = due_akte
    early = run("disposal", "destroy", az, "--yes")
    assert early.exit_code == 7 and "not been offered" in early.stderr
    _appraise_by_default(store, az)
    ok("hold", "set", az, "--reason", "Klage")
    held = run("disposal", "destroy", az, "--yes")
    assert held.exit_code == 7 and "legal hold" in held.stderr
    ok("hold", "release", az)
    aborted = run("disposal", "destroy", az, input="n\n")
    assert aborted.exit_code == 1
    assert json.loads(ok("disposal", "status", az, "--json").stdout)["state"] == "appraised"
    assert "Destroyed" in ok("disposal", "destroy", az, input="y\n").stdout
    status = json.loads(ok("disposal", "status", az, "--json").stdout)
    assert status["state"] == "destroyed" and status["destroyed_at"]
    read = run("get", str(doc_id), "-o", str(tmp_path / "out.txt"))
    assert read.exit_code == 7 and "destroyed" in read.stderr
    again = run("disposal", "destroy", az, "--yes", "--json")
    assert again.exit_code == 7 and again.stdout == ""
    deleted = [e for e in json.loads(ok("audit", "--json").stdout)
               if e["action"] == "disposal.deleted"]
    assert len(deleted) == 1
    sha = hashlib.sha256("Bewerbung von Frau Müller\n".encode()).hexdigest()
    assert deleted[0]["details"]["documents"][0]["versions"][0]["sha256"] == sha
    report = json.loads(ok("verify", "--json").stdout)
    assert report["ok"] is True


def test_export_bagit(ok, run, akte, tmp_path):
    (tmp_path / "plan.txt").write_text("Lageplan Grundstück Süd\n", encoding="utf-8")
    ok("add", akte, str(tmp_path / "plan.txt"))
    out = tmp_path / "bag"
    view = json.loads(ok("export", "bagit", akte, "-o", str(out), "--source-organization",
                         "Bauamt Musterstadt", "--json").stdout)
    assert view["path"] == str(out) and view["akten"] == [akte]
    assert view["files"] == 2  # the document and data/metadata.json
    bag = bagit.Bag(str(out))
    bag.validate()
    assert bag.info["Payload-Oxum"] == view["payload_oxum"]
    assert bag.info["External-Identifier"] == akte
    busy = run("export", "bagit", akte, "-o", str(out))
    assert busy.exit_code == 10 and "not an empty folder" in busy.stderr
    assert run("export", "bagit", "630.10-9999/1999", "-o", str(tmp_path / "x")).exit_code == 3
    assert run("export", "bagit", "-o", str(tmp_path / "y")).exit_code == 2
    assert "Wrote BagIt bag" in ok("export", "bagit", akte, "-o", str(tmp_path / "z")).stdout


def _events(ok, action: str) -> list[dict]:
    return [e for e in json.loads(ok("audit", "--json").stdout) if e["action"] == action]


def test_disposal_with_a_paper_appraisal_from_the_command_line(ok, run, store, tmp_path):
    ok("plan", "add", "030", "Ordnungswidrigkeiten", "--retention-years", "0")  # default B
    az = ok("akte", "create", "030", "Bußgeldverfahren Falschparker").stdout.strip()
    kept = ok("akte", "create", "030", "Bußgeldverfahren Gaststätte").stdout.strip()
    (tmp_path / "anhoerung.txt").write_text("Anhörungsbogen\n", encoding="utf-8")
    [doc] = json.loads(ok("add", az, str(tmp_path / "anhoerung.txt"), "--json").stdout)
    ok("add", kept, str(tmp_path / "anhoerung.txt"))  # the same content in another Akte
    ok("close", az)
    ok("close", kept)
    assert [d["aktenzeichen"] for d in json.loads(ok("disposal", "due", "--json").stdout)] \
        == [az, kept]

    by_default = run("disposal", "appraise", az, "--default")
    assert by_default.exit_code == 7 and "says B" in by_default.stderr
    assert run("disposal", "appraise", az).exit_code == 2  # neither A|V nor --default
    assert run("disposal", "appraise", az, "V", "--default").exit_code == 2
    assert run("disposal", "appraise", az, "B").exit_code == 2
    assert run("disposal", "appraise", az, "V", "--reason", " ").exit_code == 6

    ok("user", "add", "leser")
    ok("grant", "leser", "reader", az)
    denied = run("--user", "leser", "disposal", "appraise", az, "V")
    assert denied.exit_code == 4  # appraising needs the manager role
    letter = "Schreiben des Landesarchivs vom 2. März 2026, Az. LA-7/26"
    appraised = json.loads(ok("disposal", "appraise", az, "v", "--reason", letter,
                              "--json").stdout)
    assert appraised["state"] == "appraised"
    assert (appraised["decision"], appraised["decision_source"]) == ("V", "archive")
    human = ok("disposal", "appraise", kept, "A")
    assert "Appraised" in human.stdout and "(archive)" in human.stdout
    again = run("disposal", "appraise", az, "A")
    assert again.exit_code == 7 and "appraised V" in again.stderr
    [event, _] = _events(ok, "disposal.appraised")
    assert event["details"]["reason"] == letter and event["details"]["on_paper"] is True
    assert event["details"]["decision"] == "V" and event["details"]["source"] == "archive"

    refused = run("disposal", "destroy", kept, "--yes")
    assert refused.exit_code == 7 and "appraised A" in refused.stderr
    assert "Destroyed" in ok("disposal", "destroy", az, "--yes").stdout
    assert json.loads(ok("disposal", "status", az, "--json").stdout)["state"] == "destroyed"
    assert run("get", str(doc["id"]), "-o", str(tmp_path / "x.txt")).exit_code == 7
    ok("get", "2", "-o", str(tmp_path / "kept.txt"))  # the shared blob survives
    assert (tmp_path / "kept.txt").read_text(encoding="utf-8") == "Anhörungsbogen\n"
    assert json.loads(ok("verify", "--json").stdout)["ok"] is True


def test_disposal_by_the_aktenplan_default_after_the_retention_period(ok, run, store,
                                                                      tmp_path):
    ok("plan", "add", "020", "Personal", "--retention-years", "10", "--disposal", "V")
    ok("akte", "create", "020", "Stellenbesetzung 2026")
    ok("close", "020-0001/" + str(datetime.now(UTC).year))
    assert json.loads(ok("disposal", "due", "--json").stdout) == []  # retained 10 years
    early = run("disposal", "appraise", "020-0001/" + str(datetime.now(UTC).year), "--default")
    assert early.exit_code == 7 and "retained until" in early.stderr
    # an Akte closed on a day eleven years ago (the store's clock set back to then)
    then = datetime.now(UTC) - timedelta(days=11 * 366)
    with eakte.open(store, create=False, clock=lambda: then) as st, st.session() as s:
        old = s.create_akte("020", "Stellenbesetzung Bauamt", year=then.year)
        s.file_document(old, b"Bewerbung\n", filename="bewerbung.txt")
        s.close_akte(old)
        az = old.aktenzeichen
    assert [d["aktenzeichen"] for d in json.loads(ok("disposal", "due", "--json").stdout)] \
        == [az]
    appraised = json.loads(ok("disposal", "appraise", az, "--default", "--reason",
                              "Bewertetes Aktenplan-Verzeichnis 2020", "--json").stdout)
    assert (appraised["state"], appraised["decision"], appraised["decision_source"]) == (
        "appraised", "V", "aktenplan")
    assert "Destroyed" in ok("disposal", "destroy", az, "--yes").stdout
    [event] = _events(ok, "disposal.appraised")
    assert event["details"]["reason"] == "Bewertetes Aktenplan-Verzeichnis 2020"
    assert event["details"]["source"] == "aktenplan" and "on_paper" not in event["details"]
    assert len(_events(ok, "disposal.deleted")) == 1
    assert json.loads(ok("verify", "--json").stdout)["ok"] is True
