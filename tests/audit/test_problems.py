"""Problem kinds: one name each, stable text, the replay's per-record families."""

from __future__ import annotations

import json
import re

from eakte.audit.problems import Finding, ProblemKind, Record, record_kind
from eakte.audit.replay._findings import Findings
from eakte.errors import Problem


def test_every_kind_is_a_unique_dotted_name() -> None:
    values = [kind.value for kind in ProblemKind]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z]+\.[a-z_]+", v) for v in values)


def test_a_kind_reads_and_serialises_as_its_text() -> None:
    problem = Problem(ProblemKind.AUDIT_HASH_MISMATCH, "audit event 3", "changed")
    assert problem.kind == "audit.hash_mismatch"
    assert f"{problem.kind}" == str(problem.kind) == "audit.hash_mismatch"
    assert json.dumps({"kind": problem.kind}) == '{"kind": "audit.hash_mismatch"}'


def test_record_findings_are_named_by_record_and_finding() -> None:
    assert record_kind(Record.GRANT, Finding.UNAUDITED) == "grant.unaudited"
    findings = Findings()
    findings.missing(Record.AKTE, "akte 3")
    findings.compare(Record.VORGANG, "vorgang 5", {"title": "a"}, {"title": "b"})
    assert [p.kind for p in findings.problems] == ["akte.missing", "vorgang.changed"]
    assert findings.problems[1].subject == "vorgang 5 field title"
