"""xdomea export: 0501 and 0503 containers valid against the official XSD, stable IDs, codes."""

from __future__ import annotations

import hashlib
import uuid
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from xdomea_helpers import (
    NS31,
    XDOMEA,
    Clock,
    appraisal_0502,
    build_varied,
    official,
    zip_xml,
)

import eakte
from eakte.exchange.xdomea import export_xdomea, validate_message
from eakte.exchange.xdomea.build import rendition_uuid
from eakte.exchange.xdomea.codes import dateiformat_for, member_name

X = f"{{{NS31}}}"


def _ids(xml: bytes, element: str) -> list[str]:
    root = etree.fromstring(xml)
    return [e.findtext(f"{X}Identifikation/{X}ID") for e in root.iter(f"{X}{element}")]


def test_0503_of_varied_akten_validates_and_names_only_zip_members(
        make_store, xsd: bool, tmp_path: Path) -> None:
    store = make_store()
    varied = build_varied(store)
    with store.session() as s:
        result = export_xdomea(s, [varied.main, varied.nfd, varied.empty], message="0503",
                               out_dir=tmp_path / "out")
    assert result.schema_validated is xsd and result.validation.ok
    assert result.path.name == f"{result.prozess_id}_Aussonderung.Aussonderung.0503.zip"
    xml, names = zip_xml(result.path)
    assert f"{result.prozess_id}_Aussonderung.Aussonderung.0503.xml" in names
    root = etree.fromstring(xml)
    assert root.prefix == "xdomea" and etree.QName(root).namespace == NS31
    dateinamen = [e.text for e in root.iter(f"{X}Dateiname")]
    assert dateinamen and set(dateinamen) <= set(names)
    assert len(names) == len(dateinamen) + 1  # every member but the XML is a primary file
    # every version's bytes are in the container, named after the version UUID
    with zipfile.ZipFile(result.path) as zf:
        by_uuid = {n[:36]: zf.read(n) for n in names if not n.endswith("0503.xml")}
    for version_uuid, content in varied.files.items():
        assert by_uuid[version_uuid] == content
    assert result.counts == {"akten": 3, "vorgaenge": 3, "dokumente": 6, "versionen": 7,
                             "dateien": 9, "bytes": result.counts["bytes"]}
    # the official validator agrees (re-read through the import path's checks)
    report = validate_message(result.path)
    assert report.ok and report.schema_validated is xsd, report.problems
    kopf = root.find(f"{X}Kopf")
    assert kopf.findtext(f"{X}Importbestaetigung") == "1"
    conf = [e.findtext("code") for e in root.iter(f"{X}Vertraulichkeitsstufe")]
    assert conf == ["003", "002", "003"]
    assert root.find(f".//{X}Akte/{X}AllgemeineMetadaten/{X}Kennzeichen").text == \
        varied.main.aktenzeichen
    history = [e.findtext(f"{X}Aktion") for e in root.iter(f"{X}HistorienProtokollInformation")]
    assert "akte.create" in history and "document.file" in history
    assert "content.read" not in history
    changed = [e for e in root.iter(f"{X}HistorienProtokollInformation")
               if e.findtext(f"{X}MetadatumName") == "title"]
    assert changed and changed[0].findtext(f"{X}MetadatumNeuerWert") == \
        "Neubau Einfamilienhaus, Lindenstraße 4"


