"""Human tables on an 80-column terminal: identifiers and dates whole, long titles wrapped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from eakte.cli import cli

LONG_TITLE = ("Neubau eines Mehrfamilienhauses mit Tiefgarage und Photovoltaikanlage auf dem "
              "Grundstück Lindenstraße 4 – Bauantragsverfahren nach § 64 BauO NRW")
LONG_REASON = ("Klage vor dem Verwaltungsgericht Minden, Aktenzeichen 3 K 1234/26, "
               "Aufbewahrung bis zum rechtskräftigen Abschluss des Verfahrens")


@pytest.fixture
def narrow(tmp_path: Path):
    runner = CliRunner(env={"EAKTE_STORE": None, "EAKTE_USER": None, "COLUMNS": "80"})

    def invoke(*args: str) -> str:
        result = runner.invoke(cli, ["--store", str(tmp_path / "store"), *args])
        assert result.exit_code == 0, (args, result.stderr)
        return result.stdout

    return invoke


def _check(output: str, *whole: str) -> None:
    """Every line fits 80 columns, each value appears unbroken, no word was cut off."""
    assert all(len(line) <= 80 for line in output.splitlines()), output
    for value in whole:
        assert value in output, (value, output)
    assert not re.search(r"\w…", output.replace("…\n", "\n").replace("… ", " ")), output


def _words_present(output: str, title: str) -> None:
    """``title`` is somewhere in one column, wrapped or folded but complete."""
    columns: dict[int, list[str]] = {}
    for line in output.splitlines():
        if line.startswith("│"):
            for index, cell in enumerate(line.strip("│").split("│")):
                columns.setdefault(index, []).append(cell)
    packed = "".join(title.split())
    assert any(packed in "".join("".join(cells).split()) for cells in columns.values()), (
        title, output)


def test_tables_keep_identifiers_whole_at_80_columns(narrow, tmp_path):
    narrow("init")
    narrow("plan", "add", "630", "Bauordnung")
    narrow("plan", "add", "630.10", "Baugenehmigungen", "--parent", "630")
    narrow("plan", "add", "630.10.20", "Wohngebäude mit Tiefgarage", "--parent", "630.10",
           "--retention-years", "0", "--disposal", "V")
    az = narrow("akte", "create", "630.10.20", LONG_TITLE).strip()
    other = narrow("akte", "create", "630.10.20", "Garage").strip()
    assert len(az) >= 19  # 630.10.20-0001/2026
    name = "bauantrag-mehrfamilienhaus-lindenstrasse-4-unterschrieben.txt"
    (tmp_path / name).write_text("Bauantrag, unterschrieben\n", encoding="utf-8")
    [doc] = json.loads(narrow("add", az, str(tmp_path / name), "--json"))
    (tmp_path / "v2.txt").write_text("Bauantrag, zweite Fassung\n", encoding="utf-8")
    narrow("version", str(doc["id"]), str(tmp_path / "v2.txt"), "--comment", LONG_REASON)

    listed = narrow("akte", "list")
    _check(listed, az, other)
    _words_present(listed, LONG_TITLE)
    created = json.loads(narrow("akte", "list", "--json"))[0]["created_at"]
    assert created[:10] + " " + created[11:19] in listed  # the whole time, to the second

    plan = narrow("plan", "list")
    _check(plan, "630.10.20", "10 y", "0 y")

    shown = narrow("show", str(doc["id"]))
    _check(shown, doc["sha256"][:12], az, "text/plain")
    _words_present(shown, name)  # in the versions table, folded
    view = json.loads(narrow("show", str(doc["id"]), "--json"))
    for v in view["versions"]:
        assert v["sha256"][:12] in shown
        assert v["created_at"][:10] + " " + v["created_at"][11:19] in shown

    narrow("hold", "set", az, "--reason", LONG_REASON)
    holds = narrow("hold", "list", az)
    _check(holds, "active", "admin")
    _words_present(holds, LONG_REASON)
    narrow("hold", "release", az)

    narrow("close", az)
    narrow("close", other)
    due = narrow("disposal", "due")
    _check(due, az, other)
    _words_present(due, LONG_TITLE)

    narrow("user", "add", "sachbearbeitung-bauordnungsamt-mueller")
    narrow("grant", "sachbearbeitung-bauordnungsamt-mueller", "administrator", az)
    grants = narrow("grants")
    _check(grants, "administrator", az)
    _words_present(grants, "sachbearbeitung-bauordnungsamt-mueller")  # a name may fold
    users = narrow("user", "list")
    _check(users, "offen")
    _words_present(users, "sachbearbeitung-bauordnungsamt-mueller")

    hits = narrow("search", "Bauantrag")
    _check(hits, az)


def test_add_table_keeps_identifiers_whole_at_80_columns(narrow, tmp_path):
    narrow("init")
    narrow("plan", "add", "630.10.20", "Wohngebäude mit Tiefgarage")
    az = narrow("akte", "create", "630.10.20", LONG_TITLE).strip()
    name = "bauantrag-mehrfamilienhaus-lindenstrasse-4-unterschrieben-und-gestempelt.txt"
    (tmp_path / name).write_text("Bauantrag, unterschrieben\n", encoding="utf-8")
    added = narrow("add", az, str(tmp_path / name))  # the title is the file name
    [doc] = json.loads(narrow("show", az, "--json"))["documents"]
    _check(added, az, str(doc["id"]), doc["sha256"][:12], "text/plain")
    _words_present(added, name.removesuffix(".txt"))
