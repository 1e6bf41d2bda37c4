"""The whole Aussonderung from Python: offer (0501), appraisal (0502), transfer (0503),
confirmation (0504, 0506), destruction of what the archive declined, verification.

Run it as ``python examples/aussonderung.py [FOLDER]``; without FOLDER the store and the
xdomea messages go to a new temporary folder. The archive's side (its 0502, 0504 and 0506
answers) is simulated with a few lines of XML, as an archive's system would send them.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import eakte
from eakte.export.xdomea import export_xdomea, import_xdomea

NS = "urn:xoev-de:xdomea:schema:3.1.0"


class Clock:
    """The store's clock: lets ten years pass in a second (the store records these times)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def archive_message(code: str, element: str, prozess_id: str, body: str) -> bytes:
    """An xdomea message as the archive sends it (Kopf + body), answering ProzessID."""
    receipt = ("<xdomea:Empfangsbestaetigung>1</xdomea:Empfangsbestaetigung>"
               if code == "0502" else "")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<xdomea:{element} xmlns:xdomea="{NS}">'
        f"<xdomea:Kopf><xdomea:ProzessID>{prozess_id}</xdomea:ProzessID>"
        f"<xdomea:Nachrichtentyp><code>{code}</code></xdomea:Nachrichtentyp>"
        "<xdomea:Erstellungszeitpunkt>2027-02-01T09:00:00Z</xdomea:Erstellungszeitpunkt>"
        "<xdomea:Absender><xdomea:Institution><xdomea:Name>Landesarchiv Musterland"
        "</xdomea:Name></xdomea:Institution></xdomea:Absender>"
        "<xdomea:Empfaenger><xdomea:Institution><xdomea:Name>Kreisverwaltung Musterstadt"
        f"</xdomea:Name></xdomea:Institution></xdomea:Empfaenger>{receipt}</xdomea:Kopf>"
        f"{body}</xdomea:{element}>"
    ).encode()


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    inbox, outbox = folder / "vom-archiv", folder / "an-das-archiv"
    inbox.mkdir(parents=True, exist_ok=True)
    clock = Clock(datetime(2016, 3, 1, 9, 0, tzinfo=UTC))

    with eakte.open(folder / "akten", clock=clock, search="none") as store:
        # 1. The Aktenplan says how long Akten are kept and who decides about them:
        #    B = the archive appraises, V = destroy, A = archive.
        with store.session() as s:
            s.add_plan_unit("630", "Bauaufsicht", retention_years=10, disposal="B")
            s.add_plan_unit("630.10", "Baugenehmigungen", parent="630")
            s.add_plan_unit("020", "Personal", retention_years=5, disposal="V")
            bau = s.create_akte("630.10", "Neubau Einfamilienhaus, Lindenstraße 4")
            scheune = s.create_akte("630.10", "Abriss einer Scheune, Feldweg 2")
            personal = s.create_akte("020", "Stellenbesetzung Sachbearbeitung 2016")
            for akte, text in [(bau, "Baugenehmigung vom 1. März 2016"),
                               (scheune, "Abrissgenehmigung"),
                               (personal, "Auswahlvermerk")]:
                s.file_document(akte, text.encode(), filename="bescheid.txt")
            # 2. z.d.A.: closing an Akte starts its retention period
            for akte in (bau, scheune, personal):
                s.close_akte(akte)

        # 3. Ten years later the retention periods have run out.
        clock.now = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
        with store.session() as s:
            due = s.disposal_due()
            print("due:", ", ".join(f"{d.aktenzeichen} ({d.decision.value})" for d in due))
            # 4. 0501 Anbietung: offer every due Akte (metadata only)
            offer = export_xdomea(s, [d.aktenzeichen for d in due], message="0501",
                                  out_dir=outbox)
        pid = offer.prozess_id
        print("0501 offer:", offer.path.name)

        # 5. The archive confirms receipt (0504) and appraises (0502): A for the building
        #    permit, V (destroy) for the rest.
        clock.now += timedelta(days=14)
        received = inbox / f"{pid}_Aussonderung.AnbietungEmpfangBestaetigen.0504.xml"
        received.write_bytes(archive_message(
            "0504", "Aussonderung.AnbietungEmpfangBestaetigen.0504", pid, ""))
        decisions = {bau.uuid: "A", scheune.uuid: "V", personal.uuid: "V"}
        appraisal = inbox / f"{pid}_Aussonderung.Bewertungsverzeichnis.0502.xml"
        appraisal.write_bytes(archive_message(
            "0502", "Aussonderung.Bewertungsverzeichnis.0502", pid, "".join(
                f"<xdomea:BewertetesObjekt><xdomea:ID>{uuid}</xdomea:ID>"
                "<xdomea:Aussonderungsart><xdomea:Aussonderungsart><code>"
                f"{decision}</code></xdomea:Aussonderungsart></xdomea:Aussonderungsart>"
                "</xdomea:BewertetesObjekt>" for uuid, decision in decisions.items())))
        with store.session() as s:
            import_xdomea(s, received)
            answered = import_xdomea(s, appraisal, receipt_dir=outbox)  # sends the 0505
        print("0502 appraisal:", answered.counts, "- receipt", answered.receipt.name
              if answered.receipt else None)

        # 6. 0503 Abgabe: transfer the Akten appraised A with every version and rendition
        with store.session() as s:
            transfer = export_xdomea(s, [bau.aktenzeichen], message="0503", out_dir=outbox)
        print("0503 transfer:", transfer.path.name, transfer.counts)

        # 7. The archive confirms the takeover (0506) with its Archivkennung; eakte then
        #    deletes the transferred content and keeps a deletion record.
        confirmation = inbox / f"{pid}_Aussonderung.AussonderungImportBestaetigen.0506.xml"
        confirmation.write_bytes(archive_message(
            "0506", "Aussonderung.AussonderungImportBestaetigen.0506", pid,
            f"<xdomea:AusgesondertesSGO><xdomea:IDSGO>{bau.uuid}</xdomea:IDSGO>"
            "<xdomea:Erfolgreich>1</xdomea:Erfolgreich>"
            "<xdomea:Archivkennung>LA-MU 630/2027-17</xdomea:Archivkennung>"
            "</xdomea:AusgesondertesSGO>"))
        with store.session() as s:
            import_xdomea(s, confirmation)

        # 8. Destroy what the archive declined (V): content deleted, metadata kept
        with store.session() as s:
            for akte in (scheune, personal):
                s.destroy(s.get_akte(akte.id))

        # 9. Verify the audit chain and every remaining blob, then summarise
        report = store.verify()
        with store.session() as s:
            for akte in (bau, scheune, personal):
                status = s.disposal_status(s.get_akte(akte.id))
                kennung = status.disposal.archivkennung if status.disposal else None
                print(f"{akte.aktenzeichen:16} {status.state.value:12} {kennung or ''}")
        print(f"verified: {report.events} audit events, ok={report.ok}; messages in {folder}")
        if not report.ok:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
