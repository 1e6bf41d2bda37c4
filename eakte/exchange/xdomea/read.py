"""Reading xdomea messages: Kopf, 0502 appraisals, 0506 results, 0501/0503 Schriftgutobjekte.

The tree comes from :func:`~eakte.exchange.xdomea._container.parse_xml` (safe parsing of an
untrusted container) and has been validated before; these readers turn it into plain data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from eakte.errors import ArchiveImportError
from eakte.exchange.xdomea._container import (
    Container,
    XdomeaLimits,
    message_of,
    open_container,
    parse_xml,
)
from eakte.exchange.xdomea.codes import EXTENSION_NS

__all__ = [
    "Appraisal",
    "Container",
    "FileRef",
    "Kopf",
    "Schriftgutobjekt",
    "TransferResult",
    "VersionRef",
    "XdomeaLimits",
    "message_of",
    "open_container",
    "parse_kopf",
    "parse_sgo",
    "parse_xml",
    "read_appraisals",
    "read_objects",
    "read_transfer_results",
]

# -- reading the parsed tree --------------------------------------------------------------


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    return [c for c in element if _local(c) == name]


def _child(element: Any, name: str) -> Any | None:
    for c in element:
        if _local(c) == name:
            return c
    return None


def _text(element: Any, *path: str) -> str | None:
    node = element
    for name in path:
        node = _child(node, name) if node is not None else None
    if node is None:
        return None
    text = (node.text or "").strip()
    return text or None


def _bool(value: str | None) -> bool | None:
    return None if value is None else value in ("1", "true")


def _party(kontakt: Any | None) -> str | None:
    if kontakt is None:
        return None
    parts = [_text(kontakt, "Institution", "Name"), _text(kontakt, "Organisationseinheit",
                                                          "Name")]
    return " / ".join(p for p in parts if p) or None


@dataclass(frozen=True)
class Kopf:
    """The message head: who sent what, when, under which ProzessID."""

    prozess_id: str
    nachrichtentyp: str | None
    erstellt: str | None
    absender: str | None
    empfaenger: str | None
    system: str | None
    empfangsbestaetigung: bool | None


def parse_kopf(root: Any) -> Kopf:
    """Return the Kopf of a validated message."""
    kopf = _child(root, "Kopf")
    if kopf is None:  # validation guarantees it; stay defensive
        raise ArchiveImportError("the message has no Kopf")
    system = _child(kopf, "SendendesSystem")
    return Kopf(
        prozess_id=_text(kopf, "ProzessID") or "",
        nachrichtentyp=_text(kopf, "Nachrichtentyp", "code"),
        erstellt=_text(kopf, "Erstellungszeitpunkt"),
        absender=_party(_child(kopf, "Absender")),
        empfaenger=_party(_child(kopf, "Empfaenger")),
        system=" ".join(p for p in (_text(system, "Produktname"), _text(system, "Version"))
                        if p) or None if system is not None else None,
        empfangsbestaetigung=_bool(_text(kopf, "Empfangsbestaetigung")),
    )


@dataclass(frozen=True)
class Appraisal:
    """One ``BewertetesObjekt`` of a 0502: the archive's decision on an object."""

    id: str
    decision: str | None
    configurable: str | None = None


def read_appraisals(root: Any) -> list[Appraisal]:
    """Return the appraisals of a 0502 Bewertungsverzeichnis."""
    out = []
    for obj in _children(root, "BewertetesObjekt"):
        wrapper = _child(obj, "Aussonderungsart")
        out.append(Appraisal(
            id=(_text(obj, "ID") or "").lower(),
            decision=_text(wrapper, "Aussonderungsart", "code") if wrapper is not None
            else None,
            configurable=_text(wrapper, "AussonderungsartKonfigurierbar")
            if wrapper is not None else None))
    return out


@dataclass(frozen=True)
class TransferResult:
    """One ``AusgesondertesSGO`` of a 0506: did the archive take the object over?"""

    id: str
    success: bool
    archivkennung: str | None
    errors: tuple[str, ...]


