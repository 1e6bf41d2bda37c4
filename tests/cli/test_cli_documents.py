"""The contract flow and the document commands: add, version, show, get."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

import eakte


def _files(tmp_path: Path) -> dict[str, bytes]:
    data = {
        "antrag.txt": "Antrag auf Baugenehmigung für das Grundstück Lindenstraße 4.\n".encode(),
        "lageplan.pdf": b"%PDF-1.4\n% Lageplan\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n",
        "notiz.txt": "Vermerk: Unterlagen vollständig. – Müller\n".encode(),
    }
    for name, content in data.items():
        (tmp_path / name).write_bytes(content)
    return data


def test_contract_flow(ok, run, store, tmp_path):
    # plan add → akte create --json
    created = ok("akte", "create", "630.10", "Neubau Lindenstraße 4", "--external-id",
                 "bauportal:BA-2026-17", "--org-unit", "63", "--confidentiality", "vs-nfd",
                 "--json")
    akte = json.loads(created.stdout)
    az = akte["aktenzeichen"]
    assert isinstance(akte["id"], int)
    assert az.startswith("630.10-0001/")
    assert akte["external_ids"] == ["bauportal:BA-2026-17"]

    # add 3 files + a directory, --json
    files = _files(tmp_path)
    folder = tmp_path / "eingang"
    (folder / "sub").mkdir(parents=True)
    (folder / "brief.txt").write_bytes(b"Sehr geehrte Damen und Herren,\n")
    (folder / "sub" / "anlage.txt").write_bytes(b"Anlage 1\n")
    added = ok("add", az, *(str(tmp_path / n) for n in files), str(folder),
               "--vorgang", "Antragsprüfung", "--kind", "incoming", "--json")
    docs = json.loads(added.stdout)
    assert [d["filename"] for d in docs] == [*files, "brief.txt", "anlage.txt"]
    for d in docs:
        assert {"id", "title", "version", "sha256", "mime", "size", "filename",
                "aktenzeichen"} <= d.keys()
        assert d["version"] == 1 and d["aktenzeichen"] == az and d["kind"] == "incoming"
    first = docs[0]
    assert first["sha256"] == hashlib.sha256(files["antrag.txt"]).hexdigest()
    assert first["size"] == len(files["antrag.txt"])
    assert first["mime"] == "text/plain"
    assert docs[1]["mime"] == "application/pdf"
    assert len({d["vorgang_id"] for d in docs}) == 1

    # a second add with the same --vorgang reuses that Vorgang
    again = json.loads(ok("add", az, str(tmp_path / "notiz.txt"), "--vorgang",
                          "Antragsprüfung", "--title", "Vermerk", "--json").stdout)
    assert again[0]["vorgang_id"] == first["vorgang_id"]
    assert again[0]["title"] == "Vermerk"

    # version
    v2_bytes = "Antrag (berichtigt): Lindenstraße 4a.\n".encode()
    (tmp_path / "antrag-v2.txt").write_bytes(v2_bytes)
    new = json.loads(ok("version", str(first["id"]), str(tmp_path / "antrag-v2.txt"),
                        "--comment", "Hausnummer berichtigt", "--json").stdout)
    assert new == {**new, "document_id": first["id"], "version": 2, "size": len(v2_bytes),
                   "sha256": hashlib.sha256(v2_bytes).hexdigest(), "mime": "text/plain"}

    # show document --json
    shown = json.loads(ok("show", str(first["id"]), "--json").stdout)
    assert {"id", "title", "aktenzeichen", "kind", "vorgang", "metadata", "versions"} <= set(
        shown)
    assert shown["aktenzeichen"] == az
    assert shown["vorgang"]["title"] == "Antragsprüfung"
    assert [v["number"] for v in shown["versions"]] == [1, 2]
    v1, v2 = shown["versions"]
    for v in (v1, v2):
        assert {"number", "sha256", "size", "mime", "filename", "comment", "created_at",
                "created_by", "renditions"} <= v.keys()
        assert v["created_at"].endswith("+00:00") and "T" in v["created_at"]
        assert v["created_by"] == "admin" and v["renditions"] == []
    assert v2["comment"] == "Hausnummer berichtigt"
    assert v2["sha256"] == new["sha256"]

    # show akte --json
    akte_view = json.loads(ok("show", az, "--json").stdout)
    for key in ("id", "aktenzeichen", "title", "status", "kennzeichen", "confidentiality",
                "org_unit", "created_at", "closed_at", "external_ids", "metadata",
                "vorgaenge", "documents"):
        assert key in akte_view
    assert akte_view["status"] == "open" and akte_view["kennzeichen"] == "630.10"
    assert akte_view["confidentiality"] == "vs-nfd" and akte_view["org_unit"] == "63"
    assert akte_view["vorgaenge"] == [{"id": first["vorgang_id"], "title": "Antragsprüfung",
                                       "parent_id": None, "status": "open"}]
    assert len(akte_view["documents"]) == 6
    listed = {d["id"]: d for d in akte_view["documents"]}
    assert listed[first["id"]]["version"] == 2
    assert listed[first["id"]]["sha256"] == new["sha256"]
    assert {"id", "title", "kind", "vorgang_id", "version", "sha256", "mime"} <= set(
        listed[first["id"]])

    # get writes the exact bytes of v1 and v2
    out1, out2 = tmp_path / "out" / "v1.txt", tmp_path / "out" / "v2.txt"
    out1.parent.mkdir()
    ok("get", str(first["id"]), "--version", "1", "-o", str(out1))
    ok("get", str(first["id"]), "-o", str(out2))
    assert out1.read_bytes() == files["antrag.txt"]
    assert out2.read_bytes() == v2_bytes
    assert sorted(p.name for p in out1.parent.iterdir()) == ["v1.txt", "v2.txt"]

    # audit --json contains the actions
    events = json.loads(ok("audit", "--json").stdout)
    actions = [e["action"] for e in events]
    for action in ("store.init", "plan.create", "akte.create", "vorgang.create",
                   "document.file", "version.add", "content.read"):
        assert action in actions
    assert actions.count("content.read") == 2
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert set(events[0]) == {"seq", "time", "actor", "action", "object_type", "object_id",
                              "details", "hash", "canonical"}

    # verify
    result = ok("verify")
    assert "OK" in result.stdout


def test_human_output(ok, akte, tmp_path):
    _files(tmp_path)
    added = ok("add", akte, str(tmp_path / "antrag.txt"), str(tmp_path / "lageplan.pdf"))
    assert "Filed 2 document(s)" in added.stdout and "antrag.txt" in added.stdout
    tree = ok("show", akte)
    assert akte in tree.stdout and "antrag.txt" in tree.stdout
    doc = ok("show", "1")
    assert "Versions" in doc.stdout and akte in doc.stdout
    (tmp_path / "v2.txt").write_bytes(b"zweite Fassung\n")
    assert "version 2" in ok("version", "1", str(tmp_path / "v2.txt")).stdout
    got = ok("get", "1", "-o", str(tmp_path / "x"))
    assert got.stdout == ""
    assert "version 2" in got.stderr


def test_add_stdout_is_only_json(ok, akte, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(30):
        (folder / f"vermerk-{i:02d}.txt").write_text(f"Vermerk Nummer {i}\n", encoding="utf-8")
    result = ok("add", akte, str(folder), "--json")
    docs = json.loads(result.stdout)
    assert len(docs) == 30
    assert len({d["id"] for d in docs}) == 30


def test_global_json_flag(ok, runner, akte, store, tmp_path):
    from eakte.cli import cli

    result = runner.invoke(cli, ["--json", "--store", str(store), "akte", "list"])
    assert result.exit_code == 0
    assert [a["aktenzeichen"] for a in json.loads(result.stdout)] == [akte]


def test_get_to_stdout_writes_binary(ok, akte, tmp_path):
    payload = bytes(range(256)) * 4  # not text: every byte value
    (tmp_path / "bin.dat").write_bytes(payload)
    ok("add", akte, str(tmp_path / "bin.dat"))
    result = ok("get", "1", "-o", "-")
    assert result.stdout_bytes == payload


def test_get_into_missing_folder_fails_cleanly(run, akte, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"Inhalt\n")
    assert run("add", akte, str(tmp_path / "a.txt")).exit_code == 0
    result = run("get", "1", "-o", str(tmp_path / "nope" / "out.txt"))
    assert result.exit_code == 1
    assert "Error:" in result.stderr
    assert not (tmp_path / "nope").exists()


def test_get_rendition(ok, run, akte, store, tmp_path):
    (tmp_path / "brief.txt").write_bytes(b"Bescheid\n")
    ok("add", akte, str(tmp_path / "brief.txt"))
    pdf = b"%PDF-1.4\n% Bescheid als PDF\n%%EOF\n"
    with eakte.open(store, create=False) as st, st.session() as s:
        version = s.get_version(s.get_document(1), 1)
        s.add_rendition(version, pdf, kind="pdf", filename="brief.pdf")
    ok("get", "1", "--rendition", "pdf", "-o", str(tmp_path / "brief.pdf"))
    assert (tmp_path / "brief.pdf").read_bytes() == pdf
    shown = json.loads(ok("show", "1", "--json").stdout)
    assert shown["versions"][0]["renditions"][0]["kind"] == "pdf"
    missing = run("get", "1", "--rendition", "pdfa", "-o", str(tmp_path / "x.pdf"))
    assert missing.exit_code == 3
    assert not (tmp_path / "x.pdf").exists()


def test_unknown_aktenzeichen(run, store, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"Inhalt\n")
    for args in (("show", "630.10-9999/2026"), ("add", "630.10-9999/2026", str(tmp_path / "a.txt")),
                 ("close", "630.10-9999/2026")):
        result = run(*args)
        assert result.exit_code == 3, args
        assert result.stderr.startswith("Error: ")
        assert "630.10-9999/2026" in result.stderr


def test_unknown_document_id(run, akte, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"Inhalt\n")
    for args in (("show", "4711"), ("get", "4711", "-o", str(tmp_path / "o")),
                 ("version", "4711", str(tmp_path / "a.txt"))):
        result = run(*args)
        assert result.exit_code == 3, args
        assert "4711" in result.stderr
    assert run("get", "4711", "-o", "-").stdout_bytes == b""


def test_add_to_closed_akte_is_refused(ok, run, akte, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"vorher\n")
    (tmp_path / "b.txt").write_bytes(b"nachher\n")
    ok("add", akte, str(tmp_path / "a.txt"))
    before = json.loads(ok("show", akte, "--json").stdout)["documents"]
    closed = json.loads(ok("close", akte, "--json").stdout)
    assert closed["status"] == "closed" and closed["closed_at"]

    result = run("add", akte, str(tmp_path / "b.txt"), "--vorgang", "Neu")
    assert result.exit_code == 7
    assert "closed (z.d.A.)" in result.stderr
    assert run("version", "1", str(tmp_path / "b.txt")).exit_code == 7
    view = json.loads(ok("show", akte, "--json").stdout)
    assert view["documents"] == before
    assert view["vorgaenge"] == []
    assert run("close", akte).exit_code == 7  # already closed

    ok("reopen", akte)
    ok("add", akte, str(tmp_path / "b.txt"))
    assert len(json.loads(ok("show", akte, "--json").stdout)["documents"]) == 2


def test_empty_file_is_refused_and_nothing_filed(ok, run, akte, tmp_path):
    (tmp_path / "leer.txt").write_bytes(b"")
    (tmp_path / "gut.txt").write_bytes(b"Inhalt\n")
    result = run("add", akte, str(tmp_path / "gut.txt"), str(tmp_path / "leer.txt"))
    assert result.exit_code == 6
    assert "empty" in result.stderr
    assert json.loads(ok("show", akte, "--json").stdout)["documents"] == []
    assert "document.file" not in ok("audit").stdout
    assert run("add", akte, str(tmp_path / "fehlt.txt")).exit_code == 6


def test_add_usage_errors(run, akte, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"a\n")
    (tmp_path / "b.txt").write_bytes(b"b\n")
    (tmp_path / "leer").mkdir()
    assert run("add", akte).exit_code == 2
    assert run("add", akte, str(tmp_path / "a.txt"), "--kind", "sideways").exit_code == 2
    both = run("add", akte, str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--title", "T")
    assert both.exit_code == 2 and "--title" in both.stderr
    assert run("add", akte, str(tmp_path / "leer")).exit_code == 2
    assert run("show", "1", "--json").exit_code == 3  # nothing was filed


def _reads(ok) -> int:
    return [e["action"] for e in json.loads(ok("audit", "--json").stdout)].count("content.read")


def test_get_refuses_to_overwrite_without_force(ok, run, akte, tmp_path):
    (tmp_path / "bescheid.txt").write_bytes(b"Bescheid vom 3. Mai\n")
    ok("add", akte, str(tmp_path / "bescheid.txt"))
    out = tmp_path / "ziel.txt"
    out.write_bytes(b"eigene Notizen, nicht ueberschreiben\n")
    refused = run("get", "1", "-o", str(out))
    assert refused.exit_code == 7
    assert "exists already" in refused.stderr and "--force" in refused.stderr
    assert out.read_bytes() == b"eigene Notizen, nicht ueberschreiben\n"
    assert _reads(ok) == 0  # refused before anything was read
    as_json = run("get", "1", "-o", str(out), "--json")
    assert as_json.exit_code == 7
    assert json.loads(as_json.stderr)["error"]["type"] == "StateConflict"
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "nirgends.txt")  # a dangling link counts as existing
    assert run("get", "1", "-o", str(link)).exit_code == 7
    assert link.is_symlink() and not (tmp_path / "nirgends.txt").exists()
    ok("get", "1", "-o", str(out), "--force")
    assert out.read_bytes() == b"Bescheid vom 3. Mai\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bescheid.txt", "link.txt", "store", "ziel.txt"]  # no temporary file left


def test_get_never_replaces_a_file_that_appears_meanwhile(tmp_path):
    from eakte.cli.documents import _atomic_output

    out = tmp_path / "ziel.txt"
    with pytest.raises(eakte.StateConflict, match="exists already"):
        with _atomic_output(out, force=False) as fh:
            fh.write(b"neuer Inhalt\n")
            out.write_bytes(b"von einem anderen Programm\n")  # after the check, before rename
    assert out.read_bytes() == b"von einem anderen Programm\n"
    assert [p.name for p in tmp_path.iterdir()] == ["ziel.txt"]


def test_failed_read_leaves_no_file(ok, run, akte, store, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"Originaltext des Bescheids\n")
    [doc] = json.loads(ok("add", akte, str(tmp_path / "a.txt"), "--json").stdout)
    with eakte.open(store, create=False) as st:
        path = st.blobs.path_for(doc["sha256"])
    os.chmod(path, 0o644)
    path.write_bytes(b"Originaltext des Bescheidz\n")  # damaged: same size, other hash
    out = tmp_path / "out" / "a.txt"
    out.parent.mkdir()
    failed = run("get", str(doc["id"]), "-o", str(out))
    assert failed.exit_code == 5 and doc["sha256"] in failed.stderr
    assert list(out.parent.iterdir()) == []
    out.write_bytes(b"alt\n")
    assert run("get", str(doc["id"]), "-o", str(out), "--force").exit_code == 5
    assert out.read_bytes() == b"alt\n" and [p.name for p in out.parent.iterdir()] == ["a.txt"]


def test_version_with_identical_content_adds_nothing(ok, akte, tmp_path):
    (tmp_path / "antrag.txt").write_bytes(b"Antrag auf Baugenehmigung\n")
    (tmp_path / "kopie.txt").write_bytes(b"Antrag auf Baugenehmigung\n")
    (tmp_path / "neu.txt").write_bytes(b"Antrag auf Baugenehmigung, berichtigt\n")
    ok("add", akte, str(tmp_path / "antrag.txt"))
    same = ok("version", "1", str(tmp_path / "kopie.txt"), "--comment", "nochmal")
    assert "unchanged" in same.stdout and "version 1" in same.stdout
    view = json.loads(ok("version", "1", str(tmp_path / "kopie.txt"), "--json").stdout)
    assert view["unchanged"] is True and view["version"] == 1
    assert view["filename"] == "antrag.txt" and view["comment"] is None
    assert [v["number"] for v in json.loads(ok("show", "1", "--json").stdout)["versions"]] == [1]
    actions = [e["action"] for e in json.loads(ok("audit", "--json").stdout)]
    assert "version.add" not in actions

    changed = json.loads(ok("version", "1", str(tmp_path / "neu.txt"), "--json").stdout)
    assert changed["unchanged"] is False and changed["version"] == 2
    back = json.loads(ok("version", "1", str(tmp_path / "kopie.txt"), "--json").stdout)
    assert back["unchanged"] is False and back["version"] == 3  # back to the first content
    forced = json.loads(ok("version", "1", str(tmp_path / "kopie.txt"), "--allow-identical",
                           "--json").stdout)
    assert forced["unchanged"] is False and forced["version"] == 4
    versions = json.loads(ok("show", "1", "--json").stdout)["versions"]
    assert versions[2]["sha256"] == versions[3]["sha256"] == versions[0]["sha256"]
