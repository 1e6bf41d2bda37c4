from __future__ import annotations

import io
import random
import time
from datetime import datetime, timedelta, timezone
from email import policy
from email.parser import BytesParser

import magic
import pypdf

from eakte.demo.corpus import (
    KREISVERWALTUNG_PLAN,
    SampleDocument,
    german_paragraphs,
    make_eml,
    make_pdf,
    make_text,
    sample_akten,
    sample_files,
)


def _pdf_text(pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf), strict=True)
    return [page.extract_text() for page in reader.pages]


def _all_documents(akten: list) -> list[SampleDocument]:
    return [d for a in akten for v in a.vorgaenge for d in v.documents]


# --- PDF -------------------------------------------------------------------


def test_pdf_text_extractable_with_umlauts() -> None:
    pdf = make_pdf(
        "Baugenehmigung für das Flurstück 112/4",
        ["Sehr geehrte Frau Weiß, die Prüfung der Unterlagen für die Straße Am Mühlbach "
         "ergab Gebühren von 1.234,50 € (netto) \\ Änderungen möglich. ÄÖÜ äöü ß „Zitat“"],
    )
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.rstrip().endswith(b"%%EOF")
    text = _pdf_text(pdf)[0]
    for word in ("Baugenehmigung", "für", "Weiß", "Prüfung", "Straße", "Mühlbach",
                 "1.234,50 €", "(netto)", "\\", "ÄÖÜ äöü ß", "„Zitat“"):
        assert word in text, word
    assert pypdf.PdfReader(io.BytesIO(pdf)).metadata.title == (
        "Baugenehmigung für das Flurstück 112/4"
    )


def test_pdf_is_detected_by_libmagic() -> None:
    pdf = make_pdf("Vermerk", ["Kurzer Text."])
    assert magic.from_buffer(pdf, mime=True) == "application/pdf"


def test_pdf_multi_page_and_wrapping() -> None:
    paragraphs = [f"Absatz {i}: Die Überprüfung der Bauvorlagen im Baugenehmigungsverfahren "
                  f"ergab keine Beanstandungen hinsichtlich der Abstandsflächen. " * 3
                  for i in range(60)]
    pdf = make_pdf("Prüfbericht", paragraphs)
    pages = _pdf_text(pdf)
    assert len(pages) >= 3
    joined = "\n".join(pages)
    assert "Absatz 0:" in pages[0]
    assert "Absatz 59:" in pages[-1]
    for i in range(60):
        assert f"Absatz {i}:" in joined
    assert "Überprüfung" in pages[-1]
    # wrapped at about 90 characters
    assert max(len(line) for page in pages for line in page.splitlines()) <= 100


def test_pdf_is_deterministic_and_xref_correct() -> None:
    pdf = make_pdf("Vermerk", german_paragraphs(random.Random(3), 30))
    assert pdf == make_pdf("Vermerk", german_paragraphs(random.Random(3), 30))
    # every xref entry points at "<n> 0 obj"
    start = int(pdf[pdf.rindex(b"startxref") + 10:].split()[0])
    lines = pdf[start:].split(b"\n")
    assert lines[0] == b"xref"
    count = int(lines[1].split()[1])
    for number, entry in enumerate(lines[3:2 + count], start=1):
        offset = int(entry[:10])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)


def test_pdf_with_empty_body() -> None:
    assert "Leer" in _pdf_text(make_pdf("Leer", []))[0]


# --- text and e-mail --------------------------------------------------------


def test_make_text_is_utf8() -> None:
    data = make_text(["Aktennotiz", "Gespräch mit Herrn Schäfer über die Größe des Grundstücks."])
    text = data.decode("utf-8")
    assert "Schäfer" in text
    assert "Größe" in text
    assert text.endswith("\n")
    assert magic.from_buffer(data, mime=True) == "text/plain"


