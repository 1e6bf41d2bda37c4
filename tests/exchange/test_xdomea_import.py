"""xdomea import: takeover of 0503 containers, refusal of invalid and hostile messages."""

from __future__ import annotations

import hashlib
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from xdomea_helpers import XDOMEA, build_varied, official, own_0503

import eakte
from eakte.exchange.xdomea import XdomeaLimits, export_xdomea, import_xdomea
from eakte.store import Store

MINIMAL_ZIP = (XDOMEA / "examples/minimal"
               / "4f1c2a9e-6b1d-4c3e-9a57-2d8e0b7f1a11_Aussonderung.Aussonderung.0503.zip")
XMAN = XDOMEA / "examples/real/xman-testdata_ns3.0.0"
XMAN_ZIP = XMAN / "9a75050f-323a-4e84-94c9-a889aa2b4fe8_Aussonderung.Aussonderung.0503.zip"
LAVNRW = XDOMEA / "examples/real/lavnrw_ns3.0.0"
INVALID = sorted((XDOMEA / "examples/invalid").glob("*.xml"))
OFFICIAL_ZIPS = [p for p in (MINIMAL_ZIP, XMAN_ZIP) if p.is_file()]


def snapshot(store: Store) -> tuple[int, list[str], int, int]:
    """What must not change when an import is refused: audit, Akten, units, refs."""
    with store.session() as s:
        events = s.audit_count()
        akten = [a.aktenzeichen for a in s.list_akten()]
        units = len(s.plan_units())
        from sqlalchemy import func, select

        from eakte.model import Document

        docs = int(s.unit_of_work.orm.scalar(select(func.count()).select_from(Document)) or 0)
    return events, akten, units, docs


def contents(store: Store) -> dict[str, list[tuple[int, str, bytes, list[tuple[str, bytes]]]]]:
    """Every document's versions and renditions (bytes) by title."""
    out: dict[str, list[tuple[int, str, bytes, list[tuple[str, bytes]]]]] = {}
    with store.session() as s:
        for akte in s.list_akten():
            for doc in s.documents(akte):
                out[doc.title] = [
                    (v.number, v.filename, s.read_content(doc, version=v.number),
                     [(r.kind, s.read_content(doc, version=v.number, rendition=r.kind))
                      for r in s.renditions(v)])
                    for v in s.versions(doc)]
    return out


# -- examples ------------------------------------------------------------------------------


@pytest.mark.parametrize("container", [*official(OFFICIAL_ZIPS), "own"])
def test_container_imports_with_intact_bytes(container: Path | str, make_store, xsd: bool,
                                             tmp_path: Path) -> None:
    if container == "own":
        container = own_0503(tmp_path)
    store = make_store()
    with store.session() as s:
        result = import_xdomea(s, container)
    assert result.schema_validated is xsd and result.message == "0503"
    assert result.missing_files == []
    with zipfile.ZipFile(container) as zf:
        members = {n: hashlib.sha256(zf.read(n)).hexdigest() for n in zf.namelist()
                   if not n.endswith("0503.xml")}
    assert result.counts["dateien"] == len(members) > 0
    with store.session() as s:
        imported = {}
        for akte in s.list_akten():
            assert s.external_ids(akte)[0].startswith("xdomea:")
            for doc in s.documents(akte):
                for version in s.versions(doc):
                    data = s.read_content(doc, version=version.number)
                    imported[hashlib.sha256(data).hexdigest()] = version.filename
                    for r in s.renditions(version):
                        data = s.read_content(doc, version=version.number, rendition=r.kind)
                        imported[hashlib.sha256(data).hexdigest()] = r.filename
    assert set(members.values()) == set(imported)
    assert store.verify(index=False).ok


