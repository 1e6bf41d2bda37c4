"""Takeover of an xdomea 0503 container from another system into the store.

Rules (see also the README section on xdomea):

- **Aktenplan.** An object's ``Aktenplaneinheit/Kennzeichen`` selects the unit with exactly
  that Kennzeichen; a missing unit is created (title from ``Inhaltsangabe``, parent the
  longest existing dotted prefix, e.g. ``630.10`` for ``630.10.01``; retention and
  Aussonderungsart from the first object filed under it). A missing or malformed
  Kennzeichen (``[Aktenplankennzeichen]``) files the object under the fallback unit
  ``XDOMEA`` (created on first use). ``kennzeichen=`` files everything under one unit.
- **Akten.** Each ``Akte`` becomes an Akte with a *new* Aktenzeichen from the store's
  pattern (year from the Laufzeit); the original Kennzeichen is kept in the metadata
  (``xdomea.kennzeichen``) and the xdomea ID as the external id ``xdomea:<uuid>``. A top-level
  ``Vorgang`` or ``Dokument`` gets an Akte of its own to live in; a ``Teilakte`` becomes a
  Vorgang. ``ZdA`` closes the Akte or Vorgang with its original date; Aufbewahrungsdauer
  becomes the Akte's retention when it differs from the unit's default. The Akte takes the
  strictest Vertraulichkeitsstufe found in it (Offen or VS-NfD; higher levels are refused).
- **Documents.** Versions are numbered 1…n in message order (the original ``Nummer`` is kept);
  the first ``Format`` of a version with a file is its content, further formats become
  renditions (kind ``pdfa`` for code 044, else the format's suffix). History entries are
  kept in the audit event that records each object (``xdomea_history``) and are written
  again as ``HistorienProtokollInformation`` on re-export.
- **Safety.** Every file is streamed into the blob store first (bounded, hash-checked); then
  all rows and audit events are written inside one savepoint of the session: an error
  leaves nothing behind but orphan blobs. Importing the same objects twice is refused.
  A file whose SHA-256 contradicts the one its message records in the history of its
  Dokument (see ``_checksums``) refuses the whole message; it never reaches the store.
"""

from __future__ import annotations

import io
import re
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import select

from eakte.aktenzeichen import validate_kennzeichen
from eakte.audit.events import Action, version_payload
from eakte.errors import ArchiveImportError, InvalidInput, NotFoundError, StateConflict
from eakte.exchange.xdomea._checksums import CheckedReader, Claim, claimed_checksums
from eakte.exchange.xdomea.codes import (
    SONSTIGES,
    UNSUPPORTED_CONFIDENTIALITY,
    confidentiality_from_code,
    dateiformat_suffix,
)
from eakte.exchange.xdomea.read import Container, FileRef, Kopf, Schriftgutobjekt
from eakte.ingest.accept import accept_stream
from eakte.ingest.limits import load_json
from eakte.ingest.source import clean_filename
from eakte.model import Akte, AktenplanUnit, Document, ExternalRef, Rendition, Version, Vorgang
from eakte.model.base import new_uuid
from eakte.types import AkteStatus, Confidentiality, DisposalDecision

if TYPE_CHECKING:
    from eakte.exchange.xdomea.schema import ValidationReport
    from eakte.session import Session

__all__ = ["FALLBACK_KENNZEICHEN", "ImportResult", "take_over"]

#: Aktenplan unit for objects whose Kennzeichen is missing or malformed.
FALLBACK_KENNZEICHEN = "XDOMEA"
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]+")
_SYSTEM = "xdomea"


