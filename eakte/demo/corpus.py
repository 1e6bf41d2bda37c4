"""Deterministic generator of realistic German sample records (Aktenplan, Akten, documents)."""

from __future__ import annotations

import hashlib
import random
import textwrap
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, parseaddr

__all__ = [
    "KREISVERWALTUNG_PLAN",
    "PlanUnit",
    "SampleAkte",
    "SampleDocument",
    "SampleVorgang",
    "german_paragraphs",
    "make_eml",
    "make_pdf",
    "make_text",
    "sample_akten",
    "sample_files",
]

#: MIME types of the generated documents, as libmagic detects them.
_MIME_PDF = "application/pdf"
_MIME_TEXT = "text/plain"
_MIME_EML = "message/rfc822"


@dataclass(frozen=True)
class PlanUnit:
    """One unit (Aktenplaneinheit) of an Aktenplan.

    Attributes:
        kennzeichen: Aktenplankennzeichen, digits and dots only (e.g. ``"630.10"``).
        title: Title of the unit.
        parent: Kennzeichen of the parent unit, ``None`` for a top-level unit.
        retention_years: Aufbewahrungsfrist in years; ``None`` means unlimited.
        disposal: Aussonderungsart: ``"A"`` (archivieren), ``"V"`` (vernichten)
            or ``"B"`` (bewerten).
    """

    kennzeichen: str
    title: str
    parent: str | None
    retention_years: int | None
    disposal: str


@dataclass(frozen=True)
class SampleDocument:
    """A generated document with its content.

    Attributes:
        filename: File name including extension, unique within its Vorgang.
        title: Human-readable document title.
        kind: ``"incoming"``, ``"outgoing"`` or ``"internal"``.
        mime: MIME type of ``data`` as libmagic detects it.
        data: The file content.
    """

    filename: str
    title: str
    kind: str
    mime: str
    data: bytes


@dataclass(frozen=True)
class SampleVorgang:
    """A generated Vorgang (case within an Akte) with its documents.

    Attributes:
        title: Title of the Vorgang.
        documents: Documents of the Vorgang, in chronological order.
    """

    title: str
    documents: list[SampleDocument]


@dataclass(frozen=True)
class SampleAkte:
    """A generated Akte filed under a leaf unit of :data:`KREISVERWALTUNG_PLAN`.

    Attributes:
        kennzeichen: Kennzeichen of the plan unit the Akte is filed under.
        title: Title of the Akte.
        vorgaenge: Vorgänge of the Akte.
    """

    kennzeichen: str
    title: str
    vorgaenge: list[SampleVorgang]


# ---------------------------------------------------------------------------
# Aktenplan
# ---------------------------------------------------------------------------

KREISVERWALTUNG_PLAN: tuple[PlanUnit, ...] = (
    PlanUnit("0", "Allgemeine Verwaltung", None, 10, "B"),
    PlanUnit("00", "Organisation", "0", 10, "B"),
    PlanUnit("000.10", "Geschäftsverteilung und Organisationsverfügungen", "00", 30, "A"),
    PlanUnit("000.20", "Verwaltungsdigitalisierung und E-Akte", "00", 10, "B"),
    PlanUnit("02", "Personal", "0", 10, "B"),
    PlanUnit("020.10", "Stellenausschreibungen und Auswahlverfahren", "02", 5, "V"),
    PlanUnit("020.20", "Aus- und Fortbildung", "02", 5, "V"),
    PlanUnit("2", "Finanzen", None, 10, "B"),
    PlanUnit("20", "Kämmerei und Kreiskasse", "2", 10, "B"),
    PlanUnit("200.10", "Gebühren, Abgaben und Widerspruchsverfahren", "20", 10, "V"),
    PlanUnit("200.20", "Haushaltsplanung und Jahresabschluss", "20", 30, "A"),
    PlanUnit("3", "Recht, Sicherheit und Ordnung", None, 10, "B"),
    PlanUnit("32", "Ordnungsamt", "3", 10, "B"),
    PlanUnit("320.10", "Gewerbeangelegenheiten und Gaststättenerlaubnisse", "32", 10, "B"),
    PlanUnit("320.20", "Kfz-Zulassung", "32", 7, "V"),
    PlanUnit("5", "Soziales, Jugend und Gesundheit", None, 10, "B"),
    PlanUnit("50", "Sozialamt", "5", 10, "B"),
    PlanUnit("500.10", "Hilfe zum Lebensunterhalt und Grundsicherung (SGB XII)", "50", 10, "V"),
    PlanUnit("500.20", "Wohngeld", "50", 10, "V"),
    PlanUnit("51", "Jugendamt", "5", 10, "B"),
    PlanUnit("510.10", "Kindertagesbetreuung", "51", 10, "V"),
    PlanUnit("510.20", "Hilfen zur Erziehung (SGB VIII)", "51", 30, "B"),
    PlanUnit("6", "Bauen und Wohnen", None, 30, "B"),
    PlanUnit("63", "Bauordnung", "6", 30, "B"),
    PlanUnit("630.10", "Baugenehmigungen", "63", None, "A"),
    PlanUnit("630.20", "Bauvoranfragen", "63", 30, "B"),
    PlanUnit("7", "Umwelt", None, 10, "B"),
    PlanUnit("70", "Untere Umweltbehörden", "7", 30, "B"),
    PlanUnit("700.10", "Naturschutz und Landschaftspflege", "70", 30, "B"),
    PlanUnit("700.20", "Wasserrechtliche Erlaubnisse", "70", None, "A"),
)

# ---------------------------------------------------------------------------
# Word lists and phrase bank
# ---------------------------------------------------------------------------

_KREIS = "Lindenau"
_AGENCY_DOMAIN = "kreis-lindenau.example"

_SURNAMES = (
    "Müller", "Weiß", "Schäfer", "Schröder", "Krüger", "Jäger", "Köhler", "Groß",
    "Günther", "Böhm", "Hoffmann", "Schneider", "Fischer", "Weber", "Becker", "Wagner",
    "Schulz", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Neumann", "Schwarz",
    "Zimmermann", "Braun", "Hartmann", "Lange", "Krause", "Lehmann", "Keßler", "Fuchs",
    "Vogel", "Brückner", "Pöhlmann", "Strauß", "Möller", "Schütz", "Förster", "Nußbaum",
)  # fmt: skip
_GIVEN_NAMES_M = (
    "Jürgen", "Sören", "Jörg", "Björn", "Günter", "Thomas", "Andreas", "Michael",
    "Matthias", "Stefan", "Lukas", "Jonas", "Hans-Peter", "Klaus", "Özgür", "Niklas",
)  # fmt: skip
_GIVEN_NAMES_F = (
    "Käthe", "Anna", "Lena", "Sophie", "Sabine", "Ursula", "Claudia", "Heike",
    "Jülide", "Maren", "Dörte", "Annegret", "Laura", "Franziska", "Bärbel", "Zoë",
)  # fmt: skip
_CHILD_NAMES = ("Lena", "Mia", "Emil", "Jonas", "Hannah", "Lukas", "Söhnke", "Jörn", "Malte")
_STREETS = (
    "Hauptstraße", "Lindenstraße", "Bahnhofstraße", "Goethestraße", "Gartenstraße",
    "Schulstraße", "Kirchstraße", "Mühlenstraße", "Brückenstraße", "Königsstraße",
    "Friedrich-Ebert-Straße", "Rosenstraße", "Mühlgasse", "Weißdornstraße", "Lindenallee",
    "Kastanienallee", "Schloßstraße", "Hölderlinstraße", "Große Straße", "Fährstraße",
)  # fmt: skip
_PLACES = (
    "Lindenau", "Birkenhain", "Altmühlen", "Weißenfeld", "Rödelsee", "Großbüchen",
    "Schönwalde", "Kleinhöfen", "Eichstätten", "Süßenbach",
)  # fmt: skip
_WATERS = ("Mühlbach", "Lindenauer Graben", "Weißbach", "Röhrensee", "Schwarzwasser")
_KITAS = ("Sonnenblume", "Kleine Strolche", "Regenbogen", "Pusteblume", "Spatzennest")
_BPLAN_NAMES = ("Am Südhang", "Wohngebiet Mühlenfeld", "Ortsmitte", "Gewerbegebiet Nord")
_RESTAURANTS = ("Zum Weißen Rößl", "Zur Linde", "Grüner Baum", "Brückenschänke")
_PLATE_LETTERS = "ABCDEFGHKLMNPRSTUVWXYZ"

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ë": "e",
                          "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})  # fmt: skip

