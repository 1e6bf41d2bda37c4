"""Text extraction: every supported format from real fixtures made here, and hostile input."""

from __future__ import annotations

import io
import logging
import random
import tracemalloc
import zipfile
from email.message import EmailMessage

import pypdf
import pytest

from eakte.demo.corpus import make_pdf
from eakte.errors import UnsafeContent
from eakte.ingest.charset import decode_text
from eakte.ingest.extract import ExtractionStatus, extract_text, supported_mime
from eakte.ingest.limits import ExtractLimits, unsafe_member_name

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MiB = 1024 * 1024


# --------------------------------------------------------------------------- fixtures


def minimal_pdf(content: bytes = b"") -> bytes:
    """A one-page PDF whose page content stream is ``content`` (empty: a 'scan')."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def bescheid_pdf() -> bytes:
    return make_pdf("Baugenehmigung", [
        "Sehr geehrter Herr Müller, Ihr Bauantrag für die Lindenstraße 4 ist genehmigt.",
        "Die Gebühr beträgt 250 €.",
    ])


def encrypted_pdf(user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(bescheid_pdf())))
    writer.encrypt(user_password=user_password, owner_password="amt-intern",
                   algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_xml(*paragraphs: str) -> str:
    body = "".join(f"<w:p><w:r><w:t xml:space='preserve'>{p}</w:t></w:r></w:p>"
                   for p in paragraphs)
    return (f"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>"
            f"<w:document xmlns:w='{W}'><w:body>{body}</w:body></w:document>")


def make_docx(document: str, *, extra: dict[str, str | bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml",
                    "<?xml version='1.0'?><Types xmlns='http://schemas.openxmlformats.org/"
                    "package/2006/content-types'/>")
        zf.writestr("word/document.xml", document)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out.getvalue()


def make_odt(content: str, *, styles: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), ODT)
        zf.writestr("META-INF/manifest.xml",
                    "<?xml version='1.0'?><manifest:manifest xmlns:manifest="
                    "'urn:oasis:names:tc:opendocument:xmlns:manifest:1.0'/>")
        zf.writestr("content.xml", content)
        if styles is not None:
            zf.writestr("styles.xml", styles)
    return out.getvalue()


ODT_NS = ("xmlns:office='urn:oasis:names:tc:opendocument:xmlns:office:1.0' "
          "xmlns:text='urn:oasis:names:tc:opendocument:xmlns:text:1.0' "
          "xmlns:style='urn:oasis:names:tc:opendocument:xmlns:style:1.0'")


def odt_content(body: str) -> str:
    return (f"<?xml version='1.0' encoding='UTF-8'?><office:document-content {ODT_NS}>"
            f"<office:body><office:text>{body}</office:text></office:body>"
            f"</office:document-content>")


def zip_bomb_docx(size: int) -> bytes:
    """A DOCX whose document.xml inflates to ``size`` bytes of spaces (written in chunks)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(docx_xml("Anfang").encode()[:-len("</w:body></w:document>")])
            chunk = b" " * MiB
            for _ in range(size // MiB):
                member.write(chunk)
            member.write(b"</w:body></w:document>")
    return out.getvalue()


# --------------------------------------------------------------------------- PDF


def test_pdf_with_text_layer():
    result = extract_text(bescheid_pdf(), "application/pdf", filename="Bescheid.pdf")
    assert result.status == "ok"
    assert result.status is ExtractionStatus.OK
    assert "Müller" in result.text
    assert "Lindenstraße" in result.text
    assert "250 €" in result.text
    assert result.problems == []


def test_pdf_without_text_layer_needs_ocr():
    result = extract_text(minimal_pdf(), "application/pdf")
    assert result.status == "needs_ocr"
    assert result.text == ""
    assert any("OCR" in p for p in result.problems)


def test_pdf_some_pages_without_text_are_reported():
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(bescheid_pdf())))
    writer.add_blank_page()
    out = io.BytesIO()
    writer.write(out)
    result = extract_text(out.getvalue(), "application/pdf")
    assert result.status == "ok"
    assert "Müller" in result.text
    assert any("no text layer on pages 2" in p for p in result.problems)


