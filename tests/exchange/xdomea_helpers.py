"""Helpers for the xdomea tests: the official material, clocks, varied Akten, own messages.

The official xdomea XSDs and the real archives' example messages are not part of the
project; they are looked for next to it (``../shared/xdomea``). Only tests that check
against them skip without them; every other test builds the messages it needs itself
(:func:`own_0503`, :func:`message`).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import eakte
from eakte.exchange.xdomea import export_xdomea
from eakte.store import Store

#: The official xdomea material next to the project (XSDs, example messages, code lists).
XDOMEA = Path(__file__).resolve().parents[3] / "shared" / "xdomea"
NS31 = "urn:xoev-de:xdomea:schema:3.1.0"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
#: Whether the official XSDs are there.
HAVE_XSD = (XDOMEA / "xsd-3.1.0" / "3.1.0" / "xdomea.xsd").is_file()
NO_OFFICIAL = (f"needs the official xdomea XSDs and example messages, not part of eakte "
               f"(looked for them at {XDOMEA})")


def require_xdomea() -> Path:
    """Return the official material's folder, or skip the test saying what it needs."""
    if not HAVE_XSD:
        pytest.skip(NO_OFFICIAL)
    return XDOMEA


def official(paths: list[Path]) -> list[object]:
    """Parameters for tests over official examples: one skipping param when there are none."""
    if paths:
        return [pytest.param(p, id=p.name[:60]) for p in paths]
    return [pytest.param(None, id="official", marks=pytest.mark.skip(reason=NO_OFFICIAL))]


def own_0503(folder: Path, *, documents: int = 3) -> Path:
    """Export a valid 0503 from a throw-away store (eakte's own exporter) and return it.

    One closed Akte with a Vorgang and ``documents`` documents; the first has two versions
    and a PDF/A rendition, the second lives in the Vorgang.
    """
    with eakte.init(folder / "source", search="none") as source, source.session() as s:
        s.add_plan_unit("630", "Bauaufsicht", retention_years=0, disposal="A")
        akte = s.create_akte("630", "Abgegebene Akte Lindenstraße 4")
        vorgang = s.create_vorgang(akte, "Bauantrag")
        for n in range(documents):
            doc = s.file_document(akte, f"Schreiben {n + 1} vom 3. März".encode(),
                                  filename=f"schreiben-{n + 1}.txt",
                                  vorgang=vorgang if n == 1 else None)
            if n == 0:
                s.add_version(doc, b"Schreiben 1, zweite Fassung", filename="schreiben-1.txt")
                s.add_rendition(s.get_version(doc), b"%PDF-1.7\n% pdfa\n", kind="pdfa",
                                filename="schreiben-1.pdf")
    with eakte.open(folder / "source", search="none") as source, source.session() as s:
        (akte,) = s.list_akten()
        s.close_akte(akte)
    with eakte.open(folder / "source", search="none") as source, source.session() as s:
        (akte,) = s.list_akten()
        result = export_xdomea(s, [akte], message="0503", out_dir=folder / "out",
                               record=False)
    return result.path


class Clock:
    """A clock the test moves forward."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


PLAN = (
    ("630", "Bauaufsicht", None, 0, "A"),
    ("630.10", "Baugenehmigungen Wohngebäude", "630", 0, "A"),
    ("630.20", "Gewerbebauten", "630", None, "B"),
    ("020", "Personal", None, 0, "V"),
)


@dataclass
class Varied:
    """Akten with nested Vorgänge, versions, renditions, Anlagen, odd names, VS-NfD, empty."""

    main: eakte.Akte
    nfd: eakte.Akte
    empty: eakte.Akte
    files: dict[str, bytes]


def build_varied(store: Store, *, close: bool = True) -> Varied:
    files: dict[str, bytes] = {}
    with store.session() as s:
        main = s.create_akte("630.10",
                             "Neubau Einfamilienhaus, Lindenstraße 4 – „Müller & Söhne“ <GmbH>",
                             org_unit="Bauamt", metadata={"flurstück": "12/3", "ß": True},
                             external_ids=[("bauportal", "BA-2026-117")])
        antrag = s.create_vorgang(main, "Bauantrag (Prüfung)")
        nach = s.create_vorgang(main, "Nachforderung Ämter", parent=antrag)
        tief = s.create_vorgang(main, "Stellungnahme Straßenbau", parent=nach)
        pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n"
        doc = s.file_document(main, pdf, filename="Bauantrag Müller (Entwurf) #1.pdf",
                              vorgang=antrag, kind="incoming", title="Bauantrag Müller",
                              metadata={"eingang": "Post"})
        s.add_version(doc, "Bauantrag – überarbeitet\nZeile 2\n".encode(),
                      filename="bauantrag v2 (final).txt", comment="Überarbeitung")
        v2 = s.get_version(doc)
        s.add_rendition(v2, pdf + b"% pdfa\n", kind="pdfa", filename="bauantrag v2.pdf")
        s.add_rendition(v2, b"<html><body>Bauantrag</body></html>", kind="html",
                        filename="bauantrag.html")
        s.file_document(main, b"Anlage: Lageplan", filename="Lageplan 1:500.txt",
                        vorgang=antrag, parent=doc)
        s.file_document(main, b"\x00\x01\x02binary", filename="messdaten.bin.xyz",
                        vorgang=tief, kind="outgoing", document_date=date(2026, 2, 1))
        s.file_document(main, b"Aktenvermerk ohne Vorgang", filename="vermerk",
                        title="Vermerk ../../etc/passwd \\ : * ? | ~")
        s.file_document(main, "Grüße aus Köln, Straße ß".encode(),
                        filename="Grüße_ÄÖÜ äöü ß €.txt", vorgang=nach)
        s.update_akte(main, title="Neubau Einfamilienhaus, Lindenstraße 4")
        nfd = s.create_akte("630.10", "Personalsache VS-NfD", confidentiality="vs-nfd")
        s.file_document(nfd, b"vertraulich", filename="vermerk.txt")
        empty = s.create_akte("630", "Leere Akte")
        if close:
            s.close_vorgang(tief)
            for akte in (main, nfd, empty):
                s.close_akte(akte)
    with store.session() as s:
        for akte in (main, nfd, empty):
            for document in s.documents(akte):
                for version in s.versions(document):
                    files[version.uuid] = s.read_content(document, version=version.number)
    return Varied(main, nfd, empty, files)


def zip_xml(path: Path) -> tuple[bytes, list[str]]:
    """Return the message XML of a container and all its member names."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        xml = [n for n in names if n.endswith(f"{path.stem}.xml")]
        assert len(xml) == 1, names
        return zf.read(xml[0]), names


