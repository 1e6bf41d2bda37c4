"""checkpoint keygen/create/list/export, verify --checkpoint/--public-key, repair, audit JSON."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest


@pytest.fixture
def filed(ok, akte, tmp_path) -> list[dict]:
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(f"Inhalt {name}\n", encoding="utf-8")
    return json.loads(ok("add", akte, str(tmp_path / "a.txt"), str(tmp_path / "b.txt"),
                         "--json").stdout)


@pytest.fixture
def key(ok, tmp_path) -> Path:
    path = tmp_path / "keys" / "cp.pem"
    path.parent.mkdir()
    ok("checkpoint", "keygen", "--key", str(path))
    return path


def rewrite(store: Path, seq: int) -> None:
    """An attacker edits event ``seq`` and recomputes the chain and the head (SQLite)."""
    db = sqlite3.connect(store / "eakte.sqlite3")
    with db:
        db.execute("DROP TRIGGER eakte_audit_events_no_update")
        prev = db.execute("SELECT hash FROM audit_events WHERE seq = ?", (seq - 1,)).fetchone()[0]
        rows = db.execute("SELECT seq, canonical FROM audit_events WHERE seq >= ? ORDER BY seq",
                          (seq,)).fetchall()
        for row_seq, canonical in rows:
            if row_seq == seq:
                canonical = canonical.replace(b'"actor":"admin"', b'"actor":"nimda"')
                db.execute("UPDATE audit_events SET canonical = ?, actor = 'nimda' "
                           "WHERE seq = ?", (canonical, row_seq))
            prev = hashlib.sha256(bytes.fromhex(prev) + canonical).hexdigest()
            db.execute("UPDATE audit_events SET hash = ? WHERE seq = ?", (prev, row_seq))
        db.execute("UPDATE audit_head SET hash = ? WHERE id = 1", (prev,))
    db.close()


def test_keygen(ok, run, tmp_path) -> None:
    path = tmp_path / "k.pem"
    data = json.loads(ok("checkpoint", "keygen", "--key", str(path), "--json").stdout)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert data["public_key_file"] == f"{path}.pub"
    assert data["key_id"].startswith("ed25519:")
    assert len(base64.b64decode(data["public_key"])) == 32
    again = run("checkpoint", "keygen", "--key", str(path))
    assert again.exit_code == 7 and "never overwritten" in again.stderr


def test_create_list_export_verify(ok, run, store, filed, key, tmp_path) -> None:
    out = tmp_path / "cp1.txt"
    ok("checkpoint", "create", "--key", str(key), "-o", str(out))
    text = out.read_text()
    assert text.startswith("eakte-checkpoint v1\n") and "\nsig: " in text
    again = ok("checkpoint", "create", "--key", str(key), "--json")
    assert json.loads(again.stdout)["created"] is False
    assert "still current" in again.stderr
    ok("user", "add", "mueller")
    second = ok("checkpoint", "create", "--key", str(key)).stdout
    assert second != text and second.startswith("eakte-checkpoint v1\n")

    listed = json.loads(ok("checkpoint", "list", "--json").stdout)
    assert [c["size"] for c in listed] == [int(text.split("size: ")[1].split("\n")[0]),
                                           listed[1]["size"]]
    assert "events" in ok("checkpoint", "list").stdout
    assert ok("checkpoint", "export").stdout == second
    assert ok("checkpoint", "export", str(listed[0]["size"])).stdout == text
    assert run("checkpoint", "export", "999").exit_code == 3

    report = json.loads(ok("verify", "--checkpoint", str(out), "--public-key", f"{key}.pub",
                           "--json").stdout)
    assert report["ok"] is True and report["problems"] == [] and report["checkpoints"] == 3
    unpinned = ok("verify", "--checkpoint", str(out))
    assert "no trusted public key" in unpinned.stderr
    assert "key_not_pinned" not in unpinned.stdout and "notice" in unpinned.stdout
    human = ok("verify", "--public-key", f"{key}.pub").stdout
    assert "Checkpoints" in human and "OK" in human


def test_key_from_the_environment(ok, run, store, key, tmp_path) -> None:
    missing = run("checkpoint", "create")
    assert missing.exit_code == 6 and "checkpoint key" in missing.stderr
    created = ok("checkpoint", "create", env={"EAKTE_CHECKPOINT_KEY": str(key)})
    assert created.stdout.startswith("eakte-checkpoint v1")
    # the configured key is trusted by verify: no notice
    report = json.loads(ok("verify", "--json", env={"EAKTE_CHECKPOINT_KEY": str(key)}).stdout)
    assert report["problems"] == []


def test_verify_names_the_first_rewritten_event(ok, run, store, filed, key, tmp_path) -> None:
    out = tmp_path / "cp.txt"
    ok("checkpoint", "create", "--key", str(key), "-o", str(out))
    rewrite(store, 5)
    result = run("verify", "--checkpoint", str(out), "--public-key", f"{key}.pub", "--json")
    assert result.exit_code == 5
    problems = json.loads(result.stdout)["problems"]
    assert {p["kind"] for p in problems} == {"checkpoint.prefix_mismatch"}
    assert all("event 5 differs" in p["message"] for p in problems)
    assert len(problems) == 2  # the stored checkpoint and the file
    human = run("verify", "--public-key", f"{key}.pub")
    assert human.exit_code == 5 and "event 5 differs" in human.stdout

    forged = tmp_path / "forged.txt"
    forged.write_text(out.read_text().replace("size: ", "size: 1"))
    bad = run("verify", "--checkpoint", str(forged), "--public-key", f"{key}.pub", "--json")
    assert bad.exit_code == 5
    assert "checkpoint.signature_invalid" in {p["kind"] for p in json.loads(bad.stdout)["problems"]}
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("hello\n")
    assert run("verify", "--checkpoint", str(garbage)).exit_code == 6
    assert run("verify", "--public-key", str(garbage)).exit_code == 6


def test_audit_json_carries_the_hashed_bytes(ok, store, filed) -> None:
    prev = "0" * 64
    for event in json.loads(ok("audit", "--json").stdout):
        canonical = base64.b64decode(event["canonical"])
        assert json.loads(canonical)["seq"] == event["seq"]
        prev = hashlib.sha256(bytes.fromhex(prev) + canonical).hexdigest()
        assert prev == event["hash"]


def test_repair(ok, run, store, filed) -> None:
    orphan_dir = store / "blobs" / "ab"
    orphan_dir.mkdir(exist_ok=True)
    orphan = orphan_dir / ("c" * 62)
    orphan.write_bytes(b"orphan")  # not its real hash: an orphan is an orphan
    then = time.time() - 7200
    os.utime(orphan, (then, then))
    dry = json.loads(ok("repair", "--dry-run", "--json").stdout)
    assert dry["dry_run"] is True and dry["orphans"]["removed"] == ["ab" + "c" * 62]
    assert orphan.exists()
    human = ok("repair").stdout
    assert "Orphan blobs: 1 were removed" in human
    assert not orphan.exists()
    assert json.loads(ok("repair", "--json").stdout)["orphans"]["removed"] == []

    db = sqlite3.connect(store / "eakte.sqlite3")
    with db:
        db.execute("DROP TRIGGER eakte_audit_events_no_update")
        db.execute("UPDATE audit_events SET object_id = '999' WHERE seq = 4")
    db.close()
    refused = run("repair", "--json")
    assert refused.exit_code == 5
    assert json.loads(refused.stdout)["refused"] is True
    error = json.loads(refused.stderr)["error"]  # with --json the error is JSON too
    assert error["type"] == "IntegrityError" and error["message"].startswith("repair refused")
    assert "REFUSED" in run("repair").stdout
