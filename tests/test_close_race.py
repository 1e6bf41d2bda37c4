"""On PostgreSQL a document can never be filed into an Akte that is being closed."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

import eakte
from tests.conftest import PG_ADMIN_URL


def _wait_until_blocked(schema_hint: str, deadline: float = 30.0) -> None:
    """Poll pg_locks until some backend waits for a lock (synchronisation, not timing)."""
    end = time.monotonic() + deadline
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        while time.monotonic() < end:
            waiting = conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()
            if waiting and waiting[0] > 0:
                return
            time.sleep(0.01)
    pytest.fail(f"no session blocked on the Akte lock ({schema_hint})")


@pytest.mark.postgres
def test_filing_waits_for_a_concurrent_close(pg_url: str, store_factory, make_akte) -> None:
    store = store_factory.init(db_url=pg_url)
    akte = make_akte(store)
    outcome: list[BaseException | int] = []

    closer = store.session()
    closer.close_akte(closer.get_akte(akte.aktenzeichen))  # row locked, not yet committed

    def file_one() -> None:
        try:
            with store.session() as s:
                outcome.append(s.file_document(s.get_akte(akte.id), b"zu spaet",
                                               filename="spaet.txt").id)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=file_one)
    worker.start()
    _wait_until_blocked(pg_url)
    closer.commit()
    closer.close()
    worker.join(60)
    assert len(outcome) == 1
    assert isinstance(outcome[0], eakte.StateConflict), outcome
    assert "z.d.A." in str(outcome[0])
    with store.session() as s:
        assert s.documents(s.get_akte(akte.id)) == []