def kopf(code: str, element: str, prozess_id: str, *, empfangsbestaetigung: bool = True
         ) -> str:
    extra = "<xdomea:Empfangsbestaetigung>1</xdomea:Empfangsbestaetigung>" if (
        empfangsbestaetigung and code in ("0501", "0502")) else (
        "<xdomea:Empfangsbestaetigung>0</xdomea:Empfangsbestaetigung>"
        if code in ("0501", "0502") else "")
    return (f"<xdomea:Kopf><xdomea:ProzessID>{prozess_id}</xdomea:ProzessID>"
            f"<xdomea:Nachrichtentyp><code>{code}</code></xdomea:Nachrichtentyp>"
            "<xdomea:Erstellungszeitpunkt>2026-03-03T10:00:00Z</xdomea:Erstellungszeitpunkt>"
            "<xdomea:Absender><xdomea:Institution><xdomea:Name>Landesarchiv Musterland"
            "</xdomea:Name></xdomea:Institution></xdomea:Absender>"
            "<xdomea:Empfaenger><xdomea:Institution><xdomea:Name>Bauamt</xdomea:Name>"
            f"</xdomea:Institution></xdomea:Empfaenger>{extra}</xdomea:Kopf>")


def message(code: str, element: str, prozess_id: str, body: str, **options: bool) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<xdomea:{element} xmlns:xdomea="{NS31}">'
            f"{kopf(code, element, prozess_id, **options)}{body}</xdomea:{element}>"
            ).encode()


def appraisal_0502(prozess_id: str, decisions: dict[str, str]) -> bytes:
    body = "".join(
        f"<xdomea:BewertetesObjekt><xdomea:ID>{uid}</xdomea:ID><xdomea:Aussonderungsart>"
        f"<xdomea:Aussonderungsart><code>{d}</code></xdomea:Aussonderungsart>"
        "</xdomea:Aussonderungsart></xdomea:BewertetesObjekt>" for uid, d in decisions.items())
    return message("0502", "Aussonderung.Bewertungsverzeichnis.0502", prozess_id, body)


def confirmation_0506(prozess_id: str, results: dict[str, str | None]) -> bytes:
    """``results``: UUID → Archivkennung (success) or None (failure)."""
    body = ""
    for uid, kennung in results.items():
        if kennung is None:
            body += (f"<xdomea:AusgesondertesSGO><xdomea:IDSGO>{uid}</xdomea:IDSGO>"
                     "<xdomea:Erfolgreich>0</xdomea:Erfolgreich><xdomea:Fehlermeldung>"
                     "Primärdatei unlesbar</xdomea:Fehlermeldung></xdomea:AusgesondertesSGO>")
        else:
            body += (f"<xdomea:AusgesondertesSGO><xdomea:IDSGO>{uid}</xdomea:IDSGO>"
                     "<xdomea:Erfolgreich>1</xdomea:Erfolgreich>"
                     f"<xdomea:Archivkennung>{kennung}</xdomea:Archivkennung>"
                     "</xdomea:AusgesondertesSGO>")
    return message("0506", "Aussonderung.AussonderungImportBestaetigen.0506", prozess_id, body)


def receipt(code: str, prozess_id: str) -> bytes:
    element = {"0504": "Aussonderung.AnbietungEmpfangBestaetigen.0504",
               "0505": "Aussonderung.BewertungEmpfangBestaetigen.0505"}[code]
    return message(code, element, prozess_id, "")
