"""Identifier types and enumerations shared by the whole public API."""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

__all__ = [
    "AkteId",
    "AkteStatus",
    "Confidentiality",
    "DisposalDecision",
    "DocumentId",
    "DocumentKind",
    "PrincipalKind",
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
