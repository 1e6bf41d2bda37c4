"""Sniffed MIME type against file name and claimed type: match, harmless, dangerous."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

import eakte
from eakte.errors import UnsafeContent
from eakte.ingest.claims import MimeVerdict, check_claims, extension_of
from eakte.ingest.mime import detect_mime
from tests.hostile.store_state import StoreState, assert_unchanged

MATCH, HARMLESS, DANGEROUS = MimeVerdict.MATCH, MimeVerdict.HARMLESS, MimeVerdict.DANGEROUS

PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 100
SHARED = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x03\x00\x3e\x00" + b"\x00" * 100
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 100
SCRIPT = b"#!/bin/sh\nrm -rf ~\n"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _zip(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return out.getvalue()


DOCX = _zip({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"})


# -- the classifier, pure ---------------------------------------------------------------


@pytest.mark.parametrize("sniffed,filename", [
    ("text/plain", "notiz.txt"),
    ("text/plain", "liste.csv"),
    ("application/csv", "liste.csv"),
    ("text/xml", "nachricht.xml"),
    ("application/xml", "nachricht.xml"),
    ("text/plain", "nachricht.xml"),
    ("message/rfc822", "mail.eml"),
    ("text/plain", "mail.eml"),
    ("text/html", "seite.htm"),
    ("application/zip", "bescheid.docx"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "b.docx"),
    ("application/zip", "bescheid.odt"),
    ("application/vnd.oasis.opendocument.text", "bescheid.odt"),
    ("application/x-ole-storage", "mail.msg"),
    ("application/vnd.ms-outlook", "mail.msg"),
    ("application/CDFV2", "alt.doc"),
    ("image/jpeg", "foto.jpg"),
    ("image/jpeg", "foto.JPEG"),
    ("application/pdf", "scan.pdf"),
    ("application/octet-stream", "messdaten.xyz"),
    ("application/x-dosexec", "setup.exe"),
    ("application/x-executable", "werkzeug"),
    ("text/x-shellscript", "deploy.sh"),
    ("text/plain", "README"),
    ("text/plain", ".bashrc"),
])
def test_legitimate_aliases_match(sniffed: str, filename: str) -> None:
    check = check_claims(sniffed, filename=filename)
    assert check.verdict is MATCH, check.reason
    assert check.audit_details() == {}


@pytest.mark.parametrize("sniffed,filename,claimed", [
    ("application/pdf", "bescheid.txt", "text/plain"),
    ("text/html", "bescheid.docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("image/png", "foto.jpg", "image/jpeg"),
    ("application/octet-stream", "notiz.txt", "text/plain"),
    ("application/zip", "mail.eml", "message/rfc822"),
])
def test_other_differences_are_harmless_and_recorded(sniffed: str, filename: str,
                                                     claimed: str) -> None:
    check = check_claims(sniffed, filename=filename)
    assert check.verdict is HARMLESS
    assert check.audit_details() == {
        "mime_claimed": claimed,
        "mime_mismatch": f"named .{extension_of(filename)} but the content is {sniffed}",
    }
    check.refuse_if_dangerous()  # does not raise


@pytest.mark.parametrize("sniffed", [
    "application/x-dosexec", "application/vnd.microsoft.portable-executable",
    "application/x-executable", "application/x-pie-executable", "application/x-sharedlib",
    "application/x-mach-binary", "text/x-shellscript", "text/x-script.python",
])
@pytest.mark.parametrize("filename", ["rechnung.pdf", "bescheid.docx", "notiz.txt",
                                      "foto.jpg", "archiv.zip"])
def test_executables_under_a_document_name_are_dangerous(sniffed: str, filename: str) -> None:
    check = check_claims(sniffed, filename=filename)
    assert check.verdict is DANGEROUS
    with pytest.raises(UnsafeContent) as info:
        check.refuse_if_dangerous()
    assert type(info.value) is UnsafeContent
    assert repr(filename) in str(info.value) and sniffed in str(info.value)


def test_a_shebang_line_is_a_script_whatever_libmagic_says() -> None:
    check = check_claims("text/plain", filename="notiz.txt", head=SCRIPT)
    assert check.verdict is DANGEROUS and "script" in (check.reason or "")
    assert check_claims("text/plain", filename="deploy.sh", head=SCRIPT).verdict is MATCH


@pytest.mark.parametrize("sniffed", ["text/html", "application/zip", "text/plain",
                                     "application/octet-stream", "image/jpeg"])
def test_a_claimed_pdf_that_is_not_a_pdf_is_dangerous(sniffed: str) -> None:
    assert check_claims(sniffed, filename="bescheid.pdf").verdict is DANGEROUS
    assert check_claims(sniffed, claimed_mime="application/pdf").verdict is DANGEROUS


def test_a_pdf_header_a_little_later_still_is_a_pdf() -> None:
    head = b"\r\n% produced by a scanner\n" + PDF
    assert check_claims("application/octet-stream", filename="scan.pdf", head=head
                        ).verdict is MATCH


def test_explicit_claims_are_compared_too() -> None:
    assert check_claims("text/plain", filename="a.txt",
                        claimed_mime="text/plain; charset=utf-8").verdict is MATCH
    assert check_claims("application/zip", claimed_mime="application/vnd.openxmlformats-"
                        "officedocument.wordprocessingml.document").verdict is MATCH
    harmless = check_claims("image/png", filename="bild", claimed_mime="image/jpeg")
    assert harmless.verdict is HARMLESS
    assert harmless.audit_details()["mime_claimed"] == "image/jpeg"
    # generic claims claim nothing
    assert check_claims("application/x-dosexec", filename="tool",
                        claimed_mime="application/octet-stream").verdict is MATCH
    # an executable declared as a document type is dangerous even with a neutral name
    assert check_claims("application/x-dosexec", filename="anlage",
                        claimed_mime="application/pdf").verdict is DANGEROUS
    assert check_claims("application/x-dosexec", filename="anlage",
                        claimed_mime="image/x-unknown").verdict is DANGEROUS


def test_the_worst_claim_wins() -> None:
    # the name matches, the declared type does not: harmless; a .pdf name makes it dangerous
    assert check_claims("text/plain", filename="a.txt", claimed_mime="image/png"
                        ).verdict is HARMLESS
    assert check_claims("text/plain", filename="a.pdf", claimed_mime="text/plain"
                        ).verdict is DANGEROUS


@pytest.mark.parametrize("name,ext", [("a.PDF", "pdf"), ("archiv.tar.gz", "gz"), ("a", None),
                                      (".profile", None), ("a.", None), ("dir/x.txt", "txt"),
                                      ("...", None)])
def test_extension_of(name: str, ext: str | None) -> None:
    assert extension_of(name) == ext


@pytest.mark.parametrize("data,filename,verdict", [
    (PE, "rechnung.pdf", DANGEROUS),
    (ELF, "bescheid.docx", DANGEROUS),
    (SHARED, "notiz.txt", DANGEROUS),
    (MACHO, "foto.jpg", DANGEROUS),
    (SCRIPT, "notiz.txt", DANGEROUS),
    (b"<html><body>Zahlung</body></html>", "rechnung.pdf", DANGEROUS),
    (DOCX, "bescheid.docx", MATCH),
    (PDF, "scan.pdf", MATCH),
    ("Grüße aus Köln\n".encode(), "notiz.txt", MATCH),
    (b"a;b\n1;2\n", "liste.csv", MATCH),
    (b'<?xml version="1.0"?><a>b</a>', "daten.xml", MATCH),
    (PDF, "bescheid.txt", HARMLESS),
])
def test_with_real_sniffing(data: bytes, filename: str, verdict: MimeVerdict) -> None:
    assert check_claims(detect_mime(data), filename=filename, head=data).verdict is verdict


# -- filing ------------------------------------------------------------------------------


@pytest.fixture
def akte_store(store_factory, make_akte, db_url):
    store = store_factory.init(db_url=db_url)
    return store, make_akte(store)


@pytest.mark.parametrize("data,filename", [(PE, "rechnung.pdf"), (ELF, "bescheid.docx"),
                                           (SCRIPT, "notiz.txt")])
def test_an_executable_under_a_document_name_is_refused_and_nothing_changes(
    akte_store, data: bytes, filename: str,
) -> None:
    store, akte = akte_store
    with store.session() as s:
        s.file_document(akte, b"vorher", filename="vorher.txt")
    before = StoreState.of(store)
    with pytest.raises(UnsafeContent) as info, store.session() as s:
        s.file_document(akte, data, filename=filename)
    assert type(info.value) is UnsafeContent
    message = str(info.value)
    assert repr(filename) in message and "claimed type" in message and "sniffed type" in message
    assert_unchanged(store, before)


def test_new_versions_and_renditions_are_checked_too(akte_store) -> None:
    store, akte = akte_store
    with store.session() as s:
        doc = s.file_document(akte, PDF, filename="bescheid.pdf")
    before = StoreState.of(store)
    with pytest.raises(UnsafeContent), store.session() as s:
        s.add_version(s.get_document(doc.id), PE, filename="bescheid-v2.pdf")
    with pytest.raises(UnsafeContent), store.session() as s:
        s.add_rendition(s.get_version(s.get_document(doc.id)), ELF, kind="pdfa",
                        filename="bescheid-pdfa.pdf")
    assert_unchanged(store, before)


def test_a_harmless_mismatch_is_filed_and_recorded(akte_store) -> None:
    store, akte = akte_store
    with store.session() as s:
        doc = s.file_document(akte, PDF, filename="bescheid.txt")
        s.add_version(doc, b"nur Text", filename="bescheid.txt")
    with store.session() as s:
        events = [json.loads(e.canonical) for e in s.audit_events(object_type="document")]
        assert s.read_content(s.get_document(doc.id), version=1) == PDF
        assert s.get_version(s.get_document(doc.id), 1).mime == "application/pdf"
    filed, added = (e for e in events if e["action"] in ("document.file", "version.add"))
    assert filed["details"]["mime_claimed"] == "text/plain"
    assert filed["details"]["mime_mismatch"] == \
        "named .txt but the content is application/pdf"
    assert "mime_mismatch" not in added["details"]  # a match records nothing extra
    assert store.verify().ok


def test_a_match_keeps_the_audit_details_as_before(akte_store) -> None:
    store, akte = akte_store
    with store.session() as s:
        s.file_document(akte, DOCX, filename="bescheid.docx")
    with store.session() as s:
        event = [json.loads(e.canonical) for e in s.audit_events(object_type="document")][-1]
    assert event["action"] == "document.file"
    assert not {"mime_claimed", "mime_mismatch"} & set(event["details"])


def test_the_cli_refuses_with_the_documented_exit_code(tmp_path) -> None:
    from click.testing import CliRunner

    from eakte.cli import cli

    folder = tmp_path / "store"
    with eakte.init(folder) as store, store.session() as s:
        s.add_plan_unit("1", "Allgemeines")
        az = s.create_akte("1", "Sammelakte").aktenzeichen
    bad = tmp_path / "rechnung.pdf"
    bad.write_bytes(PE)
    result = CliRunner().invoke(cli, ["--store", str(folder), "add", az, str(bad)])
    assert result.exit_code == UnsafeContent.exit_code, result.output
    assert "rechnung.pdf" in result.output
