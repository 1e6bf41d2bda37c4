"""Offline verification of the audit hash chain against the stored canonical bytes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from functools import partial
from itertools import chain
from json.scanner import make_scanner
from typing import Any, cast

from sqlalchemy import Connection, select

from eakte.audit.log import CANONICAL_FORMAT, GENESIS_HASH, event_akte_id, format_time
from eakte.audit.problems import ProblemKind
from eakte.errors import Problem
from eakte.model import AuditEvent, AuditHead

__all__ = ["verify_chain"]

_COLUMNS = ("actor", "action", "object_type", "object_id")
#: The canonical encoding (as in :func:`eakte.audit.log.canonical_bytes`), as text.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
#: A JSON string in the canonical encoding (no ASCII escaping).
_QUOTE: Callable[[str], str] = json.encoder.encode_basestring
#: json's C scanner: ``_SCAN(text, 0) -> (value, end)``.
_SCAN: Callable[[str, int], tuple[Any, int]] = make_scanner(cast(Any, json.JSONDecoder()))
# Selected in this order by the raw query below.
_SELECT = (
    "SELECT seq, canonical, hash, time, actor, action, object_type, object_id, {details}, "
    "akte_id "
    "FROM audit_events ORDER BY seq"
)


def _unencodable(value: Any) -> Any:
    raise TypeError(f"not JSON: {type(value).__name__}")


def _details_encoder() -> Callable[[Any], str]:
    """Return a function that encodes a decoded JSON value as the canonical encoding does.

    json's C encoder, built once with the canonical settings (sorted keys, no white space,
    no ASCII escaping), does what ``_ENCODE`` does without setting up an encoder per call.
    """
    make = cast(Any, json.encoder).c_make_encoder
    if make is None:  # an interpreter without json's C accelerator
        return _ENCODE
    encoder = make(None, _unencodable, _QUOTE, None, ":", ",", True, False, True)
    return lambda value: "".join(encoder(value, 0))


_ENCODE_DETAILS = _details_encoder()


def _canonical_text(seq: int, time_text: str, actor: Any, action: Any, object_type: Any,
                    object_id: Any, details: Any) -> str | None:
    """Return the canonical text of an event with these column values, as the log wrote it.

    Equal to ``canonical_bytes(...).decode()`` for the same values; None when a value is of
    a type the log never writes (which the caller then compares the slow way).
    """
    if type(seq) is not int or not (type(actor) is type(action) is type(object_type)
                                    is type(object_id) is str):
        return None
    return (f'{{"action":{_QUOTE(action)},"actor":{_QUOTE(actor)},'
            f'"details":{_ENCODE_DETAILS(details)},"object_id":{_QUOTE(object_id)},"object_type":{_QUOTE(object_type)},'
            f'"seq":{seq},"time":{_QUOTE(time_text)},"v":{CANONICAL_FORMAT}}}')


def _problem(kind: str, seq: int, message: str) -> Problem:
    return Problem(kind=kind, subject=f"audit event {seq}", message=message, data={"seq": seq})


def _column_differences(
    values: dict[str, Any], time_text: str, details: Any, doc: dict[str, Any]
) -> list[str]:
    """Return the names of columns whose value differs from the canonical bytes."""
    differ = [name for name in _COLUMNS if values[name] != doc.get(name)]
    if time_text != doc.get("time"):
        differ.append("time")
    if details != doc.get("details"):
        differ.append("details")
    if not _akte_matches(values["akte_id"], doc):
        differ.append("akte_id")
    return differ


def _akte_matches(akte_id: int | None, doc: dict[str, Any]) -> bool:
    """Return whether the ``akte_id`` column agrees with the Akte named in the event.

    Document events recorded before events named their Akte (revision 0005) got the column
    from the documents table; only those may have it without the event naming it.
    """
    return _akte_ok(akte_id, doc.get("object_type"), doc.get("object_id"), doc.get("details"))


def _akte_ok(akte_id: int | None, object_type: Any, object_id: Any, details: Any) -> bool:
    """:func:`_akte_matches` for the event's values."""
    derived = event_akte_id(str(object_type), str(object_id),
                            details if isinstance(details, dict) else {})
    if derived is not None:
        return akte_id == derived
    return akte_id is None or object_type == "document"


