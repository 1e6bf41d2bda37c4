"""The audit chain's canonical encoding and hashes, recomputed by hand without eakte."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import text

import eakte
from eakte.audit import GENESIS_HASH, canonical_bytes, chain_hash

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
T0_TEXT = "2026-03-01T09:30:00.000000Z"


def test_canonical_bytes_are_sorted_compact_utf8_json() -> None:
    encoded = canonical_bytes(
        seq=7, time=T0, actor="müller", action="document.file", object_type="document",
        object_id="42", details={"title": "Straßenplan", "b": [1, 2], "a": {"z": 1, "y": None}},
    )
    expected = (
        '{"action":"document.file","actor":"müller","details":{"a":{"y":null,"z":1},'
        '"b":[1,2],"title":"Straßenplan"},"object_id":"42","object_type":"document",'
        f'"seq":7,"time":"{T0_TEXT}","v":1}}'
    ).encode()
    assert encoded == expected
    assert "ü".encode() in encoded and b"\\u" not in encoded


def test_canonical_bytes_are_deterministic() -> None:
    one = canonical_bytes(seq=1, time=T0, actor="a", action="x", object_type="t",
                          object_id="1", details={"b": 2, "a": {"d": 4, "c": 3}})
    two = canonical_bytes(seq=1, time=T0, actor="a", action="x", object_type="t",
                          object_id="1", details={"a": {"c": 3, "d": 4}, "b": 2})
    assert one == two
    # the same instant in another time zone encodes identically (as UTC)
    berlin = T0.astimezone(timezone(timedelta(hours=1)))
    three = canonical_bytes(seq=1, time=berlin, actor="a", action="x", object_type="t",
                            object_id="1", details={"b": 2, "a": {"d": 4, "c": 3}})
    assert three == one
    assert T0_TEXT.encode() in three


def test_chain_hash_is_sha256_of_previous_raw_bytes_and_event() -> None:
    canon = b'{"seq":1}'
    assert GENESIS_HASH == "0" * 64
    first = chain_hash(GENESIS_HASH, canon)
    assert first == hashlib.sha256(b"\x00" * 32 + canon).hexdigest()
    second = chain_hash(first, b"next")
    assert second == hashlib.sha256(bytes.fromhex(first) + b"next").hexdigest()
    assert second != hashlib.sha256(first.encode() + b"next").hexdigest()  # raw, not hex text


def test_stored_chain_recomputes_by_hand(store_factory, db_url, make_akte) -> None:
    store = store_factory.init(db_url=db_url, clock=lambda: T0)
    akte = make_akte(store, "Umbau Mühlenstraße")
    with store.session() as s:
        doc = s.file_document(akte, "Grüße aus Köln".encode(), title="Schreiben Ä")
        s.add_version(doc, b"v2")
        s.read_content(doc)
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT seq, actor, action, object_type, object_id, details, canonical, hash "
            "FROM audit_events ORDER BY seq")).all()
        head = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) >= 10
    previous = b"\x00" * 32
    for row in rows:
        details = json.loads(row.details) if isinstance(row.details, str) else row.details
        doc_ = {
            "v": 1, "seq": row.seq, "time": T0_TEXT, "actor": row.actor, "action": row.action,
            "object_type": row.object_type, "object_id": row.object_id, "details": details,
        }
        canonical = json.dumps(doc_, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False).encode("utf-8")
        assert bytes(row.canonical) == canonical, row.seq
        digest = hashlib.sha256(previous + canonical)
        assert row.hash == digest.hexdigest(), row.seq
        previous = digest.digest()
    assert (head.seq, head.hash) == (rows[-1].seq, previous.hex())
    filed = next(bytes(r.canonical) for r in rows if r.action == "document.file")
    assert "Schreiben Ä".encode() in filed
    created = next(bytes(r.canonical) for r in rows if r.action == "akte.create")
    assert "Mühlenstraße".encode() in created
    actions = [r.action for r in rows]
    assert actions[:2] == ["store.init", "principal.create"]
    assert actions[-3:] == ["document.file", "version.add", "content.read"]


def test_events_of_one_session_share_one_append(store: eakte.Store, make_akte) -> None:
    akte = make_akte(store)
    with store.session() as s:
        before = s.audit_count()
    with store.session() as s:
        s.create_vorgang(akte, "A")
        s.create_vorgang(akte, "B")
        assert s.audit_count() == before  # appended at commit, not before
    with store.session() as s:
        new = list(s.audit_events(since=before))
    assert [e.seq for e in new] == [before + 1, before + 2]
    assert [e.details["title"] for e in new] == ["A", "B"]
    assert store.verify().ok


def test_verifier_rebuilds_the_canonical_text_from_the_columns() -> None:
    """The chain check's fast path encodes the columns exactly as the log does."""
    from eakte.audit.log import format_time
    from eakte.audit.verify import _canonical_text

    tricky = [
        {},
        {"title": "Straße \u2028 \"zitiert\" \\ \n\t\x01 \U0001f600", "b": [1, 2.5, None]},
        {"z": {"y": {"x": [True, False, {}]}}, "a": -0.0, "big": 10**30, "f": 1e-7},
        {"ä": 1, "a": 2, "A": 3, "": 4},
        {"nan": float("nan"), "inf": float("-inf")},
    ]
    for details in tricky:
        expected = canonical_bytes(seq=12, time=T0, actor="müller", action="a.b\u00e9",
                                   object_type="document", object_id="4\"2",
                                   details=details)
        text = _canonical_text(12, format_time(T0), "müller", "a.b\u00e9", "document",
                               "4\"2", details)
        assert text is not None and text.encode() == expected
    # values of types the log never writes leave the comparison to the decoding path
    assert _canonical_text(True, format_time(T0), "a", "b", "c", "1", {}) is None
    assert _canonical_text(1, format_time(T0), 7, "b", "c", "1", {}) is None
