"""Replay the audit log into the state it proves, and compare it with the rows.

The log must prove the present, not only the past: a grant, a clearance, a title or a
document's placement changed behind eakte's back is found like an edited event. Each
aggregate has its own module with its rule table (which event sets which field):
:mod:`~eakte.audit.replay.admin` (principals, memberships, grants, Aktenplan units),
:mod:`~eakte.audit.replay.records` (Akten with legal holds and disposal state, Vorgänge)
and :mod:`~eakte.audit.replay.documents` (documents and versions).

Every difference is one :class:`~eakte.errors.Problem`: ``<aggregate>.unaudited`` (a row no
event created), ``<aggregate>.missing`` (an event's object has no row) or
``<aggregate>.changed`` (subject ``<aggregate> <id> field <name>``). Stores that predate
replayable events start from a baseline (:mod:`~eakte.audit.replay.baseline`).

Memory: the rights state and the Aktenplan are held whole (administrative data); records
are merge-joined one object at a time over streams the database sorts, so their cost does
not grow with the log; plus the ids of Akten a disposal deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection

from eakte.audit.replay._findings import Findings
from eakte.audit.replay._stream import rows as stream_rows
from eakte.audit.replay.admin import check_admin, replay_admin
from eakte.audit.replay.baseline import BASELINE_ACTION, Baseline, load_baseline, snapshot
from eakte.audit.replay.documents import check_documents
from eakte.audit.replay.records import check_akten, check_vorgaenge
from eakte.errors import Problem

__all__ = ["BASELINE_ACTION", "Baseline", "ReplayResult", "replay_check", "snapshot",
           "stream_rows"]


@dataclass
class ReplayResult:
    """The outcome of :func:`replay_check`.

    Attributes:
        problems: every difference between replayed state and rows.
        from_seq: the replay started after this event (0: from the first event).
        akten, documents, versions: rows compared.
        deleted_akten: ids of Akten whose content a deletion record covers.
    """

    problems: list[Problem] = field(default_factory=list)
    from_seq: int = 0
    akten: int = 0
    documents: int = 0
    versions: int = 0
    deleted_akten: set[int] = field(default_factory=set)


def replay_check(conn: Connection) -> ReplayResult:
    """Replay the audit log and compare the result with the rows, in a read transaction.

    Args:
        conn: a connection in a read transaction (one snapshot for every pass).

    Returns:
        the problems found, counts and the Akten whose content was deleted.
    """
    findings = Findings()
    baseline, _ = load_baseline(conn)
    admin, _ = replay_admin(conn, baseline)
    check_admin(conn, admin, findings)
    result = ReplayResult(from_seq=baseline.from_seq)
    result.akten, result.deleted_akten = check_akten(conn, baseline, admin.unit_ids, findings)
    check_vorgaenge(conn, baseline, findings)
    result.documents, result.versions = check_documents(conn, baseline, findings)
    result.problems = findings.problems
    return result
