"""``eakte export xdomea`` and ``eakte import xdomea`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from xdomea_helpers import HAVE_XSD, XDOMEA, require_xdomea

from eakte.cli import cli


@pytest.fixture
def runner() -> CliRunner:
    """A runner that validates against the official XSDs when they are there."""
    return CliRunner(env={"EAKTE_STORE": None, "EAKTE_USER": None,
                          "EAKTE_XDOMEA_SCHEMAS": str(XDOMEA) if HAVE_XSD else None,
                          "COLUMNS": "200"})


def _ok(runner: CliRunner, store: Path, *args: str) -> str:
    result = runner.invoke(cli, ["--store", str(store), *args])
    assert result.exit_code == 0, (result.exit_code, result.stderr, result.exception)
    return result.stdout


def _due_akte(runner: CliRunner, store: Path, tmp_path: Path) -> str:
    _ok(runner, store, "init", "--search", "none")
    _ok(runner, store, "plan", "add", "630", "Bauordnung", "--retention-years", "0",
        "--disposal", "A")
    az = json.loads(_ok(runner, store, "akte", "create", "630", "Bauantrag Müller", "--json")
                    )["aktenzeichen"]
    doc = tmp_path / "Antrag Müller.txt"
    doc.write_text("Antrag auf Baugenehmigung", encoding="utf-8")
    _ok(runner, store, "add", az, str(doc))
    _ok(runner, store, "close", az)
    return str(az)


def test_export_then_import_into_another_store(runner: CliRunner, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    az = _due_akte(runner, a, tmp_path)
    data = json.loads(_ok(runner, a, "export", "xdomea", az, "--message", "0503",
                          "-o", str(tmp_path / "out"), "--json"))
    assert data["schema_validated"] is HAVE_XSD and data["message"] == "0503"
    assert data["counts"]["dokumente"] == 1 and data["counts"]["dateien"] == 1
    path = Path(data["path"])
    assert path.name == f"{data['prozess_id']}_Aussonderung.Aussonderung.0503.zip"
    status = json.loads(_ok(runner, a, "disposal", "status", az, "--json"))
    assert status["state"] == "exported"

    _ok(runner, b, "init", "--search", "none")
    result = json.loads(_ok(runner, b, "import", "xdomea", str(path), "--json"))
    assert result["message"] == "0503" and result["schema_validated"] is HAVE_XSD
    assert result["counts"]["akten"] == 1 and result["units_created"] == ["630"]
    human = _ok(runner, b, "akte", "list")
    assert "Bauantrag Müller" in human


def test_export_human_output_and_dry_run(runner: CliRunner, tmp_path: Path) -> None:
    store = tmp_path / "s"
    az = _due_akte(runner, store, tmp_path)
    text = _ok(runner, store, "export", "xdomea", az, "--message", "0501", "-o",
               str(tmp_path / "out"), "--dry-run", "--version", "3.0.0")
    assert "Wrote" in text
    if HAVE_XSD:
        assert "valid against" in text and "xsd-3.0.0" in text
    else:
        assert "XSD validation skipped" in text and "structure checked" in text
    status = json.loads(_ok(runner, store, "disposal", "status", az, "--json"))
    assert status["state"] == "due"


def test_import_refuses_an_invalid_message_with_exit_10(runner: CliRunner, tmp_path: Path
                                                        ) -> None:
    store = tmp_path / "s"
    _ok(runner, store, "init", "--search", "none")
    bad = require_xdomea() / "examples/invalid/neg_importbestaetigung_0.xml"
    result = runner.invoke(cli, ["--store", str(store), "import", "xdomea", str(bad)])
    assert result.exit_code == 10
    assert "fixed value constraint" in result.stderr


def test_export_without_schemas_says_so(tmp_path: Path) -> None:
    runner = CliRunner(env={"EAKTE_STORE": None, "EAKTE_USER": None,
                            "EAKTE_XDOMEA_SCHEMAS": None})
    store = tmp_path / "s"
    az = _due_akte(runner, store, tmp_path)
    data = json.loads(_ok(runner, store, "export", "xdomea", az, "--message", "0503", "-o",
                          str(tmp_path / "out"), "--json"))
    assert data["schema_validated"] is False
    assert "EAKTE_XDOMEA_SCHEMAS" in data["schema_skipped_reason"]


def test_import_refuses_a_file_that_contradicts_its_history(runner: CliRunner,
                                                             tmp_path: Path) -> None:
    import hashlib
    import zipfile

    a, b = tmp_path / "a", tmp_path / "b"
    az = _due_akte(runner, a, tmp_path)
    data = json.loads(_ok(runner, a, "export", "xdomea", az, "--message", "0503",
                          "-o", str(tmp_path / "out"), "--json"))
    original = Path(data["path"])
    forged = tmp_path / "forged" / original.name
    forged.parent.mkdir()
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(forged, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename.endswith(".txt"):
                name, recorded = info.filename, hashlib.sha256(content).hexdigest()
                content = b"Antrag auf Abriss"
            dst.writestr(info, content)
    _ok(runner, b, "init", "--search", "none")
    result = runner.invoke(cli, ["--store", str(b), "import", "xdomea", str(forged)])
    assert result.exit_code == 10, (result.stdout, result.stderr)
    assert name in result.stderr and recorded in result.stderr
    assert hashlib.sha256(b"Antrag auf Abriss").hexdigest() in result.stderr
    listed = json.loads(_ok(runner, b, "akte", "list", "--json"))
    assert listed == []
    _ok(runner, b, "import", "xdomea", str(original))  # the intact message imports
