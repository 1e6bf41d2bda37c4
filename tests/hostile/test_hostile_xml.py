"""XML with a DTD, external entities or entity expansion, everywhere eakte reads XML.

Filed .xml, .html, .docx and .odt files with entity declarations or an external DTD are
refused with ``UnsafeContent`` before anything is written. An e-mail is kept (the mail is
the record); the text extraction of its attachments refuses every DTD before an entity
can be declared, so nothing is expanded or fetched. xdomea messages (0502, 0503, 0506) are
refused whole with ``UnsafeContent``.
"""

from __future__ import annotations

import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from hostile_files import ODT_NS, W, docx, odt
from sqlalchemy import select
from store_state import StoreState, assert_unchanged
from xdomea_build import answer, answer_name, export_0503, message_xml

from eakte.errors import UnsafeContent
from eakte.exchange.xdomea import import_xdomea, validate_message
from eakte.ingest.extract import extract_text
from eakte.ingest.mime import detect_mime
from eakte.model import TextExtraction, Version

SECRET = "Xylophon4711Geheim"


def doctypes(secret: Path) -> dict[str, tuple[bytes, str]]:
    """attack → (DOCTYPE with the root name ROOT, reference used in the body)."""
    laughs = b"".join(b"<!ENTITY l%d '%s'>" % (i, (b"&l%d;" % (i - 1)) * 10) for i in range(1, 9))
    return {
        "xxe": (b"<!DOCTYPE ROOT [<!ENTITY xxe SYSTEM '" + secret.as_uri().encode() + b"'>]>",
                "&xxe;"),
        "billion-laughs": (b"<!DOCTYPE ROOT [<!ENTITY l0 'lol'>" + laughs + b"]>", "&l8;"),
        "parameter-entity": (b"<!DOCTYPE ROOT [<!ENTITY % p SYSTEM '" + secret.as_uri().encode()
                             + b"'> %p;]>", ""),
        "external-dtd": (b"<!DOCTYPE ROOT SYSTEM '" + secret.as_uri().encode() + b"'>", ""),
    }


ATTACKS = ["xxe", "billion-laughs", "parameter-entity", "external-dtd"]


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def _xml(doctype: bytes, root: str, inner: str, namespaces: str = "") -> bytes:
    return (b"<?xml version='1.0' encoding='UTF-8'?>" + doctype.replace(b"ROOT", root.encode())
            + f"<{root}{namespaces}>{inner}</{root}>".encode())


def filed_variants(attack: str, secret: Path) -> dict[str, tuple[str, bytes]]:
    doctype, ref = doctypes(secret)[attack]
    document = _xml(doctype, "w:document", f"<w:body><w:p><w:r><w:t>Text {ref}</w:t></w:r>"
                    "</w:p></w:body>", f" xmlns:w='{W}'")
    content = _xml(doctype, "office:document-content",
                   f"<office:body><office:text><text:p>Text {ref}</text:p></office:text>"
                   "</office:body>", ODT_NS)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@example.org", "b@example.org", "Daten"
    mail.set_content("Anbei die Daten.")
    mail.add_attachment(_xml(doctype, "daten", f"Text {ref}"), maintype="application",
                        subtype="xml", filename="daten.xml")
    return {
        "xml": ("daten.xml", _xml(doctype, "daten", f"Text {ref}")),
        "xhtml": ("seite.html", _xml(doctype, "html", f"<body>Text {ref}</body>")),
        "docx": ("bescheid.docx", docx(document)),
        "odt": ("bescheid.odt", odt(content)),
        "eml": ("mail.eml", mail.as_bytes()),
    }


def _extraction(store, document_id: int) -> TextExtraction:
    with store.orm_session() as orm:
        return orm.scalars(
            select(TextExtraction).join(Version, Version.id == TextExtraction.version_id)
            .where(Version.document_id == document_id)).one()


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("variant", ["xml", "xhtml", "docx", "odt"])
def test_filed_xml_with_a_dtd_attack_is_refused(sqlite_filled, secret: Path, attack: str,
                                                variant: str) -> None:
    filename, data = filed_variants(attack, secret)[variant]
    store = sqlite_filled.store
    before = StoreState.of(store)
    with pytest.raises(UnsafeContent, match=r"DTD|entities") as info, store.session() as s:
        s.file_document(sqlite_filled.akte, data, filename=filename)
    assert type(info.value) is UnsafeContent
    assert filename in str(info.value)
    assert_unchanged(store, before)
    with pytest.raises(UnsafeContent):  # the extractor refuses it on its own too
        extract_text(data, detect_mime(data), filename=filename, strict=True)


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_mail_with_a_hostile_xml_attachment_is_kept_but_never_expanded(
    sqlite_filled, secret: Path, attack: str,
) -> None:
    # the mail is the record and harmless as such; its attachment's text extraction fails
    filename, data = filed_variants(attack, secret)["eml"]
    store = sqlite_filled.store
    with store.session() as s:
        doc = s.file_document(sqlite_filled.akte, data, filename=filename)
    result = extract_text(data, detect_mime(data), filename=filename)
    assert result.parts[0].status == "failed"
    assert "DTD" in result.parts[0].problems[0]
    assert SECRET not in result.text
    with store.session() as s:
        assert s.search(SECRET).total == 0
        assert s.search("lollollol").total == 0
        assert s.read_content(s.get_document(doc.id)) == data
    assert store.verify().ok


