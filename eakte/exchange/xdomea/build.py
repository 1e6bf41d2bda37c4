"""Writers of the xdomea messages eakte sends: 0501 Anbieteverzeichnis and 0503 Aussonderung.

A message is written as its xdomea container ``{ProzessID}_{message}.zip``. The XML goes to a
temporary file through lxml's incremental writer while the primary files are streamed from
the blob store into the zip (each checked against its SHA-256 on the way), so memory stays
flat for Akten of any size. The finished XML is validated in one streaming pass (official XSD
when configured, eakte's structural checks always) before it joins the zip, and the zip is
published under its final name only when everything succeeded. Receipts (0504, 0505, 0507)
are written by :mod:`.receipt`.

Object IDs are the ``uuid`` columns of Akte, Vorgang and Document; a version's original file
is named after the version's UUID and a rendition after ``uuid5(version uuid, kind)``, so the
same object keeps its ID across 0501, 0503 and every re-export.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid as uuid_module
import zipfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

import eakte.exchange.xdomea._source as src
from eakte.audit.events import Action
from eakte.errors import ExportError
from eakte.exchange.xdomea._kopf import Party, default_party, write_kopf
from eakte.exchange.xdomea._writer import COPY_CHUNK, MessageWriter, rendition_uuid, zip_time
from eakte.exchange.xdomea._xml import XmlWriter
from eakte.exchange.xdomea.codes import DEFAULT_VERSION, MESSAGES, NAMESPACES, container_name
from eakte.exchange.xdomea.schema import ValidationReport, schema_folder, validate_file
from eakte.model import Akte, Document

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork
    from eakte.session import Session

__all__ = ["ExportResult", "Party", "export_xdomea", "rendition_uuid"]
Progress = Callable[[int, int], None]


@dataclass
class ExportResult:
    """What :func:`export_xdomea` wrote.

    Attributes:
        path: the message container (``{ProzessID}_{message}.zip``).
        message: ``"0501"`` or ``"0503"``.
        prozess_id: the ProzessID in the Kopf.
        version: the xdomea version written.
        validation: the validation report of the XML (XSD applied or skipped, and why).
        counts: akten, vorgaenge, dokumente, versionen, dateien, bytes.
        akten: the Aktenzeichen exported.
        recorded: True if the Akten were marked offered/exported in the lifecycle.
    """

    path: Path
    message: str
    prozess_id: str
    version: str
    validation: ValidationReport
    counts: dict[str, int] = field(default_factory=dict)
    akten: list[str] = field(default_factory=list)
    recorded: bool = True

    @property
    def schema_validated(self) -> bool:
        """True if the official XSD was applied (a failure would have raised)."""
        return self.validation.schema_validated

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible summary."""
        return {
            "path": str(self.path), "message": self.message, "prozess_id": self.prozess_id,
            "version": self.version, "schema_validated": self.schema_validated,
            "schema": self.validation.schema,
            "schema_skipped_reason": self.validation.skipped_reason,
            "structure_checked": True, "recorded": self.recorded, "akten": list(self.akten),
            "counts": dict(self.counts),
        }


def _prozess_id(rows: Sequence[src.AkteRow], message: str) -> str:
    """Reuse the ProzessID of the Aussonderung these Akten are in, else start a new one."""
    for attr in (("export_message_id", "offer_message_id") if message == "0503"
                 else ("offer_message_id",)):
        ids = {getattr(r, attr) for r in rows}
        if len(ids) == 1:
            (found,) = ids
            if found and _is_uuid(found):
                return str(found)
    return str(uuid_module.uuid4())


def _is_uuid(value: str) -> bool:
    """Return True if ``value`` is a UUID in canonical text form."""
    try:
        return str(uuid_module.UUID(value)) == value.lower()
    except ValueError:
        return False


def _resolve(session: Session, akten: Sequence[Akte | str | int]) -> list[Akte]:
    found: dict[int, Akte] = {}
    for item in akten:
        akte = session.get_akte(item.id if isinstance(item, Akte) else item)
        found.setdefault(akte.id, akte)
    if not found:
        raise ExportError("no Akte given to export")
    return list(found.values())