# Sentence templates.  ``{slot}`` placeholders are filled by :class:`_Slots`.
# Openings per document kind as ``(areas, template)``; an empty ``areas`` fits any area.
_OPENINGS: dict[str, tuple[tuple[str, str], ...]] = {
    "incoming": (
        ("bau", "Sehr geehrte Damen und Herren, hiermit beantrage ich die Genehmigung zur "
         "Errichtung eines Einfamilienhauses mit Doppelgarage auf dem Grundstück {strasse} "
         "{hausnr} in {plz} {ort}."),
        ("ordnung", "Sehr geehrte Damen und Herren, hiermit zeige ich zum {frist_datum} den "
         "Beginn meines Gewerbebetriebs in der {strasse} {hausnr} in {ort} an."),
        ("sozial", "Sehr geehrte Damen und Herren, hiermit beantrage ich Leistungen zur "
         "Sicherung des Lebensunterhalts für meinen Haushalt in der {strasse} {hausnr}."),
        ("jugend", "Sehr geehrte Damen und Herren, hiermit beantragen wir für unser Kind "
         "{kind} einen Betreuungsplatz ab dem {frist_datum}."),
        ("umwelt", "Sehr geehrte Damen und Herren, hiermit beantrage ich die Genehmigung zur "
         "Fällung einer Rotbuche auf meinem Grundstück {strasse} {hausnr} in {ort}."),
        ("finanzen", "Sehr geehrte Damen und Herren, gegen den Gebührenbescheid vom {datum}, "
         "Aktenzeichen {az}, lege ich hiermit fristgerecht Widerspruch ein."),
        ("personal", "Sehr geehrte Damen und Herren, hiermit bewerbe ich mich auf die von "
         "Ihnen ausgeschriebene Stelle in der Kreisverwaltung {kreis}."),
        ("organisation", "Sehr geehrte Damen und Herren, wie vereinbart übersenden wir Ihnen "
         "unser Angebot zur Einführung der elektronischen Akte."),
        ("", "Sehr geehrte Damen und Herren, unter Bezugnahme auf Ihr Schreiben vom {datum} "
         "nehme ich zu dem Vorgang wie folgt Stellung."),
        ("", "Sehr geehrte Damen und Herren, anbei übersende ich Ihnen die mit Schreiben vom "
         "{datum} nachgeforderten Unterlagen."),
        ("", "{sb_anrede_brief}, vielen Dank für das freundliche Telefonat am {datum}; wie "
         "besprochen reiche ich die Unterlagen hiermit nach."),
    ),
    "outgoing": (
        ("", "{anrede_brief}, wir bestätigen den Eingang Ihres Antrags vom {datum}, der hier "
         "unter dem Aktenzeichen {az} geführt wird."),
        ("", "{anrede_brief}, nach Prüfung Ihres Antrags vom {datum} ergeht folgender "
         "Bescheid."),
        ("", "{anrede_brief}, zu Ihrer Anfrage vom {datum} teilen wir Ihnen Folgendes mit."),
        ("", "{anrede_brief}, in der oben genannten Angelegenheit geben wir Ihnen gemäß § 28 "
         "Verwaltungsverfahrensgesetz (VwVfG) Gelegenheit zur Äußerung."),
    ),
    "internal": (
        ("bau umwelt ordnung", "Vermerk: Am {datum} fand ein Ortstermin auf dem Grundstück "
         "{strasse} {hausnr} in {ort} statt."),
        ("", "Aktennotiz über das Telefonat mit {anrede_dativ} am {datum}."),
        ("", "Vermerk zur Vorlage bei der Amtsleitung: Der Sachstand stellt sich wie folgt "
         "dar."),
        ("", "{kollege_anrede_brief}, zur Vorbereitung der Besprechung am {datum} übersende "
         "ich den aktuellen Sachstand."),
    ),
}  # fmt: skip

_CLOSINGS: dict[str, tuple[str, ...]] = {
    "incoming": (
        "Für Rückfragen erreichen Sie mich unter der Telefonnummer {telefon}.\n"
        "Mit freundlichen Grüßen\n{name}",
        "Ich bitte um eine kurze Eingangsbestätigung.\nMit freundlichen Grüßen\n{name}",
    ),
    "outgoing": (
        "Rechtsbehelfsbelehrung: Gegen diesen Bescheid kann innerhalb eines Monats nach "
        "Bekanntgabe Widerspruch erhoben werden. Der Widerspruch ist schriftlich oder zur "
        "Niederschrift bei der Kreisverwaltung {kreis}, Am Markt 1, {kreis_plz} {kreis}, "
        "einzulegen.\nMit freundlichen Grüßen\nIm Auftrag\n{sb_name}",
        "Für Rückfragen stehe ich Ihnen unter der Telefonnummer {sb_telefon} gern zur "
        "Verfügung.\nMit freundlichen Grüßen\nIm Auftrag\n{sb_name}",
    ),
    "internal": (
        "Wiedervorlage: {frist_datum}.\ngez. {sb_name}",
        "Z. d. A.\ngez. {sb_name}",
        "Die Amtsleitung wird um Kenntnisnahme und Zustimmung gebeten.\ngez. {sb_name}",
    ),
}

_GENERAL: tuple[str, ...] = (
    "Die Prüfung der Unterlagen hat ergeben, dass die eingereichten Nachweise vollständig "
    "sind.",
    "Gemäß § 28 Verwaltungsverfahrensgesetz (VwVfG) erhalten Sie Gelegenheit, sich bis zum "
    "{frist_datum} zu den für die Entscheidung erheblichen Tatsachen zu äußern.",
    "Die Verwaltungsgebühr wird auf {betrag} festgesetzt und ist innerhalb von {frist} Tagen "
    "auf das Konto der Kreiskasse zu überweisen.",
    "Im Zuge der Verwaltungsdigitalisierung werden sämtliche Posteingänge gescannt und in der "
    "elektronischen Akte revisionssicher gespeichert.",
    "Eine Durchschrift dieses Schreibens erhält {kollege_anrede_name} zur Kenntnisnahme.",
    "Die Angelegenheit wurde am {datum} mit {anrede_dativ} telefonisch erörtert; Einwände "
    "wurden nicht erhoben.",
    "Die Frist zur Stellungnahme ist am {frist_datum} fruchtlos verstrichen.",
    "Wir weisen darauf hin, dass die Bearbeitung aufgrund des hohen Antragsaufkommens derzeit "
    "bis zu {wochen} Wochen in Anspruch nehmen kann.",
    "Die Zuständigkeit der Kreisverwaltung {kreis} ergibt sich aus § 3 VwVfG in Verbindung mit "
    "der Zuständigkeitsverordnung des Landes.",
    "Zur weiteren Bearbeitung bitten wir um Übersendung einer Kopie Ihres Personalausweises "
    "sowie einer aktuellen Meldebescheinigung.",
    "Bitte geben Sie bei allen Schreiben und Überweisungen stets das Aktenzeichen {az} an.",
    "Die Unterlagen sind am {datum} per Post eingegangen und wurden dem Fachamt zur "
    "Bearbeitung zugeleitet.",
    "Sollten Sie die Frist nicht einhalten können, teilen Sie uns dies bitte rechtzeitig und "
    "unter Angabe von Gründen mit.",
    "Die personenbezogenen Daten werden ausschließlich zur Durchführung des Verfahrens "
    "verarbeitet (Art. 6 Abs. 1 Buchst. e DSGVO).",
    "Nach Aktenlage ist der Sachverhalt hinreichend geklärt, sodass eine abschließende "
    "Entscheidung getroffen werden kann.",
)