def test_0501_is_metadata_only_and_ids_stay_stable(make_store, xsd: bool,
                                                   tmp_path: Path) -> None:
    store = make_store()
    varied = build_varied(store)
    with store.session() as s:
        offer = export_xdomea(s, [varied.main], message="0501", out_dir=tmp_path / "o")
    assert offer.schema_validated is xsd
    xml501, names = zip_xml(offer.path)
    assert names == [f"{offer.prozess_id}_Aussonderung.Anbieteverzeichnis.0501.xml"]
    assert b"Primaerdokument" not in xml501
    assert not [v for v in etree.fromstring(xml501).iter(f"{X}Version")
                if v.getparent().tag in (f"{X}Dokument", f"{X}Anlage")]
    with store.session() as s:
        s.record_appraisal(s.get_akte(varied.main.id), "A", message_id=offer.prozess_id)
    with store.session() as s:
        first = export_xdomea(s, [varied.main], message="0503", out_dir=tmp_path / "t1")
    with store.session() as s:  # a re-export (retry) keeps ProzessID and every ID
        again = export_xdomea(s, [varied.main], message="0503", out_dir=tmp_path / "t2")
    assert first.prozess_id == offer.prozess_id == again.prozess_id
    xml1, names1 = zip_xml(first.path)
    xml2, names2 = zip_xml(again.path)
    for element in ("Akte", "Vorgang", "Teilvorgang", "Dokument", "Anlage"):
        assert _ids(xml501, element) == _ids(xml1, element) == _ids(xml2, element)
    assert _ids(xml1, "Akte") == [varied.main.uuid]
    assert sorted(names1) == sorted(names2)
    with store.session() as s:
        state = s.disposal_status(s.get_akte(varied.main.id))
    assert state.state == eakte.DisposalState.EXPORTED
    assert state.disposal.export_message_id == first.prozess_id


def test_rendition_files_are_named_by_uuid5(make_store, no_schemas: None, tmp_path: Path
                                             ) -> None:
    store = make_store()
    varied = build_varied(store)
    with store.session() as s:
        result = export_xdomea(s, [varied.main], message="0503", out_dir=tmp_path,
                               record=False)
        doc = next(d for d in s.documents(varied.main) if d.title == "Bauantrag Müller")
        v2 = s.get_version(doc, 2)
    _, names = zip_xml(result.path)
    for kind in ("pdfa", "html"):
        expected = rendition_uuid(v2.uuid, kind)
        assert expected == str(uuid.uuid5(uuid.UUID(v2.uuid), kind))
        assert any(n.startswith(expected + "_") for n in names)


def test_without_schemas_structure_is_checked_and_skip_is_reported(
        make_store, no_schemas: None, tmp_path: Path) -> None:
    store = make_store()
    varied = build_varied(store)
    with store.session() as s:
        result = export_xdomea(s, [varied.main], message="0503", out_dir=tmp_path,
                               record=False)
    data = result.as_dict()
    assert data["schema_validated"] is False
    assert "EAKTE_XDOMEA_SCHEMAS" in data["schema_skipped_reason"]
    assert data["structure_checked"] is True and result.validation.ok


def test_version_300_writes_its_namespace_and_validates(make_store, schemas: Path,
                                                        tmp_path: Path) -> None:
    store = make_store()
    varied = build_varied(store)
    with store.session() as s:
        result = export_xdomea(s, [varied.main], message="0503", out_dir=tmp_path,
                               version="3.0.0", record=False)
    xml, _ = zip_xml(result.path)
    assert etree.QName(etree.fromstring(xml)).namespace == "urn:xoev-de:xdomea:schema:3.0.0"
    assert result.schema_validated and result.validation.schema.endswith(
        "xsd-3.0.0/3.0.0/xdomea.xsd")


def test_dateiformat_codes_from_the_external_list(make_store, xsd: bool,
                                                  tmp_path: Path) -> None:
    store = make_store()
    varied = build_varied(store)
    with store.session() as s:
        result = export_xdomea(s, [varied.main], message="0503", out_dir=tmp_path,
                               record=False)
    root = etree.fromstring(zip_xml(result.path)[0])
    formats = {f.findtext(f"{X}Primaerdokument/{X}DateinameOriginal"): f
               for f in root.iter(f"{X}Format")}
    def code(name: str) -> str:
        return formats[name].findtext(f"{X}Name/code")
    assert code("Bauantrag Müller (Entwurf) #1.pdf") == "018"
    assert formats["Bauantrag Müller (Entwurf) #1.pdf"].findtext(f"{X}Version") == "1.7"
    assert code("bauantrag v2 (final).txt") == "045"
    assert code("bauantrag v2.pdf") == "044"  # the PDF/A rendition
    assert code("bauantrag.html") == "008"
    assert code("messdaten.bin.xyz") == "100"
    assert formats["messdaten.bin.xyz"].findtext(f"{X}SonstigerName")
    for name in root.iter(f"{X}Name"):
        if name.getparent().tag == f"{X}Format":
            assert name.get("listVersionID") == "1.0"
            assert name.find("name") is None


