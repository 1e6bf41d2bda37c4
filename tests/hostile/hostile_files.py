"""Small hostile files built in memory: zip bombs, XML bombs, broken PDFs, executables."""

from __future__ import annotations

import io
import stat
import zipfile

import pypdf

from eakte.demo.corpus import make_pdf

MiB = 1024 * 1024
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ODT_MIME = "application/vnd.oasis.opendocument.text"
CONTENT_TYPES = ("<?xml version='1.0'?><Types xmlns='http://schemas.openxmlformats.org/"
                 "package/2006/content-types'/>")

#: A Windows executable's header (libmagic: application/x-dosexec).
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
#: A Linux executable's header (libmagic: application/x-executable).
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 100

XXE_ENTITY = b"<!DOCTYPE d [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>"
LAUGHS_ENTITY = (b"<!DOCTYPE d [<!ENTITY lol 'lol'>"
                 + b"".join(b"<!ENTITY lol%d '%s'>" % (i, (b"&lol%d;" % (i - 1) if i > 1
                                                              else b"&lol;") * 10)
                            for i in range(1, 10))
                 + b"]>")
PARAMETER_ENTITY = b"<!DOCTYPE d [<!ENTITY % p SYSTEM 'http://example.invalid/x.dtd'> %p;]>"
#: name → DOCTYPE prologue inserted before the root element, and the reference in the body
XML_ATTACKS = {
    "xxe": (XXE_ENTITY, "&xxe;"),
    "billion-laughs": (LAUGHS_ENTITY, "&lol9;"),
    "parameter-entity": (PARAMETER_ENTITY, ""),
    "external-dtd": (b"<!DOCTYPE d SYSTEM 'file:///etc/passwd'>", ""),
}


def hostile_xml(attack: str, root: str = "d", namespaces: str = "", body: str = "Text") -> bytes:
    doctype, ref = XML_ATTACKS[attack]
    doctype = doctype.replace(b"DOCTYPE d", b"DOCTYPE " + root.encode())
    return (b"<?xml version='1.0' encoding='UTF-8'?>" + doctype
            + f"<{root}{namespaces}>{body}{ref}</{root}>".encode())


def docx(document_xml: bytes | str, *, extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("word/document.xml", document_xml)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out.getvalue()


def docx_text(*paragraphs: str) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    return docx(f"<?xml version='1.0'?><w:document xmlns:w='{W}'><w:body>{body}</w:body>"
                "</w:document>")


def odt(content_xml: bytes | str, *, extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), ODT_MIME)
        zf.writestr("content.xml", content_xml)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out.getvalue()


ODT_NS = (" xmlns:office='urn:oasis:names:tc:opendocument:xmlns:office:1.0'"
          " xmlns:text='urn:oasis:names:tc:opendocument:xmlns:text:1.0'")


def odt_text(text: str) -> bytes:
    return odt(f"<?xml version='1.0'?><office:document-content{ODT_NS}><office:body>"
               f"<office:text><text:p>{text}</text:p></office:text></office:body>"
               "</office:document-content>")


def _bomb_member(zf: zipfile.ZipFile, name: str, size: int, head: bytes = b"",
                 tail: bytes = b"") -> None:
    """Write a member that inflates to ``size`` bytes of spaces, chunk by chunk."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=True) as member:
        member.write(head)
        chunk = b" " * MiB
        left = size - len(head) - len(tail)
        while left > 0:
            member.write(chunk[:left])
            left -= MiB
        member.write(tail)


def bomb_zip(kind: str, size: int = 64 * MiB) -> bytes:
    """A DOCX, ODT or plain zip whose main member inflates ``size`` bytes at ~1000x."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        if kind == "docx":
            zf.writestr("[Content_Types].xml", CONTENT_TYPES)
            _bomb_member(zf, "word/document.xml", size,
                         f"<w:document xmlns:w='{W}'><w:body><w:p><w:r><w:t>".encode(),
                         b"</w:t></w:r></w:p></w:body></w:document>")
        elif kind == "odt":
            zf.writestr(zipfile.ZipInfo("mimetype"), ODT_MIME)
            _bomb_member(zf, "content.xml", size,
                         f"<office:document-content{ODT_NS}><office:body><office:text>"
                         "<text:p>".encode(),
                         b"</text:p></office:text></office:body></office:document-content>")
        else:
            _bomb_member(zf, "daten.bin", size)
    return out.getvalue()


def declared_huge_zip(kind: str) -> bytes:
    """A small container whose central directory declares ~4 GiB for its main member.

    The absolute limits (declared total, one member's size) must refuse it without
    inflating anything.
    """
    name = {"docx": "word/document.xml", "odt": "content.xml"}.get(kind, "daten.bin")
    data = bytearray(bomb_zip(kind, size=MiB))
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0:  # central directory headers
        length = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + length] == name.encode():
            data[pos + 24:pos + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # uncompressed
            break
        pos += 4
    else:
        raise AssertionError(f"{name} not in the central directory")
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        assert zf.getinfo(name).file_size == 0xFFFFFFF0
    return bytes(data)


def zip_with_member(kind: str, name: str, *, symlink: bool = False) -> bytes:
    """A DOCX/ODT/plain zip with one extra member called ``name`` (traversal, absolute…)."""
    extra = zipfile.ZipInfo(name)
    if symlink:
        extra.external_attr = (stat.S_IFLNK | 0o777) << 16
    base = {"docx": docx_text("Bescheid"), "odt": odt_text("Bescheid")}.get(kind)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        if base is not None:
            with zipfile.ZipFile(io.BytesIO(base)) as src:
                for info in src.infolist():
                    zf.writestr(info, src.read(info))
        else:
            zf.writestr("liesmich.txt", "Inhalt")
        zf.writestr(extra, b"/etc/passwd" if symlink else b"boese")
    return out.getvalue()


def good_pdf() -> bytes:
    return make_pdf("Bescheid", ["Ihr Antrag vom 3. März wird genehmigt."])


def encrypted_pdf() -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(good_pdf())))
    writer.encrypt(user_password="geheim", owner_password="amt", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def broken_pdfs() -> dict[str, bytes]:
    pdf = good_pdf()
    return {
        "truncated": pdf[: len(pdf) // 2],
        "header-only": b"%PDF-1.7\n",
        "garbage-body": b"%PDF-1.4\n" + bytes(range(256)) * 20,
        "no-xref": pdf.replace(b"xref", b"xxxx").replace(b"startxref", b"startxxxx"),
        "encrypted": encrypted_pdf(),
    }