_AREAS: dict[str, tuple[str, ...]] = {
    "bau": (
        "Gemäß § 64 Landesbauordnung bedarf die Errichtung baulicher Anlagen grundsätzlich "
        "einer Baugenehmigung.",
        "Das Vorhaben liegt im Geltungsbereich des Bebauungsplans Nr. {bplan} „{bplan_name}“ "
        "der Gemeinde {ort}.",
        "Das Baugrundstück befindet sich in der Gemarkung {gemarkung}, Flur {flur}, "
        "Flurstück {flurstueck}.",
        "Die Abstandsflächen nach § 6 Landesbauordnung werden zur nördlichen Grundstücksgrenze "
        "nicht eingehalten; eine Abweichung wurde bislang nicht beantragt.",
        "Die Gemeinde {ort} hat ihr Einvernehmen nach § 36 BauGB mit Schreiben vom {datum} "
        "erteilt.",
        "Im Rahmen des Baugenehmigungsverfahrens wurden die Untere Naturschutzbehörde und die "
        "Brandschutzdienststelle beteiligt.",
        "Die Bauvorlagen wurden vom Architekturbüro {nachname} & Partner als "
        "Entwurfsverfasser unterzeichnet.",
        "Das Vorhaben ist nach § 34 BauGB planungsrechtlich zulässig, da es sich nach Art und "
        "Maß der baulichen Nutzung in die Eigenart der näheren Umgebung einfügt.",
        "Mit den Bauarbeiten darf erst begonnen werden, wenn die Baugenehmigung erteilt und der "
        "Baubeginn mindestens eine Woche vorher schriftlich angezeigt worden ist.",
        "Die Stellplatzpflicht nach der Stellplatzsatzung der Gemeinde {ort} ist mit zwei "
        "Stellplätzen auf dem Grundstück erfüllt.",
        "Bei der Ortsbesichtigung am {datum} wurde festgestellt, dass die Grenzgarage bereits "
        "ohne Genehmigung errichtet worden ist.",
        "Die Prüfung der Unterlagen hat ergeben, dass der Standsicherheitsnachweis sowie der "
        "amtliche Lageplan noch fehlen.",
        "Bitte reichen Sie die fehlenden Bauvorlagen bis zum {frist_datum} nach; andernfalls "
        "gilt der Antrag als zurückgenommen.",
        "Der Außenbereich ist nach § 35 BauGB grundsätzlich von Bebauung freizuhalten; ein "
        "privilegiertes Vorhaben liegt nicht vor.",
    ),
    "ordnung": (
        "Die Gewerbeanzeige nach § 14 Gewerbeordnung für den Betrieb einer Bäckerei mit "
        "Café in der {strasse} {hausnr} ist am {datum} eingegangen.",
        "Für die Ausübung des Gaststättengewerbes mit Alkoholausschank ist eine Erlaubnis nach "
        "§ 2 Gaststättengesetz erforderlich.",
        "Das Führungszeugnis und die Auskunft aus dem Gewerbezentralregister liegen vor und "
        "enthalten keine Eintragungen.",
        "Das Fahrzeug mit dem amtlichen Kennzeichen {kfz} wurde am {datum} außer Betrieb "
        "gesetzt.",
        "Für die Zulassung werden die Zulassungsbescheinigung Teil I und Teil II, der Nachweis "
        "über die Hauptuntersuchung sowie die elektronische Versicherungsbestätigung benötigt.",
        "Die Kraftfahrzeugsteuer wird per SEPA-Lastschriftmandat vom Konto der Halterin bzw. "
        "des Halters eingezogen.",
        "Der Versicherer hat mit Anzeige vom {datum} mitgeteilt, dass für das Fahrzeug {kfz} "
        "kein Versicherungsschutz mehr besteht.",
        "Bei der Gaststättenkontrolle am {datum} wurden Mängel bei der Lüftungsanlage und "
        "fehlende Aushänge zum Jugendschutz festgestellt.",
        "Die Überprüfung der gewerberechtlichen Zuverlässigkeit ist ohne Beanstandungen "
        "abgeschlossen worden.",
    ),
    "sozial": (
        "Nach Prüfung Ihrer Einkommens- und Vermögensverhältnisse besteht ein Anspruch auf "
        "Leistungen der Hilfe zum Lebensunterhalt nach dem Zwölften Buch Sozialgesetzbuch.",
        "Der monatliche Gesamtbedarf ist in Höhe von {betrag} anerkannt worden.",
        "Die Kosten der Unterkunft und Heizung werden in tatsächlicher Höhe übernommen, soweit "
        "sie angemessen sind.",
        "Bitte legen Sie uns die Kontoauszüge der letzten drei Monate sowie den aktuellen "
        "Mietvertrag vor.",
        "Änderungen in Ihren persönlichen oder wirtschaftlichen Verhältnissen sind unverzüglich "
        "mitzuteilen (§ 60 SGB I).",
        "Der Wohngeldantrag vom {datum} wurde unter Berücksichtigung aller zum Haushalt "
        "gehörenden Familienmitglieder berechnet.",
        "Das Wohngeld wird für einen Bewilligungszeitraum von zwölf Monaten gewährt und "
        "monatlich im Voraus gezahlt.",
        "Die Rentenbescheinigung der Deutschen Rentenversicherung liegt noch nicht vor.",
        "Ein Hausbesuch bei {anrede_dativ} in der {strasse} {hausnr} ist für den {frist_datum} "
        "vorgesehen.",
    ),
    "jugend": (
        "Für das Kind {kind} wird ab dem {frist_datum} ein Betreuungsplatz in der "
        "Kindertagesstätte „{kita}“ in {ort} bereitgestellt.",
        "Der Elternbeitrag richtet sich nach der Satzung über die Erhebung von Elternbeiträgen "
        "und beträgt monatlich {betrag}.",
        "Im Hilfeplangespräch am {datum} wurde vereinbart, die sozialpädagogische Familienhilfe "
        "nach § 31 SGB VIII fortzusetzen.",
        "Die Personensorgeberechtigten haben dem fortgeschriebenen Hilfeplan zugestimmt.",
        "Der Schutzauftrag bei Kindeswohlgefährdung nach § 8a SGB VIII wurde geprüft; "
        "Anhaltspunkte für eine Gefährdung liegen derzeit nicht vor.",
        "Der Rechtsanspruch auf Förderung in einer Tageseinrichtung ergibt sich aus § 24 "
        "SGB VIII.",
        "Die Einkommensnachweise beider Elternteile sind für die Beitragsfestsetzung "
        "erforderlich.",
    ),
    "umwelt": (
        "Die Untere Naturschutzbehörde erteilt die Befreiung für die Fällung von zwei "
        "Stieleichen unter der Auflage, Ersatzpflanzungen vorzunehmen.",
        "Die Ersatzpflanzung ist bis zum {frist_datum} mit standortheimischen Laubbäumen "
        "(Stammumfang mindestens 18 cm) durchzuführen.",
        "Die artenschutzrechtlichen Verbote nach § 44 Bundesnaturschutzgesetz sind zu beachten; "
        "Fällarbeiten sind vom 1. März bis 30. September unzulässig.",
        "Für die Entnahme von Grundwasser zur Gartenbewässerung ist eine wasserrechtliche "
        "Erlaubnis nach § 8 Wasserhaushaltsgesetz (WHG) erforderlich.",
        "Die Einleitung von Niederschlagswasser in das Gewässer {gewaesser} wird bis zu einer "
        "Menge von {menge} Litern pro Sekunde gestattet.",
        "Bei der Kontrolle am {datum} wurden an der Böschung des Gewässers {gewaesser} illegal "
        "abgelagerte Gartenabfälle und Bauschutt festgestellt.",
        "Das Grundstück liegt im Landschaftsschutzgebiet „Lindenauer Heide“; bauliche "
        "Veränderungen bedürfen der Genehmigung.",
    ),
    "personal": (
        "Die Stelle einer Sachbearbeiterin bzw. eines Sachbearbeiters (m/w/d), Entgeltgruppe "
        "9b TVöD, wird zum nächstmöglichen Zeitpunkt ausgeschrieben.",
        "Auf die Ausschreibung sind fristgerecht {anzahl} Bewerbungen eingegangen.",
        "Der Personalrat und die Gleichstellungsbeauftragte wurden ordnungsgemäß beteiligt.",
        "Schwerbehinderte Bewerberinnen und Bewerber werden bei gleicher Eignung bevorzugt "
        "berücksichtigt.",
        "{kollege_anrede_name} nimmt ab dem {frist_datum} an der Fortbildung „E-Akte in der "
        "Praxis“ teil; die Kosten in Höhe von {betrag} trägt der Arbeitgeber.",
        "Die Auswahlgespräche finden am {frist_datum} im Sitzungssaal der Kreisverwaltung statt.",
    ),
    "organisation": (
        "Mit Wirkung vom {frist_datum} wird die Aufgabe der Kfz-Zulassung vom Ordnungsamt auf "
        "das Bürgerservicezentrum übertragen.",
        "Der Geschäftsverteilungsplan wird entsprechend angepasst und im Intranet veröffentlicht.",
        "Die Einführung der elektronischen Akte erfolgt stufenweise; die Pilotphase im "
        "Bauordnungsamt ist abgeschlossen.",
        "Das Onlinezugangsgesetz verpflichtet Bund und Länder, ihre Verwaltungsleistungen auch "
        "elektronisch über Verwaltungsportale anzubieten.",
        "Die Schulung der Beschäftigten übernimmt die Stabsstelle Verwaltungsdigitalisierung.",
        "Papierakten werden nach dem ersetzenden Scannen gemäß TR-RESISCAN nur noch bis zum "
        "Ablauf der Prüffrist aufbewahrt.",
        "Der Austausch der Akten mit dem Kreisarchiv erfolgt künftig im Standard xdomea.",
    ),
    "finanzen": (
        "Mit Bescheid vom {datum} wurde eine Verwaltungsgebühr in Höhe von {betrag} nach dem "
        "Landesgebührengesetz festgesetzt.",
        "Der Widerspruch hat gemäß § 80 Abs. 2 Nr. 1 VwGO keine aufschiebende Wirkung; die "
        "Gebühr ist daher fristgerecht zu zahlen.",
        "Die Höhe der Gebühr bemisst sich nach dem Verwaltungsaufwand und dem wirtschaftlichen "
        "Wert des Vorhabens.",
        "Ein Antrag auf Stundung oder Ratenzahlung kann bei der Kreiskasse gestellt werden.",
        "Die Mahngebühr in Höhe von {betrag} wird erhoben, da die Zahlung trotz Fälligkeit "
        "nicht eingegangen ist.",
        "Ich halte die festgesetzte Gebühr für unverhältnismäßig hoch, da der tatsächliche "
        "Verwaltungsaufwand gering war.",
        "Der Haushaltsansatz für das Jahr {jahr} wurde um {betrag} überschritten; eine "
        "überplanmäßige Ausgabe ist zu beantragen.",
    ),
}