def test_xman_structure_metadata_and_history(make_store, schemas: Path) -> None:
    store = make_store()
    with store.session() as s:
        result = import_xdomea(s, XMAN_ZIP)
    assert result.counts["akten"] == 2 and result.counts["vorgaenge"] == 3
    assert result.units_created == ["1234"]
    with store.session() as s:
        akte = s.find_akte("xdomea", "37ad5391-e5c1-4818-aaa0-58c5dd381020")
        assert akte.title == "Betreff (Testdaten)"
        assert akte.meta["xdomea"]["kennzeichen"] == "1234-1"
        assert akte.aktenzeichen.startswith("1234-")
        assert akte.year == 2018
        vorgaenge = s.vorgaenge(akte)
        assert [v.status for v in vorgaenge] == ["closed", "closed"]
        docs = s.documents(akte)
        assert {d.kind for d in docs} == {"incoming"}
        assert all(d.document_date is not None for d in docs)
        versions = [s.get_version(d) for d in docs]
        assert {v.mime for v in versions} == {
            "application/pdf",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
        assert docs[0].meta["xdomea"]["versionen"] == {"1": "2.95"}


def test_bare_xml_with_the_primary_file_next_to_it(make_store, schemas: Path,
                                                   tmp_path: Path) -> None:
    store = make_store()
    with store.session() as s:
        result = import_xdomea(s, next(LAVNRW.glob("*.xml")))
    assert result.counts["dateien"] == 1 and result.missing_files == []
    assert result.units_created == ["XDOMEA"]  # "[Aktenplankennzeichen]" is no Kennzeichen
    with store.session() as s:
        (akte,) = s.list_akten()
        assert akte.title == "[Aktenbetreff]"
        (vorgang,) = s.vorgaenge(akte)
        (doc,) = s.documents(akte)
        assert doc.vorgang_id == vorgang.id
        assert s.read_content(doc) == (LAVNRW / "f4bcaaf7-d7cb-11ef-a278-005056871b7c.txt"
                                       ).read_bytes()
        history = [e for e in s.audit_events() if e.action == "document.file"][-1]
        assert history.details["xdomea_history"][0]["Akteur"] == "[Person/System]"
    # re-exported, the taken-over history comes first, then eakte's own
    with store.session() as s:
        again = export_xdomea(s, [akte], message="0503", out_dir=tmp_path, record=False)
    from lxml import etree

    ns = "{urn:xoev-de:xdomea:schema:3.1.0}"
    root = etree.fromstring(zipfile.ZipFile(again.path).read(
        f"{again.prozess_id}_Aussonderung.Aussonderung.0503.xml"))
    dokument = next(root.iter(f"{ns}Dokument"))
    entries = [(h.findtext(f"{ns}Akteur"), h.findtext(f"{ns}DatumUhrzeit"))
               for h in dokument.findall(f"{ns}HistorienProtokollInformation")]
    assert entries[0] == ("[Person/System]", "2011-02-12T11:22:35Z")
    assert entries[1][0] == "admin"


@pytest.mark.parametrize("source", [
    *official([p for p in [XMAN / "9a75050f-323a-4e84-94c9-a889aa2b4fe8_Aussonderung."
                                  "Aussonderung.0503.xml"] if p.is_file()]),
    "own"])
def test_bare_xml_without_files_imports_metadata(source: Path | str, make_store, xsd: bool,
                                                 tmp_path: Path) -> None:
    if source == "own":  # 3 documents, 4 versions, 1 rendition: 5 files
        container = own_0503(tmp_path / "own")
        alone = tmp_path / f"{container.stem}.xml"
        alone.write_bytes(zipfile.ZipFile(container).read(alone.name))
        missing = 5
    else:
        alone = tmp_path / source.name  # copied away: none of its files is next to it
        shutil.copy(source, alone)
        missing = 3
    store = make_store()
    with store.session() as s:
        result = import_xdomea(s, alone)
    assert len(result.missing_files) == missing and result.counts["dokumente"] == 3
    assert result.counts["versionen"] == 0
    with store.session() as s:
        docs = [d for a in s.list_akten() for d in s.documents(a)]
    assert docs and all(d.version_count == 0 for d in docs)


def test_toolkit_template_and_required_only_message_import(make_store, schemas: Path) -> None:
    store = make_store()
    with store.session() as s:
        template = import_xdomea(
            s, XDOMEA / "examples/real/xdomea_toolkit-patterns_ns3.0.0/"
               "xx_Aussonderung.Aussonderung.0503.xml")
        required = import_xdomea(s, XDOMEA / "examples/minimal/minimal_0503_required_only.xml")
    assert template.counts["dokumente"] >= 1
    assert required.counts == {"akten": 1, "vorgaenge": 0, "dokumente": 1, "versionen": 0,
                               "renditionen": 0, "dateien": 0, "bytes": 0}
    assert required.akten[0]["wrapper"] is True


# -- refusal ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", official(INVALID))
def test_invalid_examples_are_refused_with_the_schema_reason(path: Path, make_store,
                                                             schemas: Path) -> None:
    store = make_store()
    before = snapshot(store)
    with pytest.raises(eakte.ArchiveImportError) as info, store.session() as s:
        import_xdomea(s, path)
    message = str(info.value)
    assert "XSD: line" in message  # lxml's own wording follows
    assert any(word in message for word in (
        "not accepted by the pattern", "not an element of the set", "not expected",
        "fixed value constraint", "is required but missing"))
    assert snapshot(store) == before


@pytest.mark.parametrize("path", official(INVALID))
def test_invalid_examples_are_refused_without_schemas_too(path: Path, make_store,
                                                          no_schemas: None) -> None:
    store = make_store()
    before = snapshot(store)
    with pytest.raises(eakte.ArchiveImportError), store.session() as s:
        import_xdomea(s, path)
    assert snapshot(store) == before


def test_importing_twice_is_refused_and_changes_nothing(make_store, xsd: bool,
                                                       own_zip: Path) -> None:
    store = make_store()
    with store.session() as s:
        import_xdomea(s, own_zip)
    before = snapshot(store)
    with pytest.raises(eakte.StateConflict, match="imported before"), store.session() as s:
        import_xdomea(s, own_zip)
    assert snapshot(store) == before


def test_a_failure_inside_the_takeover_leaves_nothing_even_if_the_caller_commits(
        make_store, xsd: bool, own_zip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eakte.exchange.xdomea import importer

    store = make_store()
    before = snapshot(store)
    original = importer._Takeover.dokument

    def failing(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise eakte.StorageError("disk gone after the first document")

    monkeypatch.setattr(importer._Takeover, "dokument", failing)
    with store.session() as s:
        with pytest.raises(eakte.StorageError):
            import_xdomea(s, own_zip)
        s.add_user("mueller")  # the session goes on and commits other work
    events, akten, units, docs = snapshot(store)
    assert (akten, units, docs) == before[1:]
    assert events == before[0] + 1  # only principal.create


# -- round trip ---------------------------------------------------------------------------


def test_round_trip_store_a_to_store_b_is_byte_identical(make_store, xsd: bool,
                                                         tmp_path: Path) -> None:
    a = make_store("a")
    varied = build_varied(a)
    with a.session() as s:
        exported = export_xdomea(s, [varied.main, varied.nfd, varied.empty], message="0503",
                                 out_dir=tmp_path / "out")
    b = make_store("b", plan=False)
    with b.session() as s:
        result = import_xdomea(s, exported.path)
    assert result.counts["dateien"] == exported.counts["dateien"]
    assert contents(b) == contents(a)
    with a.session() as sa, b.session() as sb:
        for original in (varied.main, varied.nfd, varied.empty):
            copy = sb.find_akte("xdomea", original.uuid)
            assert copy.title == original.title
            assert copy.confidentiality == sa.get_akte(original.id).confidentiality
            assert copy.status == "closed"
            assert {k: v for k, v in copy.meta.items() if k != "xdomea"} == \
                sa.get_akte(original.id).meta
            docs_a = {d.title: d for d in sa.documents(original)}
            docs_b = {d.title: d for d in sb.documents(copy)}
            assert docs_a.keys() == docs_b.keys()
            for title, da in docs_a.items():
                db = docs_b[title]
                assert (db.kind, db.document_date) == (da.kind, da.document_date)
                assert {k: v for k, v in db.meta.items() if k != "xdomea"} == da.meta
                assert (db.parent_document_id is None) == (da.parent_document_id is None)
                assert [v.comment for v in sb.versions(db)] == \
                    [v.comment for v in sa.versions(da)]
            titles_a = sorted((v.title, v.status) for v in sa.vorgaenge(original))
            titles_b = sorted((v.title, v.status) for v in sb.vorgaenge(copy))
            assert titles_a == titles_b
    assert b.verify(index=False).ok
    # re-exporting from B keeps the old history in front of B's own
    with b.session() as s:
        again = export_xdomea(s, [s.find_akte("xdomea", varied.main.uuid)], message="0503",
                              out_dir=tmp_path / "again", record=False)
    assert again.schema_validated is xsd
    # a third store takes B's message over: A's and B's history entries both pass on
    # SHA-256 values, each bound to its own system's files
    c = make_store("c", plan=False)
    with c.session() as s:
        third = import_xdomea(s, again.path)
    assert third.counts["dateien"] == again.counts["dateien"] > 0
    with a.session() as s:
        titles = {d.title for d in s.documents(varied.main)}
    assert contents(c) == {t: v for t, v in contents(a).items() if t in titles}
    _, _, forged = _swapped(again.path, tmp_path / "forged", "version", b"vertauscht")
    with pytest.raises(eakte.ArchiveImportError, match=forged), \
            make_store("d", plan=False).session() as s:
        import_xdomea(s, tmp_path / "forged" / again.path.name)


# -- hostile containers -------------------------------------------------------------------


def _with_member(tmp_path: Path, name: str, data: bytes = b"x", *,
                 attr: int | None = None, compress: int = zipfile.ZIP_STORED) -> Path:
    container = own_0503(tmp_path / "own")
    target = tmp_path / container.name
    with zipfile.ZipFile(container) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        extra = zipfile.ZipInfo(name)
        extra.compress_type = compress
        if attr is not None:
            extra.external_attr = attr << 16
        dst.writestr(extra, data)
    return target


@pytest.mark.parametrize("name,attr", [
    ("../../evil.txt", None),
    ("/etc/cron.d/evil", None),
    ("C:\\Windows\\evil.txt", None),
    ("3d4e5f60-7182-4930-81d2-e3f4a5b6c7d9_link", stat.S_IFLNK | 0o777),
], ids=["traversal", "absolute", "drive", "symlink"])
def test_unsafe_member_names_are_refused(name: str, attr: int | None, make_store,
                                         no_schemas: None, tmp_path: Path) -> None:
    store = make_store()
    before = snapshot(store)
    hostile = _with_member(tmp_path, name, b"/etc/passwd", attr=attr)
    with pytest.raises(eakte.UnsafeContent, match="unsafe archive member"), \
            store.session() as s:
        import_xdomea(s, hostile)
    assert snapshot(store) == before


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b'<xdomea:Aussonderung.Aussonderung.0503 xmlns:xdomea="urn:xoev-de:xdomea:schema:3.1.0">'
    b"&lol3;</xdomea:Aussonderung.Aussonderung.0503>")
XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
       b'<xdomea:Aussonderung.Aussonderung.0503 xmlns:xdomea="urn:xoev-de:xdomea:schema:3.1.0">'
       b"&e;</xdomea:Aussonderung.Aussonderung.0503>")


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
@pytest.mark.parametrize("packed", [False, True], ids=["xml", "zip"])
def test_entities_and_dtds_are_refused(payload: bytes, packed: bool, make_store,
                                       xsd: bool, tmp_path: Path) -> None:
    store = make_store()
    before = snapshot(store)
    name = "4f1c2a9e-6b1d-4c3e-9a57-2d8e0b7f1a11_Aussonderung.Aussonderung.0503"
    if packed:
        path = tmp_path / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(f"{name}.xml", payload)
    else:
        path = tmp_path / f"{name}.xml"
        path.write_bytes(payload)
    with pytest.raises(eakte.UnsafeContent, match="DTD"), store.session() as s:
        import_xdomea(s, path)
    assert snapshot(store) == before


def test_zip_bomb_by_ratio_is_refused_before_anything_is_written(make_store, no_schemas: None,
                                                                  tmp_path: Path) -> None:
    store = make_store()
    before = snapshot(store)
    blobs_before = sorted(store.blobs)
    bomb = tmp_path / "bomb.zip"
    shutil.copy(_with_member(tmp_path, "3d4e5f60-7182-4930-81d2-e3f4a5b6c7d8_x.txt",
                             b"\0" * (20 * 1024 * 1024), compress=zipfile.ZIP_DEFLATED),
                bomb)
    with pytest.raises(eakte.UnsafeContent, match="zip bomb"), store.session() as s:
        import_xdomea(s, bomb)
    assert snapshot(store) == before
    assert sorted(store.blobs) == blobs_before


def test_absolute_limits_are_enforced(make_store, no_schemas: None, own_zip: Path) -> None:
    store = make_store()
    before = snapshot(store)
    with pytest.raises(eakte.UnsafeContent, match="limit"), store.session() as s:
        import_xdomea(s, own_zip, limits=XdomeaLimits(max_xml_bytes=1000))
    with pytest.raises(eakte.UnsafeContent, match="zip bomb"), store.session() as s:
        import_xdomea(s, own_zip, limits=XdomeaLimits(max_members=1))
    with pytest.raises(eakte.UnsafeContent), store.session() as s:
        import_xdomea(s, own_zip, limits=XdomeaLimits(max_container_bytes=100))
    assert snapshot(store) == before


def test_missing_primary_file_in_a_zip_is_refused(make_store, no_schemas: None,
                                                  own_zip: Path, tmp_path: Path) -> None:
    target = tmp_path / own_zip.name
    with zipfile.ZipFile(own_zip) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            if info.filename.endswith(".xml"):
                dst.writestr(info, src.read(info))
    store = make_store()
    before = snapshot(store)
    with pytest.raises(eakte.ArchiveImportError, match="not a member of the container"), \
            store.session() as s:
        import_xdomea(s, target)
    assert snapshot(store) == before


def test_not_a_message(make_store, no_schemas: None, tmp_path: Path) -> None:
    store = make_store()
    junk = tmp_path / "junk.zip"
    with zipfile.ZipFile(junk, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(eakte.ArchiveImportError, match="no xdomea message"), \
            store.session() as s:
        import_xdomea(s, junk)
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<xdomea:Aussonderung")
    with pytest.raises(eakte.ArchiveImportError, match="well-formed"), store.session() as s:
        import_xdomea(s, broken)
    other = tmp_path / "other.xml"
    other.write_bytes(b'<x:Aussonderung.Aussonderung.0503 xmlns:x="urn:xoev-de:xdomea:schema:'
                      b'4.0.0"/>')
    with pytest.raises(eakte.ArchiveImportError, match=r"4\.0\.0"), store.session() as s:
        import_xdomea(s, other)


# -- files that contradict their own message ----------------------------------------------


def _swapped(container: Path, target: Path, pick: str, data: bytes) -> tuple[str, str, str]:
    """Copy ``container`` into ``target`` with one primary file's bytes replaced.

    ``pick`` selects the member: ``version`` (the first version's file) or ``rendition``.
    Returns the member name and the SHA-256 before and after.
    """
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(container) as src:
        xml = src.read(f"{container.stem}.xml").decode()
        renditions = {n for n in src.namelist() if n.endswith(".pdf")}
        files = [n for n in src.namelist() if not n.endswith(".xml")]
        name = next(n for n in files if (n in renditions) == (pick == "rendition")
                    and n in xml)
        old = hashlib.sha256(src.read(name)).hexdigest()
        with zipfile.ZipFile(target / container.name, "w") as dst:
            for info in src.infolist():
                dst.writestr(info, data if info.filename == name else src.read(info))
    return name, old, hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("pick", ["version", "rendition"])
def test_a_file_contradicting_the_sha256_in_its_history_is_refused(
        pick: str, make_store, no_schemas: None, own_zip: Path, tmp_path: Path) -> None:
    forged = b"%PDF-1.7\n% a different file under the old name\n"
    name, recorded, actual = _swapped(own_zip, tmp_path / "forged", pick, forged)
    store = make_store()
    before = snapshot(store)
    with pytest.raises(eakte.ArchiveImportError) as info, store.session() as s:
        import_xdomea(s, tmp_path / "forged" / own_zip.name)
    message = str(info.value)
    assert name in message and recorded in message and actual in message
    assert "contradicts" in message and "Nothing was imported" in message
    assert snapshot(store) == before
    assert actual not in set(store.blobs)  # the forged file never reached the store
    report = store.verify(index=False)  # files read before it are harmless orphans
    assert report.ok and {p.kind for p in report.notices} <= {"blob.orphan"}


def test_a_bare_message_with_a_swapped_file_next_to_it_is_refused(
        make_store, no_schemas: None, own_zip: Path, tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    folder.mkdir()
    with zipfile.ZipFile(own_zip) as zf:
        zf.extractall(folder)
    victim = sorted(p for p in folder.iterdir() if p.suffix == ".txt")[0]
    recorded = hashlib.sha256(victim.read_bytes()).hexdigest()
    victim.write_bytes(b"nachtraeglich geaendert")
    store = make_store()
    before = snapshot(store)
    with pytest.raises(eakte.ArchiveImportError, match=recorded), store.session() as s:
        import_xdomea(s, folder / f"{own_zip.stem}.xml")
    assert snapshot(store) == before
    victim.unlink()  # without it, the files that agree with their message import
    with store.session() as s:
        result = import_xdomea(s, folder / f"{own_zip.stem}.xml")
    assert result.missing_files == [victim.name]

