"""Session operations on the Aktenplan, Akten, Vorgänge and principals."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from eakte._text_match import contains_text
from eakte.access import Permission
from eakte.aktenzeichen import validate_kennzeichen
from eakte.errors import (
    InvalidInput,
    NotFoundError,
    StateConflict,
)
from eakte.model import (
    Akte,
    AkteDisposal,
    AktenplanUnit,
    AktenzeichenCounter,
    ExternalRef,
    Vorgang,
)
from eakte.types import AkteStatus, Confidentiality, DisposalDecision

if TYPE_CHECKING:
    pass

from eakte._unit_of_work import UnitOfWork, check_meta, clean_text, lookup_id, lookup_key

__all__ = ["RecordsMixin"]


class RecordsMixin(UnitOfWork):
    """Aktenplan units, Akten (with Aktenzeichen and external ids), Vorgänge, users."""

    # -- Aktenplan -----------------------------------------------------------------------

    def add_plan_unit(
        self,
        kennzeichen: str,
        title: str,
        *,
        parent: str | None = None,
        retention_years: int | None = 10,
        disposal: DisposalDecision | str = DisposalDecision.APPRAISE,
    ) -> AktenplanUnit:
        """Add a unit to the Aktenplan.

        Args:
            kennzeichen: e.g. ``"630.10"``.
            title: e.g. ``"Baugenehmigungen"``.
            parent: Kennzeichen of the parent unit.
            retention_years: default Aufbewahrungsfrist; ``None`` means unlimited.
            disposal: default Aussonderungsart (A, V or B).

        Raises:
            AccessDenied: the principal is no administrator of the store (or of ``parent``).
            InvalidInput: invalid Kennzeichen, title, retention or disposal.
            NotFoundError: the parent does not exist.
            StateConflict: the Kennzeichen exists already.
        """
        parent_unit = self.get_plan_unit(parent) if parent else None
        if parent_unit is None:
            self._require_store(Permission.ADMINISTER, "add Aktenplan units")
        else:
            self._require_unit(Permission.ADMINISTER, parent_unit.id, parent_unit.kennzeichen,
                               "add Aktenplan units")
        kz = validate_kennzeichen(kennzeichen)
        title = clean_text(title, "title", max_len=500)
        try:
            decision = DisposalDecision(disposal)
        except ValueError as exc:
            raise InvalidInput(f"disposal must be A, V or B, not {disposal!r}") from exc
        if retention_years is not None and (
            isinstance(retention_years, bool)
            or not isinstance(retention_years, int)
            or not 0 <= retention_years <= 1000
        ):
            raise InvalidInput(f"retention_years must be 0..1000 or None, not {retention_years!r}")
        if self._orm.scalar(select(AktenplanUnit.id).where(AktenplanUnit.kennzeichen == kz)):
            raise StateConflict(f"Aktenplan unit {kz!r} exists already")
        unit = AktenplanUnit(
            kennzeichen=kz,
            title=title,
            parent_id=parent_unit.id if parent_unit else None,
            retention_years=retention_years,
            disposal=decision.value,
            created_at=self._now(),
            created_by=self.user,
        )
        self._orm.add(unit)
        self._audit(
            "plan.create", "aktenplan_unit", unit, kennzeichen=kz, title=title,
            parent=parent_unit.kennzeichen if parent_unit else None,
            retention_years=retention_years, disposal=decision.value,
        )
        return unit

    def get_plan_unit(self, kennzeichen: str) -> AktenplanUnit:
        """Return the Aktenplan unit with this Kennzeichen.

        Raises:
            NotFoundError: no such unit.
        """
        if not lookup_key(kennzeichen):
            raise NotFoundError("Aktenplan unit", kennzeichen)
        unit = self._orm.scalars(
            select(AktenplanUnit).where(AktenplanUnit.kennzeichen == kennzeichen.strip())
        ).first()
        if unit is None:
            raise NotFoundError("Aktenplan unit", kennzeichen)
        return unit

    def plan_units(self) -> list[AktenplanUnit]:
        """Return the whole Aktenplan ordered by Kennzeichen."""
        return list(self._orm.scalars(select(AktenplanUnit).order_by(AktenplanUnit.kennzeichen)))

    # -- Akten ---------------------------------------------------------------------------

    def _next_number(self, unit_id: int, year: int) -> int:
        """Hand out the next running number for a unit and year, gap-free.

        The counter row is updated inside this transaction: concurrent creators wait on the
        row lock (PostgreSQL) or the write lock (SQLite), and a rollback returns the number.
        """
        dialect = self._store.dialect
        values = {"unit_id": unit_id, "year": year, "last_number": 0}
        if dialect == "postgresql":
            stmt: Any = pg_insert(AktenzeichenCounter).values(values).on_conflict_do_nothing()
        else:
            stmt = sqlite_insert(AktenzeichenCounter).values(values).on_conflict_do_nothing()
        self._orm.execute(stmt)
        number = self._orm.execute(
            update(AktenzeichenCounter)
            .where(AktenzeichenCounter.unit_id == unit_id, AktenzeichenCounter.year == year)
            .values(last_number=AktenzeichenCounter.last_number + 1)
            .returning(AktenzeichenCounter.last_number)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        return int(number)

    def create_akte(
        self,
        kennzeichen: str,
        title: str,
        *,
        org_unit: str | None = None,
        confidentiality: Confidentiality | str = Confidentiality.OPEN,
        external_ids: Iterable[tuple[str, str]] = (),
        metadata: dict[str, Any] | None = None,
        year: int | None = None,
    ) -> Akte:
        """Create an Akte under an Aktenplan unit with the next free Aktenzeichen.

        Args:
            kennzeichen: the Aktenplan unit.
            title: the Akte's title.
            org_unit: owning organisational unit.
            confidentiality: Vertraulichkeitsstufe.
            external_ids: ``(system, id)`` pairs under which Fachverfahren know the Akte.
            metadata: free-form JSON-compatible metadata.
            year: the year of the Aktenzeichen (default: the current year).

        Raises:
            NotFoundError: the Aktenplan unit does not exist.
            AccessDenied: the principal may not edit under that unit, or may not use the
                external ids of a system named in ``external_ids`` (whether or not the id
                is taken).
            InvalidInput: invalid title, confidentiality or metadata.
            StateConflict: an external id is already taken (said only to principals that
                hold its system).
        """
        unit = self.get_plan_unit(validate_kennzeichen(kennzeichen))
        self._require_unit(Permission.EDIT, unit.id, unit.kennzeichen, "create Akten")
        external_ids = list(external_ids)
        for system, _ in external_ids:
            self.require_system(clean_text(system, "external system", max_len=100))
        title = clean_text(title, "title")
        if org_unit is not None:
            org_unit = clean_text(org_unit, "org unit", max_len=200)
        try:
            conf = Confidentiality(confidentiality)
        except ValueError as exc:
            raise InvalidInput(f"unknown confidentiality {confidentiality!r}") from exc
        meta = check_meta(metadata)
        now = self._now()
        the_year = now.year if year is None else year
        if isinstance(the_year, bool) or not isinstance(the_year, int) or not (
            1900 <= the_year <= 9999
        ):
            raise InvalidInput(f"year must be between 1900 and 9999, not {year!r}")
        pattern = self._store.aktenzeichen_pattern
        number = self._next_number(unit.id, the_year if pattern.per_year else 0)
        az = pattern.format(
            kennzeichen=unit.kennzeichen, number=number, year=the_year, org_unit=org_unit
        )
        akte = Akte(
            aktenzeichen=az,
            title=title,
            unit_id=unit.id,
            year=the_year,
            number=number,
            status=AkteStatus.OPEN.value,
            org_unit=org_unit,
            confidentiality=conf.value,
            meta=meta,
            created_at=now,
            created_by=self.user,
        )
        self._orm.add(akte)
        self._flush()
        refs = [
            self.add_external_ref(system, ext, "akte", akte.id) for system, ext in external_ids
        ]
        self._audit(
            "akte.create", "akte", akte, aktenzeichen=az, title=title, unit=unit.kennzeichen,
            confidentiality=conf.value, org_unit=org_unit, external_ids=refs, metadata=meta,
        )
        return akte

    def find_akte(self, system: str, external_id: str) -> Akte:
        """Return the Akte an external system knows under ``external_id``.

        Raises:
            AccessDenied: the principal may not use the external ids of ``system``
                (whether or not the id exists).
            NotFoundError: no Akte has that external id (that the principal may read).
        """
        if not (lookup_key(system) and lookup_key(external_id)):
            raise NotFoundError("Akte", f"{system}:{external_id}")
        self.require_system(system.strip())
        akte_id = self._orm.scalar(
            select(ExternalRef.object_id).where(
                ExternalRef.system == system,
                ExternalRef.external_id == external_id,
                ExternalRef.object_type == "akte",
            )
        )
        if akte_id is None:
            raise NotFoundError("Akte", f"{system}:{external_id}")
        self._require(Permission.READ, int(akte_id), "read",
                      hidden_as=("Akte", f"{system}:{external_id}"))
        akte = self._orm.get(Akte, int(akte_id))
        if akte is None:  # the reference outlived its Akte
            raise NotFoundError("Akte", f"{system}:{external_id}")
        return akte

    def external_ids(self, akte: Akte) -> list[str]:
        """Return the ``system:id`` keys under which external systems know ``akte``."""
        self._require(Permission.READ, akte, "read")
        rows = self._orm.execute(
            select(ExternalRef.system, ExternalRef.external_id)
            .where(ExternalRef.object_type == "akte", ExternalRef.object_id == akte.id)
            .order_by(ExternalRef.id)
        ).all()
        return [f"{s}:{e}" for s, e in rows]

    def list_akten(self, *, kennzeichen: str | None = None, query: str | None = None,
                   status: AkteStatus | str | None = None) -> list[Akte]:
        """Return the Akten the principal may read, ordered by Aktenzeichen.

        Args:
            kennzeichen: only Akten of this Aktenplan unit.
            query: only Akten whose title, Aktenzeichen or an external id
                (``system:id``) contains this text, ignoring case; ``%`` and ``_`` are
                plain characters.
            status: only open or only closed (z.d.A.) Akten.

        Raises:
            NotFoundError: the Aktenplan unit does not exist.
            InvalidInput: an empty query or an unknown status.
        """
        stmt = select(Akte).where(self.access.akte_filter()).order_by(Akte.aktenzeichen)
        if kennzeichen:
            stmt = stmt.where(Akte.unit_id == self.get_plan_unit(kennzeichen).id)
        if status is not None:
            try:
                wanted = AkteStatus(status)
            except ValueError as exc:
                choices = ", ".join(s.value for s in AkteStatus)
                raise InvalidInput(f"unknown Akte status {status!r}; use {choices}") from exc
            stmt = stmt.where(Akte.status == wanted.value)
        if query is not None:
            text = clean_text(query, "query", max_len=500)
            external = select(ExternalRef.object_id).where(
                ExternalRef.object_type == "akte",
                contains_text(ExternalRef.system + ":" + ExternalRef.external_id, text))
            stmt = stmt.where(or_(contains_text(Akte.title, text),
                                  contains_text(Akte.aktenzeichen, text),
                                  Akte.id.in_(external)))
        return list(self._orm.scalars(stmt))

    def update_akte(self, akte: Akte, *, title: str | None = None,
                    metadata: dict[str, Any] | None = None) -> Akte:
        """Change an Akte's title or metadata (audited with old and new values).

        Raises:
            AccessDenied: the principal may not edit the Akte.
            InvalidInput: invalid title or metadata.
        """
        akte = self._own(akte)
        self._require(Permission.EDIT, akte, "change")
        self._lock_akte(akte, exclusive=True)  # the old values audited below are current
        changes: dict[str, Any] = {}
        if title is not None:
            self._change(akte, "title", clean_text(title, "title"), changes)
        if metadata is not None:
            self._change(akte, "meta", check_meta(metadata), changes, name="metadata")
        if changes:
            self._audit("akte.update", "akte", akte, aktenzeichen=akte.aktenzeichen, **changes)
        return akte

    def close_akte(self, akte: Akte) -> Akte:
        """Close an Akte (z.d.A.): it refuses new documents and versions until reopened.

        Raises:
            AccessDenied: the principal may not manage the Akte.
            StateConflict: the Akte is already closed.
        """
        akte = self._own(akte)
        self._require(Permission.MANAGE, akte, "close")
        akte = self._lock_akte(akte, exclusive=True)
        if akte.status == AkteStatus.CLOSED:
            raise StateConflict(f"Akte {akte.aktenzeichen!r} is already closed (z.d.A.)")
        akte.status = AkteStatus.CLOSED.value
        akte.closed_at = self._now()
        self._audit("akte.close", "akte", akte, aktenzeichen=akte.aktenzeichen)
        return akte

    def reopen_akte(self, akte: Akte) -> Akte:
        """Reopen a closed Akte.

        Raises:
            AccessDenied: the principal may not manage the Akte.
            StateConflict: the Akte is open, or its Aussonderung has begun (offered or later).
        """
        akte = self._own(akte)
        self._require(Permission.MANAGE, akte, "reopen")
        akte = self._lock_akte(akte, exclusive=True)
        if akte.status != AkteStatus.CLOSED:
            raise StateConflict(f"Akte {akte.aktenzeichen!r} is open; nothing to reopen")
        disposal = self._orm.get(AkteDisposal, akte.id)
        if disposal is not None:
            raise StateConflict(
                f"Akte {akte.aktenzeichen!r} is in Aussonderung (state {disposal.state}) and "
                "cannot be reopened; set a legal hold to stop its disposal"
            )
        akte.status = AkteStatus.OPEN.value
        akte.closed_at = None
        self._audit("akte.reopen", "akte", akte, aktenzeichen=akte.aktenzeichen)
        return akte

    # -- Vorgänge ------------------------------------------------------------------------

    def create_vorgang(
        self,
        akte: Akte,
        title: str,
        *,
        parent: Vorgang | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Vorgang:
        """Create a Vorgang in ``akte`` (a Teilvorgang when ``parent`` is given).

        Raises:
            AccessDenied: the principal may not edit the Akte.
            StateConflict: the Akte or the parent Vorgang is closed.
            InvalidInput: invalid title, or ``parent`` belongs to another Akte.
        """
        akte = self._own(akte)
        self._require(Permission.EDIT, akte, "create Vorgänge")
        parent = self._own(parent) if parent is not None else None
        self._require_open(akte, parent.id if parent is not None else None)
        title = clean_text(title, "title")
        if parent is not None and parent.akte_id != akte.id:
            raise InvalidInput("a Teilvorgang must be in the same Akte as its parent Vorgang")
        vorgang = Vorgang(
            akte_id=akte.id,
            parent_id=parent.id if parent else None,
            title=title,
            status=AkteStatus.OPEN.value,
            meta=check_meta(metadata),
            created_at=self._now(),
            created_by=self.user,
        )
        self._orm.add(vorgang)
        self._audit("vorgang.create", "vorgang", vorgang, akte=akte, title=title,
                    aktenzeichen=akte.aktenzeichen, parent=parent)
        return vorgang

    def get_vorgang(self, vorgang_id: int) -> Vorgang:
        """Return a Vorgang by id.

        Raises:
            NotFoundError: no such Vorgang (that the principal may read).
        """
        vorgang = self._orm.get(Vorgang, vorgang_id) if lookup_id(vorgang_id) else None
        if vorgang is None:
            raise NotFoundError("Vorgang", vorgang_id)
        self._require(Permission.READ, vorgang.akte_id, "read", object_type="vorgang",
                      target=vorgang_id, hidden_as=("Vorgang", vorgang_id))
        return vorgang

    def find_vorgang(self, akte: Akte, title: str) -> Vorgang | None:
        """Return the first Vorgang of ``akte`` with exactly this title, if any."""
        self._require(Permission.READ, akte, "read")
        return self._orm.scalars(
            select(Vorgang).where(Vorgang.akte_id == akte.id, Vorgang.title == title.strip())
            .order_by(Vorgang.id)
        ).first()

    def vorgaenge(self, akte: Akte) -> list[Vorgang]:
        """Return the Vorgänge of an Akte in creation order."""
        self._require(Permission.READ, akte, "read")
        return list(self._orm.scalars(
            select(Vorgang).where(Vorgang.akte_id == akte.id).order_by(Vorgang.id)))