class _Slots(dict[str, str]):
    """Lazily filled template values; related values (a person, an address) stay consistent."""

    def __init__(self, rng: random.Random, **fixed: str) -> None:
        super().__init__(fixed)
        self._rng = rng

    def __missing__(self, key: str) -> str:
        for prefix in ("sb_", "kollege_", ""):
            field = key[len(prefix) :]
            if key.startswith(prefix) and field in _PERSON_FIELDS:
                self._person(prefix)
                return self[key]
        if key in _ADDRESS_FIELDS:
            self._address()
            return self[key]
        factory = _SLOT_FACTORIES.get(key)
        if factory is None:
            raise KeyError(key)
        value = factory(self)
        if key not in _VOLATILE:
            self[key] = value
        return value

    @property
    def rng(self) -> random.Random:
        """The random generator used for new values."""
        return self._rng

    def _person(self, prefix: str) -> None:
        rng = self._rng
        female = rng.random() < 0.5
        given = rng.choice(_GIVEN_NAMES_F if female else _GIVEN_NAMES_M)
        surname = rng.choice(_SURNAMES)
        anrede = "Frau" if female else "Herr"
        local = f"{given}.{surname}".lower().translate(_UMLAUTS).replace(" ", "")
        domain = _AGENCY_DOMAIN if prefix else rng.choice(("example.org", "example.net"))
        self.update(
            {
                f"{prefix}vorname": given,
                f"{prefix}nachname": surname,
                f"{prefix}name": f"{given} {surname}",
                f"{prefix}anrede_name": f"{anrede} {surname}",
                f"{prefix}anrede_dativ": f"{'Frau' if female else 'Herrn'} {surname}",
                f"{prefix}anrede_brief": (
                    f"Sehr geehrte Frau {surname}" if female else f"Sehr geehrter Herr {surname}"
                ),
                f"{prefix}email": f"{local}@{domain}",
                f"{prefix}telefon": (
                    f"0{rng.randint(30, 99)}{rng.randint(1, 9)} {rng.randint(10000, 999999)}"
                    if not prefix
                    else f"03 41 55 {rng.randint(100, 999)}-{rng.randint(10, 99)}"
                ),
            }
        )

    def _address(self) -> None:
        rng = self._rng
        self.update(
            {
                "strasse": rng.choice(_STREETS),
                "hausnr": f"{rng.randint(1, 140)}{rng.choice(('', '', '', 'a', 'b'))}",
                "plz": f"{rng.randint(1067, 99998):05d}",
                "ort": rng.choice(_PLACES),
            }
        )


_LEAVES: tuple[str, ...] = tuple(
    unit.kennzeichen
    for unit in KREISVERWALTUNG_PLAN
    if unit.kennzeichen not in {other.parent for other in KREISVERWALTUNG_PLAN}
)
_PERSON_FIELDS = frozenset(
    {"vorname", "nachname", "name", "anrede_name", "anrede_dativ", "anrede_brief", "email",
     "telefon"}
)  # fmt: skip
# Slots that get a fresh value on every use (dates and amounts vary within a document).
_VOLATILE = frozenset({"datum", "frist_datum", "betrag", "frist", "wochen", "anzahl", "menge"})
_ADDRESS_FIELDS = frozenset({"strasse", "hausnr", "plz", "ort"})


def _random_date(rng: random.Random, start: date, days: int) -> date:
    return start + timedelta(days=rng.randrange(days))


def _german_date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _euro(cents: int) -> str:
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", ".") + f",{rest:02d} €"


def _plate(rng: random.Random) -> str:
    letters = "".join(rng.choice(_PLATE_LETTERS) for _ in range(rng.randint(1, 2)))
    return f"LIN-{letters} {rng.randint(1, 9999)}"


