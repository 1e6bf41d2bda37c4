"""A snapshot of everything a refused operation must leave untouched, for the hostile tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from eakte.model import Akte, AuditHead, Document, Rendition, Version, Vorgang
from eakte.store import Store


@dataclass(frozen=True)
class StoreState:
    """Audit count and head, row counts, the blob set, temp files and index entries."""

    audit_events: int
    audit_head: tuple[int, str]
    akten: int
    vorgaenge: int
    documents: int
    versions: int
    renditions: int
    blobs: frozenset[str]
    temp_files: frozenset[str]
    index_entries: int | None

    @classmethod
    def of(cls, store: Store) -> StoreState:
        with store.orm_session() as orm:
            def count(model: type) -> int:
                return int(orm.scalar(select(func.count()).select_from(model)) or 0)

            head = orm.execute(select(AuditHead.seq, AuditHead.hash)).one()
            from eakte.model import AuditEvent

            events = count(AuditEvent)
            rows = (count(Akte), count(Vorgang), count(Document), count(Version),
                    count(Rendition))
        tmp = Path(store.location) / "blobs" / "tmp" if store.location else None
        temp_files = frozenset(p.name for p in tmp.iterdir()) if tmp and tmp.is_dir() else \
            frozenset()
        backend = store.search_backend
        entries = sum(1 for _ in backend.entries()) if backend is not None else None
        return cls(events, (int(head.seq), str(head.hash)), *rows, frozenset(store.blobs),
                   temp_files, entries)


def assert_unchanged(store: Store, before: StoreState) -> None:
    """Assert that ``store`` is exactly as ``before`` and still verifies."""
    after = StoreState.of(store)
    assert after == before
    report = store.verify()
    assert report.ok, report.problems
