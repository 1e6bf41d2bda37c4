"""The ``Kopf`` of every xdomea message eakte writes, and the parties it names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from eakte._version import __version__
from eakte.exchange.xdomea._xml import XmlWriter, xs_datetime
from eakte.exchange.xdomea.codes import (
    NACHRICHTENTYP_LIST_URI,
    NACHRICHTENTYP_LIST_VERSION,
    MessageType,
)

if TYPE_CHECKING:
    from eakte.context import StoreContext

__all__ = ["Party", "default_party", "write_kopf"]


@dataclass(frozen=True)
class Party:
    """Sender or recipient named in the Kopf (``Institution/Name``, optional org unit)."""

    name: str
    org_unit: str | None = None


def default_party(given: Party | None, store: StoreContext, role: str) -> Party:
    """Return ``given``, else the party of ``role`` (``sender``/``recipient``) the store names.

    The store settings ``xdomea_sender`` and ``xdomea_recipient`` name them; without a
    setting the sender is ``eakte`` and the recipient ``Archiv``.
    """
    if given is not None:
        return given
    name = store.setting(f"xdomea_{role}")
    return Party(name or ("eakte" if role == "sender" else "Archiv"))


def write_kopf(w: XmlWriter, message: MessageType, prozess_id: str, *, sender: Party,
               recipient: Party, store: StoreContext | None, now: datetime) -> None:
    """Write the ``Kopf`` of a message (NkBasisType plus the fields of its message type)."""
    with w.el("Kopf"):
        w.leaf("ProzessID", prozess_id)
        w.code("Nachrichtentyp", message.code, list_uri=NACHRICHTENTYP_LIST_URI,
               list_version=NACHRICHTENTYP_LIST_VERSION)
        w.leaf("Erstellungszeitpunkt", xs_datetime(now))
        for element, party in (("Absender", sender), ("Empfaenger", recipient)):
            with w.el(element):
                with w.el("Institution"):
                    w.leaf("Name", party.name)
                if party.org_unit:
                    with w.el("Organisationseinheit"):
                        w.leaf("Name", party.org_unit)
        with w.el("SendendesSystem"):
            instance = store.setting("store_id") if store is not None else None
            w.leaf("InstanzID", instance)
            w.leaf("Produktname", "eakte")
            w.leaf("Version", __version__)
        if message.code == "0503":
            w.leaf("Importbestaetigung", "1")
            w.leaf("RueckmeldungArchivkennung", "1")
            w.leaf("Empfangsbestaetigung", "1")
        elif message.code in ("0501", "0502"):
            w.leaf("Empfangsbestaetigung", "1")