def export_xdomea(
    session: Session,
    akten: Sequence[Akte | str | int],
    *,
    message: str = "0503",
    out_dir: str | os.PathLike[str] = ".",
    version: str = DEFAULT_VERSION,
    schemas: str | os.PathLike[str] | None = None,
    record: bool = True,
    sender: Party | None = None,
    recipient: Party | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write an xdomea 0501 (offer, metadata only) or 0503 (transfer with files) container.

    Unless ``record`` is False, the Akten are marked offered (0501) or exported (0503) in
    their Aussonderung under the message's ProzessID, which is reused from the running
    Aussonderung (the 0501's ProzessID for the 0503) or new. The ZIP appears in ``out_dir``
    only when it is complete and valid. One ``export.xdomea`` audit event per Akte records
    the export (with counts), and is kept even if the session is rolled back.

    Args:
        session: the session to read and record in.
        akten: Akten, Aktenzeichen or ids.
        message: ``"0501"`` or ``"0503"``.
        out_dir: the folder that receives the container.
        version: ``"3.1.0"`` (default) or ``"3.0.0"``.
        schemas: the XSD folder (default: ``EAKTE_XDOMEA_SCHEMAS`` or the store setting).
        record: mark the Akten in the lifecycle (False: a dry run for inspection).
        sender: the Absender (default: store setting ``xdomea_sender`` or ``eakte``).
        recipient: the Empfaenger (default: store setting ``xdomea_recipient`` or
            ``Archiv``).
        progress: called as ``progress(documents_done, documents_total)``.

    Returns:
        the container's path, ProzessID, validation report and counts.

    Raises:
        NotFoundError: an Akte does not exist.
        StateConflict: the lifecycle refuses the step (not due, held, already disposed …).
        ExportError: a message the XSD or the structural checks refuse, or a disposed Akte.
        IntegrityError: a stored file does not match its SHA-256 (nothing is published).
        InvalidInput: unknown message or version, or a schema folder without that XSD.
    """
    from lxml import etree

    if message not in ("0501", "0503"):
        raise ExportError(f"eakte writes xdomea messages 0501 and 0503, not {message!r}")
    if version not in NAMESPACES:
        raise ExportError(f"unsupported xdomea version {version!r}; use 3.1.0 or 3.0.0")
    uow = session.unit_of_work
    if record:
        uow.begin_write()  # the lifecycle steps below depend on the states read first
    store = uow.store
    folder = schema_folder(schemas, store=store)
    mtype = MESSAGES[message]
    objs = _resolve(session, akten)
    rows = _load(session, objs)
    for row in rows:
        if row.disposal_state in ("transferred", "destroyed"):
            raise ExportError(f"Akte {row.aktenzeichen!r} was disposed ({row.disposal_state});"
                              " its content is gone and it cannot be exported")
    prozess_id = _prozess_id(rows, message)
    if record:
        _record(session, objs, rows, message, prozess_id)
        rows = _load(session, objs)  # decisions and states changed
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    final = out / container_name(prozess_id, mtype)
    xml_name = container_name(prozess_id, mtype, "xml")
    total = sum(_count_documents(uow, r.id) for r in rows) if progress else 0
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=out, prefix=".xdomea-")))
        xml_path, zip_path = work / xml_name, work / final.name
        zf = stack.enter_context(zipfile.ZipFile(zip_path, "w", allowZip64=True))
        with xml_path.open("wb") as fh, etree.xmlfile(fh, encoding="UTF-8") as xf:
            xf.write_declaration()
            w = XmlWriter(xf, NAMESPACES[version])
            with w.el(mtype.element, nsmap={"xdomea": NAMESPACES[version]}):
                write_kopf(w, mtype, prozess_id, sender=default_party(sender, store, "sender"),
                           recipient=default_party(recipient, store, "recipient"),
                           store=store, now=uow.now())
                builder = MessageWriter(uow.orm, store.blobs, w, zf, progress, total)
                for row in rows:
                    builder.akte(row, message == "0503")
        report = validate_file(xml_path, version, schemas=folder,
                               members=zf.NameToInfo, export=True)
        report.prozess_id = prozess_id
        if not report.ok:
            shown = "; ".join(report.problems[:5])
            raise ExportError(f"the {message} message eakte wrote is invalid "
                              f"({len(report.problems)} problem(s)): {shown}")
        info = zipfile.ZipInfo(xml_name, date_time=zip_time(uow.now()))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with xml_path.open("rb") as xml_in, zf.open(info, "w", force_zip64=True) as dst:
            shutil.copyfileobj(xml_in, dst, COPY_CHUNK)
        zf.close()
        with zip_path.open("rb+") as done:
            os.fsync(done.fileno())
        os.replace(zip_path, final)
    counts = {k: int(builder.counts.get(k, 0)) for k in
              ("akten", "vorgaenge", "dokumente", "versionen", "dateien", "bytes")}
    for obj, row in zip(objs, rows, strict=True):
        uow.record(Action.EXPORT_XDOMEA, "akte", obj, message=message, prozess_id=prozess_id,
                   version=version, file=final.name, aktenzeichen=row.aktenzeichen,
                   schema_validated=report.schema_validated, recorded=record)
    return ExportResult(final, message, prozess_id, version, report, counts,
                        [r.aktenzeichen for r in rows], record)


def _load(session: Session, objs: Sequence[Akte]) -> list[src.AkteRow]:
    orm = session.unit_of_work.orm
    return [src.load_akte(orm, a, session.retention_until(a)) for a in objs]


def _record(session: Session, objs: Sequence[Akte], rows: Sequence[src.AkteRow], message: str,
            prozess_id: str) -> None:
    """Mark the Akten offered (0501) or exported (0503); a re-export changes nothing.

    In the two-stage procedure (0503 without a preceding 0501) a due Akte is appraised by
    its Aktenplan unit's default first.
    """
    pairs = list(zip(objs, rows, strict=True))
    if message == "0501":
        fresh = [a for a, r in pairs
                 if not (r.disposal_state == "offered" and r.offer_message_id == prozess_id)]
        if fresh:
            session.mark_offered(fresh, prozess_id)
        return
    for akte, row in pairs:
        if row.disposal_state is None:
            session.appraise_by_default(akte)
    fresh = [a for a, r in pairs
             if not (r.disposal_state == "exported" and r.export_message_id == prozess_id)]
    if fresh:
        session.mark_exported(fresh, prozess_id)


def _count_documents(uow: UnitOfWork, akte_id: int) -> int:
    return int(uow.orm.scalar(
        select(func.count()).select_from(Document).where(Document.akte_id == akte_id)) or 0)
