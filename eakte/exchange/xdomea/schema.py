"""Validation of xdomea messages: the official XSD when configured, eakte's own checks always.

Where the XSDs are: the argument ``schemas``, else the environment variable
``EAKTE_XDOMEA_SCHEMAS``, else the store setting ``xdomea_schemas``. The folder is laid out
like the KoSIT/x-man distribution: ``xsd-3.1.0/3.1.0/xdomea.xsd`` (and ``xsd-3.0.0/3.0.0/…``)
next to ``xsd-*/xoev/xoev-code.xsd``. A compiled schema is cached per file and reused.

Without a folder, the structural checks below still run on every message written or read:
required elements, element order of the types eakte writes, UUID patterns, code values,
``Importbestaetigung`` = 1, ``Aufbewahrungsdauer`` as a choice, ``Dateiformat`` with
``@listVersionID`` and without ``<name>``, and that every ``Dateiname`` is a member of the
container. The report then says that XSD validation was skipped.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from eakte.errors import InvalidInput
from eakte.exchange.xdomea.codes import (
    DISPOSAL_CODES,
    MESSAGES,
    message_type_for,
    namespace_version,
)
from eakte.exchange.xdomea.read import open_container, parse_xml

if TYPE_CHECKING:
    from lxml import etree
    from lxml.etree import _Element

    from eakte.context import StoreContext

__all__ = [
    "SCHEMA_ENV",
    "SCHEMA_SETTING",
    "StructureChecker",
    "ValidationReport",
    "load_schema",
    "schema_folder",
    "validate_file",
    "validate_message",
    "validate_tree",
    "xsd_path",
]

#: Environment variable naming the schema folder.
SCHEMA_ENV: Final = "EAKTE_XDOMEA_SCHEMAS"
#: Store setting naming the schema folder (used when the environment variable is unset).
SCHEMA_SETTING: Final = "xdomea_schemas"

UUID_RE: Final = re.compile(
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_DATEINAME_RE: Final = re.compile(
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_BOOLEANS: Final = frozenset({"true", "false", "1", "0"})
#: Every Nachrichtentyp code the xdomea 3.x XSD enumerates.
_NACHRICHTENTYPEN: Final = frozenset(
    "0101 0102 0201 0202 0301 0302 0401 0402 0403 0501 0502 0503 0504 0505 0506 0507 0511 "
    "0512 0513 0514 0515 0601 0602 0603 0604 0605 0606 0607 0608 0609 0610 0611 0612 0613 "
    "0614 0615 0616 0617 0618 0619 0620 0621 0622 0623 0624 0625 0626 0627 0628 0629 0630 "
    "0631 0632 0701 0702 0703 0711 0712 0713 0721 0722 0723 0724".split())
_MAX_PROBLEMS: Final = 50


def schema_folder(schemas: str | os.PathLike[str] | None = None, *,
                  store: StoreContext | None = None) -> Path | None:
    """Return the configured schema folder, or None when XSD validation is off.

    Args:
        schemas: an explicit folder (wins over the environment and the store setting).
        store: a store whose ``xdomea_schemas`` setting is consulted last.
    """
    if schemas is not None:
        return Path(schemas)
    env = os.environ.get(SCHEMA_ENV, "").strip()
    if env:
        return Path(env)
    if store is not None:
        value = store.setting(SCHEMA_SETTING)
        if value:
            return Path(value)
    return None


def xsd_path(folder: Path, version: str) -> Path:
    """Return the entry XSD of ``version`` inside a schema folder."""
    return folder / f"xsd-{version}" / version / "xdomea.xsd"


_cache: dict[tuple[str, float], etree.XMLSchema] = {}
_cache_lock = threading.Lock()


def load_schema(folder: Path, version: str) -> etree.XMLSchema:
    """Compile (once) and return the xdomea XSD of ``version`` from ``folder``.

    The XSD is read with network access and DTDs off; compiled schemas are cached per file
    path and modification time.

    Raises:
        InvalidInput: the folder lacks that version's XSD, or the XSD does not compile.
    """
    from lxml import etree

    path = xsd_path(folder, version)
    try:
        key = (str(path.resolve()), path.stat().st_mtime)
    except OSError as exc:
        raise InvalidInput(
            f"xdomea schema folder {str(folder)!r} has no XSD for version {version} "
            f"(expected {str(path)!r}); fix {SCHEMA_ENV} or the store setting "
            f"{SCHEMA_SETTING!r}") from exc
    with _cache_lock:
        schema = _cache.get(key)
        if schema is None:
            parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
            try:
                schema = etree.XMLSchema(etree.parse(str(path), parser))
            except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
                raise InvalidInput(f"cannot compile xdomea XSD {str(path)!r}: {exc}") from exc
            _cache[key] = schema
    return schema


@dataclass
class ValidationReport:
    """What validating one message found.

    Attributes:
        message: the Nachrichtentyp, e.g. ``"0503"``.
        version: the xdomea version of the namespace, e.g. ``"3.1.0"``.
        prozess_id: the message's ProzessID.
        schema_validated: True if the official XSD was applied (and passed when ``ok``).
        schema: the XSD file used, if any.
        skipped_reason: why XSD validation was skipped, if it was.
        problems: every error found (XSD and structure); empty when the message is valid.
        warnings: deviations eakte tolerates on import (e.g. a Nachrichtentyp that does not
            match the root element, as in some real templates).
    """

    message: str | None = None
    version: str | None = None
    prozess_id: str | None = None
    schema_validated: bool = False
    schema: str | None = None
    skipped_reason: str | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible summary."""
        return {
            "message": self.message, "version": self.version, "prozess_id": self.prozess_id,
            "schema_validated": self.schema_validated, "schema": self.schema,
            "schema_skipped_reason": self.skipped_reason, "ok": self.ok,
            "problems": list(self.problems), "warnings": list(self.warnings),
        }


