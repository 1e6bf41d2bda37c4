"""Fuzzing the ingest path: mutated PDF, DOCX, ODT, HTML, e-mail and zip seeds, random bytes
and random file names.

Filing either succeeds (the bytes read back identical; indexing them raises nothing) or
fails with an ``EakteError`` and leaves the store exactly as it was: no other exception,
never a half-filed document. The store verifies clean at the end.
"""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

from hostile_files import docx_text, good_pdf, odt_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_state import StoreState

import eakte
from eakte.errors import EakteError
from eakte.search.memory import MemorySearchBackend


def _eml() -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"] = "buerger@example.org", "bauamt@example.org"
    mail["Subject"] = "Nachreichung Unterlagen"
    mail.set_content("Sehr geehrte Damen und Herren,\nanbei die Unterlagen.")
    mail.add_attachment(docx_text("Lageplan"), maintype="application",
                        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                        filename="lageplan.docx")
    return mail.as_bytes()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("liesmich.txt", "Unterlagen zum Bauantrag " * 20)
        zf.writestr("plan.xml", "<plan><flur>12</flur></plan>")
    return out.getvalue()


SEEDS: dict[str, bytes] = {
    "pdf": good_pdf(),
    "docx": docx_text("Bescheid über die Baugenehmigung", "Gebühr: 250 €"),
    "odt": odt_text("Stellungnahme des Straßenbauamts"),
    "html": "<html><head><meta charset='utf-8'><title>Antrag</title></head><body><p>Grüße "
            "aus Köln</p><script>alert(1)</script></body></html>".encode(),
    "eml": _eml(),
    "zip": _zip(),
    "txt": "Aktenvermerk: Ortstermin am 3. März, Müller anwesend.\n".encode(),
    "xml": b"<?xml version='1.0'?><antrag><name>M\xc3\xbcller</name></antrag>",
}
EXTENSIONS = ["pdf", "docx", "odt", "html", "eml", "zip", "txt", "xml", "csv", "msg", "jpg",
              "exe", "", "PDF", "tar.gz"]


@st.composite
def contents(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from([*SEEDS, "random"]))
    if kind == "random":
        return kind, draw(st.binary(min_size=0, max_size=2048))
    data = bytearray(SEEDS[kind])
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "splice"]))
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos:pos + draw(st.integers(1, 512))]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        else:  # a piece of another seed: mixed-up formats
            other = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
            start = draw(st.integers(0, len(other) - 1))
            data[pos:pos] = other[start:start + draw(st.integers(1, 256))]
    return kind, bytes(data)


names = st.one_of(
    st.builds(lambda stem, ext: f"{stem}.{ext}" if ext else stem,
              st.text(min_size=0, max_size=40), st.sampled_from(EXTENSIONS)),
    st.text(min_size=0, max_size=300),
    st.sampled_from(["../../etc/passwd", "CON", "NUL.txt", "...", "a\x00b.pdf", "\ud800.txt",
                     "bericht.pdf\u202etxt.exe", "x" * 400 + ".docx"]),
)


def test_filing_fuzzed_files_succeeds_completely_or_changes_nothing(tmp_path: Path) -> None:
    store = eakte.init(tmp_path / "fuzz", search=MemorySearchBackend())
    with store.session() as s:
        s.add_plan_unit("1", "Allgemeines")
        akte = s.create_akte("1", "Eingänge")
        first = s.file_document(akte, b"erste Fassung", filename="vermerk.txt")
    outcomes: dict[str, int] = {"filed": 0, "refused": 0}

    @settings(max_examples=80, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(content=contents(), filename=names, as_version=st.booleans(),
           title=st.one_of(st.none(), st.text(max_size=30)))
    def file_one(content: tuple[str, bytes], filename: str, as_version: bool,
                 title: str | None) -> None:
        _, data = content
        before = StoreState.of(store)
        try:
            with store.session() as s:
                if as_version:
                    doc = s.get_document(first.id)
                    number = s.add_version(doc, data, filename=filename).number
                else:
                    doc = s.file_document(s.get_akte(akte.id), data, filename=filename,
                                          title=title)
                    number = 1
        except EakteError:
            outcomes["refused"] += 1
            after = StoreState.of(store)
            assert after == before, "a refused filing left something behind"
            return
        outcomes["filed"] += 1
        assert store.last_index_error is None
        with store.session() as s:
            assert s.read_content(s.get_document(doc.id), version=number) == data

    file_one()
    report = store.verify()
    assert report.ok, report.problems
    assert not report.notices, report.notices  # not even an orphan blob
    assert outcomes["filed"] > 0 and outcomes["refused"] > 0, outcomes
    store.close()
