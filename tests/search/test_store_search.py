"""Search through the store: filing feeds the index, crashes replay, reindex and verify."""

from __future__ import annotations

import io
import json
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

import eakte
from eakte.demo.corpus import make_pdf
from eakte.search.memory import MemorySearchBackend


def _docx(text: str) -> bytes:
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml",
                    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                    'package/2006/content-types"><Override PartName="/word/document.xml" '
                    'ContentType="application/vnd.openxmlformats-officedocument.'
                    'wordprocessingml.document.main+xml"/></Types>')
        zf.writestr("word/document.xml", body)
    return buf.getvalue()


def _eml() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jürgen Weiß <weiss@example.org>"
    msg["To"] = "bauamt@kreis.example"
    msg["Subject"] = "Nachreichung Statik"
    msg["Message-ID"] = "<statik-1@example.org>"
    msg.set_content("Anbei die Standsicherheitsnachweise für das Vorhaben.")
    report = make_pdf("Prüfbericht", ["Der Prüfingenieur bestätigt die Tragwerksplanung."])
    msg.add_attachment(report, maintype="application", subtype="pdf",
                       filename="pruefbericht.pdf")
    return msg.as_bytes()


@pytest.fixture
def filed(store: eakte.Store, make_akte) -> tuple[eakte.Store, eakte.Akte, dict[str, int]]:
    akte = make_akte(store, "Neubau Einfamilienhaus, Lindenstraße 4")
    ids: dict[str, int] = {}
    with store.session() as s:
        ids["pdf"] = s.file_document(akte, make_pdf("Bauantrag", [
            "Antrag auf Baugenehmigung für ein Einfamilienhaus der Familie Müller "
            "in der Lindenstraße 4. Verwaltungsdigitalisierung im Bauamt."]),
            filename="bauantrag.pdf", kind="incoming").id
        ids["mail"] = s.file_document(akte, _eml(), filename="statik.eml", kind="incoming").id
        ids["docx"] = s.file_document(akte, _docx("Gebührenbescheid über 420 Euro"),
                                      filename="bescheid.docx", kind="outgoing",
                                      metadata={"kassenzeichen": "KZ-2026-0815"}).id
        ids["text"] = s.file_document(akte, "Aktennotiz: Ortstermin mit Herrn Mueller.".encode(
            "cp1252"), filename="notiz.txt").id
    return store, akte, ids


def _found(store: eakte.Store, query: str, **options: object) -> set[int]:
    with store.session() as s:
        return {h.document_id for h in s.search(query, **options).hits}  # type: ignore[arg-type]


def test_filing_makes_german_text_findable(filed) -> None:
    store, akte, ids = filed
    assert _found(store, "Mueller") == {ids["pdf"], ids["text"]}     # ü folding both ways
    assert _found(store, "müller") == {ids["pdf"], ids["text"]}
    assert _found(store, "Strasse") >= {ids["pdf"]}                    # ß folding
    assert _found(store, "Digitalisierung") == {ids["pdf"]}            # compound part
    assert _found(store, "Anträge") >= {ids["pdf"]}                    # stemming
    assert _found(store, "Tragwerksplanung") == {ids["mail"]}          # mail attachment
    assert _found(store, "Standsicherheitsnachweise") == {ids["mail"]}  # mail body
    assert _found(store, "Gebührenbescheid") == {ids["docx"]}          # DOCX
    assert _found(store, "Ortstermin") == {ids["text"]}                # cp1252 text
    assert _found(store, f"aktenzeichen:{akte.aktenzeichen}") == set(ids.values())
    assert _found(store, "kind:outgoing") == {ids["docx"]}
    with store.session() as s:
        hit = s.search("Baugenehmigung").hits[0]
    assert hit.aktenzeichen == akte.aktenzeichen and hit.title == "bauantrag.pdf"
    assert "Baugenehmigung" in hit.snippet


def test_new_version_replaces_indexed_text(filed) -> None:
    store, _, ids = filed
    with store.session() as s:
        s.add_version(s.get_document(ids["text"]), b"Aktennotiz: Termin abgesagt.")
    assert ids["text"] not in _found(store, "Ortstermin")
    assert ids["text"] in _found(store, "abgesagt")
    with store.session() as s:
        s.update_document(s.get_document(ids["docx"]), title="Kostenfestsetzung")
    assert _found(store, "title:Kostenfestsetzung") == {ids["docx"]}


