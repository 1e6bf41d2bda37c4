"""File documents into an Akte, add a version, read it back and verify the store."""

from __future__ import annotations

import tempfile
from pathlib import Path

import eakte


def main() -> None:
    folder = Path(tempfile.mkdtemp()) / "akten"
    with eakte.open(folder) as store:
        with store.session() as s:
            s.add_plan_unit("32", "Ordnungsangelegenheiten", retention_years=10, disposal="V")
            s.add_plan_unit("32.20", "Gewerbeangelegenheiten", parent="32")
            akte = s.create_akte("32.20", "Gewerbeanmeldung Bäckerei Weiß, Marktstraße 3")
            vorgang = s.create_vorgang(akte, "Gewerbeanmeldung")
            doc = s.file_document(
                akte,
                "Anmeldung eines Gewerbes nach § 14 GewO".encode(),
                filename="gewerbeanmeldung.txt",
                vorgang=vorgang,
                kind=eakte.DocumentKind.INCOMING,
            )
        with store.session("admin") as s:
            doc = s.get_document(doc.id)
            s.add_version(doc, "Anmeldung (ergänzt um Betriebsstätte)".encode(),
                          comment="Nachreichung")
            for version in s.versions(doc):
                print(f"v{version.number} {version.sha256[:12]} {version.size} B {version.mime}")
        report = store.verify()
        print(f"{akte.aktenzeichen}: {report.events} audit events, "
              f"{report.blobs} blobs, ok={report.ok}")
        if not report.ok:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