def read_transfer_results(root: Any) -> list[TransferResult]:
    """Return the per-object results of a 0506 AussonderungImportBestaetigen."""
    out = []
    for obj in _children(root, "AusgesondertesSGO"):
        errors = [(c.text or "").strip() for c in _children(obj, "Fehlermeldung")]
        errors += [_text(c, "code") or "" for c in _children(obj, "FehlermeldungCode")]
        out.append(TransferResult(
            id=(_text(obj, "IDSGO") or "").lower(),
            success=bool(_bool(_text(obj, "Erfolgreich"))),
            archivkennung=_text(obj, "Archivkennung"),
            errors=tuple(e for e in errors if e)))
    return out


@dataclass(frozen=True)
class FileRef:
    """One ``Format`` of a version: a primary file with its Dateiformat."""

    dateiname: str
    original: str | None
    code: str | None
    other_name: str | None
    format_version: str | None
    ersteller: str | None
    datum: str | None


@dataclass(frozen=True)
class VersionRef:
    """One ``Version`` of a Dokument with its formats (first: the original)."""

    nummer: str
    formats: tuple[FileRef, ...]


#: Simple elements kept as metadata of an imported object (beside the mapped ones).
_KEPT = ("Kennzeichen", "Federfuehrung", "Aktenfuehrung", "Bemerkung", "Standort", "Typ",
         "Aktenbetreff", "FremdesGeschaeftszeichen", "Posteingangsdatum", "Postausgangsdatum",
         "DatumDesSchreibens", "Bezug", "Hier", "Bearbeiter", "ZdADatum", "Nummer")
_HISTORY_FIELDS = ("MetadatumName", "MetadatumAlterWert", "MetadatumNeuerWert", "Akteur",
                   "DatumUhrzeit", "Bemerkung", "Aktion")


@dataclass
class Schriftgutobjekt:
    """An Akte, Vorgang or Dokument of a message, with everything below it.

    Attributes:
        typ: ``Akte``, ``Vorgang`` or ``Dokument`` (Teilakte → Akte, Teilvorgang →
            Vorgang, Anlage → Dokument; ``element`` keeps the original name).
        fields: kept metadata (Kennzeichen, Bemerkung, dates …) by element name.
        ext: eakte's own extension data when eakte wrote the message (``art``,
            ``Metadaten``, ``Rendition`` file names, ``Versionskommentar``).
    """

    typ: str
    element: str
    id: str
    betreff: str | None = None
    vertraulichkeit: str | None = None
    aktenplan: tuple[str | None, str | None] | None = None
    retention: int | None = None
    unlimited: bool = False
    aussonderungsart: str | None = None
    zda: bool | None = None
    laufzeit: tuple[str | None, str | None] | None = None
    fields: dict[str, str] = field(default_factory=dict)
    history: list[dict[str, str]] = field(default_factory=list)
    dokumente: list[Schriftgutobjekt] = field(default_factory=list)
    vorgaenge: list[Schriftgutobjekt] = field(default_factory=list)
    anlagen: list[Schriftgutobjekt] = field(default_factory=list)
    versions: list[VersionRef] = field(default_factory=list)
    ext: dict[str, Any] = field(default_factory=dict)

    def walk(self) -> Iterator[Schriftgutobjekt]:
        """Yield this object and every object below it."""
        yield self
        for child in (*self.dokumente, *self.vorgaenge, *self.anlagen):
            yield from child.walk()


_TYP = {"Akte": "Akte", "Teilakte": "Akte", "Vorgang": "Vorgang", "Teilvorgang": "Vorgang",
        "Dokument": "Dokument", "Anlage": "Dokument"}


def _ext(element: Any) -> dict[str, Any]:
    holder = _child(element, "AnwendungsspezifischeErweiterungXML")
    out: dict[str, Any] = {}
    if holder is None:
        return out
    for node in holder:
        if not isinstance(node.tag, str) or not node.tag.startswith(f"{{{EXTENSION_NS}}}"):
            continue
        out.update({k: v for k, v in node.attrib.items()})
        for item in node:
            name = _local(item)
            if name == "Rendition":
                out.setdefault("renditions", {})[item.get("dateiname", "")] = item.get("art")
            elif name == "Versionskommentar":
                out.setdefault("comments", {})[item.get("nummer", "")] = item.text or ""
            elif name == "ExterneKennung":
                out.setdefault("external_ids", []).append(item.text or "")
            else:
                out[name] = item.text or ""
    return out