@dataclass
class ImportResult:
    """What importing one xdomea message did.

    Attributes:
        message: the Nachrichtentyp read.
        prozess_id: the message's ProzessID.
        version: its xdomea version.
        path: the file imported.
        validation: the validation report (XSD applied or skipped, and why).
        akten: the Akten created (0503) or affected (0502, 0506).
        counts: what was created or changed.
        missing_files: primary files named but not available (bare XML only).
        units_created: Aktenplan units created for the takeover.
        objects: per-object outcome (0502 decisions, 0506 results).
        receipt: a receipt message written in answer (0505), if any.
        warnings: deviations that were tolerated.
    """

    message: str
    prozess_id: str
    version: str
    path: Path
    validation: ValidationReport
    akten: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    missing_files: list[str] = field(default_factory=list)
    units_created: list[str] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    receipt: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def schema_validated(self) -> bool:
        """True if the official XSD was applied."""
        return self.validation.schema_validated

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible summary."""
        return {
            "path": str(self.path), "message": self.message, "prozess_id": self.prozess_id,
            "version": self.version, "schema_validated": self.schema_validated,
            "schema": self.validation.schema,
            "schema_skipped_reason": self.validation.skipped_reason, "akten": self.akten,
            "counts": dict(self.counts), "missing_files": list(self.missing_files),
            "units_created": list(self.units_created), "objects": list(self.objects),
            "receipt": str(self.receipt) if self.receipt else None,
            "warnings": list(self.warnings) + list(self.validation.warnings),
        }


def _clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    text = _CONTROL.sub(" ", value).strip()
    return text[:limit].strip() or None


def _filename(original: str | None, dateiname: str) -> str:
    """Return the original file name cleaned as for any filing (last component only)."""
    for candidate in (original, dateiname):
        try:
            return clean_filename(candidate or "")
        except InvalidInput:
            continue
    return "datei"


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _moment(value: str | None) -> datetime | None:
    day = _day(value)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


@dataclass
class _Blob:
    sha256: str
    size: int
    mime: str


class _Takeover:
    """One 0503 takeover: plan, then blobs, then rows (see the module docstring)."""

    def __init__(self, session: Session, container: Container, kopf: Kopf,
                 objects: list[Schriftgutobjekt], result: ImportResult, *,
                 kennzeichen: str | None, fallback: str) -> None:
        self.s = session
        self.uow = session.unit_of_work
        self.orm = self.uow.orm
        self.container = container
        self.kopf = kopf
        self.objects = objects
        self.result = result
        self.forced = validate_kennzeichen(kennzeichen) if kennzeichen else None
        self.fallback = validate_kennzeichen(fallback)
        self.blobs: dict[str, _Blob] = {}
        self.claims: dict[str, list[Claim]] = {}
        self.units: dict[str, AktenplanUnit] = {}
        self.refs: list[tuple[str, str, Any]] = []
        self.counts = {k: 0 for k in ("akten", "vorgaenge", "dokumente", "versionen",
                                       "renditionen", "dateien", "bytes")}
        self.now = self.uow.now()

    # -- planning ------------------------------------------------------------------------

    def plan(self) -> None:
        """Check everything that can be checked before writing anything.

        Raises:
            ArchiveImportError: duplicate IDs, classified content or no objects.
            AccessDenied: the principal may not use the ``xdomea`` system's external ids.
            StateConflict: an object was imported before.
        """
        if not self.objects:
            raise ArchiveImportError("the message holds no Schriftgutobjekt")
        ids: dict[str, str] = {}
        for obj in (o for top in self.objects for o in top.walk()):
            if obj.id in ids:
                raise ArchiveImportError(f"the ID {obj.id} occurs twice in the message")
            ids[obj.id] = obj.typ
            code = obj.vertraulichkeit
            if code in UNSUPPORTED_CONFIDENTIALITY:
                raise ArchiveImportError(
                    f"{obj.element} {obj.id} is classified {UNSUPPORTED_CONFIDENTIALITY[code]} "
                    f"(Vertraulichkeitsstufe {code}); eakte holds Offen and VS-NfD only")
            if obj.retention is not None and obj.retention > 1000:
                self.result.warnings.append(
                    f"{obj.element} {obj.id}: Aufbewahrungsdauer {obj.retention} years taken "
                    "as unlimited (eakte keeps at most 1000 years)")
                obj.retention, obj.unlimited = None, True
            if obj.aussonderungsart is not None and obj.aussonderungsart not in ("A", "V", "B"):
                raise ArchiveImportError(f"{obj.element} {obj.id}: Aussonderungsart "
                                         f"{obj.aussonderungsart!r} is not A, B or V")
        keys = list(ids)
        self.uow.require_system(_SYSTEM)  # before asking which xdomea ids exist
        for start in range(0, len(keys), 500):
            taken = self.orm.execute(
                select(ExternalRef.external_id, ExternalRef.object_type, ExternalRef.object_id)
                .where(ExternalRef.system == _SYSTEM,
                       ExternalRef.external_id.in_(keys[start:start + 500]))
            ).first()
            if taken is not None:
                raise StateConflict(
                    f"the xdomea object {taken.external_id} was imported before (it is "
                    f"{taken.object_type} {taken.object_id}); nothing was imported")
        for obj in (o for top in self.objects for o in top.walk()):
            for version in obj.versions:
                for ref in version.formats:
                    if not self.container.has_file(ref.dateiname):
                        self.result.missing_files.append(ref.dateiname)
        self.claims = claimed_checksums(self.objects)

    # -- blobs ---------------------------------------------------------------------------

    def write_blobs(self) -> None:
        """Stream every available primary file into the blob store (before any row).

        Raises:
            UnsafeContent: a file over the limits (zip bomb, file size).
            ArchiveImportError: a damaged ZIP member, or a file whose SHA-256 contradicts
                its message.
        """
        store = self.uow.store
        names = [ref.dateiname for top in self.objects for o in top.walk()
                 for v in o.versions for ref in v.formats]
        for name in dict.fromkeys(names):
            if name in self.blobs or not self.container.has_file(name):
                continue
            try:
                with self.container.open_file(name) as raw, ExitStack() as cleanup:
                    claims = self.claims.get(name)
                    stream: BinaryIO = raw if not claims else cleanup.enter_context(
                        io.BufferedReader(CheckedReader(raw, name, claims)))
                    # the same rules as filing: no disguised executables, no zip bombs or
                    # XML entity attacks inside the records taken over
                    info = accept_stream(stream, name, store.session_blobs(self.orm),
                                         max_size=store.max_file_size, allow_empty=True)
            except (zipfile.BadZipFile, EOFError) as exc:
                raise ArchiveImportError(f"primary file {name!r} is damaged: {exc}") from exc
            except OSError as exc:
                raise ArchiveImportError(f"cannot read primary file {name!r}: {exc}") from exc
            if not info.created:
                self.uow.reused_blob(info.sha256)
            self.blobs[name] = _Blob(info.sha256, info.size, info.mime)
            self.counts["dateien"] += 1
            self.counts["bytes"] += info.size

    # -- rows ----------------------------------------------------------------------------

    def _unit(self, obj: Schriftgutobjekt) -> str:
        kz_text, title = obj.aktenplan or (None, None)
        kz = self.forced
        if kz is None:
            try:
                kz = validate_kennzeichen(kz_text) if kz_text else self.fallback
            except InvalidInput:
                kz = self.fallback
        if kz in self.units:
            return kz
        try:
            self.units[kz] = self.s.get_plan_unit(kz)
            return kz
        except NotFoundError:
            pass
        parts = kz.split(".")
        parent = None
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            if self.orm.scalar(select(AktenplanUnit.id)
                               .where(AktenplanUnit.kennzeichen == prefix)) is not None:
                parent = prefix
                break
        if kz == self.fallback and not title:
            title = "Übernahme aus xdomea ohne gültiges Aktenplankennzeichen"
        unit_title = _clean(title, 500) or f"Aktenplaneinheit {kz} (aus xdomea übernommen)"
        decision = obj.aussonderungsart if obj.aussonderungsart in ("A", "V", "B") else "B"
        retention = None if obj.unlimited else (obj.retention if obj.retention is not None
                                                else 10)
        self.units[kz] = self.s.add_plan_unit(kz, unit_title, parent=parent,
                                              retention_years=retention,
                                              disposal=DisposalDecision(decision))
        self.result.units_created.append(kz)
        return kz

    def _meta(self, obj: Schriftgutobjekt, **extra: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        raw = obj.ext.get("Metadaten")
        if raw:
            try:
                loaded = load_json(raw, what="Metadaten")
            except InvalidInput:  # not JSON, or nested too deeply: not taken over
                loaded = None
            if isinstance(loaded, dict):
                meta.update(loaded)
        info: dict[str, Any] = {"id": obj.id, "prozess_id": self.kopf.prozess_id,
                                "element": obj.element}
        info.update({k.lower(): v for k, v in obj.fields.items()})
        if obj.aktenplan and obj.aktenplan[0]:
            info["aktenplaneinheit"] = obj.aktenplan[0]
        if obj.aussonderungsart:
            info["aussonderungsart"] = obj.aussonderungsart
        if obj.vertraulichkeit:
            info["vertraulichkeitsstufe"] = obj.vertraulichkeit
        if obj.laufzeit:
            info["laufzeit"] = [obj.laufzeit[0], obj.laufzeit[1]]
        info.update({k: v for k, v in extra.items() if v})
        meta["xdomea"] = info
        return meta

    def _confidentiality(self, obj: Schriftgutobjekt) -> Confidentiality:
        levels = {confidentiality_from_code(o.vertraulichkeit)
                  for o in obj.walk() if o.vertraulichkeit}
        return Confidentiality.VS_NFD if Confidentiality.VS_NFD in levels else \
            Confidentiality.OPEN

    def _year(self, obj: Schriftgutobjekt) -> int | None:
        for value in (*(obj.laufzeit or ()), obj.fields.get("ZdADatum")):
            day = _day(value)
            if day is not None and 1900 <= day.year <= 9999:
                return day.year
        return None

    def akte(self, top: Schriftgutobjekt) -> None:
        """Create the Akte for a top-level object and everything in it."""
        s = self.s
        kz = self._unit(top)
        wrapper = top.typ != "Akte"
        title = (_clean(top.fields.get("Aktenbetreff"), 1000) if top.typ == "Vorgang" else None
                 ) or _clean(top.betreff, 1000) or f"Übernahme {self.kopf.prozess_id}"
        meta = (self._meta(top) if not wrapper else
                {"xdomea": {"prozess_id": self.kopf.prozess_id, "angelegt_fuer": top.id}})
        org_unit = _clean(top.fields.get("Federfuehrung"), 200) if not wrapper else None
        akte = s.create_akte(kz, title, org_unit=org_unit,
                             confidentiality=self._confidentiality(top),
                             external_ids=[] if wrapper else [(_SYSTEM, top.id)],
                             metadata=meta, year=self._year(top))
        self.counts["akten"] += 1
        self.uow.record(Action.AKTE_IMPORT, "akte", akte, aktenzeichen=akte.aktenzeichen,
                        prozess_id=self.kopf.prozess_id, xdomea_id=None if wrapper else top.id,
                        source=self.container.path.name, sender=self.kopf.absender,
                        xdomea_history=[] if wrapper else top.history)
        self.result.akten.append({"aktenzeichen": akte.aktenzeichen, "title": akte.title,
                                  "xdomea_id": top.id, "wrapper": wrapper})
        if wrapper and top.typ == "Vorgang":
            self.vorgang(akte, top, None)
        elif wrapper:
            self.dokument(akte, top, None, None)
        else:
            for doc in top.dokumente:
                self.dokument(akte, doc, None, None)
            for child in top.vorgaenge:
                self.vorgang(akte, child, None)
            unit = self.units[kz]
            wanted = None if top.unlimited else top.retention
            if (top.unlimited or top.retention is not None) and wanted != unit.retention_years:
                s.set_retention(akte, wanted)
        if not wrapper and top.zda:
            when = _moment(top.fields.get("ZdADatum")) or _moment(
                (top.laufzeit or (None, None))[1]) or self.now
            akte.status = AkteStatus.CLOSED.value
            akte.closed_at = when
            self.uow.record(Action.AKTE_CLOSE, "akte", akte, aktenzeichen=akte.aktenzeichen,
                            imported=True, zda_datum=when.date().isoformat())

    def vorgang(self, akte: Akte, obj: Schriftgutobjekt, parent: Vorgang | None) -> None:
        """Create a Vorgang (from a Vorgang, Teilvorgang or Teilakte) and its content."""
        closed = bool(obj.zda)
        title = _clean(obj.betreff, 1000) or _clean(obj.fields.get("Kennzeichen"), 1000) or \
            f"{obj.element} {obj.id}"
        vorgang = Vorgang(
            uuid=new_uuid(), akte_id=akte.id, parent_id=parent.id if parent else None,
            title=title, status=AkteStatus.CLOSED.value if closed else AkteStatus.OPEN.value,
            meta=self._meta(obj), created_at=self.now, created_by=self.uow.user,
            closed_at=(_moment(obj.fields.get("ZdADatum")) or self.now) if closed else None)
        self.orm.add(vorgang)
        self.uow.flush()
        self.counts["vorgaenge"] += 1
        self.refs.append(("vorgang", obj.id, vorgang))
        self.uow.record(Action.VORGANG_CREATE, "vorgang", vorgang, akte=akte, title=title,
                        aktenzeichen=akte.aktenzeichen, parent=parent, imported=True,
                        status=vorgang.status, xdomea_id=obj.id,
                        prozess_id=self.kopf.prozess_id, xdomea_history=obj.history)
        for doc in obj.dokumente:
            self.dokument(akte, doc, vorgang, None)
        for child in obj.vorgaenge:
            self.vorgang(akte, child, vorgang)

    def _kinds(self, obj: Schriftgutobjekt, refs: list[FileRef]) -> list[str]:
        given: dict[str, str] = obj.ext.get("renditions") or {}
        kinds: list[str] = []
        for ref in refs:
            kind = given.get(ref.dateiname)
            if not kind:
                kind = "pdfa" if ref.code == "044" else (
                    dateiformat_suffix(ref.code or "") if ref.code != SONSTIGES else None
                ) or _clean(ref.other_name, 40) or "format"
            base, n = kind[:50], 2
            while kind in kinds or kind == "original":
                kind = f"{base[:45]}-{n}"
                n += 1
            kinds.append(kind)
        return kinds

    def dokument(self, akte: Akte, obj: Schriftgutobjekt, vorgang: Vorgang | None,
                 parent: Document | None) -> None:
        """Create a document (or Anlage) with its versions, renditions and Anlagen."""
        uow = self.uow
        kind = obj.ext.get("art")
        if kind not in ("incoming", "outgoing", "internal"):
            kind = ("incoming" if "Posteingangsdatum" in obj.fields else
                    "outgoing" if "Postausgangsdatum" in obj.fields else "internal")
        first = next((r for v in obj.versions for r in v.formats if r.original), None)
        title = (_clean(obj.betreff, 1000) or (_clean(first.original, 1000) if first else None)
                 or f"Dokument {obj.id}")
        numbering = {str(i): v.nummer for i, v in enumerate(obj.versions, 1)
                     if v.nummer != str(i)}
        document = Document(
            uuid=new_uuid(), akte_id=akte.id, vorgang_id=vorgang.id if vorgang else None,
            parent_document_id=parent.id if parent else None, title=title, kind=kind,
            document_date=_day(obj.fields.get("DatumDesSchreibens")),
            meta=self._meta(obj, versionen=numbering or None),
            version_count=0, created_at=self.now, created_by=uow.user, updated_at=self.now)
        self.orm.add(document)
        self.counts["dokumente"] += 1
        self.refs.append(("document", obj.id, document))
        comments: dict[str, str] = obj.ext.get("comments") or {}
        versions: list[tuple[Version, list[tuple[str, FileRef]], dict[str, Any]]] = []
        for xversion in obj.versions:
            present = [r for r in xversion.formats if r.dateiname in self.blobs]
            if not present:
                continue
            number = len(versions) + 1
            main = present[0]
            blob = self.blobs[main.dateiname]
            version = Version(
                uuid=new_uuid(), document=document, number=number, sha256=blob.sha256,
                size=blob.size, mime=blob.mime,
                filename=_filename(main.original, main.dateiname),
                comment=comments.get(xversion.nummer) or None,
                created_at=self.now, created_by=uow.user)
            self.orm.add(version)
            source = {"nummer": xversion.nummer, "dateiname": main.dateiname,
                      "ersteller": main.ersteller, "datum": main.datum}
            kinds = self._kinds(obj, list(present[1:]))
            versions.append((version, list(zip(kinds, present[1:], strict=True)), source))
        document.version_count = len(versions)
        base = {"akte": akte, "aktenzeichen": akte.aktenzeichen, "vorgang": vorgang,
                "title": title, "kind": kind, "parent": parent, "imported": True,
                "xdomea_id": obj.id, "prozess_id": self.kopf.prozess_id,
                "xdomea_history": obj.history}
        if not versions:
            uow.record(Action.DOCUMENT_FILE, "document", document, version=None, **base)
        for version, _, source in versions:
            details = {**version_payload(version), "xdomea_version": source}
            if version.number == 1:
                uow.record(Action.DOCUMENT_FILE, "document", document, **base, **details)
            else:
                uow.record(Action.VERSION_ADD, "document", document, akte=akte,
                           aktenzeichen=akte.aktenzeichen,
                           comment=version.comment, imported=True, **details)
            self.counts["versionen"] += 1
        if versions:
            uow.reindex(document)
        if any(extra for _, extra, _ in versions) or obj.anlagen:
            uow.flush()
        for version, extra, _ in versions:
            for rkind, ref in extra:
                blob = self.blobs[ref.dateiname]
                rendition = Rendition(
                    version_id=version.id, kind=rkind, sha256=blob.sha256, size=blob.size,
                    mime=blob.mime, filename=_filename(ref.original, ref.dateiname),
                    created_at=self.now, created_by=uow.user)
                self.orm.add(rendition)
                uow.record(Action.RENDITION_ADD, "document", document, akte=akte,
                           version=version.number,
                           rendition_id=rendition, kind=rkind, sha256=blob.sha256,
                           size=blob.size, mime=blob.mime, filename=rendition.filename,
                           imported=True, dateiname=ref.dateiname)
                self.counts["renditionen"] += 1
        for anlage in obj.anlagen:
            self.dokument(akte, anlage, vorgang, document)

    def write_rows(self) -> None:
        """Create units, Akten, Vorgänge, documents, versions and refs in one savepoint."""
        for top in self.objects:
            self.akte(top)
        self.uow.flush()
        for object_type, external_id, obj in self.refs:
            self.orm.add(ExternalRef(system=_SYSTEM, external_id=external_id,
                                     object_type=object_type, object_id=obj.id,
                                     created_at=self.now))
        self.uow.flush()
        self.uow.record(Action.XDOMEA_IMPORT, "xdomea_message", self.kopf.prozess_id,
                        message="0503", source=self.container.path.name,
                        sender=self.kopf.absender, counts=dict(self.counts),
                        akten=[a["aktenzeichen"] for a in self.result.akten],
                        missing_files=len(self.result.missing_files))


def take_over(session: Session, container: Container, kopf: Kopf,
              objects: list[Schriftgutobjekt], result: ImportResult, *,
              kennzeichen: str | None = None, fallback: str = FALLBACK_KENNZEICHEN) -> None:
    """Import the objects of a validated 0503 into the session (see the module docstring).

    Raises:
        ArchiveImportError: the message cannot be taken over (duplicate IDs, classified
            content, damaged files, a file contradicting the SHA-256 its message records);
            nothing was imported.
        StateConflict: objects of the message were imported before.
        UnsafeContent: a primary file over the limits.
    """
    job = _Takeover(session, container, kopf, objects, result, kennzeichen=kennzeichen,
                    fallback=fallback)
    job.plan()
    job.write_blobs()
    with session.unit_of_work.savepoint():
        job.write_rows()
    result.counts = dict(job.counts)
