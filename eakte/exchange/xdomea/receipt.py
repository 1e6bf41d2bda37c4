"""Writing the receipts eakte sends for messages it received: 0504, 0505 and 0507."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from eakte.audit.events import Action
from eakte.errors import ExportError
from eakte.exchange.xdomea._kopf import Party, default_party, write_kopf
from eakte.exchange.xdomea._xml import XmlWriter
from eakte.exchange.xdomea.codes import DEFAULT_VERSION, MESSAGES, NAMESPACES, container_name
from eakte.exchange.xdomea.schema import schema_folder, validate_file

if TYPE_CHECKING:
    from eakte.exchange.xdomea.read import Kopf
    from eakte.session import Session

__all__ = ["write_receipt"]


def write_receipt(session: Session, message: str, answered: Kopf, out_dir: str | os.PathLike[str],
                  *, version: str = DEFAULT_VERSION, sender: Party | None = None) -> Path:
    """Write a receipt (0504, 0505 or 0507) for a received message, under its ProzessID.

    The receipt is validated like every message eakte writes and recorded in the audit log
    (``xdomea.receipt_sent``).

    Raises:
        ExportError: the receipt would be invalid.
        InvalidInput: a schema folder without that version's XSD.
    """
    from lxml import etree

    if message not in ("0504", "0505", "0507"):
        raise ExportError(f"{message!r} is not a receipt message")
    uow = session.unit_of_work
    store = uow.store
    mtype = MESSAGES[message]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    final = out / container_name(answered.prozess_id, mtype)
    xml_name = container_name(answered.prozess_id, mtype, "xml")
    recipient = Party(answered.absender or "Absender der Nachricht")
    with tempfile.TemporaryDirectory(dir=out, prefix=".xdomea-") as tmp:
        xml_path, zip_path = Path(tmp) / xml_name, Path(tmp) / final.name
        with xml_path.open("wb") as fh, etree.xmlfile(fh, encoding="UTF-8") as xf:
            xf.write_declaration()
            w = XmlWriter(xf, NAMESPACES[version])
            with w.el(mtype.element, nsmap={"xdomea": NAMESPACES[version]}):
                write_kopf(w, mtype, answered.prozess_id,
                           sender=default_party(sender, store, "sender"), recipient=recipient,
                           store=store, now=uow.now())
        report = validate_file(xml_path, version, schemas=schema_folder(None, store=store),
                               members={xml_name}, export=True)
        if not report.ok:
            raise ExportError(f"the {message} receipt is invalid: "
                              f"{'; '.join(report.problems[:5])}")
        with zipfile.ZipFile(zip_path, "w") as zf:
            zf.write(xml_path, xml_name, compress_type=zipfile.ZIP_DEFLATED)
        os.replace(zip_path, final)
    uow.record(Action.XDOMEA_RECEIPT_SENT, "xdomea_message", answered.prozess_id,
               message=message, file=final.name, recipient=recipient.name,
               schema_validated=report.schema_validated)
    return final
