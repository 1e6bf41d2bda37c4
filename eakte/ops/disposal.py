"""Aussonderung: the disposal state machine from due to transferred or destroyed.

Aussonderung per Akte: due → offered (0501 sent) → appraised (A/V from 0502, or the
Aktenplan default in the two-stage procedure) → exported (0503 sent) → transferred
(0506 received) for A, or → destroyed for V. Content is deleted only at the end, and
each deletion leaves a ``disposal.deleted`` record in the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select

from eakte._disposal import (
    DisposalStatus,
    delete_unreferenced_blobs,
    deletion_record,
    describe,
    hold_text,
)
from eakte._validate import clean_text
from eakte.audit.events import Action
from eakte.crypto.keyring import shred_akte_keys
from eakte.errors import InvalidInput, StateConflict
from eakte.model import Akte, AkteDisposal, Document
from eakte.ops.disposal_state import as_of_day, disposal_status, status_of
from eakte.ops.retention import lock_for_lifecycle, plan_unit_of
from eakte.types import DisposalDecision, DisposalState

if TYPE_CHECKING:
    from eakte._unit_of_work import UnitOfWork

__all__ = [
    "appraise_by_default",
    "confirm_transfer",
    "destroy",
    "mark_exported",
    "mark_offered",
    "record_appraisal",
]


def _reason(reason: str | None) -> str | None:
    """Check the optional reason of an appraisal (audited)."""
    return clean_text(reason, "appraisal reason", max_len=2000) if reason is not None else None


def _step(uow: UnitOfWork, akte: Akte, action: str, allowed: Iterable[DisposalState], *,
          decision: DisposalDecision | None = None, hold_blocks: bool = True
          ) -> tuple[Akte, DisposalStatus]:
    """Lock the Akte and check that ``action`` may happen now.

    Raises:
        StateConflict: the Akte is in another state, has another decision, or is held.
    """
    own, disposal, holds = lock_for_lifecycle(uow, akte)
    status = status_of(uow, own, disposal, holds, as_of_day(uow, None))
    if status.state not in set(allowed) or (
        decision is not None and status.decision != decision
    ):
        raise StateConflict(f"cannot {action} Akte {own.aktenzeichen!r}: it "
                            f"{describe(status)}")
    if hold_blocks and holds:
        raise StateConflict(f"cannot {action} Akte {own.aktenzeichen!r}: it is under "
                            f"{hold_text(holds)}; release the hold first")
    return own, status


def mark_offered(uow: UnitOfWork, akten: Iterable[Akte], message_id: str) -> list[DisposalStatus]:
    """Record that the Akten were offered to the archive (xdomea 0501 sent).

    Every Akte is checked before any is changed.

    Args:
        akten: Akten due for disposal.
        message_id: the ProzessID of the 0501 message.

    Raises:
        InvalidInput: no Akten, an Akte listed twice, or an empty message id.
        StateConflict: an Akte is not due (open, retained, offered already …) or held.
    """
    uow.begin_write()
    message_id = clean_text(message_id, "message id", max_len=200)
    checked = _checked_all(uow, akten, "offer", [DisposalState.DUE])
    now = uow.now()
    for own, status in checked:
        disposal = AkteDisposal(akte_id=own.id, state=DisposalState.OFFERED.value,
                                offer_message_id=message_id, offered_at=now)
        uow.orm.add(disposal)
        uow.record(Action.DISPOSAL_OFFERED, "akte", own, aktenzeichen=own.aktenzeichen,
                   message_id=message_id, retention_until=status.retention_until,
                   default_decision=status.default_decision.value)
    uow.flush()
    return [disposal_status(uow, own) for own, _ in checked]


def _checked_all(uow: UnitOfWork, akten: Iterable[Akte], action: str,
                 allowed: list[DisposalState], *,
                 decision: DisposalDecision | None = None
                 ) -> list[tuple[Akte, DisposalStatus]]:
    items = [uow.own(a) for a in akten]
    if not items:
        raise InvalidInput(f"no Akten given to {action}")
    if len({a.id for a in items}) != len(items):
        raise InvalidInput(f"an Akte is listed twice to {action}")
    # lock in id order, so that two sessions with overlapping lists cannot deadlock
    checked = {a.id: _step(uow, a, action, allowed, decision=decision)
               for a in sorted(items, key=lambda a: a.id)}
    return [checked[a.id] for a in items]


def record_appraisal(uow: UnitOfWork, akte: Akte, decision: DisposalDecision | str, *,
                     message_id: str | None = None, reason: str | None = None,
                     on_paper: bool = False) -> DisposalStatus:
    """Record the archive's appraisal of an offered Akte (xdomea 0502 received).

    An appraisal that arrives on paper (a letter of the archive instead of a 0502) is
    recorded with ``on_paper=True``; its offer may have been on paper as well, so the
    Akte may then also be due without an offer recorded in eakte.

    Args:
        akte: an offered Akte (with ``on_paper``: an offered or due one).
        decision: A (the archive takes it) or V (destroy); B is no final decision.
        message_id: the ProzessID of the 0502 message.
        reason: a note for the audit log, e.g. the archive's letter and its date.
        on_paper: the appraisal came outside xdomea; recorded as such in the audit log.

    Raises:
        InvalidInput: the decision is not A or V, or the message id or reason is empty.
        StateConflict: the Akte was not offered (not due either, with ``on_paper``),
            or was appraised already.
    """
    uow.begin_write()
    try:
        final = DisposalDecision(decision)
    except ValueError as exc:
        raise InvalidInput(f"an appraisal is A or V, not {decision!r}") from exc
    if final == DisposalDecision.APPRAISE:
        raise InvalidInput("B (bewerten) is not a final appraisal; the archive decides A "
                           "(archive) or V (destroy)")
    msg = clean_text(message_id, "message id", max_len=200) if message_id is not None \
        else None
    note = _reason(reason)
    allowed = [DisposalState.DUE, DisposalState.OFFERED] if on_paper \
        else [DisposalState.OFFERED]
    own, _ = _step(uow, akte, "record the appraisal of", allowed, hold_blocks=False)
    return _appraise(uow, own, final, "archive", msg, reason=note, on_paper=on_paper)


def appraise_by_default(uow: UnitOfWork, akte: Akte, *,
                        reason: str | None = None) -> DisposalStatus:
    """Appraise a due or offered Akte by its Aktenplan unit's default (two-stage procedure).

    In the two-stage procedure the archive appraised the Aktenplan beforehand, so units
    marked A or V need no individual appraisal.

    Args:
        akte: a due or offered Akte.
        reason: a note for the audit log.

    Raises:
        InvalidInput: the reason is empty.
        StateConflict: the Akte is not due or offered, or its unit's default is B.
    """
    uow.begin_write()
    note = _reason(reason)
    own, status = _step(uow, akte, "appraise", [DisposalState.DUE, DisposalState.OFFERED],
                        hold_blocks=False)
    if status.default_decision == DisposalDecision.APPRAISE:
        unit = plan_unit_of(uow, own)
        raise StateConflict(
            f"cannot appraise Akte {own.aktenzeichen!r} by default: its Aktenplan unit "
            f"{unit.kennzeichen} says B (the archive appraises); offer it (0501) and "
            "record the archive's appraisal (0502)")
    return _appraise(uow, own, status.default_decision, "aktenplan", None, reason=note)


def _appraise(uow: UnitOfWork, akte: Akte, decision: DisposalDecision, source: str,
              message_id: str | None, *, reason: str | None = None,
              on_paper: bool = False) -> DisposalStatus:
    disposal = uow.orm.get(AkteDisposal, akte.id)
    if disposal is None:
        disposal = AkteDisposal(akte_id=akte.id, state=DisposalState.APPRAISED.value)
        uow.orm.add(disposal)
    disposal.state = DisposalState.APPRAISED.value
    disposal.decision = decision.value
    disposal.decision_source = source
    disposal.appraisal_message_id = message_id
    disposal.appraised_at = uow.now()
    extra: dict[str, object] = {}
    if reason is not None:
        extra["reason"] = reason
    if on_paper:
        extra["on_paper"] = True
    uow.record(Action.DISPOSAL_APPRAISED, "akte", akte, aktenzeichen=akte.aktenzeichen,
               decision=decision.value, source=source, message_id=message_id, **extra)
    uow.flush()
    return disposal_status(uow, akte)


def mark_exported(uow: UnitOfWork, akten: Iterable[Akte], message_id: str) -> list[DisposalStatus]:
    """Record that the Akten were sent to the archive (xdomea 0503 sent).

    Args:
        akten: Akten appraised A.
        message_id: the ProzessID of the 0503 message.

    Raises:
        InvalidInput: no Akten, an Akte listed twice, or an empty message id.
        StateConflict: an Akte is not appraised A, or is held.
    """
    uow.begin_write()
    message_id = clean_text(message_id, "message id", max_len=200)
    checked = _checked_all(uow, akten, "export", [DisposalState.APPRAISED],
                           decision=DisposalDecision.ARCHIVE)
    now = uow.now()
    for own, _ in checked:
        disposal = uow.orm.get(AkteDisposal, own.id)
        assert disposal is not None
        disposal.state = DisposalState.EXPORTED.value
        disposal.export_message_id = message_id
        disposal.exported_at = now
        uow.record(Action.DISPOSAL_EXPORTED, "akte", own, aktenzeichen=own.aktenzeichen,
                   message_id=message_id)
    uow.flush()
    return [disposal_status(uow, own) for own, _ in checked]


def confirm_transfer(uow: UnitOfWork, akte: Akte, archivkennung: str, *,
                     message_id: str | None = None) -> DisposalStatus:
    """Complete the transfer (xdomea 0506 received) and delete the Akte's content.

    The Archivkennung is recorded; after commit the blobs no other Akte uses are
    deleted, and a ``disposal.deleted`` audit event lists everything deleted.

    Args:
        akte: an exported Akte.
        archivkennung: the archive's identifier for the Akte.
        message_id: the ProzessID of the 0506 message.

    Raises:
        InvalidInput: an empty Archivkennung or message id.
        StateConflict: the Akte was not exported, or is held.
    """
    uow.begin_write()
    kennung = clean_text(archivkennung, "Archivkennung", max_len=500)
    msg = clean_text(message_id, "message id", max_len=200) if message_id is not None \
        else None
    own, _ = _step(uow, akte, "confirm the transfer of", [DisposalState.EXPORTED])
    disposal = uow.orm.get(AkteDisposal, own.id)
    assert disposal is not None
    disposal.state = DisposalState.TRANSFERRED.value
    disposal.archivkennung = kennung
    disposal.transfer_message_id = msg
    disposal.transferred_at = uow.now()
    uow.record(Action.DISPOSAL_TRANSFERRED, "akte", own, aktenzeichen=own.aktenzeichen,
               archivkennung=kennung, message_id=msg)
    _delete_content(uow, own, disposal)
    return disposal_status(uow, own)


def destroy(uow: UnitOfWork, akte: Akte) -> DisposalStatus:
    """Destroy an Akte appraised V: delete its content, keep metadata and the record.

    After commit the blobs no other Akte uses are deleted; a ``disposal.deleted`` audit
    event lists every version and rendition with its SHA-256.

    Raises:
        StateConflict: the Akte is not appraised V, or is held.
    """
    uow.begin_write()
    own, _ = _step(uow, akte, "destroy", [DisposalState.APPRAISED],
                   decision=DisposalDecision.DESTROY)
    disposal = uow.orm.get(AkteDisposal, own.id)
    assert disposal is not None
    disposal.state = DisposalState.DESTROYED.value
    disposal.destroyed_at = uow.now()
    uow.record(Action.DISPOSAL_DESTROYED, "akte", own, aktenzeichen=own.aktenzeichen,
               decision=disposal.decision, source=disposal.decision_source)
    _delete_content(uow, own, disposal)
    return disposal_status(uow, own)


def _delete_content(uow: UnitOfWork, akte: Akte, disposal: AkteDisposal) -> None:
    """Record the deletion, shred the Akte's keys, delete the blobs after the commit."""
    uow.flush()  # the disposed state must count when checking shared blobs
    details, delete = deletion_record(uow.orm, akte)
    details.update(shred_akte_keys(uow.orm, akte.id))  # encrypted stores only
    uow.record(Action.DISPOSAL_DELETED, "akte", akte, reason=disposal.state,
               decision=disposal.decision, archivkennung=disposal.archivkennung,
               **details)
    for document in uow.orm.scalars(
            select(Document).where(Document.akte_id == akte.id).order_by(Document.id)):
        uow.reindex(document)
    if delete:
        store = uow.store

        def delete_blobs() -> None:
            delete_unreferenced_blobs(store, delete)

        uow.on_commit(delete_blobs)

