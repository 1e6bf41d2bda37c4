"""Zip bombs and hostile member names: in filed DOCX/ODT/zip files and in xdomea containers.

Filing judges every ZIP container (DOCX, ODT, plain ZIP) by its central directory before
anything is written and refuses bombs and hostile member names with ``UnsafeContent``;
nothing is ever unpacked to disk. xdomea containers are unpacked on import and refused whole
with ``UnsafeContent``.
"""

from __future__ import annotations

import hashlib
import stat
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import pytest
from hostile_files import PE, MiB, bomb_zip, declared_huge_zip, zip_with_member
from sqlalchemy import select
from store_state import StoreState, assert_unchanged
from xdomea_build import export_0503, with_member

from eakte.errors import UnsafeContent
from eakte.exchange.xdomea import XdomeaLimits, import_xdomea
from eakte.ingest.extract import extract_text
from eakte.ingest.mime import detect_mime
from eakte.model import TextExtraction, Version


def extraction(store, document_id: int) -> TextExtraction:
    with store.orm_session() as orm:
        return orm.scalars(
            select(TextExtraction).join(Version, Version.id == TextExtraction.version_id)
            .where(Version.document_id == document_id)).one()


@pytest.fixture(autouse=True)
def _never_unpack(monkeypatch: pytest.MonkeyPatch) -> None:
    """Filing, indexing and importing must never extract archive members to disk."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("eakte unpacked an archive member to disk")

    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)


# -- filed containers -------------------------------------------------------------------


@pytest.mark.parametrize("make", [bomb_zip, declared_huge_zip], ids=["ratio", "absolute"])
@pytest.mark.parametrize("kind", ["docx", "odt", "zip"])
def test_a_zip_bomb_is_refused_at_filing_and_never_inflated(filled, kind: str, make) -> None:
    data = make(kind)
    before = StoreState.of(filled.store)
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeContent, match="zip bomb") as info, \
                filled.store.session() as s:
            s.file_document(filled.akte, data, filename=f"anlage.{kind}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert type(info.value) is UnsafeContent
    assert f"anlage.{kind}" in str(info.value)
    assert peak < 32 * MiB  # the 64 MiB (or 4 GiB) member was never inflated
    assert_unchanged(filled.store, before)
    if kind != "zip":  # the extractor refuses it on its own too
        with pytest.raises(UnsafeContent):
            extract_text(data, detect_mime(data), filename=f"anlage.{kind}", strict=True)


@pytest.mark.parametrize("name,reason", [("../../boese.xml", "path traversal"),
                                         ("/etc/cron.d/boese", "absolute path"),
                                         ("C:\\Windows\\boese.dll", "absolute path"),
                                         ("word/..\\..\\boese", "path traversal")])
@pytest.mark.parametrize("kind", ["docx", "odt", "zip"])
def test_hostile_member_names_are_refused_at_filing(
    sqlite_filled, kind: str, name: str, reason: str,
) -> None:
    data = zip_with_member(kind, name)
    before = StoreState.of(sqlite_filled.store)
    with pytest.raises(UnsafeContent, match=reason) as info, \
            sqlite_filled.store.session() as s:
        s.file_document(sqlite_filled.akte, data, filename=f"bescheid.{kind}")
    assert type(info.value) is UnsafeContent
    assert_unchanged(sqlite_filled.store, before)


def test_a_symlink_member_in_a_docx_is_read_as_bytes_never_followed(sqlite_filled) -> None:
    # the main part itself is a "symlink" to /etc/passwd: its bytes are the link's target
    # text, which is not XML; nothing on disk is ever opened through it
    link = zipfile.ZipInfo("word/document.xml")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    rebuilt = Path(sqlite_filled.store.location) / "link.docx"
    with zipfile.ZipFile(rebuilt, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr(link, b"/etc/passwd")
    with sqlite_filled.store.session() as s:
        doc = s.file_document(sqlite_filled.akte, rebuilt.read_bytes(), filename="link.docx")
        s.file_document(sqlite_filled.akte, zip_with_member("docx", "anlage", symlink=True),
                        filename="mit-link.docx")
    found = extraction(sqlite_filled.store, doc.id)
    assert found.status == "failed" and "not well-formed" in found.problems[0]
    with sqlite_filled.store.session() as s:
        assert s.search("root").total == 0


# -- xdomea containers (unpacked on import) ----------------------------------------------


@pytest.fixture
def container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("EAKTE_XDOMEA_SCHEMAS", raising=False)
    return export_0503(tmp_path / "src")


def _refused(filled, path: Path, match: str, **options) -> None:
    before = StoreState.of(filled.store)
    with pytest.raises(UnsafeContent, match=match) as info, filled.store.session() as s:
        import_xdomea(s, path, **options)
    assert type(info.value) is UnsafeContent
    assert_unchanged(filled.store, before)


def test_a_valid_container_imports(filled, container: Path) -> None:
    with filled.store.session() as s:
        result = import_xdomea(s, container)
    assert result.counts["dateien"] == 1


@pytest.mark.parametrize("name,attr", [
    ("../../boese.txt", None),
    ("a/../../boese.txt", None),
    ("/etc/cron.d/boese", None),
    ("C:\\Windows\\boese.txt", None),
    ("C:boese.txt", None),
    ("..\\..\\boese.txt", None),
    ("boese\x00.txt", None),
    ("3d4e5f60-7182-4930-81d2-e3f4a5b6c7d9_link", stat.S_IFLNK | 0o777),
], ids=["traversal", "nested-traversal", "absolute", "drive", "drive-relative",
        "backslash-traversal", "nul", "symlink"])
def test_hostile_member_names_refuse_the_whole_container(filled, container: Path, tmp_path,
                                                         name: str, attr: int | None) -> None:
    hostile = with_member(container, tmp_path / "hostile", name, b"/etc/passwd", attr=attr)
    _refused(filled, hostile, "unsafe archive member|NUL")


def test_a_duplicate_member_is_refused(filled, container: Path, tmp_path) -> None:
    with zipfile.ZipFile(container) as zf:
        first = zf.namelist()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate
        hostile = with_member(container, tmp_path / "dup", first, b"anders")
    _refused(filled, hostile, "appears twice")


def test_a_zip_bomb_by_ratio_refuses_the_container(filled, container: Path, tmp_path) -> None:
    hostile = with_member(container, tmp_path / "bomb", "3d4e5f60-7182-4930-81d2-e3f4a5b6c7d8_x",
                          b"\0" * (20 * MiB), compress=zipfile.ZIP_DEFLATED)
    _refused(filled, hostile, "zip bomb")


def test_a_zip_bomb_by_declared_size_refuses_the_container(filled, container: Path,
                                                           tmp_path) -> None:
    hostile = with_member(container, tmp_path / "huge", "3d4e5f60-7182-4930-81d2-e3f4a5b6c7d8_x",
                          b"x" * MiB, compress=zipfile.ZIP_DEFLATED)
    data = bytearray(hostile.read_bytes())
    pos = data.rfind(b"PK\x01\x02")  # the extra member's central directory entry
    data[pos + 24:pos + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    hostile.write_bytes(bytes(data))
    _refused(filled, hostile, "zip bomb", limits=XdomeaLimits(max_total_bytes=64 * MiB))


def test_absolute_container_limits(filled, container: Path) -> None:
    _refused(filled, container, "limit", limits=XdomeaLimits(max_container_bytes=100))
    _refused(filled, container, "limit", limits=XdomeaLimits(max_xml_bytes=100))
    _refused(filled, container, "zip bomb", limits=XdomeaLimits(max_members=1))


def test_a_primary_file_over_the_store_limit_refuses_the_container(
    store_factory, make_akte, container: Path, tmp_path,
) -> None:
    folder = tmp_path / "small"
    store_factory.init(folder).close()
    store = store_factory.open(folder, max_file_size=8)
    make_akte(store)
    before = StoreState.of(store)
    with pytest.raises(UnsafeContent) as info, store.session() as s:
        import_xdomea(s, container)
    assert type(info.value) is UnsafeContent
    assert_unchanged(store, before)


def test_a_bare_message_never_follows_a_symlink_next_to_it(filled, container: Path,
                                                           tmp_path: Path) -> None:
    """A bare .xml message may use primary files lying next to it, but only plain files."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"Xylophon4711Geheim")
    bare = tmp_path / "bare"
    bare.mkdir()
    with zipfile.ZipFile(container) as zf:
        for name in zf.namelist():
            if name.endswith(".xml"):
                (bare / name).write_bytes(zf.read(name))
            else:
                primary = name
                (bare / name).symlink_to(secret)
    message = next(bare.glob("*.xml"))
    with filled.store.session() as s:
        result = import_xdomea(s, message)
    assert result.missing_files == [primary]  # the link was not taken for the file
    with filled.store.orm_session() as orm:
        shas = set(orm.scalars(select(Version.sha256)))
    assert hashlib.sha256(secret.read_bytes()).hexdigest() not in shas
    assert filled.store.verify().ok


def _replace_primary(container: Path, target: Path, data: bytes) -> Path:
    """Copy ``container`` to ``target`` with the bytes of its primary file replaced."""
    target.mkdir(parents=True, exist_ok=True)
    out = target / container.name
    with zipfile.ZipFile(container) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            hit = info.filename.endswith("_bescheid.txt")
            dst.writestr(info, data if hit else src.read(info))
    return out


@pytest.mark.parametrize("payload,match", [
    (PE, "executable"),
    (bomb_zip("zip"), "zip bomb"),
], ids=["executable-named-txt", "zip-bomb-named-txt"])
def test_a_taken_over_record_meets_the_same_rules_as_filing(filled, container: Path,
                                                           tmp_path, payload: bytes,
                                                           match: str) -> None:
    hostile = _replace_primary(container, tmp_path / "hostile", payload)
    _refused(filled, hostile, match)
