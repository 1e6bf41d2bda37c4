"""The problems the replay reports: a row without event, an event without row, a changed field.

Kinds are ``<aggregate>.unaudited``, ``<aggregate>.missing`` and ``<aggregate>.changed``
(:func:`eakte.audit.problems.record_kind`);
the subject names the object (``grant 7``, ``akte 3``) and, for a changed value, the field
(``akte 3 field title``). ``data`` carries the ids, the field, and both values.
"""

from __future__ import annotations

from typing import Any

from eakte.audit.problems import Finding, Record, record_kind
from eakte.errors import Problem

__all__ = ["Findings"]

_SHOW = 80


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOW else text[:_SHOW - 1] + "…"


class Findings:
    """Collects the differences between the replayed state and the rows."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def unaudited(self, aggregate: Record, subject: str, data: dict[str, Any] | None = None,
                  *, what: str = "no audit event created it") -> None:
        """A row exists that the audit log does not account for."""
        self.problems.append(Problem(
            record_kind(aggregate, Finding.UNAUDITED), subject,
            f"the row exists, but {what} (inserted outside eakte)", data=dict(data or {})))

    def missing(self, aggregate: Record, subject: str, data: dict[str, Any] | None = None) -> None:
        """The audit log says the object exists, but its row is gone."""
        self.problems.append(Problem(
            record_kind(aggregate, Finding.MISSING), subject,
            "the audit log records this object, but its row is gone (deleted outside eakte)",
            data=dict(data or {})))

    def compare(self, aggregate: Record, subject: str, row: dict[str, Any],
                expected: dict[str, Any], data: dict[str, Any] | None = None) -> None:
        """Report every field of ``expected`` whose value in ``row`` differs."""
        for name, audit in expected.items():
            value = row.get(name)
            if value != audit:
                self.changed(aggregate, subject, name, value, audit, data)

    def changed(self, aggregate: Record, subject: str, name: str, value: Any, audit: Any,
                data: dict[str, Any] | None = None) -> None:
        """One field differs from what the audit log says."""
        self.problems.append(Problem(
            record_kind(aggregate, Finding.CHANGED), f"{subject} field {name}",
            f"the row says {_show(value)}, the audit log {_show(audit)} (changed outside eakte)",
            data={**(data or {}), "field": name, "row": value, "audit": audit}))