def test_truncated_pdf_fails_softly():
    data = bescheid_pdf()
    result = extract_text(data[: len(data) // 2], "application/pdf")
    assert result.status == "failed"
    assert result.problems and "damaged PDF" in result.problems[0]


def test_garbage_claiming_to_be_pdf_fails_softly():
    result = extract_text(b"this is not a PDF at all", "application/pdf")
    assert result.status == "failed"


def test_encrypted_pdf_fails_with_reason():
    result = extract_text(encrypted_pdf("geheim"), "application/pdf")
    assert result.status == "failed"
    assert "password" in result.problems[0]
    assert "Müller" not in result.text


def test_pdf_with_owner_password_only_is_read():
    result = extract_text(encrypted_pdf(""), "application/pdf")
    assert result.status == "ok"
    assert "Müller" in result.text


def test_pdf_page_limit():
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(bescheid_pdf())))
    writer.append(pypdf.PdfReader(io.BytesIO(make_pdf("Zweiter Teil", ["Anlage Lageplan"]))))
    out = io.BytesIO()
    writer.write(out)
    result = extract_text(out.getvalue(), "application/pdf",
                          limits=ExtractLimits(max_pdf_pages=1))
    assert result.status == "ok"
    assert "Müller" in result.text
    assert "Lageplan" not in result.text
    assert "only the first 1 of 2 pages were read" in result.problems


# --------------------------------------------------------------------------- plain text


def test_cp1252_text_with_umlauts():
    data = "Müller Straße".encode("cp1252")
    result = extract_text(data, "text/plain")
    assert result.status == "ok"
    assert result.text == "Müller Straße"
    assert result.charset == "cp1252"


@pytest.mark.parametrize(
    ("data", "charset"),
    [
        ("Gebühr für Änderung – „Bescheid“ 5 €".encode("cp1252"), "cp1252"),
        ("Gebühr für Änderung".encode(), "utf-8"),
        ("\ufeffGebühr für Änderung".encode(), "utf-8"),
        ("Gebühr für Änderung".encode("utf-16"), "utf-16-le"),
        ("Gebühr für Änderung".encode("utf-16-le"), "utf-16-le"),
        ("Gebühr für Änderung, Größe".encode("cp850"), "cp850"),
        ("Gebühr für Änderung, Größe".encode("mac_roman"), "mac-roman"),
    ],
)
def test_charset_detection(data, charset):
    text, found = decode_text(data)
    assert found == charset
    assert text.lstrip("\ufeff").startswith("Gebühr für Änderung")


def test_declared_charset_is_used():
    data = "Grüße".encode("iso8859-15")
    result = extract_text(data, "text/plain; charset=ISO-8859-15")
    assert result.text == "Grüße"
    assert result.charset == "iso8859-15"


def test_text_limit_cuts_off_and_says_so():
    data = ("Antrag " * 1000).encode()
    result = extract_text(data, "text/plain", limits=ExtractLimits(max_text_chars=100))
    assert result.status == "ok"
    assert len(result.text) <= 100
    assert "text cut off at 100 characters" in result.problems


def test_stream_input_and_stream_over_limit():
    assert extract_text(io.BytesIO(b"Vermerk"), "text/plain").text == "Vermerk"
    limits = ExtractLimits(max_input_bytes=10)
    result = extract_text(io.BytesIO(b"x" * 11), "text/plain", limits=limits)
    assert result.status == "failed"
    assert result.problems[0].startswith("unsafe: ")
    with pytest.raises(UnsafeContent):
        extract_text(io.BytesIO(b"x" * 11), "text/plain", limits=limits, strict=True)


def test_non_bytes_is_a_type_error():
    with pytest.raises(TypeError):
        extract_text("text", "text/plain")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- HTML, XML


def test_html_drops_script_and_style():
    html = (
        b"<html><head><title>Bescheid</title><style>p {color: red}</style>"
        b"<script>var geheim = 'Passwort';</script></head>"
        b"<body><h1>Bauantrag</h1><p>Herr M&uuml;ller, Stra&szlig;e&nbsp;4</p>"
        b"<noscript>Bitte JavaScript</noscript><p>Zweiter<br>Absatz</p></body></html>"
    )
    result = extract_text(html, "text/html")
    assert result.status == "ok"
    assert "Herr Müller, Straße" in result.text
    assert "Bauantrag" in result.text and "Bescheid" in result.text
    assert "geheim" not in result.text and "color" not in result.text
    assert "JavaScript" not in result.text
    assert "Zweiter\nAbsatz" in result.text


def test_html_meta_charset():
    html = '<meta charset="windows-1252"><p>Größe</p>'.encode("cp1252")
    result = extract_text(html, "text/html")
    assert result.text == "Größe"
    assert result.charset == "cp1252"


def test_xml_text_content():
    xml = ("<?xml version='1.0' encoding='UTF-8'?><akte><titel>Bauantrag Müller</titel>"
           "<az>630.10-0042/2026</az></akte>").encode()
    result = extract_text(xml, "application/xml")
    assert result.status == "ok"
    assert result.text.split("\n") == ["Bauantrag Müller", "630.10-0042/2026"]