def test_html_declaring_entities_is_refused_and_never_expanded(sqlite_filled,
                                                               secret: Path) -> None:
    doctype, ref = doctypes(secret)["xxe"]
    data = doctype.replace(b"ROOT", b"html") + f"<html><body>Hallo {ref}</body></html>".encode()
    assert detect_mime(data) == "text/html"
    before = StoreState.of(sqlite_filled.store)
    with pytest.raises(UnsafeContent, match="entities"), sqlite_filled.store.session() as s:
        s.file_document(sqlite_filled.akte, data, filename="seite.html")
    assert_unchanged(sqlite_filled.store, before)
    result = extract_text(data, "text/html", filename="seite.html")
    assert SECRET not in result.text and "&xxe;" in result.text


def test_html_naming_a_public_w3c_dtd_is_filed(sqlite_filled) -> None:
    data = (b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
            b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">'
            b"<html><body>Bekanntmachung Bebauungsplan</body></html>")
    with sqlite_filled.store.session() as s:
        s.file_document(sqlite_filled.akte, data, filename="bekanntmachung.html")
    with sqlite_filled.store.session() as s:
        assert s.search("Bebauungsplan").total == 1


# -- xdomea messages ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_schemas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EAKTE_XDOMEA_SCHEMAS", raising=False)


PROZESS_ID = "2b1c0f3e-4d5a-4b6c-8d7e-9f0a1b2c3d4e"


def _messages(filled, tmp_path: Path, attack: str, secret: Path) -> dict[str, Path]:
    doctype, _ = doctypes(secret)[attack]
    out: dict[str, Path] = {}
    for code in ("0502", "0506"):
        root = answer_name(code, PROZESS_ID, "xml").split("_", 1)[1][:-4]
        path = tmp_path / answer_name(code, PROZESS_ID)
        path.write_bytes(answer(code, PROZESS_ID, filled.akte.uuid,
                                doctype=doctype.replace(b"ROOT", f"xdomea:{root}".encode())))
        out[code] = path
    container = export_0503(tmp_path / "src")
    name, xml = message_xml(container)
    hostile = xml.replace(b"?>", b"?>" + doctype.replace(b"ROOT", b"x"), 1)
    packed = tmp_path / "packed" / container.name
    packed.parent.mkdir()
    with zipfile.ZipFile(container) as src, zipfile.ZipFile(packed, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, hostile if info.filename == name else src.read(info))
    out["0503"] = packed
    return out


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("code", ["0502", "0503", "0506"])
@pytest.mark.parametrize("packed", [False, True], ids=["xml", "zip"])
def test_xdomea_messages_with_a_dtd_are_refused_whole(filled, tmp_path: Path, secret: Path,
                                                      attack: str, code: str,
                                                      packed: bool) -> None:
    path = _messages(filled, tmp_path, attack, secret)[code]
    if packed and path.suffix == ".xml":
        zipped = path.with_suffix(".zip")
        with zipfile.ZipFile(zipped, "w") as zf:
            zf.writestr(path.name, path.read_bytes())
        path = zipped
    elif not packed and path.suffix == ".zip":
        name, xml = message_xml(path)
        path = path.parent / name
        path.write_bytes(xml)
    before = StoreState.of(filled.store)
    with pytest.raises(UnsafeContent, match="DTD") as info, filled.store.session() as s:
        import_xdomea(s, path, receipt_dir=tmp_path / "receipts")
    assert type(info.value) is UnsafeContent
    assert SECRET not in str(info.value)
    assert_unchanged(filled.store, before)
    assert not (tmp_path / "receipts").exists()
    with pytest.raises(UnsafeContent):
        validate_message(path)


def test_a_0502_with_a_hostile_prozess_id_writes_no_receipt(filled, tmp_path: Path) -> None:
    bad = "../../../receipt-outside"
    path = tmp_path / "in" / "message.xml"
    path.parent.mkdir()
    path.write_bytes(answer("0502", bad, filled.akte.uuid))
    before = StoreState.of(filled.store)
    from eakte.errors import ArchiveImportError

    with pytest.raises(ArchiveImportError) as info, filled.store.session() as s:
        import_xdomea(s, path, receipt_dir=tmp_path / "in" / "receipts")
    assert type(info.value) is ArchiveImportError
    assert_unchanged(filled.store, before)
    assert not list(tmp_path.rglob("*receipt-outside*"))
