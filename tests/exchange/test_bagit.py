"""BagIt export: a valid RFC 8493 bag with exact bytes, both manifests, metadata and audit."""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from pathlib import Path

import bagit
import pytest

import eakte
from eakte.audit.log import chain_hash
from eakte.exchange.bagit import METADATA_FORMAT, export_bagit, safe_name

BIG = os.urandom(3 * 1024 * 1024 + 17)  # several copy chunks


@pytest.fixture
def filled(store: eakte.Store, make_akte) -> tuple[eakte.Store, eakte.Akte, eakte.Akte]:
    first = make_akte(store, title="Neubau Lindenstraße 4, Müller/Schäfer")
    second = make_akte(store, title="Gewerbehalle Am Bahndamm", kennzeichen="630.20")
    with store.session() as s:
        vorgang = s.create_vorgang(first, "Bauantrag Größe")
        doc = s.file_document(first, "Antrag für Grundstück Süd".encode(),
                              filename="Antrag Überbauung.txt", vorgang=vorgang,
                              title="Antrag: Überbauung/Änderung")
        s.add_version(doc, "Antrag für Grundstück Süd, geändert".encode(),
                      filename="Antrag Überbauung.txt")
        plan = s.file_document(first, b"%PDF-1.4 Lageplan " + BIG, filename="lageplan.pdf")
        s.add_rendition(s.get_version(plan), b"%PDF-1.7 Lageplan PDF/A", kind="pdfa",
                        filename="lageplan.pdf")
        s.file_document(first, b"traversal", filename="../../etc/passwd", title="..")
        s.file_document(second, "Prüfbericht Statik".encode(), filename="statik.txt")
        s.file_document(second, b"%PDF-1.4 Lageplan " + BIG, filename="lageplan.pdf")
    return store, first, second


def _export(store: eakte.Store, akten: list[str], out: Path, **options) -> Path:
    with store.session() as s:
        return export_bagit(s, akten, out, **options)


