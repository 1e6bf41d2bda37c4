"""audit and verify, including detection of tampered blobs and audit rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest


@pytest.fixture
def filed(ok, akte, tmp_path) -> list[dict]:
    for name, text in (("a.txt", "Antrag\n"), ("b.txt", "Bescheid\n"), ("c.txt", "Vermerk\n")):
        (tmp_path / name).write_text(text, encoding="utf-8")
    return json.loads(ok("add", akte, *(str(tmp_path / n) for n in ("a.txt", "b.txt", "c.txt")),
                         "--json").stdout)


def test_audit_filters_and_human_output(ok, filed):
    events = json.loads(ok("audit", "--json").stdout)
    tail = json.loads(ok("audit", "--since", str(events[-3]["seq"]), "--json").stdout)
    assert tail == events[-2:]
    assert len(json.loads(ok("audit", "--limit", "2", "--json").stdout)) == 2
    docs = json.loads(ok("audit", "--object-type", "document", "--json").stdout)
    assert [e["action"] for e in docs] == ["document.file"] * 3
    assert json.loads(ok("audit", "--since", "100000", "--json").stdout) == []
    human = ok("audit", "--limit", "3").stdout.splitlines()
    assert len(human) == 3 and "store.init" in human[0]


def test_verify_ok_json(ok, filed):
    report = json.loads(ok("verify", "--json").stdout)
    assert report["ok"] is True
    assert report["problems"] == []
    assert report["blobs"] == 3
    assert report["events"] >= 8
    assert report["versions"] == 3
    quick = json.loads(ok("verify", "--no-blobs", "--json").stdout)
    assert quick["ok"] is True and quick["blobs"] == 0


def test_verify_detects_flipped_blob_byte(run, store, filed):
    sha = filed[1]["sha256"]
    path = store / "blobs" / sha[:2] / sha[2:]
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))

    result = run("verify")
    assert result.exit_code == 5
    assert f"blob {sha}" in result.stdout
    assert result.stderr.startswith("Error: verification found 1 error(s)")

    as_json = run("verify", "--json")
    assert as_json.exit_code == 5
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert [(p["kind"], p["subject"]) for p in report["problems"]] == [
        ("blob.corrupt", f"blob {sha}")]
    assert run("verify", "--no-blobs").exit_code == 0


def _tamper_event(store: Path, seq: int, column: str, value: str) -> None:
    con = sqlite3.connect(store / "eakte.sqlite3")
    try:
        con.execute("DROP TRIGGER eakte_audit_events_no_update")
        con.execute(f"UPDATE audit_events SET {column} = ? WHERE seq = ?", (value, seq))
        con.commit()
    finally:
        con.close()


@pytest.mark.parametrize(("column", "value"), [
    ("actor", "mallory"),
    ("details", json.dumps({"title": "gefälscht"})),
])
def test_verify_detects_edited_audit_event(ok, run, store, filed, column, value):
    events = json.loads(ok("audit", "--object-type", "document", "--json").stdout)
    seq = events[1]["seq"]
    _tamper_event(store, seq, column, value)

    result = run("verify")
    assert result.exit_code == 5
    assert f"audit event {seq}:" in result.stdout
    assert column in result.stdout
    report = json.loads(run("verify", "--json", "--no-blobs").stdout)
    subjects = {p["subject"] for p in report["problems"]}
    errors = {p["subject"] for p in report["problems"] if p["severity"] == "error"}
    # editing details also loses the document's audit record: the replay lists what no
    # longer matches, as notices, since the damaged event is the error
    assert f"audit event {seq}" in errors
    assert errors <= {f"audit event {seq}", "document 2 version 1"}
    assert {s.split(" field ")[0] for s in subjects - errors} <= {"document 2",
                                                                 "document 2 version 1"}


def test_orphan_blob_is_a_notice_only(ok, store, filed):
    orphan = "ab" + "c" * 62
    (store / "blobs" / "ab").mkdir(exist_ok=True)
    (store / "blobs" / "ab" / orphan[2:]).write_bytes(b"left over")
    result = ok("verify")
    assert "notice" in result.stdout and orphan in result.stdout
