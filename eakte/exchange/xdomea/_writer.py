"""Writing the Schriftgutobjekte of a message: Akten, Vorgänge, Dokumente, files, history.

:class:`MessageWriter` walks the records of each Akte in bounded batches
(:mod:`._source`) and writes them through the incremental XML writer, streaming every
primary file from the blob store into the zip as it goes (checked against its SHA-256).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import uuid as uuid_module
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import eakte.exchange.xdomea._source as src
from eakte.errors import ExportError
from eakte.exchange.xdomea._xml import XmlWriter, xs_date, xs_datetime
from eakte.exchange.xdomea.codes import (
    AUSSONDERUNGSART_LIST_URI,
    DATEIFORMAT_LIST_URI,
    DATEIFORMAT_LIST_VERSION,
    EXTENSION_NS,
    MEDIUM_ELEKTRONISCH,
    MEDIUM_LIST_URI,
    SONSTIGES,
    VERTRAULICHKEIT_LIST_URI,
    confidentiality_to_code,
    dateiformat_for,
    member_name,
)
from eakte.storage.verifying import VerifyingReader

if TYPE_CHECKING:
    from sqlalchemy.orm import Session as OrmSession

    from eakte.storage.base import BlobStore

__all__ = ["COPY_CHUNK", "MessageWriter", "rendition_uuid", "zip_time"]

_STORED_MIMES: Final = frozenset({
    "application/pdf", "application/zip", "image/jpeg", "image/png", "image/gif",
    "image/webp", "application/gzip", "application/x-7z-compressed",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
})
_PDF_VERSION = re.compile(rb"%PDF-(\d\.\d)")
COPY_CHUNK: Final = 1024 * 1024
_MAX_NOTE = 2000

Progress = Callable[[int, int], None]


def rendition_uuid(version_uuid: str, kind: str) -> str:
    """Return the stable file UUID of a rendition: ``uuid5(version uuid, kind)``."""
    return str(uuid_module.uuid5(uuid_module.UUID(version_uuid), kind))


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


def _plain(value: object) -> str:
    return value if isinstance(value, str) else _json(value)


def zip_time(value: datetime) -> tuple[int, int, int, int, int, int]:
    value = value.astimezone(UTC)
    if value.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (value.year, value.month, value.day, value.hour, value.minute, value.second)


class MessageWriter:
    """Writes the Schriftgutobjekte of one message and streams their files into the zip."""

    def __init__(self, orm: OrmSession, blobs: BlobStore, w: XmlWriter,
                 zf: zipfile.ZipFile | None, progress: Progress | None, total: int) -> None:
        self.orm = orm  # the exporting session's transaction: consistent reads
        self.blobs = blobs
        self.w = w
        self.zf = zf
        self.counts: dict[str, int] = defaultdict(int)
        self.progress = progress
        self.total = total

    # -- history and extension -----------------------------------------------------------

    def history(self, rows: Sequence[src.HistoryRow]) -> None:
        """Write audit events as ``HistorienProtokollInformation``, imported history first.

        History taken over from another system (``xdomea_history`` in an import event) comes
        first, as it was; then eakte's own events: one entry per changed field for updates
        (old and new value), else one entry with the details as ``Bemerkung``.
        """
        w = self.w
        for row in rows:
            for entry in row.details.get("xdomea_history") or ():
                if isinstance(entry, dict) and entry.get("Akteur") and entry.get("Aktion"):
                    self._imported(entry, row.time)
        for row in rows:
            details = {k: v for k, v in row.details.items() if k != "xdomea_history"}
            changes = {k: v for k, v in details.items()
                       if isinstance(v, dict) and set(v) == {"old", "new"}}
            when = xs_datetime(row.time)
            if changes:
                for name, change in changes.items():
                    with w.el("HistorienProtokollInformation"):
                        w.leaf("MetadatumName", name)
                        w.leaf("MetadatumAlterWert", _plain(change["old"]))
                        w.leaf("MetadatumNeuerWert", _plain(change["new"]))
                        w.leaf("Akteur", row.actor)
                        w.leaf("DatumUhrzeit", when)
                        w.leaf("Aktion", row.action)
                continue
            with w.el("HistorienProtokollInformation"):
                w.leaf("Akteur", row.actor)
                w.leaf("DatumUhrzeit", when)
                note = _json(details) if details else None
                if note and len(note) > _MAX_NOTE:
                    note = note[:_MAX_NOTE - 1] + "…"
                w.leaf("Bemerkung", note)
                w.leaf("Aktion", row.action)

    def _imported(self, entry: dict[str, Any], fallback: datetime) -> None:
        """Write one history entry taken over from another system, as it came."""
        when = str(entry.get("DatumUhrzeit") or "")
        note = entry.get("Bemerkung")
        try:
            datetime.fromisoformat(when)
        except ValueError:  # not an xs:dateTime: keep the text, use the takeover's time
            note = f"{note or ''} (DatumUhrzeit: {when})".strip()
            when = xs_datetime(fallback)
        with self.w.el("HistorienProtokollInformation"):
            for key in ("MetadatumName", "MetadatumAlterWert", "MetadatumNeuerWert",
                        "Akteur"):
                self.w.leaf(key, entry.get(key))
            self.w.leaf("DatumUhrzeit", when)
            self.w.leaf("Bemerkung", note)
            self.w.leaf("Aktion", entry.get("Aktion"))

    @contextmanager
    def extension(self, element: str, attrib: dict[str, str]) -> Iterator[None]:
        """Open eakte's own data in ``AnwendungsspezifischeErweiterungXML``."""
        with self.w.el("AnwendungsspezifischeErweiterungXML"), self.w.foreign(
                f"{{{EXTENSION_NS}}}{element}", attrib, nsmap={"eakte": EXTENSION_NS}):
            yield

    def ext_leaf(self, name: str, value: str | None, attrib: dict[str, str] | None = None
                 ) -> None:
        """Write one element of eakte's extension namespace."""
        with self.w.foreign(f"{{{EXTENSION_NS}}}{name}", attrib):
            if value:
                self.w.text(value)

    # -- files ---------------------------------------------------------------------------

    def file(self, file_uuid: str, sha256: str, size: int, mime: str, filename: str,
             kind: str | None, created_at: datetime, created_by: str) -> str:
        """Stream one primary file into the zip and write its ``Format``; return its name."""
        assert self.zf is not None
        name = member_name(file_uuid, filename)
        if name in self.zf.NameToInfo:
            raise ExportError(f"duplicate primary file name {name!r} in the container")
        info = zipfile.ZipInfo(name, date_time=zip_time(created_at))
        info.compress_type = (zipfile.ZIP_STORED if mime in _STORED_MIMES
                              else zipfile.ZIP_DEFLATED)
        info.external_attr = 0o644 << 16
        reader = io.BufferedReader(
            VerifyingReader(self.blobs.open(sha256), sha256, size),
            buffer_size=COPY_CHUNK)
        with reader:
            head = reader.read(4096)
            with self.zf.open(info, "w", force_zip64=size >= zipfile.ZIP64_LIMIT) as dst:
                dst.write(head)
                shutil.copyfileobj(reader, dst, COPY_CHUNK)
        self.counts["dateien"] += 1
        self.counts["bytes"] += size
        found = _PDF_VERSION.search(head[:1024]) if mime == "application/pdf" else None
        fmt = dateiformat_for(mime, filename, kind=kind)
        w = self.w
        with w.el("Format"):
            w.code("Name", fmt.code, list_uri=DATEIFORMAT_LIST_URI,
                   list_version=DATEIFORMAT_LIST_VERSION)
            if fmt.code == SONSTIGES:
                w.leaf("SonstigerName", fmt.other_name)
            w.leaf("Version", found.group(1).decode("ascii") if found else "")
            with w.el("Primaerdokument"):
                w.leaf("Dateiname", name)
                w.leaf("DateinameOriginal", filename)
                w.leaf("Ersteller", created_by)
                w.leaf("DatumUhrzeit", xs_datetime(created_at))
        return name

    # -- Schriftgutobjekte ---------------------------------------------------------------

    def dokument(self, doc: src.DocumentRow, number: int, *, element: str = "Dokument",
                 anlage_nummer: int | None = None) -> None:
        """Write a Dokument (or an Anlage) with versions, files, Anlagen and history."""
        w = self.w
        self.counts["dokumente"] += 1
        renditions: list[tuple[str, str]] = []
        with w.el(element):
            with w.el("Identifikation"):
                w.leaf("ID", doc.uuid)
                w.leaf("NummerImUebergeordnetenContainer", number)
            with w.el("AllgemeineMetadaten"):
                w.leaf("Betreff", doc.title)
                w.code("Medium", MEDIUM_ELEKTRONISCH, list_uri=MEDIUM_LIST_URI,
                       list_version="1.0")
            day = xs_date(doc.created_at)
            w.leaf("Posteingangsdatum", day if doc.kind == "incoming" else None)
            w.leaf("Postausgangsdatum", day if doc.kind == "outgoing" else None)
            w.leaf("DatumDesSchreibens",
                   xs_date(doc.document_date) if doc.document_date else None)
            w.leaf("Bearbeiter", doc.created_by)
            self.history(doc.history)
            for version in doc.versions:
                self.counts["versionen"] += 1
                with w.el("Version"):
                    w.leaf("Nummer", version.number)
                    self.file(version.uuid, version.sha256, version.size, version.mime,
                              version.filename, None, version.created_at, version.created_by)
                    for rend in version.renditions:
                        name = self.file(rendition_uuid(version.uuid, rend.kind), rend.sha256,
                                         rend.size, rend.mime, rend.filename, rend.kind,
                                         rend.created_at, rend.created_by)
                        renditions.append((name, rend.kind))
            for index, anlage in enumerate(doc.anlagen, 1):
                self.dokument(anlage, index, element="Anlage", anlage_nummer=index)
            with self.extension("Dokument", {"art": doc.kind}):
                if doc.meta:
                    self.ext_leaf("Metadaten", _json(doc.meta))
                for version in doc.versions:
                    if version.comment:
                        self.ext_leaf("Versionskommentar", version.comment,
                                      {"nummer": str(version.number)})
                for name, kind in renditions:
                    self.ext_leaf("Rendition", None, {"dateiname": name, "art": kind})
            w.leaf("Nummer", anlage_nummer)
        if self.progress is not None:
            self.progress(self.counts["dokumente"], self.total)

    def documents(self, akte_id: int, vorgang_id: int | None, with_files: bool) -> int:
        """Write the documents of one container; return how many."""
        count = 0
        for count, doc in enumerate(
                src.iter_documents(self.orm, akte_id, vorgang_id, with_versions=with_files),
                1):
            self.dokument(doc, count)
        return count

    def vorgang(self, v: src.VorgangRow, number: int, children: dict[int | None, list[
            src.VorgangRow]], events: dict[int, list[src.HistoryRow]], akte_id: int,
                with_files: bool, *, element: str = "Vorgang") -> None:
        """Write a Vorgang with its documents and Teilvorgänge."""
        w = self.w
        self.counts["vorgaenge"] += 1
        with w.el(element):
            with w.el("Identifikation"):
                w.leaf("ID", v.uuid)
                w.leaf("NummerImUebergeordnetenContainer", number)
            with w.el("AllgemeineMetadaten"):
                w.leaf("Betreff", v.title)
                w.code("Medium", MEDIUM_ELEKTRONISCH, list_uri=MEDIUM_LIST_URI,
                       list_version="1.0")
            closed = v.status == "closed"
            w.leaf("ZdA", "1" if closed else "0")
            w.leaf("ZdADatum", xs_date(v.closed_at) if closed and v.closed_at else None)
            with w.el("Laufzeit"):
                w.leaf("Beginn", xs_date(v.created_at))
                w.leaf("Ende", xs_date(v.closed_at) if closed and v.closed_at else None)
            self.history(events.get(v.id, []))
            self.documents(akte_id, v.id, with_files)
            for index, child in enumerate(children.get(v.id, []), 1):
                self.vorgang(child, index, children, events, akte_id, with_files,
                             element="Teilvorgang")
            if v.meta:
                with self.extension("Vorgang", {}):
                    self.ext_leaf("Metadaten", _json(v.meta))

    def akte(self, a: src.AkteRow, with_files: bool) -> None:
        """Write one Akte as a Schriftgutobjekt."""
        w = self.w
        self.counts["akten"] += 1
        vorgaenge = src.load_vorgaenge(self.orm, a.id)
        children: dict[int | None, list[src.VorgangRow]] = defaultdict(list)
        for v in vorgaenge:
            children[v.parent_id].append(v)
        events = src.history(self.orm, "vorgang", [v.id for v in vorgaenge])
        closed = a.status == "closed"
        with w.el("Schriftgutobjekt"), w.el("Akte"):
            with w.el("Identifikation"):
                w.leaf("ID", a.uuid)
            with w.el("AllgemeineMetadaten"):
                w.leaf("Betreff", a.title)
                w.leaf("Kennzeichen", a.aktenzeichen)
                w.leaf("Federfuehrung", a.org_unit)
                w.code("Vertraulichkeitsstufe", confidentiality_to_code(a.confidentiality),
                       list_uri=VERTRAULICHKEIT_LIST_URI, list_version="1.0")
                w.code("Medium", MEDIUM_ELEKTRONISCH, list_uri=MEDIUM_LIST_URI,
                       list_version="1.0")
                with w.el("Aktenplaneinheit"):
                    w.leaf("Kennzeichen", a.kennzeichen)
                    w.leaf("Inhaltsangabe", a.unit_title)
            with w.el("ArchivspezifischeMetadaten"):
                with w.el("Aufbewahrungsdauer"):
                    if a.retention_years is None:
                        w.leaf("Unbefristet", "1")
                    else:
                        w.leaf("AnzahlJahre", a.retention_years)
                with w.el("Aussonderungsart"):
                    w.code("Aussonderungsart", a.decision, list_uri=AUSSONDERUNGSART_LIST_URI,
                           list_version="1.0")
                w.leaf("Aufbewahrungsende",
                       xs_date(a.retention_until) if a.retention_until else None)
            with w.el("Laufzeit"):
                w.leaf("Beginn", xs_date(a.created_at))
                w.leaf("Ende", xs_date(a.closed_at) if closed and a.closed_at else None)
            self.history(src.history(self.orm, "akte", [a.id]).get(a.id, []))
            with w.el("Akteninhalt"):
                self.documents(a.id, None, with_files)
                for index, v in enumerate(children.get(None, []), 1):
                    self.vorgang(v, index, children, events, a.id, with_files)
            w.leaf("ZdA", "1" if closed else "0")
            w.leaf("ZdADatum", xs_date(a.closed_at) if closed and a.closed_at else None)
            with self.extension("Akte", {"aktenzeichen": a.aktenzeichen}):
                if a.meta:
                    self.ext_leaf("Metadaten", _json(a.meta))
                for ref in a.external_ids:
                    self.ext_leaf("ExterneKennung", ref)