def _raw_rows(conn: Connection, batch: int) -> tuple[Any, Iterator[Any]]:
    """Return a raw driver cursor over all events in sequence order and its rows, streamed.

    The rows (tuples in ``_SELECT`` order) bypass SQLAlchemy's per-row result machinery;
    the caller converts values itself, and only where they are actually needed. On
    PostgreSQL ``details`` comes as JSON text.
    """
    dbapi_conn: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        sql = _SELECT.format(details="details::text")
        if hasattr(dbapi_conn, "pgconn"):  # psycopg 3: the server goes on sending as we check
            cursor = dbapi_conn.cursor(binary=True)
            try:
                return cursor, cursor.stream(sql, size=batch)
            except TypeError:  # psycopg < 3.2 streams row by row
                return cursor, cursor.stream(sql)
        try:  # psycopg2: a server-side cursor keeps memory flat
            cursor = dbapi_conn.cursor(name="eakte_verify_chain")
        except TypeError:  # a driver without named cursors
            cursor = dbapi_conn.cursor()
    else:
        sql = _SELECT.format(details="details")
        cursor = dbapi_conn.cursor()
    cursor.execute(sql)
    return cursor, chain.from_iterable(iter(partial(cursor.fetchmany, batch), []))


def _scanner() -> Callable[[str, int], tuple[Any, int]]:
    """Return json's C scanner, ``scan(text, 0) -> (value, end)``.

    It decodes the JSON value at the start of ``text`` and returns where it ends: what
    ``json.loads`` does, minus the checks for surrounding white space and extra data.
    """
    scan: Callable[[str, int], tuple[Any, int]] = make_scanner(cast(Any, json.JSONDecoder()))
    return scan