# -- structural checks ------------------------------------------------------------------

_KOPF_BASE = ("ProzessID", "Nachrichtentyp", "Erstellungszeitpunkt", "Absender", "Empfaenger",
              "SendendesSystem", "Hinweis", "AnwendungsspezifischeErweiterung",
              "AnwendungsspezifischeErweiterungXML")
_DOKUMENT = ("Identifikation", "AllgemeineMetadaten", "FremdesGeschaeftszeichen",
             "Posteingangsdatum", "Postausgangsdatum", "DatumDesSchreibens", "Bezug", "Hier",
             "Bearbeiter", "Typ", "HistorienProtokollInformation", "InternerGeschaeftsgang",
             "Version", "Verweis", "Anlage", "Absender", "Empfaenger", "WeitererKontakt",
             "AnwendungsspezifischeErweiterung", "AnwendungsspezifischeErweiterungXML")
_ORDER: Final[dict[str, tuple[str, ...]]] = {
    "Kopf": _KOPF_BASE,
    "Kopf0503": (*_KOPF_BASE, "Importbestaetigung", "RueckmeldungArchivkennung",
                 "Empfangsbestaetigung"),
    "KopfEB": (*_KOPF_BASE, "Empfangsbestaetigung"),
    "Akte": ("Identifikation", "AllgemeineMetadaten", "ArchivspezifischeMetadaten", "Standort",
             "Typ", "Laufzeit", "HistorienProtokollInformation", "InternerGeschaeftsgang",
             "Akteninhalt", "Verweis", "Kontakt", "ZdA", "ZdADatum",
             "AnwendungsspezifischeErweiterung", "AnwendungsspezifischeErweiterungXML"),
    "Akteninhalt": ("Dokument", "Vorgang", "Teilakte"),
    "Vorgang": ("Identifikation", "AllgemeineMetadaten", "ArchivspezifischeMetadaten",
                "Aktenbetreff", "Typ", "ZdA", "ZdADatum", "Laufzeit",
                "HistorienProtokollInformation", "InternerGeschaeftsgang", "Dokument",
                "Verweis", "Kontakt", "Teilvorgang", "AnwendungsspezifischeErweiterung",
                "AnwendungsspezifischeErweiterungXML"),
    "Dokument": _DOKUMENT,
    "Anlage": (*_DOKUMENT, "Nummer"),
    "AllgemeineMetadaten": ("Betreff", "Kennzeichen", "Federfuehrung", "Aktenfuehrung",
                            "Vertraulichkeitsstufe", "Bemerkung", "Medium",
                            "Aktenplaneinheit"),
    "ArchivspezifischeMetadaten": ("Aufbewahrungsdauer", "Aussonderungsart", "Kennung",
                                   "Bewertungsvorschlag", "Aufbewahrungsende"),
    "VersionDok": ("Nummer", "Format"),
    "Format": ("Name", "SonstigerName", "Version", "Primaerdokument"),
    "Primaerdokument": ("Dateiname", "DateinameOriginal", "Ersteller", "DatumUhrzeit",
                        "SignaturSiegel"),
    "HistorienProtokollInformation": ("MetadatumName", "MetadatumAlterWert",
                                      "MetadatumNeuerWert", "Akteur", "DatumUhrzeit",
                                      "Bemerkung", "Aktion"),
    "BewertetesObjekt": ("ID", "Aussonderungsart"),
    "AusgesondertesSGO": ("IDSGO", "Erfolgreich", "Fehlermeldung", "FehlermeldungCode",
                          "Archivkennung"),
}
#: Children that must be present, per checked type.
_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "Kopf": ("ProzessID", "Nachrichtentyp", "Erstellungszeitpunkt", "Absender", "Empfaenger"),
    "Kopf0503": ("ProzessID", "Nachrichtentyp", "Erstellungszeitpunkt", "Absender",
                 "Empfaenger", "Importbestaetigung", "RueckmeldungArchivkennung",
                 "Empfangsbestaetigung"),
    "KopfEB": ("ProzessID", "Nachrichtentyp", "Erstellungszeitpunkt", "Absender",
               "Empfaenger", "Empfangsbestaetigung"),
    "Akte": ("Identifikation",), "Vorgang": ("Identifikation",),
    "Dokument": ("Identifikation",), "Anlage": ("Identifikation",),
    "VersionDok": ("Nummer", "Format"),
    "Format": ("Name", "Version", "Primaerdokument"),
    "Primaerdokument": ("Dateiname",),
    "HistorienProtokollInformation": ("Akteur", "DatumUhrzeit", "Aktion"),
    "BewertetesObjekt": ("ID", "Aussonderungsart"),
    "AusgesondertesSGO": ("IDSGO", "Erfolgreich"),
}
_ROOT_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "0501": ("Kopf", "Schriftgutobjekt"), "0502": ("Kopf", "BewertetesObjekt"),
    "0503": ("Kopf", "Schriftgutobjekt"), "0504": ("Kopf",), "0505": ("Kopf",),
    "0506": ("Kopf", "AusgesondertesSGO"), "0507": ("Kopf",),
}


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def _namespace(tag: object) -> str | None:
    text = str(tag)
    return text[1:].split("}", 1)[0] if text.startswith("{") else None


