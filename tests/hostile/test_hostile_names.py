"""Malicious file names: sanitised at filing while a name remains, refused when none does;
exports never write outside their target folder whatever names the store holds.

The rule (``eakte.ingest.source.clean_filename``): the original name keeps its last path
component only (``../x`` → ``x``, ``a/b`` → ``b``), loses control and format characters
(NUL, RTL override) and unpaired surrogates, and is cut to 255 characters keeping its
extension; Windows device names (``CON``, ``NUL.txt``) are kept as the original name and
made safe by every export. A name that is empty or only dots is refused (``InvalidInput``).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from store_state import StoreState, assert_unchanged

import eakte.ingest.source
from eakte.errors import InvalidInput
from eakte.exchange.bagit import export_bagit
from eakte.exchange.xdomea import export_xdomea
from eakte.ingest.limits import unsafe_member_name

LONG = "a" * 10_000 + ".txt"
SANITISED = {
    "../x.txt": "x.txt",
    "../../../../etc/passwd": "passwd",
    "a/b.txt": "b.txt",
    "..\\..\\Windows\\win.ini": "win.ini",
    "/etc/shadow": "shadow",
    "C:\\boot.ini": "boot.ini",
    "a\x00b.txt": "ab.txt",
    "rechnung\u202efdp.exe.txt": "rechnungfdp.exe.txt",
    "bericht\udcff.txt": "bericht.txt",
    "zeile\numbruch.txt": "zeileumbruch.txt",
    LONG: "a" * 251 + ".txt",
    "CON": "CON",
    "NUL.txt": "NUL.txt",
    "com1.log": "com1.log",
    " leerzeichen.txt ": "leerzeichen.txt",
    ".profile": ".profile",
    "": "document",  # no name given: the default
}
REFUSED = ["   ", ".", "..", "...", ".....", "a/..", "x/", "\x00", "\u202e", "../"]


@pytest.mark.parametrize("given", list(SANITISED), ids=lambda n: repr(n)[:30])
def test_hostile_names_are_sanitised(sqlite_filled, given: str) -> None:
    with sqlite_filled.store.session() as s:
        doc = s.file_document(s.get_akte(sqlite_filled.akte.id), b"Inhalt", filename=given)
        version = s.get_version(doc)
    assert version.filename == SANITISED[given]
    assert doc.title == SANITISED[given].strip()
    assert sqlite_filled.store.verify().ok


@pytest.mark.parametrize("given", REFUSED, ids=repr)
def test_names_with_nothing_usable_left_are_refused(filled, given: str) -> None:
    before = StoreState.of(filled.store)
    with pytest.raises(InvalidInput) as info, filled.store.session() as s:
        s.file_document(s.get_akte(filled.akte.id), b"Inhalt", filename=given)
    assert type(info.value) is InvalidInput
    assert "unusable file name" in str(info.value)
    assert_unchanged(filled.store, before)


def test_a_path_with_a_nul_byte_is_invalid_input(sqlite_filled, tmp_path: Path) -> None:
    before = StoreState.of(sqlite_filled.store)
    with pytest.raises(InvalidInput) as info, sqlite_filled.store.session() as s:
        s.file_document(s.get_akte(sqlite_filled.akte.id), str(tmp_path / "a\x00b.txt"))
    assert type(info.value) is InvalidInput
    assert_unchanged(sqlite_filled.store, before)


def test_names_from_an_xdomea_takeover_follow_the_same_rule(sqlite_filled, tmp_path: Path,
                                                           monkeypatch) -> None:
    from xdomea_build import export_0503

    from eakte.exchange.xdomea import import_xdomea

    monkeypatch.delenv("EAKTE_XDOMEA_SCHEMAS", raising=False)
    container = export_0503(tmp_path / "src", filename="bescheid.txt")
    hostile = tmp_path / "hostile" / container.name
    hostile.parent.mkdir()
    with zipfile.ZipFile(container) as src, zipfile.ZipFile(hostile, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".xml"):
                data = data.replace(b"<xdomea:DateinameOriginal>bescheid.txt<",
                                    b"<xdomea:DateinameOriginal>../../..\\evil/bescheid.txt<")
                assert b"evil" in data
            dst.writestr(info, data)
    with sqlite_filled.store.session() as s:
        result = import_xdomea(s, hostile)
        akte = s.get_akte(result.akten[0]["aktenzeichen"])
        [doc] = s.documents(akte)
        assert s.get_version(doc).filename == "bescheid.txt"


# -- exports stay inside their target ----------------------------------------------------

STORED_AS_IS = ["../../../outside.txt", "/tmp/absolute.txt", "..\\..\\win.txt", "CON",
                "NUL.txt", "aux.pdf.txt", "...", "..", LONG, "a\tb.txt", "zeile\nzwei.txt",
                "%2e%2e%2fenc.txt", "~/home.txt", "$(rm -rf).txt"]
TITLES = ["../../../../tmp/titel", "/etc/passwd", "CON", "..", "a:b*c?d|e<f>g\"h"]


def _tree(root: Path, skip: set[Path]) -> set[Path]:
    return {p for p in root.rglob("*") if not any(p == s or s in p.parents for s in skip)}


def test_exports_never_write_outside_their_target(sqlite_filled, tmp_path: Path, monkeypatch
                                                  ) -> None:
    """Names stored by an older release or another tool, without any cleaning."""
    monkeypatch.delenv("EAKTE_XDOMEA_SCHEMAS", raising=False)
    store = sqlite_filled.store
    monkeypatch.setattr(eakte.ingest.source, "clean_filename", lambda name: name)
    with store.session() as s:
        akte = s.create_akte("630.10", "../../../../tmp/akte", org_unit="../ou")
        for i, name in enumerate(STORED_AS_IS):
            s.file_document(akte, b"Inhalt %d" % i, filename=name,
                            title=TITLES[i % len(TITLES)])
        doc = s.documents(akte)[0]
        s.add_rendition(s.get_version(doc), b"Rendition", kind="../../r", filename="../../r.txt")
    with store.session() as s:
        assert {s.get_version(d).filename for d in s.documents(akte)} == set(STORED_AS_IS)
    monkeypatch.undo()
    out = tmp_path / "out"
    before = _tree(tmp_path, {out})
    with store.session() as s:
        bag = export_bagit(s, [akte.aktenzeichen], out / "bag")
        container = export_xdomea(s, [akte.aktenzeichen], message="0503", out_dir=out / "x",
                                  record=False).path
    # nothing appeared outside the target folder; everything inside resolves inside it
    assert _tree(tmp_path, {out}) == before
    assert not list(Path("/tmp").glob("absolute.txt*"))
    inside = _tree(out, set())
    assert all(p.resolve().is_relative_to(out.resolve()) and not p.is_symlink() for p in inside)
    reserved = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.I)
    for path in inside:
        for part in path.relative_to(out).parts:
            assert not reserved.match(part), path
            assert part not in (".", "..") and not part.endswith((".", " ")), path
            assert len(part.encode()) <= 255, path
    manifest = (bag / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines()
    assert len(manifest) == len(STORED_AS_IS) + 2  # + rendition + metadata.json
    for line in manifest:
        rel = line.split("  ", 1)[1]
        assert rel.startswith("data/") and ".." not in rel.split("/"), rel
        assert (bag / rel).is_file()
    with zipfile.ZipFile(container) as zf:
        names = zf.namelist()
        assert len(names) == len(STORED_AS_IS) + 2  # + rendition + the message XML
        for name in names:
            # every primary file is "{uuid}_{name}": never a device name, never a path
            assert unsafe_member_name(name) is None and "/" not in name and "\\" not in name
            assert not reserved.match(name)
