"""Session operations on the lifecycle: z.d.A. of Vorgänge, retention, legal holds, disposal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, exists, or_, select

from eakte._disposal import (
    DisposalStatus,
    DueAkte,
    add_years,
    delete_unreferenced_blobs,
    deletion_record,
    describe,
    hold_text,
)
from eakte._unit_of_work import UnitOfWork, clean_text
from eakte.access import Permission
from eakte.crypto.keyring import shred_akte_keys
from eakte.errors import InvalidInput, NotFoundError, StateConflict
from eakte.model import Akte, AkteDisposal, AktenplanUnit, Document, LegalHold, Vorgang
from eakte.model.lifecycle import FINAL_DISPOSAL_STATES
from eakte.types import AkteStatus, DisposalDecision, DisposalState

__all__ = ["LifecycleMixin"]

_Context = tuple[Akte, AkteDisposal | None, list[LegalHold]]


def _reason(reason: str | None) -> str | None:
    """Check the optional reason of an appraisal (audited)."""
    return clean_text(reason, "appraisal reason", max_len=2000) if reason is not None else None


class LifecycleMixin(UnitOfWork):
    """Closing Vorgänge, retention periods, legal holds and the Aussonderung state machine.

    Aussonderung per Akte: due → offered (0501 sent) → appraised (A/V from 0502, or the
    Aktenplan default in the two-stage procedure) → exported (0503 sent) → transferred
    (0506 received) for A, or → destroyed for V. Content is deleted only at the end, and
    each deletion leaves a ``disposal.deleted`` record in the audit log.
    """

    # -- Vorgänge ------------------------------------------------------------------------

    def close_vorgang(self, vorgang: Vorgang) -> Vorgang:
        """Close a Vorgang (z.d.A.): it and its Teilvorgänge refuse new documents.

        Raises:
            StateConflict: the Vorgang is closed already, or its Akte was disposed.
        """
        vorgang = self._own(vorgang)
        self._require(Permission.EDIT, vorgang.akte_id, "close or reopen Vorgänge",
                      object_type="vorgang", target=vorgang.id,
                      hidden_as=("Vorgang", vorgang.id))
        akte = self._lock_akte(self.get_akte(vorgang.akte_id), exclusive=True)
        self._flush()  # refresh must not discard this session's pending changes
        self._orm.refresh(vorgang)
        if self.is_disposed(akte):
            raise StateConflict(f"Akte {akte.aktenzeichen!r} was disposed; nothing can change")
        if vorgang.status == AkteStatus.CLOSED:
            raise StateConflict(f"Vorgang {vorgang.id} {vorgang.title!r} is already closed "
                                "(z.d.A.)")
        vorgang.status = AkteStatus.CLOSED.value
        vorgang.closed_at = self._now()
        self._audit("vorgang.close", "vorgang", vorgang, akte=akte,
                    aktenzeichen=akte.aktenzeichen, title=vorgang.title)
        return vorgang

    def reopen_vorgang(self, vorgang: Vorgang) -> Vorgang:
        """Reopen a closed Vorgang.

        Raises:
            StateConflict: the Vorgang is open, its Akte or its parent Vorgang is closed.
        """
        vorgang = self._own(vorgang)
        self._require(Permission.EDIT, vorgang.akte_id, "close or reopen Vorgänge",
                      object_type="vorgang", target=vorgang.id,
                      hidden_as=("Vorgang", vorgang.id))
        akte = self._lock_akte(self.get_akte(vorgang.akte_id), exclusive=True)
        self._flush()  # refresh must not discard this session's pending changes
        self._orm.refresh(vorgang)
        if vorgang.status != AkteStatus.CLOSED:
            raise StateConflict(f"Vorgang {vorgang.id} {vorgang.title!r} is open; nothing to "
                                "reopen")
        if akte.status == AkteStatus.CLOSED:
            raise StateConflict(f"Akte {akte.aktenzeichen!r} is closed (z.d.A.); reopen the "
                                "Akte before its Vorgänge")
        if vorgang.parent_id is not None:
            parent = self._orm.get(Vorgang, vorgang.parent_id, populate_existing=True)
            if parent is not None and parent.status == AkteStatus.CLOSED:
                raise StateConflict(f"the parent Vorgang {parent.id} {parent.title!r} is "
                                    "closed; reopen it first")
        vorgang.status = AkteStatus.OPEN.value
        vorgang.closed_at = None
        self._audit("vorgang.reopen", "vorgang", vorgang, akte=akte,
                    aktenzeichen=akte.aktenzeichen, title=vorgang.title)
        return vorgang

    # -- retention -----------------------------------------------------------------------

    def _unit(self, akte: Akte) -> AktenplanUnit:
        unit = self._orm.get(AktenplanUnit, akte.unit_id)
        assert unit is not None  # foreign key
        return unit

    def retention_years(self, akte: Akte) -> int | None:
        """Return the Akte's retention period in years (``None``: unlimited).

        It is the Akte's own value when one was set with :meth:`set_retention`, else the
        default of its Aktenplan unit.
        """
        akte = self._own(akte)
        self._require(Permission.READ, akte, "read")
        return akte.retention_years if akte.retention_override else (
            self._unit(akte).retention_years)

    def retention_until(self, akte: Akte) -> date | None:
        """Return the day the retention period expires: closing day (UTC) plus the years.

        ``None`` while the Akte is open or when its retention is unlimited. It is computed,
        never stored, so that changing the retention or reopening cannot leave it stale.
        """
        akte = self._own(akte)
        years = self.retention_years(akte)
        if akte.closed_at is None or years is None:
            return None
        return add_years(akte.closed_at.astimezone(UTC).date(), years)

    def set_retention(self, akte: Akte, years: int | None) -> Akte:
        """Give the Akte its own retention period, overriding its Aktenplan unit's default.

        Args:
            akte: the Akte.
            years: years after closing (0–1000); ``None`` means unlimited.

        Raises:
            InvalidInput: ``years`` is not a whole number 0–1000 or None.
            StateConflict: the Akte's Aussonderung has begun (offered or later).
        """
        if years is not None and (isinstance(years, bool) or not isinstance(years, int)
                                  or not 0 <= years <= 1000):
            raise InvalidInput(f"retention years must be 0..1000 or None, not {years!r}")
        akte, disposal, _ = self._context(akte)
        if disposal is not None:
            raise StateConflict(
                f"cannot change the retention of Akte {akte.aktenzeichen!r}: its Aussonderung "
                f"has begun (state {disposal.state})")
        old = self.retention_years(akte)
        old_override = akte.retention_override
        akte.retention_override = True
        akte.retention_years = years
        self._audit("akte.retention", "akte", akte, aktenzeichen=akte.aktenzeichen,
                    old={"years": old, "override": old_override},
                    new={"years": years, "override": True},
                    retention_until=self.retention_until(akte))
        return akte

    # -- legal holds ---------------------------------------------------------------------

    def _active_holds(self, akte: Akte) -> list[LegalHold]:
        self._flush()  # populate_existing must not overwrite pending changes
        return list(self._orm.scalars(
            select(LegalHold)
            .where(LegalHold.akte_id == akte.id, LegalHold.released_at.is_(None))
            .order_by(LegalHold.id)
            .execution_options(populate_existing=True)))

    def _context(self, akte: Akte) -> _Context:
        """Lock the Akte and read its current disposal row and active holds."""
        own = self._own(akte)
        self._require(Permission.MANAGE, own, "manage retention, holds or Aussonderung")
        own = self._lock_akte(own, exclusive=True)
        self._flush()  # populate_existing must not overwrite pending changes
        disposal = self._orm.get(AkteDisposal, own.id, populate_existing=True)
        return own, disposal, self._active_holds(own)

    def set_hold(self, akte: Akte, reason: str) -> LegalHold:
        """Put a legal hold on an Akte: it blocks offering, export, transfer and destruction.

        Raises:
            InvalidInput: the reason is empty or too long.
            StateConflict: the Akte was disposed already.
        """
        reason = clean_text(reason, "hold reason", max_len=2000)
        akte, disposal, _ = self._context(akte)
        if disposal is not None and disposal.disposed:
            raise StateConflict(f"Akte {akte.aktenzeichen!r} was disposed ({disposal.state}); "
                                "there is no content left to hold")
        hold = LegalHold(akte_id=akte.id, reason=reason, set_by=self.user, set_at=self._now())
        self._orm.add(hold)
        self._flush()
        self._audit("hold.set", "akte", akte, aktenzeichen=akte.aktenzeichen, hold=hold.id,
                    reason=reason)
        return hold

    def release_hold(self, akte: Akte, reason: str | None = None, *,
                     hold: LegalHold | int | None = None) -> list[LegalHold]:
        """Release the Akte's active legal holds (or only ``hold``).

        Raises:
            InvalidInput: the reason is empty or too long.
            NotFoundError: ``hold`` is no active hold of this Akte.
            StateConflict: the Akte has no active legal hold.
        """
        text = clean_text(reason, "release reason", max_len=2000) if reason is not None else None
        akte, _, active = self._context(akte)
        if not active:
            raise StateConflict(f"Akte {akte.aktenzeichen!r} has no active legal hold")
        if hold is not None:
            wanted = hold if isinstance(hold, int) else hold.id
            active = [h for h in active if h.id == wanted]
            if not active:
                raise NotFoundError("legal hold", wanted,
                                    f"Akte {akte.aktenzeichen!r} has no active legal hold "
                                    f"{wanted}")
        now = self._now()
        for item in active:
            item.released_at = now
            item.released_by = self.user
            item.release_reason = text
            self._audit("hold.release", "akte", akte, aktenzeichen=akte.aktenzeichen,
                        hold=item.id, reason=text, hold_reason=item.reason)
        return active

    def holds(self, akte: Akte) -> list[LegalHold]:
        """Return every legal hold of the Akte, active and released, oldest first."""
        akte = self._own(akte)
        self._require(Permission.READ, akte, "read")
        return list(self._orm.scalars(
            select(LegalHold).where(LegalHold.akte_id == akte.id).order_by(LegalHold.id)))

    # -- disposal: views -----------------------------------------------------------------

    def _today(self, as_of: date | None) -> date:
        if as_of is None:
            return self._now().astimezone(UTC).date()
        if isinstance(as_of, datetime):
            return as_of.astimezone(UTC).date() if as_of.tzinfo else as_of.date()
        if not isinstance(as_of, date):
            raise InvalidInput(f"as_of must be a date, not {type(as_of).__name__}")
        return as_of

    def _status(self, akte: Akte, disposal: AkteDisposal | None, holds: list[LegalHold],
                today: date) -> DisposalStatus:
        unit = self._unit(akte)
        years = akte.retention_years if akte.retention_override else unit.retention_years
        until = (add_years(akte.closed_at.astimezone(UTC).date(), years)
                 if akte.closed_at is not None and years is not None else None)
        if disposal is not None:
            state = DisposalState(disposal.state)
        elif akte.status != AkteStatus.CLOSED:
            state = DisposalState.OPEN
        elif until is None or today < until:
            state = DisposalState.RETAINED
        else:
            state = DisposalState.DUE
        decision = disposal.decision if disposal is not None else None
        return DisposalStatus(
            akte_id=akte.id, aktenzeichen=akte.aktenzeichen, state=state,
            closed_at=akte.closed_at, retention_years=years,
            retention_override=akte.retention_override, retention_until=until,
            default_decision=DisposalDecision(unit.disposal),
            decision=DisposalDecision(decision) if decision else None,
            decision_source=disposal.decision_source if disposal is not None else None,
            active_holds=tuple(holds), disposal=disposal,
        )

    def disposal_status(self, akte: Akte, *, as_of: date | None = None) -> DisposalStatus:
        """Return where the Akte stands on its way to Aussonderung (as of today by default).

        Raises:
            InvalidInput: ``as_of`` is not a date.
        """
        today = self._today(as_of)
        akte = self._own(akte)
        self._require(Permission.READ, akte, "read")
        self._flush()  # populate_existing must not overwrite pending changes
        disposal = self._orm.get(AkteDisposal, akte.id, populate_existing=True)
        return self._status(akte, disposal, self._active_holds(akte), today)

    def disposal_due(self, as_of: date | None = None) -> list[DueAkte]:
        """Return the Akten due for disposal, ordered by Aktenzeichen.

        Due are closed Akten whose retention period expired on or before ``as_of`` (default:
        today, UTC), that carry no active legal hold and are not disposed yet; Akten whose
        Aussonderung is under way are included with their state. Unlimited retention is
        never due.

        Raises:
            InvalidInput: ``as_of`` is not a date.
        """
        today = self._today(as_of)
        held = exists().where(LegalHold.akte_id == Akte.id, LegalHold.released_at.is_(None))
        closed_before: ColumnElement[bool] = Akte.closed_at.is_not(None)
        if today < date.max:  # retention is never negative: later closings cannot be due
            closed_before = Akte.closed_at < datetime.combine(
                today + timedelta(days=1), time(0), tzinfo=UTC)
        stmt = (
            select(Akte, AktenplanUnit, AkteDisposal)
            .join(AktenplanUnit, AktenplanUnit.id == Akte.unit_id)
            .outerjoin(AkteDisposal, AkteDisposal.akte_id == Akte.id)
            .where(Akte.status == AkteStatus.CLOSED.value, closed_before, ~held,
                   self.access.akte_filter(),
                   or_(AkteDisposal.state.is_(None),
                       AkteDisposal.state.not_in(FINAL_DISPOSAL_STATES)))
            .order_by(Akte.aktenzeichen)
        )
        due: list[DueAkte] = []
        for akte, unit, disposal in self._orm.execute(stmt):
            years = akte.retention_years if akte.retention_override else unit.retention_years
            if years is None or akte.closed_at is None:
                continue
            until = add_years(akte.closed_at.astimezone(UTC).date(), years)
            if until > today:
                continue
            due.append(DueAkte(
                id=akte.id, uuid=akte.uuid, aktenzeichen=akte.aktenzeichen, title=akte.title,
                kennzeichen=unit.kennzeichen, closed_at=akte.closed_at, retention_years=years,
                due_since=until, decision=DisposalDecision(unit.disposal),
                state=DisposalState(disposal.state) if disposal else DisposalState.DUE,
                appraised=(DisposalDecision(disposal.decision)
                           if disposal is not None and disposal.decision else None),
            ))
        return due

    # -- disposal: steps -----------------------------------------------------------------

    def _step(self, akte: Akte, action: str, allowed: Iterable[DisposalState], *,
              decision: DisposalDecision | None = None, hold_blocks: bool = True
              ) -> tuple[Akte, DisposalStatus]:
        """Lock the Akte and check that ``action`` may happen now.

        Raises:
            StateConflict: the Akte is in another state, has another decision, or is held.
        """
        own, disposal, holds = self._context(akte)
        status = self._status(own, disposal, holds, self._today(None))
        if status.state not in set(allowed) or (
            decision is not None and status.decision != decision
        ):
            raise StateConflict(f"cannot {action} Akte {own.aktenzeichen!r}: it "
                                f"{describe(status)}")
        if hold_blocks and holds:
            raise StateConflict(f"cannot {action} Akte {own.aktenzeichen!r}: it is under "
                                f"{hold_text(holds)}; release the hold first")
        return own, status

    def mark_offered(self, akten: Iterable[Akte], message_id: str) -> list[DisposalStatus]:
        """Record that the Akten were offered to the archive (xdomea 0501 sent).

        Every Akte is checked before any is changed.

        Args:
            akten: Akten due for disposal.
            message_id: the ProzessID of the 0501 message.

        Raises:
            InvalidInput: no Akten, an Akte listed twice, or an empty message id.
            StateConflict: an Akte is not due (open, retained, offered already …) or held.
        """
        message_id = clean_text(message_id, "message id", max_len=200)
        checked = self._checked_all(akten, "offer", [DisposalState.DUE])
        now = self._now()
        for own, status in checked:
            disposal = AkteDisposal(akte_id=own.id, state=DisposalState.OFFERED.value,
                                    offer_message_id=message_id, offered_at=now)
            self._orm.add(disposal)
            self._audit("disposal.offered", "akte", own, aktenzeichen=own.aktenzeichen,
                        message_id=message_id, retention_until=status.retention_until,
                        default_decision=status.default_decision.value)
        self._flush()
        return [self.disposal_status(own) for own, _ in checked]

    def _checked_all(self, akten: Iterable[Akte], action: str,
                     allowed: list[DisposalState], *,
                     decision: DisposalDecision | None = None
                     ) -> list[tuple[Akte, DisposalStatus]]:
        items = [self._own(a) for a in akten]
        if not items:
            raise InvalidInput(f"no Akten given to {action}")
        if len({a.id for a in items}) != len(items):
            raise InvalidInput(f"an Akte is listed twice to {action}")
        # lock in id order, so that two sessions with overlapping lists cannot deadlock
        checked = {a.id: self._step(a, action, allowed, decision=decision)
                   for a in sorted(items, key=lambda a: a.id)}
        return [checked[a.id] for a in items]

    def record_appraisal(self, akte: Akte, decision: DisposalDecision | str, *,
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
        own, _ = self._step(akte, "record the appraisal of", allowed, hold_blocks=False)
        return self._appraise(own, final, "archive", msg, reason=note, on_paper=on_paper)

    def appraise_by_default(self, akte: Akte, *, reason: str | None = None) -> DisposalStatus:
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
        note = _reason(reason)
        own, status = self._step(akte, "appraise", [DisposalState.DUE, DisposalState.OFFERED],
                                 hold_blocks=False)
        if status.default_decision == DisposalDecision.APPRAISE:
            unit = self._unit(own)
            raise StateConflict(
                f"cannot appraise Akte {own.aktenzeichen!r} by default: its Aktenplan unit "
                f"{unit.kennzeichen} says B (the archive appraises); offer it (0501) and "
                "record the archive's appraisal (0502)")
        return self._appraise(own, status.default_decision, "aktenplan", None, reason=note)

    def _appraise(self, akte: Akte, decision: DisposalDecision, source: str,
                  message_id: str | None, *, reason: str | None = None,
                  on_paper: bool = False) -> DisposalStatus:
        disposal = self._orm.get(AkteDisposal, akte.id)
        if disposal is None:
            disposal = AkteDisposal(akte_id=akte.id, state=DisposalState.APPRAISED.value)
            self._orm.add(disposal)
        disposal.state = DisposalState.APPRAISED.value
        disposal.decision = decision.value
        disposal.decision_source = source
        disposal.appraisal_message_id = message_id
        disposal.appraised_at = self._now()
        extra: dict[str, object] = {}
        if reason is not None:
            extra["reason"] = reason
        if on_paper:
            extra["on_paper"] = True
        self._audit("disposal.appraised", "akte", akte, aktenzeichen=akte.aktenzeichen,
                    decision=decision.value, source=source, message_id=message_id, **extra)
        self._flush()
        return self.disposal_status(akte)

    def mark_exported(self, akten: Iterable[Akte], message_id: str) -> list[DisposalStatus]:
        """Record that the Akten were sent to the archive (xdomea 0503 sent).

        Args:
            akten: Akten appraised A.
            message_id: the ProzessID of the 0503 message.

        Raises:
            InvalidInput: no Akten, an Akte listed twice, or an empty message id.
            StateConflict: an Akte is not appraised A, or is held.
        """
        message_id = clean_text(message_id, "message id", max_len=200)
        checked = self._checked_all(akten, "export", [DisposalState.APPRAISED],
                                    decision=DisposalDecision.ARCHIVE)
        now = self._now()
        for own, _ in checked:
            disposal = self._orm.get(AkteDisposal, own.id)
            assert disposal is not None
            disposal.state = DisposalState.EXPORTED.value
            disposal.export_message_id = message_id
            disposal.exported_at = now
            self._audit("disposal.exported", "akte", own, aktenzeichen=own.aktenzeichen,
                        message_id=message_id)
        self._flush()
        return [self.disposal_status(own) for own, _ in checked]

    def confirm_transfer(self, akte: Akte, archivkennung: str, *,
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
        kennung = clean_text(archivkennung, "Archivkennung", max_len=500)
        msg = clean_text(message_id, "message id", max_len=200) if message_id is not None \
            else None
        own, _ = self._step(akte, "confirm the transfer of", [DisposalState.EXPORTED])
        disposal = self._orm.get(AkteDisposal, own.id)
        assert disposal is not None
        disposal.state = DisposalState.TRANSFERRED.value
        disposal.archivkennung = kennung
        disposal.transfer_message_id = msg
        disposal.transferred_at = self._now()
        self._audit("disposal.transferred", "akte", own, aktenzeichen=own.aktenzeichen,
                    archivkennung=kennung, message_id=msg)
        self._delete_content(own, disposal)
        return self.disposal_status(own)

    def destroy(self, akte: Akte) -> DisposalStatus:
        """Destroy an Akte appraised V: delete its content, keep metadata and the record.

        After commit the blobs no other Akte uses are deleted; a ``disposal.deleted`` audit
        event lists every version and rendition with its SHA-256.

        Raises:
            StateConflict: the Akte is not appraised V, or is held.
        """
        own, _ = self._step(akte, "destroy", [DisposalState.APPRAISED],
                            decision=DisposalDecision.DESTROY)
        disposal = self._orm.get(AkteDisposal, own.id)
        assert disposal is not None
        disposal.state = DisposalState.DESTROYED.value
        disposal.destroyed_at = self._now()
        self._audit("disposal.destroyed", "akte", own, aktenzeichen=own.aktenzeichen,
                    decision=disposal.decision, source=disposal.decision_source)
        self._delete_content(own, disposal)
        return self.disposal_status(own)

    def _delete_content(self, akte: Akte, disposal: AkteDisposal) -> None:
        """Record the deletion, shred the Akte's keys, delete the blobs after the commit."""
        self._flush()  # the disposed state must count when checking shared blobs
        details, delete = deletion_record(self._orm, akte)
        details.update(shred_akte_keys(self._orm, akte.id))  # encrypted stores only
        self._audit("disposal.deleted", "akte", akte, reason=disposal.state,
                    decision=disposal.decision, archivkennung=disposal.archivkennung,
                    **details)
        self._reindex.extend(self._orm.scalars(
            select(Document).where(Document.akte_id == akte.id).order_by(Document.id)))
        if delete:
            store = self._store

            def delete_blobs() -> None:
                delete_unreferenced_blobs(store, delete)

            self._post_commit.append(delete_blobs)
