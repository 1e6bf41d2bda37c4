"""Replay of documents and their versions.

Rule table (object id = document id):

=====================  ===================================================================
``document.file``      ``akte_id`` (of ``akte``), ``vorgang_id`` (``vorgang``),
                       ``parent_document_id`` (``parent``), ``title``, ``kind``;
                       ``version_count`` 1, or 0 when ``version`` is null (an imported
                       document without content); version ``version``: ``version_uuid``,
                       ``sha256``, ``size``
``version.add``        version ``version``: ``version_uuid``, ``sha256``, ``size``;
                       ``version_count`` ← ``version``
``document.update``    ``title`` ← ``title.new``, ``kind`` ← ``kind.new``
=====================  ===================================================================

Versions are checked against every event since event 1 (content events always carried
their hash); the document's own fields from the baseline on. A merge-join of the events
(sorted by document and sequence in the database), the document rows and the version rows
(by document and number) holds one document's events and versions at a time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from eakte.audit.events import Action
from eakte.audit.problems import Finding, ProblemKind, Record, record_kind
from eakte.audit.replay._findings import Findings
from eakte.audit.replay._stream import as_dict, as_list, events_by_object, grouped, merge, rows
from eakte.audit.replay.baseline import Baseline
from eakte.errors import Problem

__all__ = ["DOCUMENT_ACTIONS", "check_documents"]

DOCUMENT_ACTIONS = (Action.DOCUMENT_FILE, Action.VERSION_ADD, Action.DOCUMENT_UPDATE)
_FIELDS = ("akte_id", "vorgang_id", "parent_document_id", "title", "kind", "version_count")
_Version = tuple[str, str, int]  # uuid, sha256, size


def _columns(dialect: str) -> str:
    """SQL for the event values the fold needs: one JSON array, extracted by the database.

    One extraction per event (instead of one per value) parses ``details`` once; Python
    decodes the short array (see :func:`_values`).
    """
    if dialect == "postgresql":
        values = "json_build_array(" + ", ".join(
            f"details->'{key}'" for key in _EXTRACT) + ")::text"
    else:
        values = "json_extract(details, " + ", ".join(f"'$.{key}'" for key in _EXTRACT) + ")"
    return f"{values}, CASE WHEN action = '{Action.DOCUMENT_UPDATE}' THEN {{json}} END"


_EXTRACT = ("version", "version_uuid", "sha256", "size", "akte", "vorgang", "parent",
            "title", "kind")
_NONE = (None,) * len(_EXTRACT)


def _values(text: Any) -> tuple[Any, ...]:
    """Decode the array of :func:`_columns`: integers only where one is expected.

    A value the array lacks, or a non-integer where an integer belongs, is None.
    """
    values = as_list(text)
    if len(values) != len(_EXTRACT):
        return _NONE
    number, vuuid, sha, size, akte, vorgang, parent, title, kind = values
    return (_int(number), vuuid, sha, _int(size), _int(akte), _int(vorgang), _int(parent),
            title, kind)


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _fold(events: list[tuple[Any, ...]], baseline: Baseline
          ) -> tuple[bool, dict[str, Any], dict[int, _Version]]:
    created, fields = False, {}
    versions: dict[int, _Version] = {}
    for _key, seq, action, values, update in events:
        number, vuuid, sha, size, akte, vorgang, parent, title, kind = _values(values)
        if update is None and number is not None:
            versions[number] = (str(vuuid), str(sha), -1 if size is None else int(size))
        if seq <= baseline.from_seq:
            continue
        if action == Action.DOCUMENT_FILE:
            created = True
            fields = {"akte_id": akte, "vorgang_id": vorgang, "parent_document_id": parent,
                      "title": title, "kind": kind,
                      "version_count": 0 if number is None else 1}
        elif action == Action.VERSION_ADD:
            if number is not None and number > (fields.get("version_count") or 0):
                fields["version_count"] = number
        else:
            d = as_dict(update)
            for name in ("title", "kind"):
                if isinstance(d.get(name), dict):
                    fields[name] = d[name].get("new")
    return created, fields, versions


def check_documents(conn: Connection, baseline: Baseline, findings: Findings
                    ) -> tuple[int, int]:
    """Compare documents and versions with the replayed events.

    Returns:
        the number of document rows and of version rows compared.
    """
    events = grouped(events_by_object(conn, "document", DOCUMENT_ACTIONS,
                                      columns=_columns(conn.dialect.name)))
    # one stream: each document row with its versions (the join walks the number index)
    columns = ", ".join(f"d.{name}" for name in _FIELDS)
    documents = grouped(rows(conn, f"SELECT d.id, {columns}, v.number, v.id, v.uuid, "  # noqa: S608
                                   "v.sha256, v.size FROM documents d LEFT JOIN versions v "
                                   "ON v.document_id = d.id ORDER BY d.id, v.number"))
    # versions whose document row is gone (only possible with foreign keys switched off)
    strays = grouped(rows(conn, "SELECT v.document_id, NULL, v.number, v.id, v.uuid, "
                                "v.sha256, v.size FROM versions v LEFT JOIN documents d "
                                "ON d.id = v.document_id WHERE d.id IS NULL "
                                "ORDER BY v.document_id, v.number"))
    width = len(_FIELDS) + 1
    n_docs = n_versions = 0
    for doc_id, (evs, doc_rows, stray_rows) in merge(events, documents, strays):
        created, fields, recorded = _fold(evs, baseline)
        if doc_rows:
            n_docs += 1
            row = doc_rows[0]
            if not created and not baseline.legacy("documents", doc_id):
                findings.unaudited(Record.DOCUMENT, f"document {doc_id}",
                                   {"document_id": doc_id},
                                   what=f"no {Action.DOCUMENT_FILE} event filed it")
            elif (row[1:width] != tuple(map(fields.__getitem__, _FIELDS))
                  if len(fields) == len(_FIELDS) else
                  any(row[i] != fields[name] for i, name in enumerate(_FIELDS, 1)
                      if name in fields)):
                findings.compare(Record.DOCUMENT, f"document {doc_id}",
                                 dict(zip(_FIELDS, row[1:width], strict=True)), fields,
                                 {"document_id": doc_id})
        elif created:
            findings.missing(Record.DOCUMENT, f"document {doc_id}", {"document_id": doc_id})
        versions = [r[width:] for r in doc_rows if r[width] is not None]
        versions.extend(r[2:] for r in stray_rows)
        n_versions += len(versions)
        _check_versions(doc_id, versions, recorded, findings)
    return n_docs, n_versions


def _check_versions(doc_id: int, versions: list[tuple[Any, ...]],
                    recorded: dict[int, _Version], findings: Findings) -> None:
    """Compare ``(number, id, uuid, sha256, size)`` rows with the recorded versions."""
    if len(versions) == len(recorded) and all(
            recorded.get(number) == (vuuid, sha, size)
            for number, _vid, vuuid, sha, size in versions):
        return
    seen = set()
    for number, vid, vuuid, sha, size in versions:
        subject = f"document {doc_id} version {number}"
        data = {"version_id": vid, "document_id": doc_id}
        seen.add(number)
        audit = recorded.get(number)
        if audit is None:
            findings.problems.append(Problem(
                record_kind(Record.VERSION, Finding.UNAUDITED), subject,
                "no audit event records this version's content (row inserted outside eakte)",
                data=data))
        elif audit[0] != vuuid:
            findings.changed(Record.VERSION, subject, "uuid", vuuid, audit[0], data)
        elif audit[1:] != (sha, size):
            findings.problems.append(Problem(
                ProblemKind.VERSION_HASH_CHANGED, subject,
                f"row says sha256 {sha[:12]}… size {size}, but the audit log recorded "
                f"{audit[1][:12]}… size {audit[2]}: the version row was altered", data=data))
    for number in sorted(set(recorded) - seen):
        findings.missing(Record.VERSION, f"document {doc_id} version {number}",
                         {"document_id": doc_id})
