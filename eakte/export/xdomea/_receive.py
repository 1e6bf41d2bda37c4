"""Receiving xdomea messages: dispatch on the message type and apply it to the store.

- 0502 Bewertungsverzeichnis: the archive's A/V per Akte → ``record_appraisal``; answered
  with a 0505 receipt when the Kopf asks for one and a receipt folder is given.
- 0503 Aussonderung: takeover of another system's records (:mod:`.importer`).
- 0504, 0505, 0507 receipts: recorded in the audit log.
- 0506 AussonderungImportBestaetigen: per Akte ``confirm_transfer`` with the Archivkennung
  (the lifecycle then deletes the content); failures are recorded, the Akte stays exported.

Every change of one message happens inside one savepoint: a message is applied completely
or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select

from eakte.errors import ArchiveImportError
from eakte.export.xdomea.importer import FALLBACK_KENNZEICHEN, ImportResult, take_over
from eakte.export.xdomea.read import (
    XdomeaLimits,
    message_of,
    open_container,
    parse_kopf,
    parse_xml,
    read_appraisals,
    read_objects,
    read_transfer_results,
)
from eakte.export.xdomea.schema import schema_folder, validate_tree
from eakte.model import Akte, AkteDisposal, Document, Vorgang

if TYPE_CHECKING:
    from lxml import etree

    from eakte.export.xdomea.read import Kopf
    from eakte.session import Session

__all__ = ["import_xdomea"]

_T = TypeVar("_T")
_NO_KENNUNG = "(keine Archivkennung übermittelt)"


def _atomic(session: Session, work: Callable[[], _T]) -> _T:
    """Run ``work`` in a savepoint; on error undo its rows and queued audit events."""
    marks = (len(session._events), len(session._reindex), len(session._post_commit))
    savepoint = session._orm.begin_nested()
    try:
        value = work()
    except BaseException:
        savepoint.rollback()
        del session._events[marks[0]:]
        del session._reindex[marks[1]:]
        del session._post_commit[marks[2]:]
        raise
    savepoint.commit()
    return value


def _find(session: Session, ids: list[str]) -> tuple[dict[str, Akte], dict[str, str]]:
    """Return the Akten with these UUIDs, and the kind of every other known UUID."""
    akten = {a.uuid.lower(): a for a in session._orm.scalars(
        select(Akte).where(Akte.uuid.in_(ids)))}
    other: dict[str, str] = {}
    for model, kind in ((Vorgang, "Vorgang"), (Document, "Dokument")):
        for (found,) in session._orm.execute(select(model.uuid).where(model.uuid.in_(ids))):
            other[str(found).lower()] = kind
    return akten, other


def _unknown(ids: list[str], akten: dict[str, Akte], other: dict[str, str], code: str) -> None:
    missing = [i for i in ids if i not in akten and i not in other]
    if missing:
        raise ArchiveImportError(
            f"the {code} names {len(missing)} object(s) this store does not know "
            f"(e.g. {missing[0]}); it answers another store's offer; nothing was applied")


def _appraisal(session: Session, root: etree._Element, kopf: Kopf, result: ImportResult,
               receipt_dir: Path | None) -> None:
    appraisals = read_appraisals(root)
    ids = [a.id for a in appraisals]
    akten, other = _find(session, ids)
    _unknown(ids, akten, other, "Bewertungsverzeichnis (0502)")
    for item in appraisals:
        akte = akten.get(item.id)
        if akte is None:
            continue
        if item.decision not in ("A", "V"):
            raise ArchiveImportError(
                f"the 0502 appraises Akte {akte.aktenzeichen!r} as "
                f"{item.decision or item.configurable!r}; only A (archive) or V (destroy) "
                "are final; nothing was applied")
        disposal = session._orm.get(AkteDisposal, akte.id)
        if disposal is not None and disposal.offer_message_id not in (None, kopf.prozess_id):
            raise ArchiveImportError(
                f"the 0502 (ProzessID {kopf.prozess_id}) does not answer the offer of Akte "
                f"{akte.aktenzeichen!r} (ProzessID {disposal.offer_message_id}); nothing was "
                "applied")

    def apply() -> None:
        for item in appraisals:
            akte = akten.get(item.id)
            if akte is None:
                result.objects.append({"id": item.id, "kind": other[item.id],
                                       "decision": item.decision, "outcome": "ignored",
                                       "note": "eakte appraises whole Akten"})
                continue
            assert item.decision is not None
            done = session._orm.get(AkteDisposal, akte.id)
            outcome = "appraised"
            if done is not None and done.appraisal_message_id == kopf.prozess_id \
                    and done.decision == item.decision:
                outcome = "unchanged"  # the same 0502 again: nothing to do
            else:
                session.record_appraisal(akte, item.decision, message_id=kopf.prozess_id)
            result.objects.append({"id": item.id, "kind": "Akte",
                                   "aktenzeichen": akte.aktenzeichen,
                                   "decision": item.decision, "outcome": outcome})
            result.akten.append({"aktenzeichen": akte.aktenzeichen, "decision": item.decision})
        session._audit("xdomea.import", "xdomea_message", kopf.prozess_id, message="0502",
                       source=result.path.name, sender=kopf.absender,
                       decisions={o["id"]: o["decision"] for o in result.objects})

    _atomic(session, apply)
    result.counts = {k: sum(o["outcome"] == k for o in result.objects)
                     for k in ("appraised", "unchanged", "ignored")}
    if receipt_dir is not None and kopf.empfangsbestaetigung:
        from eakte.export.xdomea.build import write_receipt

        result.receipt = write_receipt(session, "0505", kopf, receipt_dir,
                                       version=result.version)


def _confirmation(session: Session, root: etree._Element, kopf: Kopf,
                  result: ImportResult) -> None:
    results = read_transfer_results(root)
    ids = [r.id for r in results]
    akten, other = _find(session, ids)
    _unknown(ids, akten, other, "AussonderungImportBestaetigen (0506)")

    def apply() -> None:
        for item in results:
            akte = akten.get(item.id)
            if akte is None:
                result.objects.append({"id": item.id, "kind": other[item.id],
                                       "success": item.success, "outcome": "ignored",
                                       "note": "eakte transfers whole Akten"})
                continue
            entry: dict[str, Any] = {"id": item.id, "kind": "Akte",
                                     "aktenzeichen": akte.aktenzeichen,
                                     "success": item.success,
                                     "archivkennung": item.archivkennung}
            done = session._orm.get(AkteDisposal, akte.id)
            if item.success and done is not None and done.state == "transferred" \
                    and done.transfer_message_id == kopf.prozess_id:
                entry["outcome"] = "unchanged"  # the same 0506 again: nothing to do
            elif item.success:
                session.confirm_transfer(akte, item.archivkennung or _NO_KENNUNG,
                                         message_id=kopf.prozess_id)
                entry["outcome"] = "transferred"
            else:
                session._audit("disposal.transfer_failed", "akte", akte,
                               aktenzeichen=akte.aktenzeichen, message_id=kopf.prozess_id,
                               errors=list(item.errors))
                entry["outcome"] = "failed"
                entry["errors"] = list(item.errors)
            result.objects.append(entry)
            result.akten.append({"aktenzeichen": akte.aktenzeichen,
                                 "outcome": entry["outcome"]})
        session._audit("xdomea.import", "xdomea_message", kopf.prozess_id, message="0506",
                       source=result.path.name, sender=kopf.absender,
                       results={o["id"]: o["outcome"] for o in result.objects})

    _atomic(session, apply)
    result.counts = {k: sum(o["outcome"] == k for o in result.objects)
                     for k in ("transferred", "unchanged", "failed", "ignored")}


def _receipt(session: Session, kopf: Kopf, result: ImportResult) -> None:
    known = session._orm.scalar(
        select(AkteDisposal.akte_id).where(
            (AkteDisposal.offer_message_id == kopf.prozess_id)
            | (AkteDisposal.export_message_id == kopf.prozess_id)).limit(1)) is not None
    if not known:
        result.warnings.append(f"no Aussonderung with ProzessID {kopf.prozess_id} is known "
                               "in this store; the receipt was recorded anyway")
    session._audit("xdomea.receipt", "xdomea_message", kopf.prozess_id,
                   message=result.message, source=result.path.name, sender=kopf.absender,
                   created=kopf.erstellt, known=known)
    result.counts = {"receipts": 1}


def import_xdomea(
    session: Session,
    path: str | os.PathLike[str],
    *,
    schemas: str | os.PathLike[str] | None = None,
    kennzeichen: str | None = None,
    fallback_kennzeichen: str = FALLBACK_KENNZEICHEN,
    receipt_dir: str | os.PathLike[str] | None = None,
    limits: XdomeaLimits | None = None,
) -> ImportResult:
    """Read an xdomea message (``.zip`` container or ``.xml``) and apply it to the store.

    The message type decides what happens: 0502 records the archive's appraisals, 0503
    takes another system's records over, 0504/0505/0507 are recorded receipts, 0506
    confirms transfers (and so deletes the transferred content). The message is validated
    first (XSD when configured, eakte's structural checks always); an invalid message is
    refused with the validator's reasons, and nothing of it is applied.

    Args:
        session: the session to apply the message in (its commit makes it durable).
        path: the container or XML file.
        schemas: the XSD folder (default: ``EAKTE_XDOMEA_SCHEMAS`` or the store setting).
        kennzeichen: 0503 only: file every imported Akte under this Aktenplan unit.
        fallback_kennzeichen: 0503 only: the unit for objects without a usable Kennzeichen.
        receipt_dir: 0502 only: write the 0505 receipt the Kopf asks for into this folder.
        limits: caps for the container (sizes, members, ratio).

    Returns:
        what was imported or changed, with the validation report.

    Raises:
        ArchiveImportError: not an xdomea message, invalid (with the XSD's or the checks'
            reasons), a 0503 whose file contradicts the SHA-256 the message records for it,
            or a message that does not fit this store; nothing was applied.
        UnsafeContent: a hostile container (traversal, symlink, zip bomb, DTD/entities,
            sizes over the limits); nothing was applied.
        StateConflict: the lifecycle refuses a step, or a 0503 was imported before.
        InvalidInput: a schema folder without the message version's XSD.
    """
    store = session._store
    session.unit_of_work.begin_write()
    folder = schema_folder(schemas, store=store)
    with open_container(path, limits=limits, max_file_bytes=store.max_file_size) as container:
        root = parse_xml(container.xml)
        code, version = message_of(root)
        report = validate_tree(root, schemas=folder, members=container.members)
        if not report.ok:
            shown = "; ".join(report.problems[:5])
            raise ArchiveImportError(
                f"{container.xml_name!r} is not a valid xdomea {code} message "
                f"({len(report.problems)} problem(s)): {shown}")
        kopf = parse_kopf(root)
        report.prozess_id = kopf.prozess_id
        result = ImportResult(code, kopf.prozess_id, version, Path(path), report)
        if code == "0503":
            take_over(session, container, kopf, read_objects(root), result,
                      kennzeichen=kennzeichen, fallback=fallback_kennzeichen)
        elif code == "0502":
            _appraisal(session, root, kopf, result,
                       Path(receipt_dir) if receipt_dir is not None else None)
        elif code == "0506":
            _confirmation(session, root, kopf, result)
        elif code in ("0504", "0505", "0507"):
            _receipt(session, kopf, result)
        else:
            raise ArchiveImportError(
                f"eakte sends {code} messages and does not import them; import 0502–0506")
    return result