def test_bag_validates_and_holds_exact_bytes(filled, tmp_path: Path) -> None:
    store, first, second = filled
    calls: list[tuple[int, int]] = []
    out = _export(store, [first.aktenzeichen, second.aktenzeichen], tmp_path / "bag",
                  source_organization="Kreisverwaltung Musterstadt, Bauamt",
                  progress=lambda done, total: calls.append((done, total)))
    assert out == tmp_path / "bag"
    bag = bagit.Bag(str(out))
    bag.validate()
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert bag.info["External-Identifier"] == [first.aktenzeichen, second.aktenzeichen]
    assert bag.info["Source-Organization"] == "Kreisverwaltung Musterstadt, Bauamt"
    assert "Bagging-Date" in bag.info
    assert calls[-1] == (7, 7) and len(calls) == 7

    payload = [p for p in (out / "data").rglob("*") if p.is_file()]
    octets = sum(p.stat().st_size for p in payload)
    assert bag.info["Payload-Oxum"] == f"{octets}.{len(payload)}"
    for algorithm in ("sha256", "sha512"):
        lines = (out / f"manifest-{algorithm}.txt").read_text(encoding="utf-8").splitlines()
        listed = {}
        for line in lines:
            digest, rel = line.split("  ", 1)
            listed[rel] = digest
        assert set(listed) == {p.relative_to(out).as_posix() for p in payload}
        for rel, digest in listed.items():
            assert hashlib.new(algorithm, (out / rel).read_bytes()).hexdigest() == digest
        tags = (out / f"tagmanifest-{algorithm}.txt").read_text(encoding="utf-8")
        assert f"  manifest-{algorithm}.txt" in tags and "  bag-info.txt" in tags
    assert (out / "bagit.txt").read_text() == (
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")

    meta = json.loads((out / "data" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["format"] == METADATA_FORMAT
    assert [a["aktenzeichen"] for a in meta["akten"]] == [first.aktenzeichen,
                                                          second.aktenzeichen]
    with store.session() as s:
        for akte in meta["akten"]:
            for document in akte["documents"]:
                doc = s.get_document(document["id"])
                for version in document["versions"]:
                    data = (out / version["path"]).read_bytes()
                    assert data == s.read_content(doc, version=version["number"])
                    assert hashlib.sha256(data).hexdigest() == version["sha256"]
                    assert version["path"].startswith(akte["path"] + "/")
                    for rendition in version["renditions"]:
                        assert (out / rendition["path"]).read_bytes() == s.read_content(
                            doc, version=version["number"], rendition=rendition["kind"])


def test_names_are_safe_and_keep_umlauts(filled, tmp_path: Path) -> None:
    store, first, _ = filled
    out = _export(store, [first.aktenzeichen], tmp_path / "bag")
    meta = json.loads((out / "data" / "metadata.json").read_text(encoding="utf-8"))
    [akte] = meta["akten"]
    assert akte["path"] == "data/" + first.aktenzeichen.replace("/", "_")
    paths = [v["path"] for d in akte["documents"] for v in d["versions"]]
    antrag = [p for p in paths if "Antrag" in p]
    assert antrag[0].endswith("_Antrag_ Überbauung_Änderung/v1/Antrag Überbauung.txt")
    assert antrag[1].endswith("/v2/Antrag Überbauung.txt")
    assert all(unicodedata.is_normalized("NFC", p) for p in paths)
    for path in paths:
        resolved = (out / path).resolve()
        assert resolved.is_relative_to(out.resolve() / "data"), path
    traversal = next(d for d in akte["documents"] if d["title"] == "..")
    assert traversal["path"] == f"{akte['path']}/{traversal['id']}_"
    assert traversal["versions"][0]["path"].endswith("_/v1/passwd")
    [plan] = [d for d in akte["documents"] if d["versions"][0]["renditions"]]
    assert plan["versions"][0]["renditions"][0]["path"].endswith("/v1/pdfa/lageplan.pdf")
    assert [v["title"] for v in akte["vorgaenge"]] == ["Bauantrag Größe"]


def test_metadata_carries_a_checkable_audit_excerpt(filled, tmp_path: Path) -> None:
    store, first, _ = filled
    out = _export(store, [first.aktenzeichen], tmp_path / "bag")
    meta = json.loads((out / "data" / "metadata.json").read_text(encoding="utf-8"))
    events = meta["akten"][0]["audit_events"]
    actions = [e["action"] for e in events]
    assert actions[0] == "akte.create"
    assert {"vorgang.create", "document.file", "version.add", "rendition.add"} <= set(actions)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    for event in events:
        assert chain_hash(event["prev_hash"], event["canonical"].encode("utf-8")) == (
            event["hash"])
        assert json.loads(event["canonical"])["seq"] == event["seq"]
    filed = {e["details"]["version_uuid"]: e["details"]["sha256"] for e in events
             if e["action"] in ("document.file", "version.add")}
    for document in meta["akten"][0]["documents"]:
        for version in document["versions"]:
            assert filed[version["uuid"]] == version["sha256"]


def test_export_is_audited(filled, tmp_path: Path) -> None:
    store, first, second = filled
    _export(store, [first.aktenzeichen, second.aktenzeichen, first.aktenzeichen],
            tmp_path / "bag")
    with store.session() as s:
        events = [e for e in s.audit_events() if e.action == "export.bagit"]
    assert [e.object_id for e in events] == [str(first.id), str(second.id)]
    manifest = (tmp_path / "bag" / "manifest-sha256.txt").read_bytes()
    assert events[0].details["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert store.verify().ok


def test_refuses_a_non_empty_target_and_writes_into_an_empty_one(filled,
                                                                 tmp_path: Path) -> None:
    store, first, _ = filled
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(eakte.ExportError, match="not an empty folder"):
        _export(store, [first.aktenzeichen], busy)
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    _export(store, [first.aktenzeichen], empty)
    bagit.Bag(str(empty)).validate()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_failure_leaves_nothing_behind(filled, tmp_path: Path) -> None:
    store, first, _ = filled
    with store.session() as s:
        sha = s.get_version(s.documents(first)[0], 1).sha256
    store.blobs.delete(sha)
    with pytest.raises(eakte.NotFoundError):
        _export(store, [first.aktenzeichen], tmp_path / "bag")
    assert list(tmp_path.iterdir()) == [tmp_path / "store"]
    with pytest.raises(eakte.NotFoundError):
        _export(store, ["630.10-9999/1999"], tmp_path / "bag")
    with pytest.raises(eakte.InvalidInput):
        _export(store, [], tmp_path / "bag")


def test_disposed_akte_cannot_be_exported(store: eakte.Store, tmp_path: Path) -> None:
    with store.session() as s:
        s.add_plan_unit("1", "Allgemeines", retention_years=0, disposal="V")
        akte = s.create_akte("1", "Kurzlebig")
        s.file_document(akte, b"weg", filename="weg.txt")
        s.close_akte(akte)
    with store.session() as s:
        s.appraise_by_default(akte)
        s.destroy(akte)
    with pytest.raises(eakte.StateConflict, match="disposed"):
        _export(store, [akte.aktenzeichen], tmp_path / "bag")


@pytest.mark.parametrize(("name", "expected"), [
    ("Bescheid.pdf", "Bescheid.pdf"),
    ("Straße Größe Übung.txt", "Straße Größe Übung.txt"),
    ("a/b\\c:d*e?f\"g<h>i|j%k.txt", "a_b_c_d_e_f_g_h_i_j_k.txt"),
    ("..", "unnamed"),
    ("  .versteckt. ", "versteckt"),
    ("zeile\numbruch\r.txt", "zeile_umbruch_.txt"),
    ("CON.txt", "_CON.txt"),
    ("rtl\u202egnp.exe", "rtl_gnp.exe"),
    ("Mu\u0308ller.txt", "Müller.txt"),
])
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_safe_name_bounds_utf8_length_and_keeps_the_extension() -> None:
    name = safe_name("Ä" * 300 + ".pdf")
    assert name.endswith(".pdf")
    assert len(name.encode("utf-8")) <= 120


def test_memory_stays_flat_for_large_content(store: eakte.Store, make_akte,
                                             tmp_path: Path) -> None:
    import tracemalloc

    akte = make_akte(store)
    big = tmp_path / "scan.bin"
    with big.open("wb") as fh:
        for _ in range(32):
            fh.write(os.urandom(1024 * 1024))
    with store.session() as s:
        s.file_document(akte, big, filename="scan.bin")
    tracemalloc.start()
    try:
        out = _export(store, [akte.aktenzeichen], tmp_path / "bag")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak
    copied = next(p for p in (out / "data").rglob("scan.bin"))
    assert copied.read_bytes() == big.read_bytes()
