"""Concurrent conflicting edits: the last writer wins, but no change is lost from the audit.

Closing an Akte while another session files into it is covered by ``tests/test_close_race.py``.
Here two sessions change the same document (or Akte) title at once: the second must wait for
the first and record the first one's value as its old value, so the audit log tells the
whole story (no lost update), on PostgreSQL (row locks) and SQLite (one writer at a time).
"""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest

from tests.conftest import PG_ADMIN_URL


def _wait_until_blocked(deadline: float = 30.0) -> None:
    """Poll pg_locks until some backend waits for a lock (synchronisation, not timing)."""
    end = time.monotonic() + deadline
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        while time.monotonic() < end:
            row = conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()
            if row and row[0] > 0:
                return
            time.sleep(0.01)
    pytest.fail("the second session never waited for the first one's row lock")


def _updates(store, object_type: str, action: str) -> list[dict]:
    with store.session() as s:
        return [json.loads(e.canonical)["details"]["title"]
                for e in s.audit_events(object_type=object_type)
                if json.loads(e.canonical)["action"] == action]


def _race(store, first_change, second_change, *, postgres: bool) -> list[BaseException | str]:
    outcome: list[BaseException | str] = []
    first = store.session()
    first_change(first)

    def second() -> None:
        try:
            with store.session() as s:
                second_change(s)
            outcome.append("ok")
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=second)
    worker.start()
    if postgres:
        _wait_until_blocked()
    first.commit()
    first.close()
    worker.join(60)
    return outcome


@pytest.mark.parametrize("what", ["document", "akte"])
def test_two_sessions_retitling_at_once_lose_no_change(db_url, store_factory, make_akte,
                                                       what: str) -> None:
    store = store_factory.init(db_url=db_url)
    akte = make_akte(store, title="Original")
    with store.session() as s:
        doc = s.file_document(s.get_akte(akte.id), b"Inhalt", filename="a.txt",
                              title="Original")
    if what == "document":
        def change(title):
            return lambda s: s.update_document(s.get_document(doc.id), title=title)
    else:
        def change(title):
            return lambda s: s.update_akte(s.get_akte(akte.id), title=title)

    outcome = _race(store, change("Erster"), change("Zweiter"), postgres=db_url is not None)
    assert outcome == ["ok"]
    history = _updates(store, what, f"{what}.update")
    first, second = history
    assert first["old"] == "Original"
    assert second["old"] == first["new"], history  # nobody's change vanished
    with store.session() as s:
        current = (s.get_document(doc.id) if what == "document" else s.get_akte(akte.id)).title
    assert current == second["new"]
    assert store.verify().ok


def test_a_new_version_and_a_retitle_at_once_both_succeed(db_url, store_factory,
                                                          make_akte) -> None:
    """Both lock the Akte before the document (same order): no deadlock, both commit."""
    store = store_factory.init(db_url=db_url)
    akte = make_akte(store)
    with store.session() as s:
        doc = s.file_document(s.get_akte(akte.id), b"v1", filename="a.txt", title="Original")
    outcome = _race(
        store,
        lambda s: s.update_document(s.get_document(doc.id), title="Neu"),
        lambda s: s.add_version(s.get_document(doc.id), b"v2", filename="a.txt"),
        postgres=db_url is not None,
    )
    assert outcome == ["ok"]
    with store.session() as s:
        final = s.get_document(doc.id)
        assert (final.title, final.version_count) == ("Neu", 2)
    assert store.verify().ok