def _json_loader(fallback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Return ``fallback`` made faster for the common case of a complete JSON text.

    A text that is exactly one JSON value is decoded by the scanner, with the same result
    as ``json.loads``; any other input goes to ``fallback`` unchanged.
    """
    scan = _scanner()

    def load(value: Any) -> Any:
        if type(value) is str:
            try:
                result, end = scan(value, 0)
            except (StopIteration, ValueError):
                return fallback(value)
            if end == len(value):
                return result
        return fallback(value)

    return load


def _compare_decoded(seq: int, canon: bytes, columns: tuple[Any, ...], time_text: str,
                     details: Any, problems: list[Problem]) -> None:
    """Decode the hashed bytes and report how the row differs from them."""
    try:
        # UTF-8 text that is exactly one JSON value; anything else is decoded as
        # json.loads(bytes) does (BOMs, UTF-16/32, white space) or reported.
        text = canon.decode()
        doc, end = _SCAN(text, 0)
        if end != len(text):
            raise ValueError("not a single JSON value")
    except (ValueError, StopIteration):
        try:
            doc = json.loads(canon)
        except ValueError:
            problems.append(_problem(ProblemKind.AUDIT_UNDECODABLE, seq,
                                     "canonical bytes are not JSON"))
            return
    if not isinstance(doc, dict):
        problems.append(_problem(ProblemKind.AUDIT_UNDECODABLE, seq,
                                 "canonical bytes are no JSON object"))
        return
    if not doc:
        return
    if doc.get("seq") != seq:
        problems.append(_problem(
            ProblemKind.AUDIT_REORDERED, seq,
            f"row {seq} holds the bytes of event {doc.get('seq')} (moved or reordered)"))
        return
    actor, action, object_type, object_id, akte_id = columns
    values = {"actor": actor, "action": action, "object_type": object_type,
              "object_id": object_id, "akte_id": akte_id}
    differ = _column_differences(values, time_text, details, doc)
    if differ:
        problems.append(_problem(
            ProblemKind.AUDIT_COLUMN_MISMATCH, seq,
            f"column(s) {', '.join(differ)} differ from the hashed bytes (row edited)"))


def verify_chain(
    conn: Connection,
    *,
    progress: Callable[[int], None] | None = None,
    batch: int = 10_000,
) -> tuple[int, list[Problem]]:
    """Recompute the audit chain and compare it with every stored event and the head.

    Detects edited events (bytes or columns), inserted, deleted and reordered events, and a
    truncated tail (head row disagrees with the last event). After a break the check goes on
    from the stored hash, so every altered place is reported, not only the first.

    Args:
        conn: an open connection to the store's database.
        progress: called with the number of events checked so far, every ``batch`` events.
        batch: rows fetched per round trip.

    Returns:
        the number of events checked and the problems found.
    """
    problems: list[Problem] = []
    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    sha256 = hashlib.sha256
    fromhex = bytes.fromhex
    text_of = _canonical_text
    # The conversions SQLAlchemy would apply to these columns, applied only where needed.
    dialect = conn.dialect
    table = AuditEvent.__table__
    time_proc = table.c.time.type.dialect_impl(dialect).result_processor(dialect, None)
    if dialect.name == "postgresql":
        load_details = _json_loader(json.loads)
    else:
        details_proc = table.c.details.type.dialect_impl(dialect).result_processor(dialect, None)
        load_details = _json_loader(details_proc) if details_proc else (lambda value: value)
    # Events of one commit share their time: remember the last stored time and its
    # canonical text form instead of converting every row again.
    last_raw_time: Any = None
    last_time_text = ""
    cursor, rows = _raw_rows(conn, batch)
    try:
        for seq, raw_canon, row_hash, raw_time, actor, action, object_type, object_id, \
                raw_details, akte_id in rows:
            canon = bytes(raw_canon)
            if seq != expected_seq:
                problems.append(
                    _problem(
                        ProblemKind.AUDIT_SEQUENCE_GAP,
                        seq,
                        f"expected event {expected_seq} next, found {seq}: "
                        f"{'events deleted' if seq > expected_seq else 'duplicate sequence'}",
                    )
                )
            if raw_time is None or raw_time != last_raw_time:
                time_value: Any = time_proc(raw_time) if time_proc else raw_time
                last_time_text = format_time(time_value)
                last_raw_time = raw_time
            details = load_details(raw_details)
            try:
                # Fastest path: the columns encode to exactly the hashed bytes, so every
                # column agrees with them (encoding is cheaper than decoding the bytes).
                text = text_of(seq, last_time_text, actor, action, object_type, object_id,
                               details)
                same = text is not None and text.encode() == canon
            except (TypeError, ValueError):
                same = False
            if same and (
                    # the common case of _akte_ok: an event about something in an Akte
                    akte_id == akte if object_type != "akte" and type(details) is dict
                    and type(akte := details.get("akte")) is int
                    else _akte_ok(akte_id, object_type, object_id, details)):
                pass
            else:
                _compare_decoded(seq, canon, (actor, action, object_type, object_id, akte_id),
                                 last_time_text, details, problems)
            if sha256(fromhex(prev) + canon).hexdigest() != row_hash:
                problems.append(
                    _problem(
                        ProblemKind.AUDIT_HASH_MISMATCH,
                        seq,
                        "hash does not follow from the previous event and this event's bytes: "
                        "this event or the one before it was altered, inserted or removed",
                    )
                )
            prev = row_hash
            expected_seq = seq + 1
            count += 1
            if progress is not None and count % batch == 0:
                progress(count)
    finally:
        close_stream = getattr(rows, "close", None)
        if close_stream is not None:  # a psycopg stream cancels and drains the query
            close_stream()
        cursor.close()
    head = conn.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    last_seq = expected_seq - 1
    if head is None:
        problems.append(
            Problem(ProblemKind.AUDIT_HEAD_MISSING, "audit head", "the chain head row is missing")
        )
    elif head.seq != last_seq or (count and head.hash != prev):
        problems.append(
            Problem(
                ProblemKind.AUDIT_HEAD_MISMATCH,
                "audit head",
                f"head records event {head.seq} ({head.hash[:12]}…) but the log ends at "
                f"event {last_seq}: events at the end were removed or the head was altered",
            )
        )
    if progress is not None:
        progress(count)
    return count, problems