_SLOT_FACTORIES: dict[str, Callable[[_Slots], str]] = {
    "kreis": lambda s: _KREIS,
    "kreis_plz": lambda s: "04711",
    "datum": lambda s: _german_date(_random_date(s.rng, date(2025, 1, 2), 400)),
    "frist_datum": lambda s: _german_date(_random_date(s.rng, date(2026, 2, 1), 120)),
    "jahr": lambda s: str(s.rng.choice((2024, 2025, 2026))),
    "frist": lambda s: str(s.rng.choice((14, 21, 30))),
    "wochen": lambda s: str(s.rng.randint(4, 12)),
    "betrag": lambda s: _euro(s.rng.choice((5, 10, 25, 50)) * s.rng.randint(100, 5_000)),
    "az": lambda s: f"{s.rng.choice(_LEAVES)}-{s.rng.randint(1, 2999):04d}/{s.rng.randint(24, 26)}",
    "gemarkung": lambda s: s.rng.choice(_PLACES),
    "flur": lambda s: str(s.rng.randint(1, 24)),
    "flurstueck": lambda s: f"{s.rng.randint(1, 480)}/{s.rng.randint(1, 12)}",
    "bplan": lambda s: f"{s.rng.randint(1, 48)}",
    "bplan_name": lambda s: s.rng.choice(_BPLAN_NAMES),
    "kfz": lambda s: _plate(s.rng),
    "kind": lambda s: f"{s.rng.choice(_CHILD_NAMES)} {s['nachname']}",
    "kita": lambda s: s.rng.choice(_KITAS),
    "gewaesser": lambda s: s.rng.choice(_WATERS),
    "menge": lambda s: str(s.rng.randint(2, 40)),
    "anzahl": lambda s: str(s.rng.randint(3, 41)),
    "gaststaette": lambda s: s.rng.choice(_RESTAURANTS),
}


def _paragraphs(
    rng: random.Random, n: int, *, area: str, kind: str, slots: _Slots
) -> list[str]:
    """Build ``n`` paragraphs for a document of ``kind`` about ``area``."""
    if n <= 0:
        return []
    banks = (_voiced(_AREAS[area], kind), _voiced(_GENERAL, kind))
    unused = [list(bank) for bank in banks]
    result: list[str] = []
    for index in range(n):
        sentences: list[str] = []
        if index == 0:
            openings = [text for areas, text in _OPENINGS[kind] if not areas or area in areas]
            sentences.append(rng.choice(openings))
        if index == n - 1 and n > 1:
            result.append(rng.choice(_CLOSINGS[kind]).format_map(slots))
            break
        for _ in range(rng.randint(2, 4)):
            which = 0 if rng.random() < 0.65 else 1
            if not unused[which]:  # every sentence used once: start over
                unused[which] = list(banks[which])
            sentences.append(unused[which].pop(rng.randrange(len(unused[which]))))
        result.append(" ".join(s.format_map(slots) for s in sentences))
    return result


def _voiced(bank: tuple[str, ...], kind: str) -> tuple[str, ...]:
    """Keep the sentences that fit who writes a document of ``kind`` to whom."""

    def fits(sentence: str) -> bool:
        citizen_speaks = sentence.startswith("Ich ") or " ich " in sentence
        addresses_citizen = any(word in sentence for word in (" Sie ", "Ihr", "Ihnen"))
        if kind == "incoming":
            return not addresses_citizen
        if kind == "internal":
            return not (citizen_speaks or addresses_citizen)
        return not citizen_speaks

    return tuple(sentence for sentence in bank if fits(sentence))


def german_paragraphs(rng: random.Random, n: int) -> list[str]:
    """Generate realistic German administrative prose (Verwaltungsdeutsch).

    The text is assembled from a hand-written phrase bank for one randomly chosen
    subject area (Bauordnung, Ordnungsamt, Sozialamt, ...), so a paragraph reads like
    part of a Bescheid, Antrag or Vermerk. The first paragraph opens like a letter or
    note and, for ``n > 1``, the last one closes it.

    Args:
        rng: Source of randomness; the same state yields the same text.
        n: Number of paragraphs.

    Returns:
        ``n`` paragraphs; a paragraph may contain line breaks (e.g. a signature).
    """
    area = rng.choice(sorted(_AREAS))
    kind = rng.choice(("incoming", "outgoing", "internal"))
    return _paragraphs(rng, n, area=area, kind=kind, slots=_Slots(rng))


# ---------------------------------------------------------------------------
# File formats
# ---------------------------------------------------------------------------

_PAGE_WIDTH = 595  # A4 in PostScript points
_PAGE_HEIGHT = 842
_MARGIN_LEFT = 64
_MARGIN_TOP = 72
_MARGIN_BOTTOM = 72
_FOOTER_Y = 40
_BODY_FONT = ("F1", 10, 14)  # font resource, size, leading
_TITLE_FONT = ("F2", 14, 19)
_WRAP_WIDTH = 90
_TITLE_WRAP_WIDTH = 62

# Byte value -> its representation inside a PDF literal string.
_PDF_ESCAPES: tuple[str, ...] = tuple(
    "\\" + chr(b) if b in b"\\()" else chr(b) if 32 <= b < 127 else f"\\{b:03o}"
    for b in range(256)
)


def _pdf_string(text: str) -> str:
    """Encode ``text`` as a WinAnsi (cp1252) PDF literal string, ASCII-only."""
    raw = text.encode("cp1252", errors="replace")
    return "(" + "".join(_PDF_ESCAPES[b] for b in raw) + ")"