@dataclass
class _Frame:
    kind: str | None
    name: str
    last: int = -1
    seen: set[str] = field(default_factory=set)


class StructureChecker:
    """eakte's own checks of an xdomea message, fed element events in document order.

    Use :meth:`check` on an ``iterparse``/``iterwalk`` event stream of ``("start", "end")``
    events. Problems and warnings collect in the report; nothing is raised.
    """

    def __init__(self, report: ValidationReport, *, members: Container[str] | None = None,
                 export: bool = False) -> None:
        self.report = report
        self.members = members
        self.export = export
        self.dateinamen = 0
        self._stack: list[_Frame] = []
        self._root_code: str | None = None
        self._namespace: str | None = None

    def _problem(self, text: str) -> None:
        if len(self.report.problems) < _MAX_PROBLEMS:
            self.report.problems.append(text)

    def _kind(self, name: str, parent: _Frame | None) -> str | None:
        if parent is None:
            return None
        pname, pkind = parent.name, parent.kind
        if name == "Kopf" and pkind == "root":
            code = self._root_code
            return "Kopf0503" if code == "0503" else "KopfEB" if code in ("0501", "0502") \
                else "Kopf"
        if name in ("Akte", "Teilakte"):
            return "Akte"
        if name in ("Vorgang", "Teilvorgang"):
            return "Vorgang"
        if name in ("Dokument", "Anschreiben"):
            return "Dokument"
        if name == "Anlage":
            return "Anlage"
        if name == "Version" and pkind in ("Dokument", "Anlage"):
            return "VersionDok"
        if name in ("BewertetesObjekt", "AusgesondertesSGO") and pkind == "root":
            return name
        if name in _ORDER and name not in ("Kopf",) and pname != "Aktenplan":
            return name
        return None

    def start(self, tag: object, attrib: Any) -> None:
        """Handle an element's start."""
        name = _local(tag)
        parent = self._stack[-1] if self._stack else None
        if parent is None:
            self._root(tag, name)
            self._namespace = _namespace(tag)
            self._stack.append(_Frame("root", name))
            return
        if parent.kind == "foreign":  # inside AnwendungsspezifischeErweiterungXML (xs:any)
            self._stack.append(_Frame("foreign", name))
            return
        namespace = _namespace(tag)
        if namespace is not None and namespace != self._namespace:
            self._problem(f"element {tag!s} is not in the message's namespace")
        order = _ORDER.get(parent.kind or "")
        if order is not None:
            if name not in order:
                self._problem(f"element {name!r} is not expected in {parent.name!r}")
            else:
                index = order.index(name)
                if index < parent.last:
                    self._problem(
                        f"element {name!r} is out of order in {parent.name!r} (it must come "
                        f"before {order[parent.last]!r})")
                parent.last = max(parent.last, index)
        parent.seen.add(name)
        if name == "AnwendungsspezifischeErweiterungXML":
            self._stack.append(_Frame("foreign", name))
            return
        if name == "Name" and parent.name == "Format":
            if attrib.get("listVersionID") is None:
                self._problem("Dateiformat (Format/Name) lacks the attribute listVersionID")
        if name == "name" and parent.name == "Name" and len(self._stack) >= 2 \
                and self._stack[-2].name == "Format":
            self._problem("Dateiformat (Format/Name) must not contain <name>")
        self._stack.append(_Frame(self._kind(name, parent), name))

    def _root(self, tag: object, name: str) -> None:
        namespace = _namespace(tag)
        version = namespace_version(namespace)
        if version is None:
            self._problem(f"namespace {namespace!r} is not xdomea 3.0.0 or 3.1.0")
        self.report.version = version
        message = message_type_for(name)
        if message is None:
            self._problem(f"root element {name!r} is not an Aussonderung message eakte reads")
        else:
            self._root_code = message.code
            self.report.message = message.code

    def end(self, tag: object, text: str | None, attrib: Any) -> None:
        """Handle an element's end (``text`` is its own text)."""
        frame = self._stack.pop()
        if frame.kind == "foreign":
            return
        name = frame.name
        parent = self._stack[-1] if self._stack else None
        required = _REQUIRED.get(frame.kind or "")
        if frame.kind == "root" and self._root_code:
            required = _ROOT_REQUIRED.get(self._root_code)
        for child in required or ():
            if child not in frame.seen:
                self._problem(f"{name!r} lacks the required element {child!r}")
        value = (text or "").strip()
        pname = parent.name if parent else ""
        if name in ("ID", "ProzessID", "IDSGO") and not UUID_RE.match(value):
            self._problem(f"{pname}/{name} {value!r} is not a UUID")
        if name == "ProzessID" and parent is not None and (parent.kind or "").startswith(
                "Kopf"):
            self.report.prozess_id = value
        elif name == "Importbestaetigung" and value not in ("1", "true"):
            self._problem(f"Kopf/Importbestaetigung must be 1, not {value!r}")
        elif name in ("RueckmeldungArchivkennung", "Empfangsbestaetigung", "ZdA",
                      "Erfolgreich") and value not in _BOOLEANS:
            self._problem(f"{name} {value!r} is not a boolean")
        elif name == "Dateiname":
            self._dateiname(value)
        elif name == "code":
            self._code(value, parent, attrib)
        elif name == "Aufbewahrungsdauer":
            if len(frame.seen & {"AnzahlJahre", "Unbefristet"}) != 1:
                self._problem("Aufbewahrungsdauer needs exactly one of AnzahlJahre or "
                              "Unbefristet")
        elif name == "AnzahlJahre" and not (value.isdigit() and int(value) < 65536):
            self._problem(f"Aufbewahrungsdauer/AnzahlJahre {value!r} is not a number of years")
        elif name == "Unbefristet" and value not in ("1", "true"):
            self._problem(f"Aufbewahrungsdauer/Unbefristet must be 1, not {value!r}")

    def _dateiname(self, value: str) -> None:
        if not _DATEINAME_RE.match(value):
            self._problem(f"Dateiname {value!r} does not start with a UUID")
        self.dateinamen += 1
        if self.members is not None and value not in self.members:
            self._problem(f"Dateiname {value!r} is not a member of the container")

    def _code(self, value: str, parent: _Frame | None, attrib: Any) -> None:
        if parent is None or len(self._stack) < 2:
            return
        grand = self._stack[-2].name
        if parent.name == "Nachrichtentyp":
            if value not in _NACHRICHTENTYPEN:
                self._problem(f"Nachrichtentyp code {value!r} is not an xdomea message type")
            elif self._root_code and value != self._root_code:
                text = (f"Nachrichtentyp code {value!r} does not match the root element "
                        f"(message {self._root_code})")
                if self.export:
                    self._problem(text)
                else:
                    self.report.warnings.append(text)
        elif parent.name == "Aussonderungsart" and grand == "Aussonderungsart":
            if value not in DISPOSAL_CODES:
                self._problem(f"Aussonderungsart code {value!r} is not A, B or V")
        elif parent.name == "Vertraulichkeitsstufe" and value not in (
                "001", "002", "003", "004", "005"):
            self._problem(f"Vertraulichkeitsstufe code {value!r} is not in the code list")

    def check(self, events: Iterator[tuple[str, Any]]) -> None:
        """Consume ``("start"|"end", element)`` events; clears finished elements."""
        for event, element in events:
            tag = element.tag
            if not isinstance(tag, str):  # comments, processing instructions
                continue
            if event == "start":
                self.start(tag, element.attrib)
            else:
                self.end(tag, element.text, element.attrib)

    def finish(self) -> None:
        """Run the checks that need the whole message."""
        if self.members is not None and self.report.message == "0501" and self.dateinamen:
            self._problem("an Anbieteverzeichnis (0501) must not carry primary files")
        if self.report.message not in MESSAGES and not self.report.problems:
            self._problem("not an xdomea Aussonderung message")