def test_akte_filter(filed, make_akte) -> None:
    store, akte, ids = filed
    other = make_akte(store, "Anbau Garage")
    with store.session() as s:
        s.file_document(other, b"Baugenehmigung Garage Mueller", filename="garage.txt")
    assert len(_found(store, "Mueller")) == 3
    assert _found(store, "Mueller", akte=akte.aktenzeichen) == {ids["pdf"], ids["text"]}


def test_extraction_outcome_is_recorded(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store)
    with store.session() as s:
        doc = s.file_document(akte, b"%PDF-1.4\n%broken beyond repair", filename="kaputt.pdf")
    report = store.verify()
    assert report.ok
    indexer = store.indexer
    assert indexer is not None
    assert indexer.drift() == []
    from sqlalchemy import select

    from eakte.model import TextExtraction, Version
    with store.orm_session() as orm:
        status = orm.execute(select(TextExtraction.status).join(
            Version, Version.id == TextExtraction.version_id).where(
            Version.document_id == doc.id)).scalar_one()
    assert status == "failed"


def test_outbox_replays_after_a_failed_index_run(tmp_path: Path, make_akte) -> None:
    class Broken(MemorySearchBackend):
        fail = True

        def index(self, documents):  # type: ignore[no-untyped-def]
            if self.fail:
                raise eakte.SearchError("index offline")
            super().index(documents)

    backend = Broken()
    with eakte.init(tmp_path / "s", search="none") as created:
        make_akte(created)
    with eakte.open(tmp_path / "s", search=backend) as store:
        with pytest.warns(eakte.IndexingWarning), store.session() as s:
            doc = s.file_document(s.list_akten()[0], b"Widerspruch gegen Bescheid",
                                  filename="w.txt")
        assert isinstance(store.last_index_error, eakte.SearchError)
        indexer = store.indexer
        assert indexer is not None and indexer.pending() == 1
        assert [p.kind for p in indexer.drift()] == []  # queued work is not drift
        backend.fail = False
        report = store.index_pending()
        assert report is not None and report.indexed == 1
        assert indexer.pending() == 0
        assert _found(store, "Widerspruch") == {doc.id}


def test_reindex_and_drift(filed) -> None:
    store, _, ids = filed
    indexer = store.indexer
    assert indexer is not None
    indexer.backend.delete([ids["pdf"]])
    kinds = [(p.kind, p.subject) for p in store.verify().problems]
    assert kinds == [("index.missing", f"document {ids['pdf']}")]
    assert store.verify().ok  # the index is derived data: a notice, not damage
    report = indexer.reindex()
    assert report.indexed == 1 and not report.full
    assert indexer.drift() == []
    full = indexer.reindex(full=True)
    assert full.full and full.indexed == 4
    assert _found(store, "Baugenehmigung") == {ids["pdf"]}


def test_cli_search_and_reindex(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from eakte.cli import cli

    runner = CliRunner()
    store = str(tmp_path / "s")
    assert runner.invoke(cli, ["--store", store, "init"]).exit_code == 0
    runner.invoke(cli, ["--store", store, "plan", "add", "630", "Bauordnung"])
    az = json.loads(runner.invoke(cli, ["--store", store, "akte", "create", "630", "Neubau",
                                        "--json"]).stdout)["aktenzeichen"]
    note = tmp_path / "antrag.txt"
    note.write_text("Bauantrag für das Grundstück Schäferweg 3", encoding="utf-8")
    assert runner.invoke(cli, ["--store", store, "add", az, str(note)]).exit_code == 0
    result = runner.invoke(cli, ["--store", store, "search", "Antrag", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert [h["aktenzeichen"] for h in hits] == [az]
    assert set(hits[0]) >= {"document_id", "aktenzeichen", "title", "score", "snippet"}
    result = runner.invoke(cli, ["--store", store, "reindex", "--full", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["indexed"] == 1
    result = runner.invoke(cli, ["--store", store, "search", 'created:"nonsense', "--json"])
    assert result.exit_code in (0, 6)
