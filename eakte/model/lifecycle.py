"""Lifecycle rows: legal holds on Akten and the per-Akte state of Aussonderung (disposal)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Select, String, select
from sqlalchemy.orm import Mapped, mapped_column

from eakte.model.base import Base, BigId, bigid

__all__ = ["FINAL_DISPOSAL_STATES", "AkteDisposal", "LegalHold", "disposed_akte_ids"]

#: Stored disposal states after which the Akte's content is gone from the store.
FINAL_DISPOSAL_STATES: tuple[str, ...] = ("transferred", "destroyed")


class LegalHold(Base):
    """A legal hold on an Akte: while active (``released_at`` is None) it blocks disposal.

    An Akte may carry several holds over time, and several at once (litigation, an audit,
    a DSGVO request); each is set and released with a reason, and both steps are audited.
    """

    __tablename__ = "legal_holds"

    id: Mapped[bigid]
    akte_id: Mapped[int] = mapped_column(BigId, ForeignKey("akten.id"), index=True)
    reason: Mapped[str] = mapped_column(String(2000))
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime]
    released_by: Mapped[str | None] = mapped_column(String(200))
    released_at: Mapped[datetime | None]
    release_reason: Mapped[str | None] = mapped_column(String(2000))

    @property
    def active(self) -> bool:
        """True while the hold has not been released."""
        return self.released_at is None


class AkteDisposal(Base):
    """Where an Akte stands in the Aussonderung; the row exists from the offer on.

    ``state`` is ``offered`` (0501 sent), ``appraised`` (``decision`` A or V, from the
    archive's 0502 or, in the two-stage procedure, the Aktenplan default), ``exported``
    (0503 sent), ``transferred`` (0506 received: ``archivkennung`` set, content deleted) or
    ``destroyed`` (decision V carried out, content deleted). The message ids are the xdomea
    ProzessIDs of the messages involved.
    """

    __tablename__ = "akte_disposal"

    akte_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("akten.id"), primary_key=True, autoincrement=False
    )
    state: Mapped[str] = mapped_column(String(20), index=True)
    decision: Mapped[str | None] = mapped_column(String(1))
    decision_source: Mapped[str | None] = mapped_column(String(20))
    offer_message_id: Mapped[str | None] = mapped_column(String(200))
    appraisal_message_id: Mapped[str | None] = mapped_column(String(200))
    export_message_id: Mapped[str | None] = mapped_column(String(200))
    transfer_message_id: Mapped[str | None] = mapped_column(String(200))
    offered_at: Mapped[datetime | None]
    appraised_at: Mapped[datetime | None]
    exported_at: Mapped[datetime | None]
    transferred_at: Mapped[datetime | None]
    archivkennung: Mapped[str | None] = mapped_column(String(500))
    destroyed_at: Mapped[datetime | None]

    @property
    def disposed(self) -> bool:
        """True once the content is gone (transferred to the archive or destroyed)."""
        return self.state in FINAL_DISPOSAL_STATES

    @property
    def disposed_at(self) -> datetime | None:
        """When the content was deleted (transfer confirmed or destroyed), if it was."""
        return self.transferred_at if self.state == "transferred" else self.destroyed_at


def disposed_akte_ids() -> Select[Any]:
    """Return a SELECT of the ids of Akten whose content was deleted by disposal."""
    return select(AkteDisposal.akte_id).where(AkteDisposal.state.in_(FINAL_DISPOSAL_STATES))
