"""Session: the facade over one unit of work bound to a principal; every operation is here.

Example:
    >>> import eakte, tempfile
    >>> store = eakte.open(tempfile.mkdtemp())
    >>> with store.session() as s:
    ...     unit = s.add_plan_unit("630.10", "Baugenehmigungen", retention_years=30)
    ...     akte = s.create_akte("630.10", "Neubau Einfamilienhaus Lindenstraße 4")
    ...     doc = s.file_document(akte, b"Antrag ...", filename="antrag.txt")
    >>> store.close()

Each method delegates to a function of :mod:`eakte.ops` that takes the unit of work as its
first argument; the operation's docstring is the method's.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Concatenate, ParamSpec, Self, TypeVar

from eakte._unit_of_work import UnitOfWork
from eakte.errors import EakteError
from eakte.ops import audit as audit_ops
from eakte.ops import content as content_ops
from eakte.ops import disposal as disposal_ops
from eakte.ops import disposal_state as disposal_state_ops
from eakte.ops import documents as documents_ops
from eakte.ops import feed as feed_ops
from eakte.ops import grants as grants_ops
from eakte.ops import plan as plan_ops
from eakte.ops import principals as principals_ops
from eakte.ops import records as records_ops
from eakte.ops import retention as retention_ops
from eakte.ops import search as search_ops
from eakte.ops import versions as versions_ops
from eakte.ops import vorgaenge as vorgaenge_ops

if TYPE_CHECKING:
    from eakte.access import AccessPolicy, Permission, StoreJob
    from eakte.model import Akte, Principal
    from eakte.store import Store

__all__ = ["Session"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _op(fn: Callable[Concatenate[UnitOfWork, _P], _R]) -> Callable[Concatenate[Session, _P], _R]:
    """Turn an operation on a unit of work into a Session method of the same name and doc."""

    def method(self: Session, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return fn(self.unit_of_work, *args, **kwargs)

    functools.update_wrapper(method, fn)
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    params[0] = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    method.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return method


class Session:
    """A short-lived unit of work acting as one principal.

    Use it as a context manager: on normal exit everything done in it is committed together
    with its audit events; on an exception nothing is (except the record that content was
    read, which is kept). Objects returned stay readable after the session ends.
    """

    def __init__(self, store: Store, user: str) -> None:
        self._uow = UnitOfWork(store, user)

    # -- the unit of work ----------------------------------------------------------------

    @property
    def unit_of_work(self) -> UnitOfWork:
        """The unit of work behind this session (for exchange formats and other extensions)."""
        return self._uow

    @property
    def user(self) -> str:
        """Name of the acting principal."""
        return self._uow.user

    @property
    def principal(self) -> Principal:
        """The acting principal."""
        return self._uow.principal

    @property
    def access(self) -> AccessPolicy:
        """The acting principal's effective rights (loaded once per session)."""
        return self._uow.access

    @property
    def index_progress(self) -> Callable[[int, int | None], None] | None:
        """Called as ``index_progress(done, total)`` while the commit's documents are indexed.

        Indexing happens after the commit, when the store indexes automatically.
        """
        return self._uow.index_progress

    @index_progress.setter
    def index_progress(self, progress: Callable[[int, int | None], None] | None) -> None:
        self._uow.index_progress = progress

    def permissions(self, akte: Akte | int) -> frozenset[Permission]:
        """Return what the acting principal may do with an Akte (and everything in it)."""
        return self._uow.permissions(akte)

    def require_system(self, system: str) -> None:
        """Refuse to use external ids of ``system`` unless the principal holds that system.

        Raises:
            AccessDenied: the principal does not hold the system.
        """
        self._uow.require_system(system)

    def require_store_job(self, job: StoreJob) -> None:
        """Refuse the store-wide ``job`` unless the principal may run it.

        Raises:
            AccessDenied: the principal may not run the job.
        """
        self._uow.require_store_job(job)

    def commit(self) -> None:
        """Commit every change of this session together with its audit events.

        Raises:
            StateConflict: a uniqueness rule was violated (e.g. a duplicate Kennzeichen).
            StorageError: the database failed; nothing was committed.
        """
        self._uow.commit()

    def rollback(self) -> None:
        """Discard the changes of this session; records of content reads are still kept."""
        self._uow.rollback()

    def close(self) -> None:
        """End the session without committing pending changes."""
        self._uow.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                try:
                    self.rollback()
                except EakteError as rollback_exc:  # keep the original error in charge
                    if exc is not None:
                        exc.add_note(f"recording content reads failed too: {rollback_exc}")
        finally:
            self.close()

    # -- Aktenplan -----------------------------------------------------------------------

    add_plan_unit = _op(plan_ops.add_plan_unit)
    get_plan_unit = _op(plan_ops.get_plan_unit)
    plan_units = _op(plan_ops.plan_units)

    # -- Akten ---------------------------------------------------------------------------

    get_akte = _op(records_ops.get_akte)
    create_akte = _op(records_ops.create_akte)
    find_akte = _op(records_ops.find_akte)
    external_ids = _op(records_ops.external_ids)
    list_akten = _op(records_ops.list_akten)
    update_akte = _op(records_ops.update_akte)
    close_akte = _op(records_ops.close_akte)
    reopen_akte = _op(records_ops.reopen_akte)

    # -- Vorgänge ------------------------------------------------------------------------

    create_vorgang = _op(vorgaenge_ops.create_vorgang)
    get_vorgang = _op(vorgaenge_ops.get_vorgang)
    find_vorgang = _op(vorgaenge_ops.find_vorgang)
    vorgaenge = _op(vorgaenge_ops.vorgaenge)
    close_vorgang = _op(vorgaenge_ops.close_vorgang)
    reopen_vorgang = _op(vorgaenge_ops.reopen_vorgang)

    # -- documents, versions, renditions, content ----------------------------------------

    file_document = _op(documents_ops.file_document)
    file_documents = _op(documents_ops.file_documents)
    get_document = _op(documents_ops.get_document)
    documents = _op(documents_ops.documents)
    update_document = _op(documents_ops.update_document)
    add_version = _op(versions_ops.add_version)
    add_rendition = _op(versions_ops.add_rendition)
    versions = _op(versions_ops.versions)
    latest_versions = _op(versions_ops.latest_versions)
    renditions = _op(versions_ops.renditions)
    get_version = _op(versions_ops.get_version)
    open_content = _op(content_ops.open_content)
    read_content = _op(content_ops.read_content)

    # -- search and the audit log --------------------------------------------------------

    search = _op(search_ops.search)
    audit_events = _op(audit_ops.audit_events)
    audit_count = _op(audit_ops.audit_count)

    # -- retention, legal holds, Aussonderung --------------------------------------------

    retention_years = _op(retention_ops.retention_years)
    retention_until = _op(retention_ops.retention_until)
    set_retention = _op(retention_ops.set_retention)
    set_hold = _op(retention_ops.set_hold)
    release_hold = _op(retention_ops.release_hold)
    holds = _op(retention_ops.holds)
    disposal_status = _op(disposal_state_ops.disposal_status)
    disposal_due = _op(disposal_state_ops.disposal_due)
    mark_offered = _op(disposal_ops.mark_offered)
    record_appraisal = _op(disposal_ops.record_appraisal)
    appraise_by_default = _op(disposal_ops.appraise_by_default)
    mark_exported = _op(disposal_ops.mark_exported)
    confirm_transfer = _op(disposal_ops.confirm_transfer)
    destroy = _op(disposal_ops.destroy)

    # -- principals and grants -----------------------------------------------------------

    add_user = _op(principals_ops.add_user)
    add_group = _op(principals_ops.add_group)
    add_member = _op(principals_ops.add_member)
    set_clearance = _op(principals_ops.set_clearance)
    principals = _op(principals_ops.principals)
    grant = _op(grants_ops.grant)
    revoke = _op(grants_ops.revoke)
    grants = _op(grants_ops.grants)

    # -- the change feed -----------------------------------------------------------------

    changes = _op(feed_ops.changes)
    feed_position = _op(feed_ops.feed_position)
    save_feed_position = _op(feed_ops.save_feed_position)