def _schema_problems(error_log: Any) -> list[str]:
    return [f"line {e.line}: {e.message}" for e in list(error_log)[:_MAX_PROBLEMS]]


def validate_file(path: Path, version: str, *, schemas: Path | None,
                  members: Container[str] | None = None, export: bool = True
                  ) -> ValidationReport:
    """Validate a message file in one streaming pass (memory stays flat for huge messages).

    The XSD of ``version`` (when a folder is configured) and the structural checks are
    applied while the file is read; finished elements are discarded as the parse goes on.

    Raises:
        InvalidInput: the schema folder lacks that version's XSD.
    """
    from lxml import etree

    report = ValidationReport(version=version)
    schema = None
    if schemas is not None:
        schema = load_schema(schemas, version)
        report.schema = str(xsd_path(schemas, version))
    else:
        report.skipped_reason = f"no XSD folder configured ({SCHEMA_ENV} is unset)"
    checker = StructureChecker(report, members=members, export=export)
    options: dict[str, Any] = {"schema": schema} if schema is not None else {}
    events = etree.iterparse(
        str(path), events=("start", "end"), no_network=True, resolve_entities=False,
        load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True, **options)
    try:
        for event, element in events:
            tag = element.tag
            if event == "start":
                checker.start(tag, element.attrib)
                continue
            checker.end(tag, element.text, element.attrib)
            element.clear(keep_tail=True)
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        report.problems.insert(0, f"XSD: {exc}" if schema is not None else f"XML: {exc}")
    checker.finish()
    report.schema_validated = schema is not None
    return report


