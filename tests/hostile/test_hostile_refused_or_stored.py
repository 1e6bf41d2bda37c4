"""Which hostile or damaged files filing refuses, and which it stores with a failed extraction.

The README ("What filing refuses and what it records") promises two classes: content whose
processing could hurt the system (zip bombs, hostile member names, XML entities or external
DTDs, disguised executables) is refused with exit code 6 and nothing is written; damaged
content that is harmless to keep (corrupt or encrypted PDFs, unreadable containers, XML the
extractor will not read) is stored byte for byte and its text extraction records why not.
"""

from __future__ import annotations

import email.message
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile_files import (
    CONTENT_TYPES,
    PE,
    W,
    bomb_zip,
    broken_pdfs,
    docx_text,
    hostile_xml,
    zip_with_member,
)
from sqlalchemy import select

import eakte
from eakte.cli import cli
from eakte.ingest.extract import extract_text
from eakte.model import TextExtraction, Version


def many_members(count: int) -> bytes:
    """A small DOCX whose central directory lists ``count`` (empty) parts besides its own."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("word/document.xml", f"<w:document xmlns:w='{W}'><w:body/></w:document>")
        for i in range(count):
            zf.writestr(f"word/media/{i}.bin", b"")
    return out.getvalue()


def mail_with(attachment: bytes, filename: str) -> bytes:
    mail = email.message.EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = "Unterlagen", "a@example.org", "b@example.org"
    mail.set_content("Anbei die Unterlagen.")
    mail.add_attachment(attachment, maintype="application", subtype="octet-stream",
                        filename=filename)
    return mail.as_bytes()


#: name → (content, file name, words of the refusal)
REFUSED: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "docx-over-10000-members": (lambda: many_members(10_000), "anlage.docx",
                                "archive members exceed the limit of 10000"),
    "docx-zip-bomb": (lambda: bomb_zip("docx"), "anlage.docx", "zip bomb"),
    "odt-zip-bomb": (lambda: bomb_zip("odt"), "anlage.odt", "zip bomb"),
    "docx-traversal-member": (lambda: zip_with_member("docx", "../../boese.xml"),
                              "bescheid.docx", "path traversal"),
    "xml-entities": (lambda: hostile_xml("billion-laughs"), "daten.xml", "XML entities"),
    "xml-external-dtd": (lambda: hostile_xml("external-dtd"), "daten.xml", "external DTD"),
    "executable-named-pdf": (lambda: PE, "rechnung.pdf", "an executable program"),
}
DEEP_XML = b"<?xml version='1.0'?>" + b"<a>" * 600 + b"</a>" * 600
#: name → (content, file name, extraction status, start of its first problem)
STORED: dict[str, tuple[Callable[[], bytes], str, str, str]] = {
    "pdf-truncated": (lambda: broken_pdfs()["truncated"], "bescheid.pdf", "failed",
                      "damaged PDF"),
    "pdf-encrypted": (lambda: broken_pdfs()["encrypted"], "bescheid.pdf", "failed",
                      "encrypted PDF"),
    "docx-not-a-readable-zip": (lambda: docx_text("Bescheid")[:-30], "bescheid.docx",
                                "failed", "damaged document"),
    "xml-internal-dtd": (lambda: b"<?xml version='1.0'?><!DOCTYPE d [<!ELEMENT d ANY>]>"
                         b"<d>Text</d>", "daten.xml", "failed",
                         "unsafe: XML document type declaration"),
    "xml-nested-too-deep": (lambda: DEEP_XML, "daten.xml", "failed",
                            "unsafe: XML nested deeper than 512"),
}


@pytest.fixture
def cli_store(tmp_path: Path) -> tuple[CliRunner, Path, str]:
    runner = CliRunner(env={"EAKTE_STORE": None, "EAKTE_USER": None, "COLUMNS": "200"})
    store = tmp_path / "store"
    for args in (["init"], ["plan", "add", "630", "Bauaufsicht"]):
        assert runner.invoke(cli, ["--store", str(store), *args]).exit_code == 0
    created = runner.invoke(cli, ["--store", str(store), "akte", "create", "630", "Neubau",
                                  "--json"])
    return runner, store, json.loads(created.stdout)["aktenzeichen"]


def _add(cli_store: tuple[CliRunner, Path, str], tmp_path: Path, data: bytes, name: str
         ) -> tuple[int, str]:
    runner, store, az = cli_store
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    result = runner.invoke(cli, ["--store", str(store), "add", az, str(path)])
    return result.exit_code, result.stderr


def _filed(store: Path) -> list[tuple[bytes, str, list[str]]]:
    with eakte.open(store) as opened:
        with opened.session() as s:
            docs = [d for a in s.list_akten() for d in s.documents(a)]
            contents = {d.id: s.read_content(d) for d in docs}
        with opened.orm_session() as orm:
            rows = orm.execute(
                select(Version.document_id, TextExtraction.status, TextExtraction.problems)
                .join(TextExtraction, TextExtraction.version_id == Version.id)).all()
    return [(contents[doc_id], status, list(problems)) for doc_id, status, problems in rows]


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_content_is_refused_with_exit_6_and_nothing_is_filed(
        case: str, cli_store: tuple[CliRunner, Path, str], tmp_path: Path) -> None:
    make, name, words = REFUSED[case]
    code, stderr = _add(cli_store, tmp_path, make(), name)
    assert code == 6, stderr
    assert name in stderr and words in " ".join(stderr.split())
    assert _filed(cli_store[1]) == []


@pytest.mark.parametrize("case", sorted(STORED))
def test_damaged_content_is_stored_byte_for_byte_with_a_failed_extraction(
        case: str, cli_store: tuple[CliRunner, Path, str], tmp_path: Path) -> None:
    make, name, status, problem = STORED[case]
    data = make()
    code, stderr = _add(cli_store, tmp_path, data, name)
    assert code == 0, stderr
    ((content, found, problems),) = _filed(cli_store[1])
    assert content == data
    assert found == status and problems[0].startswith(problem), problems


def test_a_mail_is_stored_while_its_zip_bomb_attachment_fails_extraction(
        cli_store: tuple[CliRunner, Path, str], tmp_path: Path) -> None:
    data = mail_with(bomb_zip("docx"), "anlage.docx")
    code, stderr = _add(cli_store, tmp_path, data, "post.eml")
    assert code == 0, stderr
    ((content, status, _),) = _filed(cli_store[1])
    assert content == data and status == "ok"
    (part,) = extract_text(data, "message/rfc822", filename="post.eml").parts
    assert part.status == "failed" and part.problems[0].startswith("unsafe: zip bomb")