def _pdf_text_string(text: str) -> str:
    """Encode ``text`` as a UTF-16BE hex text string for the document information."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for raw in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(raw, width, break_on_hyphens=False) or [""])
    return lines


def _layout(title: str, paragraphs: Sequence[str]) -> list[list[tuple[str, int, int, str]]]:
    """Distribute title and paragraphs over pages as ``(font, size, y, text)`` lines."""
    items: list[tuple[tuple[str, int, int], str]] = [
        (_TITLE_FONT, line) for line in _wrap(title, _TITLE_WRAP_WIDTH)
    ]
    for paragraph in paragraphs:
        items.append((_BODY_FONT, ""))
        items.extend((_BODY_FONT, line) for line in _wrap(paragraph, _WRAP_WIDTH))
    pages: list[list[tuple[str, int, int, str]]] = [[]]
    y = _PAGE_HEIGHT - _MARGIN_TOP
    for (font, size, leading), text in items:
        if y < _MARGIN_BOTTOM:
            pages.append([])
            y = _PAGE_HEIGHT - _MARGIN_TOP
        if not text and not pages[-1]:
            continue  # no blank line at the top of a page
        if text:
            pages[-1].append((font, size, y, text))
        y -= leading
    return pages


def _pdf_stream(content: bytes) -> bytes:
    data = zlib.compress(content, 9)
    return b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data)


def make_pdf(title: str, paragraphs: list[str]) -> bytes:
    """Write a small but valid PDF 1.4 document by hand.

    Text is set in the standard Helvetica fonts with ``/WinAnsiEncoding`` so German
    umlauts, ß and € survive text extraction. Long lines are wrapped at about 90
    characters and a new A4 page starts whenever the current one is full.

    Args:
        title: Document title, printed in bold on the first page and stored as
            ``/Title`` in the document information.
        paragraphs: Body paragraphs; line breaks inside a paragraph are kept.

    Returns:
        The PDF file as bytes; identical input gives identical bytes.
    """
    pages = _layout(title, paragraphs)
    fonts = {"F1": 3, "F2": 4}
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # page tree, filled in below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold "
        b"/Encoding /WinAnsiEncoding >>",
        (
            f"<< /Title {_pdf_text_string(title)} /Producer (eakte demo corpus) "
            f"/Creator (eakte) >>"
        ).encode("ascii"),
    ]
    resources = " ".join(f"/{name} {num} 0 R" for name, num in fonts.items())
    kids: list[str] = []
    for number, lines in enumerate(pages, start=1):
        ops = [
            f"BT /{font} {size} Tf {_MARGIN_LEFT} {y} Td {_pdf_string(text)} Tj ET"
            for font, size, y, text in lines
        ]
        footer = f"Seite {number} von {len(pages)}"
        ops.append(
            f"BT /F1 8 Tf {_PAGE_WIDTH - _MARGIN_LEFT - 60} {_FOOTER_Y} Td "
            f"{_pdf_string(footer)} Tj ET"
        )
        page_obj = len(objects) + 1
        kids.append(f"{page_obj} 0 R")
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_PAGE_WIDTH} {_PAGE_HEIGHT}] "
                f"/Resources << /Font << {resources} >> >> /Contents {page_obj + 1} 0 R >>"
            ).encode("ascii")
        )
        objects.append(_pdf_stream("\n".join(ops).encode("ascii") + b"\n"))
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode(
        "ascii"
    )

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_offset = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    file_id = hashlib.sha256(bytes(out)).hexdigest()[:32].upper()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 5 0 R "
        f"/ID [<{file_id}> <{file_id}>] >>\nstartxref\n{xref_offset}\n%%EOF\n"
    ).encode("ascii")
    return bytes(out)


def make_text(paragraphs: list[str]) -> bytes:
    """Render paragraphs as a UTF-8 plain-text note (Vermerk, Aktennotiz).

    Args:
        paragraphs: Paragraphs; each is wrapped at 78 characters, line breaks inside
            a paragraph are kept.

    Returns:
        UTF-8 encoded text with blank lines between paragraphs and a final newline.
    """
    blocks = ["\n".join(_wrap(paragraph, 78)) for paragraph in paragraphs]
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


def make_eml(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    date: datetime,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    """Build an RFC 5322 e-mail message.

    The Message-ID and MIME boundary are derived from the content, so identical input
    gives identical bytes.

    Args:
        sender: ``From`` address, optionally with display name.
        to: ``To`` address, optionally with display name.
        subject: Subject line (may contain umlauts; it is RFC 2047 encoded).
        body: Plain-text body, sent as UTF-8.
        date: Value of the ``Date`` header; naive values are written as ``-0000``.
        attachments: ``(filename, mime, data)`` triples to attach.

    Returns:
        The message as bytes with LF line endings.
    """
    digest = hashlib.sha256()
    for part in (sender, to, subject, body, date.isoformat()):
        digest.update(part.encode("utf-8") + b"\0")
    for filename, mime, data in attachments:
        digest.update(f"{filename}\0{mime}\0".encode() + hashlib.sha256(data).digest())
    token = digest.hexdigest()
    domain = parseaddr(sender)[1].rpartition("@")[2] or "eakte.invalid"

    message = EmailMessage(policy=policy.default)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = f"<{token[:32]}@{domain}>"
    message.set_content(body, charset="utf-8")
    for filename, mime, data in attachments:
        maintype, _, subtype = mime.partition("/")
        if mime == _MIME_EML:
            inner = BytesParser(policy=policy.default).parsebytes(data)
            message.add_attachment(inner, filename=filename)
        elif maintype == "text":
            message.add_attachment(
                data, maintype, subtype or "plain", filename=filename, params={"charset": "utf-8"}
            )
        else:
            message.add_attachment(
                data, maintype or "application", subtype or "octet-stream", filename=filename
            )
    if attachments:
        message.set_boundary(f"=_eakte_{token[32:56]}")
    return message.as_bytes()


# ---------------------------------------------------------------------------
# Akten, Vorgänge, documents
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Topic:
    """What Akten under one leaf plan unit look like."""

    area: str
    amt: str
    mailbox: str
    akten: tuple[str, ...]
    vorgaenge: tuple[str, ...]
    #: (title, kind, format) with format "pdf", "txt" or "eml"; in typical order.
    documents: tuple[tuple[str, str, str], ...]


_TOPICS: dict[str, _Topic] = {
    "000.10": _Topic(
        "organisation", "Hauptamt", "hauptamt",
        ("Geschäftsverteilungsplan der Kreisverwaltung {jahr}",
         "Organisationsverfügung Bürgerservicezentrum",
         "Neuorganisation des Ordnungsamtes"),
        ("Entwurf und Abstimmung mit den Fachämtern", "Beteiligung des Personalrats",
         "Veröffentlichung und Inkraftsetzung"),
        (("Entwurf Geschäftsverteilungsplan", "internal", "pdf"),
         ("Rundschreiben an alle Ämter", "internal", "eml"),
         ("Vermerk zur Abstimmung mit den Fachämtern", "internal", "txt"),
         ("Stellungnahme des Personalrats", "internal", "pdf"),
         ("Verfügung des Landrats", "internal", "pdf")),
    ),
    "000.20": _Topic(
        "organisation", "Stabsstelle Verwaltungsdigitalisierung", "digitalisierung",
        ("Einführung der elektronischen Akte", "Umsetzung des Onlinezugangsgesetzes",
         "Ersetzendes Scannen nach TR-RESISCAN"),
        ("Projektplanung und Lenkungsausschuss", "Pilotierung im Bauordnungsamt",
         "Schulung der Beschäftigten"),
        (("Projektauftrag", "internal", "pdf"),
         ("Angebot des IT-Dienstleisters", "incoming", "pdf"),
         ("Rückfrage zur xdomea-Schnittstelle", "incoming", "eml"),
         ("Protokoll des Lenkungsausschusses", "internal", "pdf"),
         ("Aktennotiz Schulungstermine", "internal", "txt")),
    ),
    "020.10": _Topic(
        "personal", "Personalamt", "personal",
        ("Stellenausschreibung Sachbearbeitung Bauaufsicht (m/w/d), EG 9b TVöD",
         "Stellenausschreibung Sozialarbeit im Jugendamt (m/w/d)",
         "Auswahlverfahren Ausbildung Verwaltungsfachangestellte {jahr}"),
        ("Ausschreibung und Veröffentlichung", "Bewerbungseingang",
         "Auswahlgespräche und Besetzungsvorschlag"),
        (("Ausschreibungstext", "internal", "pdf"),
         ("Bewerbung", "incoming", "eml"),
         ("Eingangsbestätigung der Bewerbung", "outgoing", "eml"),
         ("Vermerk über die Auswahlgespräche", "internal", "txt"),
         ("Zustimmung des Personalrats", "internal", "pdf")),
    ),
    "020.20": _Topic(
        "personal", "Personalamt", "fortbildung",
        ("Fortbildungsprogramm {jahr}", "Fortbildung „E-Akte in der Praxis“",
         "Praxisanleitung der Auszubildenden"),
        ("Bedarfsermittlung", "Anmeldung und Kostenübernahme", "Teilnahmebescheinigungen"),
        (("Fortbildungsantrag", "internal", "eml"),
         ("Genehmigung der Kostenübernahme", "internal", "pdf"),
         ("Anmeldebestätigung des Studieninstituts", "incoming", "eml"),
         ("Teilnahmebescheinigung", "incoming", "pdf"),
         ("Aktennotiz Fortbildungsbedarf", "internal", "txt")),
    ),
    "200.10": _Topic(
        "finanzen", "Kreiskasse", "kreiskasse",
        ("Gebührenbescheid Baugenehmigung {strasse} {hausnr}",
         "Widerspruch gegen Gebührenbescheid vom {datum}",
         "Mahnverfahren {name}"),
        ("Gebührenfestsetzung", "Widerspruch gegen Gebührenbescheid",
         "Stundung und Ratenzahlung"),
        (("Gebührenbescheid", "outgoing", "pdf"),
         ("Widerspruch", "incoming", "pdf"),
         ("Widerspruch per E-Mail", "incoming", "eml"),
         ("Vermerk zur Abhilfeprüfung", "internal", "txt"),
         ("Widerspruchsbescheid", "outgoing", "pdf"),
         ("Zahlungserinnerung", "outgoing", "eml")),
    ),
    "200.20": _Topic(
        "finanzen", "Kämmerei", "kaemmerei",
        ("Haushaltsplan {jahr}", "Jahresabschluss {jahr}", "Überplanmäßige Ausgaben {jahr}"),
        ("Mittelanmeldungen der Fachämter", "Beratung im Kreisausschuss",
         "Prüfung durch das Rechnungsprüfungsamt"),
        (("Mittelanmeldung", "internal", "eml"),
         ("Entwurf Haushaltsplan", "internal", "pdf"),
         ("Vermerk zur Haushaltsüberschreitung", "internal", "txt"),
         ("Prüfbericht des Rechnungsprüfungsamtes", "internal", "pdf")),
    ),
    "320.10": _Topic(
        "ordnung", "Ordnungsamt", "gewerbe",
        ("Gewerbeanmeldung Bäckerei {nachname}, {strasse} {hausnr}",
         "Gaststättenerlaubnis „{gaststaette}“, {ort}",
         "Gewerbeuntersagung wegen Unzuverlässigkeit, {name}"),
        ("Gewerbeanzeige", "Erlaubnisverfahren nach dem Gaststättengesetz",
         "Anhörung und Untersagungsverfügung"),
        (("Gewerbeanmeldung", "incoming", "pdf"),
         ("Eingangsbestätigung", "outgoing", "eml"),
         ("Auskunft aus dem Gewerbezentralregister", "incoming", "pdf"),
         ("Vermerk über die Ortsbesichtigung", "internal", "txt"),
         ("Gaststättenerlaubnis", "outgoing", "pdf")),
    ),
    "320.20": _Topic(
        "ordnung", "Zulassungsstelle", "zulassung",
        ("Fahrzeugzulassung {kfz}", "Außerbetriebsetzung {kfz}", "Halterwechsel {kfz}"),
        ("Neuzulassung", "Umschreibung", "Zwangsabmeldung wegen fehlenden Versicherungsschutzes"),
        (("Antrag auf Zulassung", "incoming", "pdf"),
         ("Anzeige des Versicherers", "incoming", "eml"),
         ("Anhörung vor der Zwangsabmeldung", "outgoing", "pdf"),
         ("Vermerk zur Zwangsabmeldung", "internal", "txt"),
         ("Zulassungsbescheinigung Teil I (Kopie)", "outgoing", "pdf")),
    ),
    "500.10": _Topic(
        "sozial", "Sozialamt", "sozialamt",
        ("Hilfe zum Lebensunterhalt, {name}", "Grundsicherung im Alter, {name}"),
        ("Erstantrag", "Weiterbewilligung", "Widerspruch gegen den Leistungsbescheid"),
        (("Antrag auf Leistungen nach dem SGB XII", "incoming", "pdf"),
         ("Anforderung fehlender Nachweise", "outgoing", "eml"),
         ("Kontoauszüge und Mietvertrag", "incoming", "pdf"),
         ("Berechnungsvermerk", "internal", "txt"),
         ("Bewilligungsbescheid", "outgoing", "pdf")),
    ),
    "500.20": _Topic(
        "sozial", "Wohngeldstelle", "wohngeld",
        ("Wohngeld, {name}, {strasse} {hausnr}", "Wohngeld-Weiterleistungsantrag, {name}"),
        ("Antrag und Berechnung", "Weiterleistung", "Rückforderung überzahlten Wohngeldes"),
        (("Wohngeldantrag", "incoming", "pdf"),
         ("Mietbescheinigung des Vermieters", "incoming", "eml"),
         ("Berechnungsvermerk", "internal", "txt"),
         ("Wohngeldbescheid", "outgoing", "pdf")),
    ),
    "510.10": _Topic(
        "jugend", "Jugendamt", "kita",
        ("Betreuungsplatz für {kind}, {ort}", "Elternbeitrag Kindertagesstätte, {name}"),
        ("Antrag auf einen Betreuungsplatz", "Platzvergabe", "Festsetzung des Elternbeitrags"),
        (("Antrag auf Kindertagesbetreuung", "incoming", "pdf"),
         ("Rückfrage der Eltern", "incoming", "eml"),
         ("Vermerk zur Platzvergabe", "internal", "txt"),
         ("Bescheid über den Elternbeitrag", "outgoing", "pdf")),
    ),
    "510.20": _Topic(
        "jugend", "Jugendamt", "jugendamt",
        ("Hilfe zur Erziehung, Familie {nachname}", "Sozialpädagogische Familienhilfe, "
         "Familie {nachname}"),
        ("Antrag auf Hilfe zur Erziehung", "Hilfeplanung", "Fortschreibung des Hilfeplans"),
        (("Antrag der Personensorgeberechtigten", "incoming", "pdf"),
         ("Hilfeplan", "internal", "pdf"),
         ("Bericht des freien Trägers", "incoming", "eml"),
         ("Aktennotiz Hausbesuch", "internal", "txt")),
    ),
    "630.10": _Topic(
        "bau", "Bauordnungsamt", "bauordnung",
        ("Bauantrag Neubau Einfamilienhaus, Gemarkung {gemarkung}, Flurstück {flurstueck}",
         "Bauantrag Errichtung Carport und Gerätehaus, {strasse} {hausnr}, {ort}",
         "Nutzungsänderung Ladenlokal in Gaststätte, {strasse} {hausnr}",
         "Bauantrag Anbau Wintergarten, Gemarkung {gemarkung}, Flurstück {flurstueck}"),
        ("Antragseingang und Vollständigkeitsprüfung", "Beteiligung der Fachbehörden",
         "Baugenehmigung und Gebührenfestsetzung", "Widerspruch gegen Gebührenbescheid"),
        (("Bauantrag mit Bauvorlagen", "incoming", "pdf"),
         ("Eingangsbestätigung", "outgoing", "pdf"),
         ("Nachforderung fehlender Bauvorlagen", "outgoing", "eml"),
         ("Vermerk zur Vollständigkeitsprüfung", "internal", "txt"),
         ("Stellungnahme der Gemeinde", "incoming", "eml"),
         ("Baugenehmigung", "outgoing", "pdf")),
    ),
    "630.20": _Topic(
        "bau", "Bauordnungsamt", "bauordnung",
        ("Bauvoranfrage Bebaubarkeit Flurstück {flurstueck}, Gemarkung {gemarkung}",
         "Bauvoranfrage Mehrfamilienhaus mit Tiefgarage, {strasse} {hausnr}, {ort}"),
        ("Eingang der Bauvoranfrage", "Planungsrechtliche Prüfung", "Bauvorbescheid"),
        (("Bauvoranfrage", "incoming", "pdf"),
         ("Rückfrage des Architekturbüros", "incoming", "eml"),
         ("Vermerk zur planungsrechtlichen Beurteilung", "internal", "txt"),
         ("Bauvorbescheid", "outgoing", "pdf")),
    ),
    "700.10": _Topic(
        "umwelt", "Untere Naturschutzbehörde", "naturschutz",
        ("Befreiung Baumfällung, {strasse} {hausnr}, {ort}",
         "Illegale Abfallablagerung am Gewässer {gewaesser}"),
        ("Antrag und Ortsbesichtigung", "Befreiung mit Nebenbestimmungen",
         "Kontrolle der Ersatzpflanzung"),
        (("Antrag auf Fällgenehmigung", "incoming", "eml"),
         ("Vermerk Ortsbesichtigung", "internal", "txt"),
         ("Fotodokumentation und Stellungnahme", "internal", "pdf"),
         ("Befreiungsbescheid", "outgoing", "pdf")),
    ),
    "700.20": _Topic(
        "umwelt", "Untere Wasserbehörde", "wasserbehoerde",
        ("Wasserrechtliche Erlaubnis Gartenbrunnen, {strasse} {hausnr}",
         "Einleitung von Niederschlagswasser, Gewässer {gewaesser}"),
        ("Antrag auf wasserrechtliche Erlaubnis", "Beteiligung des Wasserverbandes",
         "Erlaubnisbescheid"),
        (("Antrag auf wasserrechtliche Erlaubnis", "incoming", "pdf"),
         ("Stellungnahme des Wasserverbandes", "incoming", "eml"),
         ("Aktennotiz zur Einleitmenge", "internal", "txt"),
         ("Wasserrechtliche Erlaubnis", "outgoing", "pdf")),
    ),
}  # fmt: skip

_BERLIN = timezone(timedelta(hours=1), "MEZ")


def _slug(text: str) -> str:
    ascii_text = text.lower().translate(_UMLAUTS)
    words = "".join(ch if ch.isascii() and ch.isalnum() else " " for ch in ascii_text).split()
    return "-".join(words)[:60].rstrip("-") or "dokument"


def _make_document(
    rng: random.Random,
    index: int,
    spec: tuple[str, str, str],
    topic: _Topic,
    slots: _Slots,
    when: datetime,
    aktenzeichen: str,
) -> SampleDocument:
    title_template, kind, fmt = spec
    title = title_template.format_map(slots)
    stem = f"{index:02d}_{_slug(title)}"
    agency = f"Kreisverwaltung {_KREIS} – {topic.amt} <{topic.mailbox}@{_AGENCY_DOMAIN}>"
    n = rng.randint(3, 7) if fmt != "pdf" else rng.choice((3, 4, 5, 6, 8, 14, 22))
    body = _paragraphs(rng, n, area=topic.area, kind=kind, slots=slots)
    subject = f"{title} – Az. {aktenzeichen}"
    if fmt == "pdf":
        header = [
            f"Kreisverwaltung {_KREIS} · {topic.amt} · Am Markt 1 · 04711 {_KREIS}",
            f"Aktenzeichen: {aktenzeichen}\nDatum: {_german_date(when.date())}",
            f"Betreff: {subject}" if kind != "internal" else f"Vorgang: {subject}",
        ]
        data = make_pdf(title, [*header, *body])
        return SampleDocument(f"{stem}.pdf", title, kind, _MIME_PDF, data)
    if fmt == "txt":
        lines = [title, f"Az.: {aktenzeichen} – {_german_date(when.date())}", *body]
        return SampleDocument(f"{stem}.txt", title, kind, _MIME_TEXT, make_text(lines))
    citizen = f"{slots['name']} <{slots['email']}>"
    colleague = f"{slots['kollege_name']} <{slots['kollege_email']}>"
    sender, to = {
        "incoming": (citizen, agency),
        "outgoing": (agency, citizen),
        "internal": (f"{slots['sb_name']} <{slots['sb_email']}>", colleague),
    }[kind]
    attachments: list[tuple[str, str, bytes]] = []
    if rng.random() < 0.4:
        label = rng.choice(("Anlage", "Lageplan", "Nachweis", "Stellungnahme"))
        paragraphs = _paragraphs(rng, 3, area=topic.area, kind=kind, slots=slots)
        attachments.append((f"{label}.pdf", _MIME_PDF, make_pdf(f"{label}: {title}", paragraphs)))
    data = make_eml(
        sender=sender,
        to=to,
        subject=subject,
        body="\n\n".join("\n".join(_wrap(paragraph, 72)) for paragraph in body) + "\n",
        date=when,
        attachments=attachments,
    )
    return SampleDocument(f"{stem}.eml", title, kind, _MIME_EML, data)


def sample_akten(count: int = 12, *, seed: int = 2026) -> list[SampleAkte]:
    """Generate realistic Akten with Vorgänge and documents.

    Akten are spread over the leaf units of :data:`KREISVERWALTUNG_PLAN` (every leaf
    gets one before any gets a second). Each Akte has 1-3 Vorgänge with 1-4 documents
    each, mixing PDF letters, plain-text Vermerke and e-mails (some with a PDF
    attachment).

    Args:
        count: Number of Akten.
        seed: Seed for :class:`random.Random`; the same seed gives identical output.

    Returns:
        The generated Akten.
    """
    rng = random.Random(seed)  # noqa: S311 - demo data, not cryptography
    order: list[str] = []
    akten: list[SampleAkte] = []
    for number in range(1, count + 1):
        if not order:
            order = list(_LEAVES)
            rng.shuffle(order)
        kennzeichen = order.pop()
        topic = _TOPICS[kennzeichen]
        slots = _Slots(rng, kreis=_KREIS, amt=topic.amt)
        year = rng.choice((2025, 2026))
        aktenzeichen = f"{kennzeichen}-{number:04d}/{year % 100:02d}"
        slots["az"] = aktenzeichen
        title = rng.choice(topic.akten).format_map(slots)
        when = datetime(year, 1, 2, 8, 0, tzinfo=_BERLIN) + timedelta(
            days=rng.randrange(300), minutes=rng.randrange(600)
        )
        vorgang_titles = rng.sample(topic.vorgaenge, rng.randint(1, min(3, len(topic.vorgaenge))))
        vorgaenge: list[SampleVorgang] = []
        for vorgang_title in vorgang_titles:
            picks = sorted(rng.sample(
                range(len(topic.documents)), rng.randint(1, min(4, len(topic.documents)))
            ))
            documents: list[SampleDocument] = []
            for index, pick in enumerate(picks, start=1):
                when += timedelta(days=rng.randint(1, 21), minutes=rng.randrange(480))
                documents.append(
                    _make_document(
                        rng, index, topic.documents[pick], topic, slots, when, aktenzeichen
                    )
                )
            vorgaenge.append(SampleVorgang(vorgang_title, documents))
        akten.append(SampleAkte(kennzeichen, title, vorgaenge))
    return akten


def sample_files(count: int, *, seed: int = 7, size: int = 2048) -> Iterator[tuple[str, bytes]]:
    """Yield many small, distinct German text files for benchmarks.

    Built from a pre-rendered pool of phrase-bank sentences, so even 100 000 files
    are produced in a few seconds.

    Args:
        count: Number of files.
        seed: Seed for :class:`random.Random`; the same seed gives identical files.
        size: Approximate size of each file in bytes (a file never ends mid-word
            and stays within a few percent of ``size`` for sizes of 1 KiB and up).

    Yields:
        ``(filename, data)`` pairs such as ``("vermerk-00001.txt", b"...")``; every
        ``data`` is distinct UTF-8 text.
    """
    rng = random.Random(seed)  # noqa: S311 - demo data, not cryptography
    areas = sorted(_AREAS)
    pool: list[bytes] = []
    for round_ in range(8):
        slots = _Slots(rng, kreis=_KREIS)
        sentences = [sentence for area in areas for sentence in _AREAS[area]]
        for sentence in (*sentences, *_GENERAL):
            text = sentence.format_map(slots).encode("utf-8")
            # roughly every fourth sentence ends a paragraph
            pool.append(text + (b"\n\n" if round_ % 4 == 0 else b" "))
    average = sum(map(len, pool)) / len(pool)
    picks = int(size / average) + 3
    kinds = ("Vermerk", "Aktennotiz", "Gesprächsnotiz", "Prüfvermerk")
    width = max(5, len(str(count)))
    for number in range(1, count + 1):
        day = date(2025, 1, 1) + timedelta(days=number % 730)
        header = (
            f"{kinds[number % len(kinds)]} Nr. {number:0{width}d}\n"
            f"Az.: {_LEAVES[number % len(_LEAVES)]}-{number:0{width}d}/25 – "
            f"{_german_date(day)}\n\n"
        ).encode()
        chunks = [header]
        length = len(header)
        while length < size:
            for chunk in rng.choices(pool, k=picks):
                chunks.append(chunk)
                length += len(chunk)
                if length >= size:
                    break
        data = b"".join(chunks)[:size]
        cut = data.rfind(b". ")
        if cut < size * 0.9:
            cut = data.rfind(b" ")
        if cut > len(header):
            data = data[: cut + 1]
        else:  # tiny size: only make sure no UTF-8 sequence is cut in half
            data = data.decode("utf-8", errors="ignore").encode("utf-8")
        yield f"vermerk-{number:0{width}d}.txt", data.rstrip() + b"\n"
