"""The drop-folder adapter: atomic pick-up, receipts, done/failed, crash safety, watch, CLI."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from eakte_dropfolder import DropFolderAdapter

import eakte
from eakte.adapter import FieldMapping, Filer, run_once, validate, watch
from eakte.testing.adapter import CONTRACT_USER, AdapterContract, run_cli

MAPPING = {
    "system": "bauportal",
    "akte": {"key": "{vorhaben}", "plan_unit": "630.10", "title": "Bauvorhaben {adresse}"},
    "vorgang": {"title": "Bauantrag {antrag}", "metadata": {"bauherr": "{bauherr}"}},
}


def drop(folder: Path, name: str, object_id: str, files: dict[str, bytes], *,
         fields: dict | None = None, extra: dict | None = None, write_sidecar: bool = True,
         versions: dict[str, str] | None = None) -> Path:
    inbox = folder / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    documents = []
    for filename, content in files.items():
        (inbox / filename).write_bytes(content)
        doc = {"file": filename, "sha256": hashlib.sha256(content).hexdigest(),
               "document_id": filename.rsplit(".", 1)[0]}
        if versions and filename in versions:
            doc["version"] = versions[filename]
        documents.append(doc)
    sidecar = {"object_id": object_id, "documents": documents,
               "fields": fields if fields is not None else {
                   "vorhaben": "FLST-4711", "adresse": "Lindenstraße 4", "antrag": object_id,
                   "bauherr": "Familie Müller"},
               **(extra or {})}
    path = inbox / f"{name}.eakte.json"
    if write_sidecar:
        tmp = inbox / f".{name}.tmp"
        tmp.write_text(json.dumps(sidecar), encoding="utf-8")
        os.replace(tmp, path)
    return path


def documents_in(store: eakte.Store) -> int:
    with store.session() as s:
        return sum(len(s.documents(a)) for a in s.list_akten())


@pytest.fixture
def store(tmp_path: Path):
    store = eakte.init(tmp_path / "store")
    with store.session() as s:
        s.add_plan_unit("630", "Bauordnung")
        s.add_plan_unit("630.10", "Baugenehmigungen", parent="630")
        s.add_plan_unit("020", "Allgemeine Verwaltung")
        s.add_user(CONTRACT_USER)
    with store.session() as s:
        s.grant(CONTRACT_USER, "editor", "630")
        s.grant(CONTRACT_USER, "owner", "system:bauportal")  # the mapping's system
    yield store
    store.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "drop"


def make(folder: Path, **options) -> DropFolderAdapter:
    return DropFolderAdapter(folder, mapping=FieldMapping(MAPPING), **options)


class TestDropFolderContract(AdapterContract):
    entry_point = "dropfolder"

    @pytest.fixture
    def adapter(self, tmp_path: Path, adapter_store):
        folder = tmp_path / "contract-drop"
        drop(folder, "ba-1", "BA-2026-1", {"antrag.txt": b"Antrag auf Baugenehmigung",
                                           "lageplan.txt": b"Lageplan"})
        drop(folder, "ba-2", "BA-2026-2", {"antrag2.txt": b"Zweiter Antrag"})
        return make(folder)


def test_once_files_writes_receipt_and_moves_to_done(store, folder: Path) -> None:
    drop(folder, "ba-1", "BA-1", {"antrag.txt": b"Antrag", "plan.txt": b"Plan"},
         extra={"sachbearbeiter": "Frau Weiß"})
    report = run_once(make(folder), store, user=CONTRACT_USER)
    assert report.ok and report.counts == {"created": 1}
    assert not list((folder / "inbox").iterdir())
    assert not list((folder / "work").iterdir())
    done = folder / "done" / "ba-1"
    assert sorted(p.name for p in done.iterdir()) == [
        "antrag.txt", "ba-1.eakte.json", "plan.txt", "receipt.json"]
    receipt = json.loads((folder / "receipts" / "ba-1.receipt.json").read_text())
    validate(receipt, "filing-receipt", what="receipt")
    assert receipt["status"] == "created" and receipt["object_id"] == "BA-1"
    assert receipt["aktenzeichen"].startswith("630.10-")
    docs = {d["document_id"]: d for d in receipt["documents"]}
    assert docs["antrag"]["version"] == 1
    assert docs["antrag"]["sha256"] == hashlib.sha256(b"Antrag").hexdigest()
    filer = Filer(store, "bauportal")
    vorgang = filer.get_vorgang("BA-1")
    assert vorgang.title == "Bauantrag BA-1"
    assert vorgang.meta["bauherr"] == "Familie Müller"
    assert vorgang.meta["sidecar"] == {"sachbearbeiter": "Frau Weiß"}  # unknown: kept
    assert filer.read(filer.key("BA-1", "plan")) == b"Plan"


def test_half_written_file_is_not_taken(store, folder: Path) -> None:
    sidecar = drop(folder, "ba-1", "BA-1", {"antrag.txt": b"Antrag vollstaendig"})
    (folder / "inbox" / "antrag.txt").write_bytes(b"Antrag voll")  # still being written
    report = run_once(make(folder), store)
    assert report.results == [] and "does not match its SHA-256" in report.notes[0]
    assert sidecar.exists() and documents_in(store) == 0
    (folder / "inbox" / "antrag.txt").write_bytes(b"Antrag vollstaendig")
    report = run_once(make(folder), store)
    assert report.counts == {"created": 1}


def test_missing_file_waits_then_goes_stale(store, folder: Path) -> None:
    sidecar = drop(folder, "ba-1", "BA-1", {"antrag.txt": b"Antrag"})
    (folder / "inbox" / "antrag.txt").unlink()
    report = run_once(make(folder), store)
    assert report.results == [] and "not there" in report.notes[0]
    later = sidecar.stat().st_mtime + 7200
    report = run_once(make(folder, clock=lambda: later), store)
    assert report.counts == {"failed": 1}
    error = json.loads((folder / "failed" / "ba-1" / "error.json").read_text())
    assert error["type"] == "InvalidInput" and "antrag.txt" in error["message"]
    assert json.loads((folder / "receipts" / "ba-1.receipt.json").read_text())["status"] \
        == "failed"


def test_invalid_sidecar_is_refused_at_once(store, folder: Path) -> None:
    inbox = folder / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "x.eakte.json").write_text(json.dumps({"object_id": "", "documents": []}))
    report = run_once(make(folder), store)
    assert report.counts == {"failed": 1}
    error = json.loads((folder / "failed" / "x" / "error.json").read_text())
    assert "object_id" in error["message"] and "documents" in error["message"]


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


def test_crash_between_filing_and_moving_does_not_duplicate(store, folder: Path,
                                                            monkeypatch) -> None:
    drop(folder, "ba-1", "BA-1", {"antrag.txt": b"Antrag", "plan.txt": b"Plan"})
    drop(folder, "ba-2", "BA-2", {"antrag2.txt": b"Antrag 2"})
    original = DropFolderAdapter._finish
    calls = []

    def crash_on_second(self, item, result, report):
        calls.append(item.name)
        if len(calls) == 2:
            raise Crash
        original(self, item, result, report)

    monkeypatch.setattr(DropFolderAdapter, "_finish", crash_on_second)
    with pytest.raises(Crash):
        run_once(make(folder), store, user=CONTRACT_USER)
    assert documents_in(store) == 3  # ba-2 was committed, but not moved
    assert [p.name for p in (folder / "work").iterdir()] == ["ba-2"]
    monkeypatch.setattr(DropFolderAdapter, "_finish", original)
    report = run_once(make(folder), store, user=CONTRACT_USER)
    assert report.counts == {"unchanged": 1}
    assert documents_in(store) == 3
    assert sorted(p.name for p in (folder / "done").iterdir()) == ["ba-1", "ba-2"]
    receipt = json.loads((folder / "receipts" / "ba-2.receipt.json").read_text())
    assert receipt["status"] == "unchanged" and receipt["vorgang_id"] is not None


def test_crash_during_claim_is_resumed(store, folder: Path) -> None:
    drop(folder, "ba-1", "BA-1", {"antrag.txt": b"Antrag", "plan.txt": b"Plan"})
    item = folder / "work" / "ba-1"
    item.mkdir(parents=True)
    os.rename(folder / "inbox" / "ba-1.eakte.json", item / "ba-1.eakte.json")
    os.rename(folder / "inbox" / "antrag.txt", item / "antrag.txt")  # plan.txt not yet
    report = run_once(make(folder), store)
    assert report.counts == {"created": 1}
    assert sorted(p.name for p in (folder / "done" / "ba-1").iterdir()) == [
        "antrag.txt", "ba-1.eakte.json", "plan.txt", "receipt.json"]


def test_changed_content_becomes_a_new_version(store, folder: Path) -> None:
    drop(folder, "ba-1", "BA-1", {"antrag.txt": b"Antrag"})
    assert run_once(make(folder), store).counts == {"created": 1}
    drop(folder, "ba-1", "BA-1", {"antrag.txt": b"Antrag, korrigiert"})
    report = run_once(make(folder), store)
    assert report.counts == {"new_version": 1}
    assert report.results[0].documents[0].version == 2
    assert documents_in(store) == 1
    assert (folder / "done" / "ba-1-2").is_dir()
    filer = Filer(store, "bauportal")
    assert filer.read(filer.key("BA-1", "antrag"), 1) == b"Antrag"
    assert filer.read(filer.key("BA-1", "antrag")) == b"Antrag, korrigiert"


def test_watch_loop_runs_until_max_iterations(store, folder: Path) -> None:
    adapter = make(folder)
    sleeps: list[float] = []
    reports = []

    def fake_sleep(seconds: float) -> None:  # a new item arrives while the loop waits
        sleeps.append(seconds)
        drop(folder, f"ba-{len(sleeps)}", f"BA-{len(sleeps)}", {
            f"antrag{len(sleeps)}.txt": f"Antrag {len(sleeps)}".encode()})

    runs = watch(adapter, store, user=CONTRACT_USER, interval=0.5, max_iterations=3,
                 on_report=reports.append, sleep=fake_sleep)
    assert runs == 3 and sleeps == [0.5, 0.5]
    assert [r.counts for r in reports] == [{}, {"created": 1}, {"created": 1}]
    assert documents_in(store) == 2


def test_feed_shows_only_akten_the_adapter_user_may_see(store, folder: Path) -> None:
    with store.session() as s:  # the administrator works on an Akte outside the grant
        secret = s.create_akte("020", "Personalsache")
        s.file_document(secret, b"vertraulich", filename="p.txt")
    drop(folder, "ba-1", "BA-1", {"antrag.txt": b"Antrag"})
    report = run_once(make(folder, feed=True), store, user=CONTRACT_USER)
    assert report.ok and report.followed > 0
    events = [json.loads(p.read_text()) for p in sorted((folder / "feed").iterdir())]
    assert len(events) == report.followed
    assert {e["action"] for e in events} >= {"created", "filed"}
    assert all(e["aktenzeichen"].startswith("630.10-") for e in events)
    assert secret.id not in {e["akte_id"] for e in events}
    # the cursor is durable: a second run hands over only what is new
    with store.session() as s:
        s.add_version(s.get_document(report.results[0].documents[0].document_id),
                      b"Antrag, zweite Fassung")
    again = run_once(make(folder, feed=True), store, user=CONTRACT_USER)
    assert again.followed == 1
    newest = json.loads(sorted((folder / "feed").iterdir())[-1].read_text())
    assert newest["action"] == "version_added" and newest["version"] == 2


def test_feed_off_leaves_the_cursor_alone(store, folder: Path) -> None:
    drop(folder, "ba-1", "BA-1", {"antrag.txt": b"Antrag"})
    assert run_once(make(folder), store).followed == 0
    assert not (folder / "feed").exists()
    assert run_once(make(folder, feed=True), store).followed > 0


def _cli(tmp_path: Path, *args: str):
    return run_cli("--store", tmp_path / "store", *args)


def test_cli_run_once_and_json(store, folder: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING), encoding="utf-8")
    drop(folder, "ba-1", "BA-1", {"antrag.txt": b"Antrag"})
    store.close()
    result = _cli(tmp_path, "--user", CONTRACT_USER, "adapter", "run", "dropfolder",
                  "--folder", str(folder), "--mapping", str(mapping), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["counts"] == {"created": 1} and data["ok"] is True
    result = _cli(tmp_path, "adapter", "run", "dropfolder", "--folder", str(folder),
                  "--mapping", str(mapping), "--watch", "--interval", "0",
                  "--max-iterations", "2")
    assert result.exit_code == 0, result.output
    assert "stopped after 2 run(s)" in result.stderr


def test_cli_reports_failed_items_with_exit_code_11(store, folder: Path,
                                                    tmp_path: Path) -> None:
    inbox = folder / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "x.eakte.json").write_text("{}")
    store.close()
    result = _cli(tmp_path, "adapter", "run", "dropfolder", "--folder", str(folder))
    assert result.exit_code == 11
    assert "1 of 1 case(s) failed" in result.stderr


def test_cli_help_shows_the_adapter_options(tmp_path: Path) -> None:
    result = _cli(tmp_path, "adapter", "run", "dropfolder", "--help")
    assert result.exit_code == 0
    for option in ("--folder", "--mapping", "--stale-after", "--feed", "--watch",
                   "--max-iterations"):
        assert option in result.output


# -- hostile input: nesting bombs, symbolic links, swapped files ------------------------


def _poison_sidecar(inbox: Path, name: str, levels: int = 10_000) -> Path:
    inbox.mkdir(parents=True, exist_ok=True)
    deep = "[" * levels + "]" * levels
    path = inbox / f"{name}.eakte.json"
    path.write_text('{"object_id": "BA-X", "documents": [], "fields": {"x": ' + deep + "}}",
                    encoding="utf-8")
    return path


def _failure(folder: Path, item: str) -> dict:
    return json.loads((folder / "failed" / item / "error.json").read_text(encoding="utf-8"))


def test_deeply_nested_sidecar_fails_alone_and_the_next_item_is_filed(store, folder: Path
                                                                      ) -> None:
    _poison_sidecar(folder / "inbox", "a-poison")
    drop(folder, "b-good", "BA-1", {"antrag.txt": b"Antrag"})
    report = run_once(make(folder), store, user=CONTRACT_USER)
    assert report.counts == {"created": 1, "failed": 1}
    error = _failure(folder, "a-poison")
    assert error["type"] == "UnsafeContent" and "deeper than 64 levels" in error["message"]
    assert (folder / "done" / "b-good").is_dir() and documents_in(store) == 1
    # nothing is left to block later runs
    assert not list((folder / "inbox").iterdir()) and not list((folder / "work").iterdir())
    assert run_once(make(folder), store, user=CONTRACT_USER).results == []


def test_deeply_nested_sidecar_left_in_work_is_refused(store, folder: Path) -> None:
    item = folder / "work" / "a-poison"
    _poison_sidecar(item, "a-poison")
    drop(folder, "b-good", "BA-1", {"antrag.txt": b"Antrag"})
    report = run_once(make(folder), store, user=CONTRACT_USER)
    assert report.counts == {"created": 1, "failed": 1}
    assert "deeper than 64 levels" in _failure(folder, "a-poison")["message"]


def test_unexpected_error_in_one_item_fails_that_item_only(store, folder: Path,
                                                           monkeypatch) -> None:
    drop(folder, "a-bad", "BA-1", {"antrag.txt": b"Antrag"})
    drop(folder, "b-good", "BA-2", {"antrag2.txt": b"Antrag 2"})
    original = DropFolderAdapter._case

    def explode_on_first(self, item, sidecar, data):
        if item.name == "a-bad":
            raise RecursionError("maximum recursion depth exceeded")
        return original(self, item, sidecar, data)

    monkeypatch.setattr(DropFolderAdapter, "_case", explode_on_first)
    report = run_once(make(folder), store, user=CONTRACT_USER)
    assert report.counts == {"created": 1, "failed": 1}
    error = _failure(folder, "a-bad")
    assert error["type"] == "AdapterError" and "unexpected RecursionError" in error["message"]
    assert (folder / "failed" / "a-bad" / "antrag.txt").read_bytes() == b"Antrag"  # kept
    assert (folder / "done" / "b-good").is_dir()


def test_symlinked_sidecar_is_refused_without_reading_it(store, folder: Path,
                                                         tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps({"object_id": "BA-9", "documents": [
        {"file": "antrag.txt", "sha256": hashlib.sha256(b"x").hexdigest()}]}))
    drop(folder, "b-good", "BA-1", {"antrag.txt": b"Antrag"})
    (folder / "inbox" / "a-link.eakte.json").symlink_to(outside)
    report = run_once(make(folder), store, user=CONTRACT_USER)
    assert report.counts == {"created": 1, "failed": 1}
    error = _failure(folder, "a-link")
    assert "symbolic link" in error["message"]
    assert (folder / "failed" / "a-link" / "a-link.eakte.json").is_symlink()  # moved, as is
    assert outside.exists()
    assert documents_in(store) == 1


def test_symlinked_content_file_is_refused(store, folder: Path, tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_bytes(b"root:x:0:0")
    drop(folder, "a-link", "BA-1", {"antrag.txt": b"root:x:0:0"})
    (folder / "inbox" / "antrag.txt").unlink()
    (folder / "inbox" / "antrag.txt").symlink_to(secret)
    report = run_once(make(folder), store, user=CONTRACT_USER)
    assert report.counts == {"failed": 1}  # at once: waiting cannot make it a file
    assert "symbolic link" in _failure(folder, "a-link")["message"]
    assert documents_in(store) == 0


def test_file_swapped_for_a_symlink_after_the_claim_is_not_read(store, folder: Path,
                                                                tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_bytes(b"root:x:0:0")
    drop(folder, "a-swap", "BA-1", {"antrag.txt": b"root:x:0:0"})
    item = folder / "work" / "a-swap"
    item.mkdir(parents=True)
    os.rename(folder / "inbox" / "a-swap.eakte.json", item / "a-swap.eakte.json")
    (folder / "inbox" / "antrag.txt").unlink()
    (item / "antrag.txt").symlink_to(secret)  # what a swap after the checks leaves
    report = run_once(make(folder), store, user=CONTRACT_USER)
    assert report.counts == {"failed": 1}
    error = _failure(folder, "a-swap")
    assert error["type"] == "UnsafeContent" and "symbolic link" in error["message"]
    assert documents_in(store) == 0


def test_cli_run_goes_past_a_nesting_bomb(store, folder: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING), encoding="utf-8")
    _poison_sidecar(folder / "inbox", "a-poison")
    drop(folder, "b-good", "BA-1", {"antrag.txt": b"Antrag"})
    store.close()
    args = ("--user", CONTRACT_USER, "adapter", "run", "dropfolder", "--folder", str(folder),
            "--mapping", str(mapping), "--json")
    result = _cli(tmp_path, *args)
    assert result.exit_code == 11, result.output  # one failed, the other filed
    data = json.loads(result.stdout)
    assert data["counts"] == {"created": 1, "failed": 1}
    assert "RecursionError" not in result.output
    again = _cli(tmp_path, *args)  # the queue is not blocked: nothing is left to fail
    assert again.exit_code == 0 and json.loads(again.stdout)["counts"] == {}