def test_xml_declared_latin1():
    xml = "<?xml version='1.0' encoding='ISO-8859-1'?><a>Größe</a>".encode("latin-1")
    result = extract_text(xml, "text/xml")
    assert result.text == "Größe"


XXE = (b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>"
       b"<a>&xxe;</a>")
BILLION_LAUGHS = (
    b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
    + b"".join(
        b"<!ENTITY lol%d '%s'>" % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]><lolz>&lol9;</lolz>"
)


@pytest.mark.parametrize("xml", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_xml_with_entities_is_refused_not_expanded(xml):
    result = extract_text(xml, "application/xml")
    assert result.status == "failed"
    assert result.problems[0].startswith("unsafe: XML document type declaration")
    assert result.text == ""
    with pytest.raises(UnsafeContent):
        extract_text(xml, "application/xml", strict=True)


def test_malformed_xml_is_failed_not_unsafe():
    result = extract_text(b"<a><b></a>", "application/xml")
    assert result.status == "failed"
    assert result.problems[0].startswith("malformed XML")
    assert extract_text(b"<a><b></a>", "application/xml", strict=True).status == "failed"


def test_xml_nesting_limit():
    xml = b"<a>" * 50 + b"x" + b"</a>" * 50
    result = extract_text(xml, "application/xml", limits=ExtractLimits(max_xml_depth=20))
    assert result.status == "failed"
    assert "nested deeper" in result.problems[0]


# --------------------------------------------------------------------------- DOCX, ODT


def test_docx_body_headers_tabs_and_no_deleted_text():
    document = (
        f"<?xml version='1.0' encoding='UTF-8'?><w:document xmlns:w='{W}'><w:body>"
        "<w:p><w:r><w:t>Bauantrag</w:t></w:r><w:r><w:tab/><w:t>Müller</w:t></w:r></w:p>"
        "<w:p><w:del><w:r><w:delText>gestrichen</w:delText></w:r></w:del>"
        "<w:r><w:instrText>PAGE</w:instrText></w:r><w:r><w:t>Straße</w:t></w:r></w:p>"
        "</w:body></w:document>"
    )
    header = (f"<?xml version='1.0'?><w:hdr xmlns:w='{W}'><w:p><w:r>"
              "<w:t>Az. 630.10-0042/2026</w:t></w:r></w:p></w:hdr>")
    result = extract_text(make_docx(document, extra={"word/header1.xml": header}), DOCX)
    assert result.status == "ok"
    assert result.text.split("\n") == ["Bauantrag\tMüller", "Straße", "Az. 630.10-0042/2026"]
    assert result.charset == "utf-8"


def test_docx_resolved_from_generic_mime():
    data = make_docx(docx_xml("Gewerbeanmeldung"))
    by_name = extract_text(data, "application/octet-stream", filename="anmeldung.docx")
    by_content = extract_text(data, "application/zip")
    assert by_name.text == by_content.text == "Gewerbeanmeldung"


def test_odt_text_spaces_and_header():
    body = ("<text:h>Bescheid</text:h><text:p>Gebühr<text:s text:c='3'/>250<text:tab/>€"
            "</text:p><text:tracked-changes><text:changed-region><text:deletion>"
            "<text:p>alt</text:p></text:deletion></text:changed-region></text:tracked-changes>"
            "<text:p>Ende<text:line-break/>Zeile</text:p>")
    styles = (f"<?xml version='1.0'?><office:document-styles {ODT_NS}><office:master-styles>"
              "<style:master-page><style:header><text:p>Landkreis Lindenau</text:p>"
              "</style:header></style:master-page></office:master-styles>"
              "</office:document-styles>")
    result = extract_text(make_odt(odt_content(body), styles=styles), ODT)
    assert result.status == "ok"
    assert result.text.split("\n") == [
        "Bescheid", "Gebühr   250\t€", "Ende", "Zeile", "Landkreis Lindenau"]
    assert extract_text(make_odt(odt_content(body)), "application/zip").status == "ok"


def test_zip_bomb_docx_is_caught_without_inflating_it():
    bomb = zip_bomb_docx(64 * MiB)
    assert len(bomb) < MiB  # ~1000:1
    tracemalloc.start()
    try:
        result = extract_text(bomb, DOCX)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "failed"
    assert result.problems[0].startswith("unsafe: zip bomb")
    assert peak < 4 * MiB  # the 64 MiB member was never inflated
    with pytest.raises(UnsafeContent, match="zip bomb"):
        extract_text(bomb, DOCX, strict=True)


def test_member_over_size_limit_is_refused():
    data = make_docx(docx_xml("Wort " * 2000))
    limits = ExtractLimits(max_member_bytes=1000, ratio_floor_bytes=100)
    result = extract_text(data, DOCX, limits=limits)
    assert result.status == "failed"
    assert "unsafe" in result.problems[0]


def test_archive_total_and_member_count_limits():
    data = make_docx(docx_xml("x"), extra={f"word/media/{i}.xml": "<a/>" for i in range(20)})
    too_many = extract_text(data, DOCX, limits=ExtractLimits(max_archive_members=10))
    assert too_many.problems[0].startswith("unsafe: zip bomb: 22 archive members")
    too_big = extract_text(data, DOCX, limits=ExtractLimits(max_archive_bytes=100))
    assert too_big.problems[0].startswith("unsafe: zip bomb: archive declares")


@pytest.mark.parametrize("name", ["../evil.xml", "/etc/cron.d/evil", "word/../../evil",
                                  "C:\\evil.xml", "..\\evil.xml"])
def test_path_traversal_member_is_unsafe(name):
    data = make_docx(docx_xml("x"), extra={name: "<a/>"})
    result = extract_text(data, DOCX)
    assert result.status == "failed"
    assert result.problems[0].startswith("unsafe: unsafe archive member")
    with pytest.raises(UnsafeContent):
        extract_text(data, DOCX, strict=True)


def test_unsafe_member_name():
    assert unsafe_member_name("word/document.xml") is None
    assert unsafe_member_name("a/../../b") == "path traversal ('..')"
    assert unsafe_member_name("a\x00b") == "NUL byte in name"


def test_docx_with_dtd_is_unsafe():
    document = ("<?xml version='1.0'?><!DOCTYPE d [<!ENTITY e 'boom'>]>"
                f"<w:document xmlns:w='{W}'><w:body/></w:document>")
    result = extract_text(make_docx(document), DOCX)
    assert result.status == "failed"
    assert result.problems[0].startswith("unsafe: XML document type declaration")


@pytest.mark.parametrize("data", [b"PK\x03\x04 broken", make_docx(docx_xml("x"))[:-30]])
def test_damaged_docx_fails_softly(data):
    result = extract_text(data, DOCX)
    assert result.status == "failed"
    assert result.problems[0].startswith("damaged document")


def test_docx_without_document_part_fails():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("hello.txt", "hi")
    result = extract_text(out.getvalue(), DOCX)
    assert result.status == "failed"
    assert "word/document.xml is missing" in result.problems[0]


# --------------------------------------------------------------------------- e-mail


def make_message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Jürgen Müller <mueller@example.org>"
    message["To"] = "Bauamt <bauamt@kreis-lindenau.example>"
    message["Subject"] = "Bauantrag Lindenstraße 4"
    message["Date"] = "Mon, 02 Feb 2026 10:00:00 +0100"
    message.set_content("Sehr geehrte Damen und Herren,\nanbei mein Bauantrag.\n")
    message.add_alternative("<p>HTML-Fassung <b>nicht</b> doppelt</p>", subtype="html")
    return message


def test_eml_with_pdf_and_docx_attachments():
    message = make_message()
    message.add_attachment(bescheid_pdf(), maintype="application", subtype="pdf",
                           filename="Bescheid.pdf")
    docx = make_docx(docx_xml("Lageplan Flurstück 12"))
    message.add_attachment(docx, maintype="application", subtype="octet-stream",
                           filename="Lageplan.docx")
    result = extract_text(message.as_bytes(), "message/rfc822", filename="antrag.eml")
    assert result.status == "ok"
    lines = result.text.split("\n")
    assert lines[:4] == [
        "From: Jürgen Müller <mueller@example.org>",
        "To: Bauamt <bauamt@kreis-lindenau.example>",
        "Date: Mon, 02 Feb 2026 10:00:00 +0100",
        "Subject: Bauantrag Lindenstraße 4",
    ]
    assert "anbei mein Bauantrag." in result.text
    assert "HTML-Fassung" not in result.text  # plain text preferred, HTML twin skipped
    assert "Attachments: Bescheid.pdf, Lageplan.docx" in result.text
    assert [(p.filename, p.mime, p.status) for p in result.parts] == [
        ("Bescheid.pdf", "application/pdf", "ok"),
        ("Lageplan.docx", DOCX, "ok"),
    ]
    assert "Müller" in result.parts[0].text
    assert result.parts[1].text == "Lageplan Flurstück 12"
    assert "Lageplan Flurstück 12" in result.full_text


def test_eml_html_only_body_is_converted():
    message = EmailMessage()
    message["From"] = "a@example.org"
    message["Subject"] = "Nur HTML"
    message.set_content("<html><style>x{}</style><p>Sehr geehrte Frau Schröder</p></html>",
                        subtype="html")
    result = extract_text(message.as_bytes(), "message/rfc822")
    assert result.status == "ok"
    assert result.text.endswith("Sehr geehrte Frau Schröder")
    assert "x{}" not in result.text


def test_eml_nested_message_and_bad_attachment():
    inner = make_message()
    inner.add_attachment(minimal_pdf(), maintype="application", subtype="pdf",
                         filename="Scan.pdf")
    outer = EmailMessage()
    outer["From"] = "poststelle@kreis-lindenau.example"
    outer["Subject"] = "WG: Bauantrag"
    outer.set_content("Zur Kenntnis.")
    outer.add_attachment(inner, filename="Antrag.eml")
    outer.add_attachment(b"%PDF-1.4 kaputt", maintype="application", subtype="pdf",
                         filename="kaputt.pdf")
    result = extract_text(outer.as_bytes(), "message/rfc822")
    assert result.status == "ok"
    names = [(p.filename, p.status) for p in result.parts]
    assert names == [
        ("Antrag.eml", "ok"),
        ("Antrag.eml/Scan.pdf", "needs_ocr"),
        ("kaputt.pdf", "failed"),
    ]
    assert "anbei mein Bauantrag" in result.parts[0].text


def test_eml_nesting_limit():
    message = make_message()
    for level in range(3):
        wrapper = EmailMessage()
        wrapper["Subject"] = f"Ebene {level}"
        wrapper.set_content("weiter")
        wrapper.add_attachment(message, filename=f"ebene{level}.eml")
        message = wrapper
    result = extract_text(message.as_bytes(), "message/rfc822",
                          limits=ExtractLimits(max_nesting=2))
    assert [p.status for p in result.parts] == ["ok", "ok", "failed"]
    assert "nested deeper" in result.parts[-1].problems[0]


def test_eml_unsafe_attachment_raises_in_strict_mode():
    message = make_message()
    message.add_attachment(XXE, maintype="application", subtype="xml", filename="x.xml")
    data = message.as_bytes()
    result = extract_text(data, "message/rfc822")
    assert result.status == "ok"
    assert result.parts[0].status == "failed"
    with pytest.raises(UnsafeContent):
        extract_text(data, "message/rfc822", strict=True)


def test_not_an_email():
    assert extract_text(b"\x00\x01\x02", "message/rfc822").status == "failed"


# --------------------------------------------------------------------------- dispatch


def test_unsupported_type():
    result = extract_text(b"\x89PNG\r\n\x1a\n", "image/png")
    assert result.status == "unsupported"
    assert result.problems == ["no text extraction for image/png"]
    assert not supported_mime("image/png")
    assert supported_mime("text/plain; charset=utf-8")
    assert supported_mime(DOCX)


def test_generic_mime_sniffs_pdf():
    result = extract_text(bescheid_pdf(), "application/octet-stream")
    assert result.status == "ok"
    assert "Müller" in result.text


def test_mutated_files_never_raise(caplog):
    caplog.set_level(logging.CRITICAL)  # pypdf logs its repairs
    message = make_message()
    message.add_attachment(make_docx(docx_xml("Anlage")), maintype="application",
                           subtype="octet-stream", filename="a.docx")
    seeds = [
        (bescheid_pdf(), "application/pdf"),
        (make_docx(docx_xml("Hallo Welt", "Zwei")), DOCX),
        (make_odt(odt_content("<text:p>Hallo</text:p>")), ODT),
        (message.as_bytes(), "message/rfc822"),
        (b"<html><body><p>Hallo &amp; Tsch\xfc\xdf</p></body></html>", "text/html"),
        (b"<?xml version='1.0'?><a><b>x</b></a>", "application/xml"),
    ]
    rng = random.Random(2026)
    for round_ in range(600):
        data, mime = seeds[round_ % len(seeds)]
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(max(len(mutated), 1))
            action = rng.random()
            if action < 0.5 and mutated:
                mutated[pos] = rng.randrange(256)
            elif action < 0.75:
                del mutated[pos:pos + rng.randint(1, 50)]
            else:
                mutated[pos:pos] = rng.randbytes(rng.randint(1, 20))
        result = extract_text(bytes(mutated), mime)
        assert result.status in {"ok", "needs_ocr", "failed"}
        assert not any(p.startswith("damaged file:") for p in result.problems), result.problems