def validate_tree(root: _Element, *, schemas: Path | None,
                  members: Container[str] | None = None) -> ValidationReport:
    """Validate a parsed message (on import): XSD when configured, then structure.

    Raises:
        InvalidInput: the schema folder lacks the message version's XSD.
    """
    from lxml import etree

    report = ValidationReport()
    checker = StructureChecker(report, members=members, export=False)
    checker.check(etree.iterwalk(root, events=("start", "end")))
    checker.finish()
    version = namespace_version(etree.QName(root).namespace)
    if schemas is None:
        report.skipped_reason = f"no XSD folder configured ({SCHEMA_ENV} is unset)"
    elif version is not None:
        schema = load_schema(schemas, version)
        report.schema = str(xsd_path(schemas, version))
        report.schema_validated = True
        if not schema.validate(root):
            report.problems[:0] = [f"XSD: {p}" for p in _schema_problems(schema.error_log)]
    return report


def validate_message(path: str | os.PathLike[str], *,
                     schemas: str | os.PathLike[str] | None = None,
                     store: StoreContext | None = None) -> ValidationReport:
    """Validate an xdomea message file (``.zip`` container or ``.xml``) without importing it.

    Returns:
        the report; ``report.ok`` is False when the XSD or the structural checks failed.

    Raises:
        UnsafeContent: a hostile container (see :func:`~eakte.exchange.xdomea.read.open_container`).
        ArchiveImportError: not a readable container or not well-formed XML.
        InvalidInput: a schema folder without the message version's XSD.
    """
    folder = schema_folder(schemas, store=store)
    with open_container(path) as container:
        root = parse_xml(container.xml)
        report = validate_tree(root, schemas=folder, members=container.members)
        for element in root:
            if _local(element.tag) == "Kopf":
                for child in element:
                    if _local(child.tag) == "ProzessID":
                        report.prozess_id = (child.text or "").strip()
    return report
