"""Identifier types and enumerations shared by the whole public API."""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

__all__ = [
    "AkteId",
    "AkteStatus",
    "Confidentiality",
    "DisposalDecision",
    "DisposalState",
    "DocumentId",
    "DocumentKind",
    "PrincipalKind",
    "Role",
    "Sha256",
    "VersionId",
    "VorgangId",
]

AkteId = NewType("AkteId", int)
VorgangId = NewType("VorgangId", int)
DocumentId = NewType("DocumentId", int)
VersionId = NewType("VersionId", int)
Sha256 = NewType("Sha256", str)


class AkteStatus(StrEnum):
    """Lifecycle status of an Akte or Vorgang."""

    OPEN = "open"
    #: z.d.A. ("zu den Akten"): closed; the retention period runs from the closing date.
    CLOSED = "closed"


class DisposalDecision(StrEnum):
    """Aussonderungsart: what happens when the retention period ends."""

    #: archivwürdig: transfer to the archive.
    ARCHIVE = "A"
    #: vernichten: destroy.
    DESTROY = "V"
    #: bewerten: the archive appraises.
    APPRAISE = "B"


class DisposalState(StrEnum):
    """Where an Akte stands in its lifecycle towards Aussonderung (disposal).

    ``open`` and ``retained`` (closed, retention running or unlimited) and ``due`` are
    derived from the Akte and the date; the others are recorded steps.
    """

    #: not closed yet: no retention period runs.
    OPEN = "open"
    #: closed (z.d.A.), retention period running, or unlimited.
    RETAINED = "retained"
    #: closed and the retention period has expired: ready to be offered.
    DUE = "due"
    #: offered to the archive (xdomea 0501 sent).
    OFFERED = "offered"
    #: appraised A or V (0502 received, or the Aktenplan default in the two-stage procedure).
    APPRAISED = "appraised"
    #: sent to the archive (0503), awaiting its confirmation (0506).
    EXPORTED = "exported"
    #: taken over by the archive (0506 with Archivkennung); the content was deleted.
    TRANSFERRED = "transferred"
    #: destroyed after decision V; the content was deleted.
    DESTROYED = "destroyed"


class Confidentiality(StrEnum):
    """Vertraulichkeitsstufe of an Akte."""

    OPEN = "offen"
    #: VS - Nur für den Dienstgebrauch.
    VS_NFD = "vs-nfd"


class DocumentKind(StrEnum):
    """Direction of a document relative to the agency."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"
    INTERNAL = "internal"


class PrincipalKind(StrEnum):
    """Kind of a principal."""

    USER = "user"
    GROUP = "group"
    ORG_UNIT = "org_unit"


class Role(StrEnum):
    """What a grant allows on its target (an Aktenplan unit, an Akte, the store, a system).

    ``reader`` < ``editor`` < ``manager`` build on each other; ``administrator`` includes
    all three and manages users, grants and the Aktenplan; ``auditor`` reads the audit log
    and verifies the store, but no content. ``owner`` is granted on an external system
    (``system:NAME``) only: it lets a Fachverfahren use that system's external ids.
    """

    #: see metadata, read content, search.
    READER = "reader"
    #: file documents, add versions and Vorgänge, change metadata (and read).
    EDITOR = "editor"
    #: close and reopen, retention, legal holds, Aussonderung (and edit).
    MANAGER = "manager"
    #: everything, including users, grants and the Aktenplan.
    ADMINISTRATOR = "administrator"
    #: read the audit log and verify; no content.
    AUDITOR = "auditor"
    #: use the external ids of a system (create, look up, file under them); on systems only.
    OWNER = "owner"
