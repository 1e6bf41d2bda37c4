"""``eakte demo`` is itself a test: the whole story on a fresh embedded store."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from eakte.cli import cli
from eakte.demo.run import run_demo


def test_demo_runs(runner, tmp_path):
    target = tmp_path / "demo"
    result = runner.invoke(cli, ["demo", "--dir", str(target)])
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "Refused as expected" in result.stdout
    assert "Verify: OK" in result.stdout
    assert f"eakte --store {target} show" in result.stdout
    assert "Filed" in result.stderr  # progress notes go to stderr

    # the follow-up commands it suggests work on the store it made
    listed = runner.invoke(cli, ["--store", str(target), "akte", "list", "--json"])
    akten = json.loads(listed.stdout)
    assert len(akten) == 12 + 2  # the sample Akten and the Bauportal's two building plots
    assert sum(a["title"].startswith("Bauvorhaben ") for a in akten) == 2
    assert sum(a["status"] == "closed" for a in akten) == 1
    assert runner.invoke(cli, ["--store", str(target), "verify"]).exit_code == 0

    again = runner.invoke(cli, ["demo", "--dir", str(target)])
    assert again.exit_code == 7
    assert "already holds an eakte store" in again.stderr


def test_demo_json(runner, tmp_path):
    result = runner.invoke(cli, ["demo", "--dir", str(tmp_path / "d"), "--akten", "3", "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert len(data["akten"]) == 3
    assert data["versions"] > data["documents"] > 0
    assert data["renditions"] == 1
    assert data["closed_akte"] in data["akten"]
    assert "closed (z.d.A.)" in data["refused"]
    assert data["verify"]["ok"] is True
    assert {s["name"] for s in data["steps"]} >= {"file Akten and documents", "verify store"}
    assert data["examples"]


def test_run_demo_library(tmp_path):
    lines: list[str] = []
    result = run_demo(tmp_path / "lib", akten=2, out=lines.append)
    assert result.verify_ok and result.readback_ok
    assert len(result.akten) == 2
    assert result.example_document is not None
    assert lines and all(isinstance(line, str) for line in lines)
    assert result.as_dict()["store"] == str(tmp_path / "lib")


def test_demo_defaults_to_a_new_temporary_folder(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = runner.invoke(cli, ["demo", "--akten", "1", "--json"])
    assert result.exit_code == 0, result.stderr
    store = Path(json.loads(result.stdout)["store"])
    assert store.parent == tmp_path and store.name.startswith("eakte-demo-")


def test_fmt_size():
    from eakte.cli._common import fmt_size

    assert fmt_size(999) == "999 B"
    assert fmt_size(1500) == "1.5 kB"
    assert fmt_size(2_500_000) == "2.5 MB"
    assert fmt_size(10**16) == "10000.0 TB"