def test_eml_parses_back_with_message_id_and_attachment() -> None:
    pdf = make_pdf("Lageplan", ["Maßstab 1:500"])
    when = datetime(2026, 3, 2, 9, 15, tzinfo=timezone(timedelta(hours=1)))
    data = make_eml(
        sender="Jürgen Müller <juergen.mueller@example.org>",
        to="Bauordnungsamt <bauordnung@kreis-lindenau.example>",
        subject="Nachreichung Bauvorlagen – Flurstück 112/4",
        body="Sehr geehrte Damen und Herren,\n\nanbei der Lageplan.\n\nMit freundlichen Grüßen\n",
        date=when,
        attachments=[("Lageplan.pdf", "application/pdf", pdf),
                     ("Notiz.txt", "text/plain", "Grüße".encode())],
    )
    assert data == make_eml(
        sender="Jürgen Müller <juergen.mueller@example.org>",
        to="Bauordnungsamt <bauordnung@kreis-lindenau.example>",
        subject="Nachreichung Bauvorlagen – Flurstück 112/4",
        body="Sehr geehrte Damen und Herren,\n\nanbei der Lageplan.\n\nMit freundlichen Grüßen\n",
        date=when,
        attachments=[("Lageplan.pdf", "application/pdf", pdf),
                     ("Notiz.txt", "text/plain", "Grüße".encode())],
    )
    msg = BytesParser(policy=policy.default).parsebytes(data)
    assert msg["Message-ID"].startswith("<")
    assert msg["Message-ID"].endswith("@example.org>")
    assert msg["Subject"] == "Nachreichung Bauvorlagen – Flurstück 112/4"
    assert msg["From"].addresses[0].display_name == "Jürgen Müller"
    assert msg["Date"].datetime == when
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Grüßen" in body.get_content()
    attachments = list(msg.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["Lageplan.pdf", "Notiz.txt"]
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_content() == pdf
    assert attachments[1].get_content() == "Grüße"
    assert magic.from_buffer(data, mime=True) == "message/rfc822"


def test_eml_without_attachments() -> None:
    data = make_eml(sender="a@example.org", to="b@example.org", subject="Rückfrage",
                    body="Wie ist der Sachstand?", date=datetime(2026, 1, 5, 8, 0))
    msg = BytesParser(policy=policy.default).parsebytes(data)
    assert msg["Message-ID"]
    assert not msg.is_multipart()
    assert list(msg.iter_attachments()) == []
    assert magic.from_buffer(data, mime=True) == "message/rfc822"


def test_eml_forwarded_message_attachment() -> None:
    inner = make_eml(sender="a@example.org", to="b@example.org", subject="Ursprung",
                     body="Original", date=datetime(2026, 1, 5, 8, 0))
    data = make_eml(sender="b@example.org", to="c@example.org", subject="WG: Ursprung",
                    body="Zur Kenntnis.", date=datetime(2026, 1, 6, 8, 0),
                    attachments=[("original.eml", "message/rfc822", inner)])
    msg = BytesParser(policy=policy.default).parsebytes(data)
    (attachment,) = msg.iter_attachments()
    assert attachment.get_content_type() == "message/rfc822"
    assert attachment.get_content()["Subject"] == "Ursprung"


# --- prose --------------------------------------------------------------------


def test_german_paragraphs_are_german_and_deterministic() -> None:
    paragraphs = german_paragraphs(random.Random(5), 6)
    assert len(paragraphs) == 6
    assert paragraphs == german_paragraphs(random.Random(5), 6)
    text = " ".join(german_paragraphs(random.Random(s), 8)[1] for s in range(40))
    assert any(ch in text for ch in "äöüÄÖÜ")
    assert "ß" in text
    assert "lorem" not in text.lower()
    assert "{" not in text
    assert german_paragraphs(random.Random(1), 0) == []


# --- Aktenplan ------------------------------------------------------------------


def test_plan_is_hierarchical_and_sane() -> None:
    seen: set[str] = set()
    for unit in KREISVERWALTUNG_PLAN:
        assert unit.kennzeichen not in seen, unit
        assert unit.kennzeichen.replace(".", "").isdigit(), unit
        if unit.parent is not None:
            assert unit.parent in seen, f"{unit.kennzeichen}: parent must come first"
            assert unit.kennzeichen.startswith(unit.parent), unit
        assert unit.disposal in {"A", "V", "B"}
        assert unit.retention_years is None or unit.retention_years > 0
        seen.add(unit.kennzeichen)
    assert 20 <= len(KREISVERWALTUNG_PLAN) <= 30
    by_kz = {u.kennzeichen: u for u in KREISVERWALTUNG_PLAN}
    assert by_kz["630.10"].retention_years is None
    assert by_kz["630.10"].parent == "63"


# --- sample Akten ------------------------------------------------------------------


def test_sample_akten_deterministic() -> None:
    assert sample_akten(8, seed=11) == sample_akten(8, seed=11)
    assert sample_akten(8, seed=11) != sample_akten(8, seed=12)


def test_sample_akten_structure() -> None:
    akten = sample_akten(40)
    assert len(akten) == 40
    parents = {u.parent for u in KREISVERWALTUNG_PLAN}
    leaves = {u.kennzeichen for u in KREISVERWALTUNG_PLAN} - parents
    assert {a.kennzeichen for a in akten} == leaves  # 40 Akten cover every leaf
    for akte in akten:
        assert "{" not in akte.title
        assert 1 <= len(akte.vorgaenge) <= 3
        for vorgang in akte.vorgaenge:
            assert 1 <= len(vorgang.documents) <= 4
            names = [d.filename for d in vorgang.documents]
            assert len(set(names)) == len(names)
    docs = _all_documents(akten)
    assert {d.kind for d in docs} == {"incoming", "outgoing", "internal"}
    assert {d.mime for d in docs} == {"application/pdf", "text/plain", "message/rfc822"}
    titles = " ".join(a.title for a in akten)
    assert any(ch in titles for ch in "äöüß")


def test_sample_documents_mime_matches_libmagic() -> None:
    for doc in _all_documents(sample_akten(30, seed=4)):
        detected = magic.from_buffer(doc.data, mime=True)
        assert detected == doc.mime, (doc.filename, detected)
        extension = doc.filename.rsplit(".", 1)[1]
        assert {"pdf": "application/pdf", "txt": "text/plain", "eml": "message/rfc822"}[
            extension
        ] == doc.mime


def test_sample_documents_content() -> None:
    for doc in _all_documents(sample_akten(12)):
        if doc.mime == "application/pdf":
            text = "\n".join(_pdf_text(doc.data))
            assert doc.title.split()[0] in text
        elif doc.mime == "text/plain":
            text = doc.data.decode("utf-8")
            assert text.startswith(doc.title)
        else:
            msg = BytesParser(policy=policy.default).parsebytes(doc.data)
            assert msg["Message-ID"]
            assert msg["Subject"].startswith(doc.title)


# --- benchmark files -----------------------------------------------------------------


def test_sample_files_distinct_and_sized() -> None:
    files = list(sample_files(500, size=2048))
    assert len(files) == 500
    assert files[0][0] == "vermerk-00001.txt"
    assert len({name for name, _ in files}) == 500
    assert len({data for _, data in files}) == 500
    for _, data in files:
        assert 0.85 * 2048 <= len(data) <= 1.05 * 2048
        data.decode("utf-8")
    assert files == list(sample_files(500, size=2048))
    assert files != list(sample_files(500, seed=8, size=2048))


def test_sample_files_other_sizes() -> None:
    for size in (64, 512, 8192):
        for _, data in sample_files(20, size=size):
            assert len(data) <= size * 1.05 + 1
            assert len(data) >= min(size * 0.85, 40)
            data.decode("utf-8")


def test_sample_files_fast() -> None:
    start = time.perf_counter()
    total = sum(len(data) for _, data in sample_files(20_000))
    elapsed = time.perf_counter() - start
    assert total > 20_000 * 1500
    assert elapsed < 5  # 100k files take a few seconds
