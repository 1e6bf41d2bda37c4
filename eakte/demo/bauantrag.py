"""A simulated Fachverfahren for building permits (Bauantrag) filing into eakte.

The "Bauportal" knows its applications by its own numbers. It files each application as a
Vorgang (with the Akte of the building plot found or created by a mapping), files again
after a crash without creating duplicates, sends a corrected document that becomes a new
version, follows the change feed with a durable cursor to learn what the clerks did, and
reads documents back by its own keys.

``eakte demo`` plays it after its own steps; ``examples/bauantrag.py`` runs it alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import eakte
from eakte.filing import CaseRecord, DocumentRecord, Filer
from eakte.mapping import FieldMapping

__all__ = ["MAPPING", "SYSTEM", "application", "prepare_store", "run_bauantrag"]

#: The Fachverfahren's name in external keys, and the principal it acts as.
SYSTEM = "bauportal"

#: Which Akte, Vorgang and metadata an application becomes (schemas/mapping.schema.json).
MAPPING = {
    "system": SYSTEM,
    "required_fields": ["antragsnummer", "grundstueck.flurstueck", "bauherr.name"],
    "akte": {
        "key": "{grundstueck.flurstueck}",
        "plan_unit": {"field": "verfahren", "map": {"baugenehmigung": "630.10",
                                                    "vorbescheid": "630.20"}},
        "title": "Bauvorhaben {grundstueck.adresse}",
        "metadata": {"flurstueck": "{grundstueck.flurstueck}"},
    },
    "vorgang": {
        "title": "Bauantrag {antragsnummer}: {vorhaben}",
        "metadata": {"bauherr": "{bauherr.name}", "eingang": "{eingang}"},
    },
    "document": {"kind": "incoming", "metadata": {"bauportal_dokument": "{document_id}"}},
}

APPLICATIONS = [
    ("BA-2026-0117", "baugenehmigung", "Neubau Einfamilienhaus", "Flur 3, 112/4",
     "Lindenstraße 4", "Familie Müller"),
    ("BA-2026-0118", "baugenehmigung", "Carport mit Geräteraum", "Flur 3, 112/4",
     "Lindenstraße 4", "Familie Müller"),
    ("BA-2026-0121", "vorbescheid", "Umnutzung Scheune zu Wohnraum", "Flur 7, 9/2",
     "Am Mühlbach 2", "Jörg Schäfer"),
]


def application(number: str, verfahren: str, vorhaben: str, flurstueck: str, adresse: str,
                bauherr: str, *, antrag_text: str | None = None) -> CaseRecord:
    """Return one application as the Bauportal delivers it."""
    text = antrag_text or (f"Antrag auf {verfahren.title()} {number}\nVorhaben: {vorhaben}\n"
                           f"Grundstück: {adresse} ({flurstueck})\nBauherr: {bauherr}\n")
    return CaseRecord(
        object_id=number,
        fields={"antragsnummer": number, "verfahren": verfahren, "vorhaben": vorhaben,
                "grundstueck": {"flurstueck": flurstueck, "adresse": adresse},
                "bauherr": {"name": bauherr}, "eingang": "2026-03-02",
                "portal_status": "eingereicht"},  # not in the mapping: kept as is
        documents=[
            DocumentRecord("antrag", text.encode(), filename="bauantrag.txt",
                           title=f"Bauantrag {number}", version="1"),
            DocumentRecord("baubeschreibung", f"Baubeschreibung: {vorhaben}".encode(),
                           filename="baubeschreibung.txt"),
        ],
    )


def prepare_store(store: eakte.Store) -> None:
    """Create the Aktenplan units and the Bauportal's user: editor, owner of its keys."""
    with store.session() as s:
        units = {u.kennzeichen for u in s.plan_units()}
        for kennzeichen, title, parent in (("630", "Bauordnung", None),
                                           ("630.10", "Baugenehmigungen", "630"),
                                           ("630.20", "Vorbescheide", "630")):
            if kennzeichen not in units:
                s.add_plan_unit(kennzeichen, title, parent=parent, retention_years=30,
                                disposal="A")
        if SYSTEM not in {p.name for p in s.principals()}:
            s.add_user(SYSTEM, display_name="Fachverfahren Bauportal")
    with store.session() as s:
        for kennzeichen in ("630.10", "630.20"):  # the units the mapping files into
            s.grant(SYSTEM, "editor", kennzeichen)
        s.grant(SYSTEM, "owner", f"system:{SYSTEM}")  # the keys are the Bauportal's own


def run_bauantrag(store: eakte.Store, *, out: Callable[[str], None] = print
                  ) -> dict[str, Any]:
    """Play the Bauportal against ``store`` and return a summary of what happened."""
    prepare_store(store)
    filer = Filer(store, SYSTEM, mapping=FieldMapping(MAPPING), user=SYSTEM)
    cases = [application(*row) for row in APPLICATIONS]

    out("1. file three applications (one transaction each)")
    for result in filer.file_cases(cases):
        out(f"   {result.key.object_id}: {result.status.value} -> {result.aktenzeichen}")
        result.raise_error()

    out("2. the portal crashed before it saw the answers: it files again")
    again = filer.file_cases(cases)
    out(f"   {[r.status.value for r in again]} (nothing duplicated)")

    out("3. the applicant corrects the first application")
    corrected = application(*APPLICATIONS[0], antrag_text="Antrag (korrigiert): zwei "
                            "Vollgeschosse statt drei\n")
    corrected.documents[0].version = "2"
    result = filer.file_case(corrected)
    antrag = result.documents[0]
    out(f"   {result.status.value}: antrag is now version {antrag.version}")

    out("4. a clerk works on the Akte (as the administrator)")
    with store.session() as s:
        akte = s.get_akte(result.aktenzeichen or "")
        vorgang = s.get_vorgang(result.vorgang_id or 0)
        s.file_document(akte, "Eingangsbestätigung zum Bauantrag".encode(),
                        filename="eingangsbestaetigung.txt", vorgang=vorgang,
                        kind="outgoing")
        other = s.get_vorgang(again[2].vorgang_id or 0)
        if other.status == "open":
            s.close_vorgang(other)  # z.d.A.

    out("5. the portal follows the change feed from its durable cursor")
    cursor = f"{SYSTEM}-feed"
    position = filer.feed_position(cursor)
    page = filer.changes(position)
    for event in page:
        if event.actor != SYSTEM:  # what others did to the portal's records
            out(f"   #{event.sequence} {event.action:<14} {event.object_type} "
                f"{event.object_id} in {event.aktenzeichen} by {event.actor}")
    filer.save_feed_position(cursor, page.position)
    out(f"   {len(page)} event(s) seen; cursor saved at {page.position}")

    out("6. the portal reads documents back by its own keys")
    key = filer.key("BA-2026-0117", "antrag")
    first = filer.read(key, "1").decode()
    current = filer.read(key).decode()
    out(f"   version 1: {first.splitlines()[0]!r}")
    out(f"   current:   {current.splitlines()[0]!r}")

    report = store.verify()
    out(f"7. verify: {'ok' if report.ok else report.problems}")
    return {
        "filed": [r.status.value for r in again],
        "corrected_version": antrag.version,
        "feed_events": len(page),
        "feed_position": page.position,
        "verified": report.ok,
    }