def test_retention_and_disposal_codes(make_store, xsd: bool, tmp_path: Path) -> None:
    store = make_store()
    with store.session() as s:
        unlimited = s.create_akte("630.20", "Gewerbehalle")
        years = s.create_akte("630.10", "Wohnhaus")
        s.set_retention(years, 7)
    with store.session() as s:
        result = export_xdomea(s, [unlimited, years], message="0501", out_dir=tmp_path,
                               record=False)
    root = etree.fromstring(zip_xml(result.path)[0])
    dauer = [e for e in root.iter(f"{X}Aufbewahrungsdauer")]
    assert dauer[0].findtext(f"{X}Unbefristet") == "1" and dauer[0].find(
        f"{X}AnzahlJahre") is None
    assert dauer[1].findtext(f"{X}AnzahlJahre") == "7" and dauer[1].find(
        f"{X}Unbefristet") is None
    arten = [e.findtext(f"{X}Aussonderungsart/{X}Aussonderungsart/code")
             for e in root.iter(f"{X}ArchivspezifischeMetadaten")]
    assert arten == ["B", "A"]


def test_two_stage_0503_appraises_by_default(make_store, xsd: bool, tmp_path: Path
                                             ) -> None:
    store = make_store()
    varied = build_varied(store)
    with store.session() as s:
        result = export_xdomea(s, [varied.main], message="0503", out_dir=tmp_path)
    with store.session() as s:
        status = s.disposal_status(s.get_akte(varied.main.id))
    assert status.state == eakte.DisposalState.EXPORTED
    assert status.decision_source == "aktenplan"
    with store.session() as s:
        events = [e for e in s.audit_events() if e.action == "export.xdomea"]
    assert events[-1].details["prozess_id"] == result.prozess_id


def test_open_akte_is_refused_by_the_lifecycle_and_nothing_is_written(
        make_store, no_schemas: None, tmp_path: Path) -> None:
    store = make_store()
    with store.session() as s:
        akte = s.create_akte("630.10", "Noch offen")
    with pytest.raises(eakte.StateConflict), store.session() as s:
        export_xdomea(s, [akte], message="0501", out_dir=tmp_path / "out")
    assert list((tmp_path / "out").glob("*")) == [] if (tmp_path / "out").exists() else True


def test_damaged_blob_aborts_export_without_a_container(make_store, no_schemas: None,
                                                        tmp_path: Path) -> None:
    store = make_store()
    with store.session() as s:
        akte = s.create_akte("630.10", "Beschädigt")
        doc = s.file_document(akte, b"original content", filename="a.txt")
        sha = s.get_version(doc).sha256
    blob = store.blobs.path_for(sha)
    blob.chmod(0o644)
    blob.write_bytes(b"tampered content")
    out = tmp_path / "out"
    with pytest.raises(eakte.IntegrityError), store.session() as s:
        export_xdomea(s, [akte], message="0503", out_dir=out, record=False)
    assert [p.name for p in out.iterdir()] == []