def _formats(version: Any) -> VersionRef:
    refs = []
    for fmt in _children(version, "Format"):
        name = _child(fmt, "Name")
        primary = _child(fmt, "Primaerdokument")
        refs.append(FileRef(
            dateiname=_text(primary, "Dateiname") or "",
            original=_text(primary, "DateinameOriginal"),
            code=_text(name, "code") if name is not None else None,
            other_name=_text(fmt, "SonstigerName"),
            format_version=_text(fmt, "Version"),
            ersteller=_text(primary, "Ersteller"),
            datum=_text(primary, "DatumUhrzeit")))
    return VersionRef(_text(version, "Nummer") or "", tuple(refs))


def parse_sgo(element: Any) -> Schriftgutobjekt:
    """Return an Akte, Vorgang, Teilakte, Teilvorgang, Dokument or Anlage with its content."""
    name = _local(element)
    meta = _child(element, "AllgemeineMetadaten")
    archiv = _child(element, "ArchivspezifischeMetadaten")
    sgo = Schriftgutobjekt(typ=_TYP[name], element=name,
                           id=(_text(element, "Identifikation", "ID") or "").lower())
    if meta is not None:
        sgo.betreff = _text(meta, "Betreff")
        sgo.vertraulichkeit = _text(meta, "Vertraulichkeitsstufe", "code")
        unit = _child(meta, "Aktenplaneinheit")
        if unit is not None:
            sgo.aktenplan = (_text(unit, "Kennzeichen"),
                             _text(unit, "Inhaltsangabe") or _text(unit, "BetreffKurz"))
        for key in _KEPT:
            value = _text(meta, key)
            if value is not None:
                sgo.fields[key] = value
    if archiv is not None:
        years = _text(archiv, "Aufbewahrungsdauer", "AnzahlJahre")
        sgo.retention = int(years) if years and years.isdigit() else None
        sgo.unlimited = _bool(_text(archiv, "Aufbewahrungsdauer", "Unbefristet")) or False
        wrapper = _child(archiv, "Aussonderungsart")
        if wrapper is not None:
            sgo.aussonderungsart = _text(wrapper, "Aussonderungsart", "code")
    for key in _KEPT:
        value = _text(element, key)
        if value is not None:
            sgo.fields[key] = value
    sgo.zda = _bool(_text(element, "ZdA"))
    laufzeit = _child(element, "Laufzeit")
    if laufzeit is not None:
        sgo.laufzeit = (_text(laufzeit, "Beginn"), _text(laufzeit, "Ende"))
    for entry in _children(element, "HistorienProtokollInformation"):
        sgo.history.append({k: v for k in _HISTORY_FIELDS
                            if (v := _text(entry, k)) is not None})
    sgo.ext = _ext(element)
    content = _child(element, "Akteninhalt") if name in ("Akte", "Teilakte") else element
    if content is not None:
        for child in content:
            local = _local(child)
            if local == "Dokument":
                sgo.dokumente.append(parse_sgo(child))
            elif local in ("Vorgang", "Teilvorgang", "Teilakte"):
                sgo.vorgaenge.append(parse_sgo(child))
    for child in _children(element, "Anlage"):
        sgo.anlagen.append(parse_sgo(child))
    for version in _children(element, "Version") if sgo.typ == "Dokument" else ():
        sgo.versions.append(_formats(version))
    return sgo


def read_objects(root: Any) -> list[Schriftgutobjekt]:
    """Return the Schriftgutobjekte of a 0501 or 0503 message."""
    out = []
    for wrapper in _children(root, "Schriftgutobjekt"):
        for child in wrapper:
            if _local(child) in ("Akte", "Vorgang", "Dokument"):
                out.append(parse_sgo(child))
    return out