def test_member_names_and_formats_helpers() -> None:
    name = member_name("0a9b8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "Grüße ÄÖÜ/..\\x?.PDF")
    assert name.startswith("0a9b8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d_Gruesse_AeOeUe")
    assert name.endswith(".PDF") and "/" not in name and "\\" not in name
    assert dateiformat_for("image/jpeg", "x.jpeg").code == "010"
    assert dateiformat_for("image/jpeg", "x.bin").code == "011"
    assert dateiformat_for("application/pdf", "x.pdf", kind="PDF/A").code == "044"
    other = dateiformat_for("application/x-foo", "x.foo")
    assert (other.code, other.other_name) == ("100", "application/x-foo")


def test_file_bytes_in_container_match_their_sha256(make_store, no_schemas: None,
                                                    tmp_path: Path) -> None:
    store = make_store(clock=Clock())
    varied = build_varied(store)
    with store.session() as s:
        result = export_xdomea(s, [varied.main], message="0503", out_dir=tmp_path,
                               record=False)
        shas = {v.uuid: v.sha256 for d in s.documents(varied.main) for v in s.versions(d)}
    with zipfile.ZipFile(result.path) as zf:
        for name in zf.namelist():
            if name[:36] in shas:
                assert hashlib.sha256(zf.read(name)).hexdigest() == shas[name[:36]]


def test_import_eakte_does_not_load_lxml() -> None:
    import subprocess
    import sys

    code = "import sys, eakte, eakte.cli; print('lxml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


VALID_EXAMPLES = sorted(
    p for p in (XDOMEA / "examples").glob("*/**/*") if p.suffix in (".xml", ".zip")
    and "invalid" not in p.parts)
TEMPLATE_0502 = (XDOMEA / "examples/real/xdomea_toolkit-patterns_ns3.0.0/"
                 "xx_Aussonderung.Bewertungsverzeichnis.0502.xml")


@pytest.mark.parametrize("path", official(VALID_EXAMPLES))
def test_structural_checks_accept_every_valid_example(path: Path, no_schemas: None) -> None:
    report = validate_message(path)
    assert report.ok, report.problems
    assert not report.schema_validated and report.skipped_reason


@pytest.mark.parametrize("template", [
    *official([p for p in [TEMPLATE_0502] if p.is_file()]), "own"])
def test_template_with_a_wrong_nachrichtentyp_is_a_warning(template: Path | str,
                                                          no_schemas: None, tmp_path: Path
                                                          ) -> None:
    if template == "own":  # a 0502 whose Kopf says 0503, as in the toolkit's template
        template = tmp_path / "xx_Aussonderung.Bewertungsverzeichnis.0502.xml"
        template.write_bytes(appraisal_0502("242f44e8-bebf-4503-a086-db252c6a4277", {
            "3d4e5f60-7182-4930-81d2-e3f4a5b6c7d8": "A"}).replace(b"<code>0502</code>",
                                                                 b"<code>0503</code>"))
    report = validate_message(template)
    assert report.ok and report.message == "0502"
    assert "does not match the root element" in report.warnings[0]


def test_schema_folder_from_the_store_setting(make_store, no_schemas: None, xdomea_dir: Path,
                                              tmp_path: Path) -> None:
    from eakte.model import Setting

    store = make_store()
    with store.orm_session() as orm, orm.begin():
        orm.add(Setting(key="xdomea_schemas", value=str(xdomea_dir)))
    again = eakte.open(store.location, db_url=store.db_url if store.dialect != "sqlite"
                       else None, create=False)
    try:
        with again.session() as s:
            akte = s.create_akte("630.10", "Mit Einstellung")
            result = export_xdomea(s, [akte], message="0501", out_dir=tmp_path,
                                   record=False)
        assert result.schema_validated
    finally:
        again.close()


def test_0503_history_leaves_out_refused_reads(make_store, tmp_path: Path) -> None:
    store = make_store()
    with store.session() as s:
        s.add_plan_unit("631", "Bauaufsicht", retention_years=0, disposal="A")
        s.add_user("gast")
        akte = s.create_akte("631", "Lindenstraße 4")
        s.file_document(akte, b"Antrag", filename="antrag.txt")
    with pytest.raises(eakte.NotFoundError), store.session("gast") as s:
        s.get_akte(akte.aktenzeichen)
    with store.session() as s:
        assert "access.denied" in [e.action for e in s.audit_events()]
        s.close_akte(s.get_akte(akte.aktenzeichen))
    with store.session() as s:
        result = export_xdomea(s, [s.get_akte(akte.aktenzeichen)], message="0503",
                               out_dir=tmp_path / "out")
    xml, _ = zip_xml(result.path)
    history = [e.findtext(f"{X}Aktion")
               for e in etree.fromstring(xml).iter(f"{X}HistorienProtokollInformation")]
    assert "akte.create" in history and "document.file" in history
    assert "access.denied" not in history
