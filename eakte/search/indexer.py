"""Keep a search backend in step with the database: drain the outbox, rebuild, find drift."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession

from eakte.audit.problems import ProblemKind
from eakte.errors import EakteError, Problem, SearchError
from eakte.ingest.extract import Extraction, extract_text
from eakte.ingest.limits import ExtractLimits, read_at_most
from eakte.model import Akte, Document, SearchOutbox, TextExtraction, Version
from eakte.model.lifecycle import disposed_akte_ids
from eakte.search.base import IndexDocument, SearchBackend, SharedWriter

if TYPE_CHECKING:
    from eakte.context import StoreContext

__all__ = ["Indexer", "OutboxBatch", "ReindexReport"]

Progress = Callable[[int, int | None], None]


@dataclass
class ReindexReport:
    """What a drain or rebuild did."""

    indexed: int = 0
    deleted: int = 0
    failed_extractions: int = 0
    needs_ocr: int = 0
    full: bool = False
    reason: str | None = None


class _Entry(NamedTuple):
    """A document's index entry without its text, and the id of the version it shows."""

    entry: IndexDocument
    version_id: int


@dataclass(frozen=True)
class OutboxBatch:
    """Outbox rows read inside a writer's transaction, with their documents' entries.

    Attributes:
        rows: ``(outbox id, document id)`` in outbox order.
        entries: the index entry (without text) of each document that exists then.
        complete: False when more rows waited than one batch holds.
    """

    rows: tuple[tuple[int, int], ...]
    entries: dict[int, _Entry]
    complete: bool


@dataclass(frozen=True)
class _Prepared:
    """A document's index entry and how its text extraction went."""

    entry: IndexDocument
    extraction: dict[str, Any]


def _flatten(meta: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in meta.items():
        if value is None:
            continue
        out[key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return out


def _full_text(extraction: Extraction) -> str:
    texts = [extraction.text, *(part.text for part in extraction.parts)]
    return "\n\n".join(t for t in texts if t)


@contextmanager
def _database_errors(action: str) -> Iterator[None]:
    """Turn database failures during indexing into :class:`SearchError`."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise SearchError(f"{action} failed: {exc}") from exc


class Indexer:
    """Refreshes a :class:`SearchBackend` from the database and the blob store.

    Writers put document ids into the outbox inside their transaction; :meth:`drain` turns
    them into index entries in batches after commit, one backend commit per batch, and
    deletes the outbox rows only after the backend committed. A crash in between replays.
    """

    def __init__(
        self,
        store: StoreContext,
        backend: SearchBackend,
        *,
        batch: int = 500,
        limits: ExtractLimits | None = None,
    ) -> None:
        self.store = store
        self.backend = backend
        self.batch = batch
        self.limits = limits or ExtractLimits()
        self._lock = threading.RLock()  # one index writer per process (threads take turns)

    # -- building entries ----------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[OrmSession]:
        """Read the database without taking a write lock (a WAL snapshot on SQLite)."""
        with self.store.read_connection() as conn, conn.begin(), \
                OrmSession(bind=conn) as orm:
            yield orm

    def _entries(self, orm: OrmSession, document_ids: Sequence[int]) -> dict[int, _Entry]:
        """Return the index entry (without text) of each existing, non-disposed document."""
        stmt = (
            select(Document, Version, Akte.aktenzeichen)
            .join(Version, (Version.document_id == Document.id)
                  & (Version.number == Document.version_count))
            .join(Akte, Akte.id == Document.akte_id)
            .where(Document.id.in_(document_ids))
            # documents of disposed Akten lost their content: they leave the index
            .where(Document.akte_id.not_in(disposed_akte_ids()))
        )
        entries: dict[int, _Entry] = {}
        for document, version, aktenzeichen in orm.execute(stmt).all():
            entries[document.id] = _Entry(IndexDocument(
                document_id=document.id,
                akte_id=document.akte_id,
                aktenzeichen=aktenzeichen,
                title=document.title,
                text="",
                kind=document.kind,
                mime=version.mime,
                filename=version.filename,
                version=version.number,
                sha256=version.sha256,
                created_at=document.created_at,
                document_date=document.document_date,
                metadata=_flatten(document.meta),
            ), version.id)
        return entries

    def _prepare(self, entries: dict[int, _Entry], document_ids: Sequence[int],
                 known: dict[int, _Prepared] | None = None
                 ) -> tuple[dict[int, _Prepared], list[int]]:
        """Return the full index entry of each of ``entries``, and the missing ids.

        Entries in ``known`` whose metadata still match keep their text; only the others
        are extracted (again).
        """
        prepared: dict[int, _Prepared] = {}
        for doc_id, (entry, version_id) in entries.items():
            earlier = (known or {}).get(doc_id)
            if earlier is not None and replace(earlier.entry, text="") == entry:
                prepared[doc_id] = earlier
                continue
            extraction = self._extract(entry)
            prepared[doc_id] = _Prepared(
                replace(entry, text=_full_text(extraction)),
                {"version_id": version_id, "status": str(extraction.status),
                 "chars": len(extraction.text), "problems": list(extraction.problems)})
        missing = [i for i in document_ids if i not in prepared]
        return prepared, missing

    def _load(self, document_ids: Sequence[int], known: dict[int, _Prepared] | None = None
              ) -> tuple[dict[int, _Prepared], list[int]]:
        """Return the current index entry of each existing document, and the missing ids."""
        with self._reading() as orm:
            entries = self._entries(orm, document_ids)
        return self._prepare(entries, document_ids, known)

    def _extract(self, entry: IndexDocument) -> Extraction:
        try:
            with self.store.blobs.open(entry.sha256) as fh:
                data = read_at_most(fh, self.limits.max_input_bytes + 1)
        except EakteError as exc:
            return Extraction(text="", status="failed",  # type: ignore[arg-type]
                              problems=[f"content unavailable: {exc}"])
        return extract_text(data, entry.mime, filename=entry.filename, limits=self.limits)

    def _record(self, extractions: Iterable[dict[str, Any]], outbox_ids: Iterable[int],
                orm: OrmSession | None = None) -> None:
        """Record extraction outcomes and remove the handled outbox rows, in one transaction.

        Outbox ids are never reused, so only the rows this run read are removed; a row
        written meanwhile, for the same document or another, stays for the next run.
        With ``orm``, the rows are written in its (open) transaction instead of a new one.
        """
        now = self.store.clock()
        # one order for every process, so concurrent upserts cannot deadlock
        rows = sorted(({**e, "extracted_at": now} for e in extractions),
                      key=lambda row: row["version_id"])
        outbox = sorted(outbox_ids)
        if not rows and not outbox:
            return
        if orm is None:
            with self.store.orm_session() as own, own.begin():
                self._write_record(own, rows, outbox)
        else:
            self._write_record(orm, rows, outbox)

    def _write_record(self, orm: OrmSession, rows: list[dict[str, Any]],
                      outbox: list[int]) -> None:
        if rows:
            # an upsert: several processes may drain the same outbox rows at once
            insert = pg_insert if self.store.dialect == "postgresql" else sqlite_insert
            stmt = insert(TextExtraction)
            stmt = stmt.on_conflict_do_update(
                index_elements=[TextExtraction.version_id],
                set_={c: stmt.excluded[c] for c in ("status", "chars", "problems",
                                                    "extracted_at")},
            )
            orm.execute(stmt, rows)
        for start in range(0, len(outbox), 500):
            orm.execute(delete(SearchOutbox)
                        .where(SearchOutbox.id.in_(outbox[start:start + 500])))

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Be the only writer of the index: in this process, and across processes."""
        with self._lock:
            if isinstance(self.backend, SharedWriter):
                with self.backend.exclusive():
                    yield
            else:
                yield

    def _apply(self, document_ids: Sequence[int], report: ReindexReport,
               outbox_ids: Iterable[int] = ()) -> None:
        """Index what the database holds for these documents now, then drop ``outbox_ids``.

        Text is extracted before taking the index lock; under the lock the rows are read
        again and whatever changed meanwhile is rebuilt, so the index always receives the
        newest state and a slow process never writes an older version over a newer one.
        """
        prepared, _ = self._load(document_ids)
        with self._exclusive():
            current, missing = self._load(document_ids, prepared)
            if current:
                self.backend.index([p.entry for p in current.values()])
            if missing:
                self.backend.delete(missing)
        extractions = [p.extraction for p in current.values()]
        self._count(report, len(current), len(missing), extractions)
        self._record(extractions, outbox_ids)

    @staticmethod
    def _count(report: ReindexReport, indexed: int, deleted: int,
               extractions: list[dict[str, Any]]) -> None:
        report.indexed += indexed
        report.deleted += deleted
        for e in extractions:
            report.failed_extractions += e["status"] == "failed"
            report.needs_ocr += e["status"] == "needs_ocr"

    # -- public --------------------------------------------------------------------------

    def pending(self) -> int:
        """Return how many outbox rows wait to be indexed (without taking a write lock).

        Raises:
            SearchError: the database failed.
        """
        with _database_errors("counting the search outbox"), self._reading() as orm:
            return int(orm.scalar(select(func.count()).select_from(SearchOutbox)) or 0)

    def pending_documents(self) -> int:
        """Return how many distinct documents wait in the outbox to be indexed.

        Raises:
            SearchError: the database failed.
        """
        with _database_errors("counting the search outbox"), self._reading() as orm:
            return int(orm.scalar(
                select(func.count(SearchOutbox.document_id.distinct()))) or 0)

    def pending_problems(self) -> list[Problem]:
        """Report documents that wait in the outbox as an ``index.pending`` notice.

        They are left by an interrupted indexing run (a crash or a kill after the commit,
        or a failing backend); the next drain (after any committed write) or
        ``eakte reindex`` indexes them.

        Raises:
            SearchError: the database failed.
        """
        rows = self.pending()
        if not rows:
            return []
        documents = self.pending_documents()
        return [Problem(
            ProblemKind.INDEX_PENDING, "search index",
            f"{documents} document(s) await indexing ({rows} outbox entries) and are not "
            "found by search yet; run 'eakte reindex' to index them now",
            severity="notice", data={"documents": documents, "outbox": rows})]

    def outbox_batch(self, orm: OrmSession) -> OutboxBatch | None:
        """Read the waiting outbox rows and their entries in ``orm``'s transaction.

        A writer calls this just before its commit (the commit pipeline does), so that
        :meth:`index_batch` needs one transaction after it. None when nothing waits.

        Raises:
            SearchError: the database failed.
        """
        with _database_errors("reading the search outbox"):
            rows = orm.execute(select(SearchOutbox.id, SearchOutbox.document_id)
                               .order_by(SearchOutbox.id).limit(self.batch + 1)).all()
            if not rows:
                return None
            complete = len(rows) <= self.batch
            taken = tuple((int(r[0]), int(r[1])) for r in rows[:self.batch])
            ids = list(dict.fromkeys(doc_id for _, doc_id in taken))
            return OutboxBatch(taken, self._entries(orm, ids), complete)

    def index_batch(self, batch: OutboxBatch, *,
                    progress: Progress | None = None) -> ReindexReport:
        """Index what :meth:`outbox_batch` read, after the writer's commit.

        Text is extracted first, outside any transaction. Then one transaction, under the
        index lock, reads the entries again (whatever changed meanwhile is extracted
        again), updates the index, records the extractions and removes the rows. When
        more rows waited than one batch holds, the outbox is drained as usual instead.

        Raises:
            SearchError: the backend or the database failed; the outbox keeps the work.
        """
        with _database_errors("indexing after the commit"):
            reason = self.backend.needs_rebuild()
            if reason:
                return self.rebuild(progress=progress, reason=reason)
            if not batch.complete:  # more than one batch waits: drain all, counted
                return self._drain(progress=progress)
            report = ReindexReport()
            ids = list(dict.fromkeys(doc_id for _, doc_id in batch.rows))
            prepared, _ = self._prepare(batch.entries, ids)
            with self._exclusive(), self.store.orm_session() as orm, orm.begin():
                current, missing = self._prepare(self._entries(orm, ids), ids, prepared)
                if current:
                    self.backend.index([p.entry for p in current.values()])
                if missing:
                    self.backend.delete(missing)
                extractions = [p.extraction for p in current.values()]
                self._record(extractions, [row_id for row_id, _ in batch.rows], orm)
            self._count(report, len(current), len(missing), extractions)
            if progress is not None:
                progress(len(batch.rows), len(batch.rows))
            return report

    def drain(self, *, progress: Progress | None = None) -> ReindexReport:
        """Index every document waiting in the outbox, in batches.

        Safe with several processes draining at once: each removes only the outbox rows
        it read, after indexing what the database held afterwards.

        Raises:
            SearchError: the backend or the database failed; the outbox keeps the rest
                for a replay.
        """
        with _database_errors("draining the search outbox"):
            return self._drain(progress=progress)

    def _drain(self, *, progress: Progress | None = None) -> ReindexReport:
        report = ReindexReport()
        reason = self.backend.needs_rebuild()
        if reason:
            return self.rebuild(progress=progress, reason=reason)
        total = self.pending()
        done = 0
        last_id = 0
        while True:
            with self._reading() as orm:
                rows = orm.execute(
                    select(SearchOutbox.id, SearchOutbox.document_id)
                    .where(SearchOutbox.id > last_id)
                    .order_by(SearchOutbox.id).limit(self.batch)
                ).all()
            if not rows:
                break
            last_id = rows[-1][0]
            document_ids = list(dict.fromkeys(doc_id for _, doc_id in rows))
            self._apply(document_ids, report, [row_id for row_id, _ in rows])
            done += len(rows)
            if progress is not None:
                progress(done, total)
        return report

    def rebuild(self, *, progress: Progress | None = None,
                reason: str | None = None) -> ReindexReport:
        """Clear the index and index every document again from the database and blobs.

        Raises:
            SearchError: the backend failed.
        """
        with _database_errors("rebuilding the search index"):
            return self._rebuild(progress=progress, reason=reason)

    def _rebuild(self, *, progress: Progress | None, reason: str | None) -> ReindexReport:
        report = ReindexReport(full=True, reason=reason)
        with self._reading() as orm:
            # the rows written before the rebuild began; later ones are drained as usual
            outbox = list(orm.scalars(select(SearchOutbox.id)))
            total = int(orm.scalar(select(func.count()).select_from(Document)) or 0)
        with self._exclusive():
            self.backend.clear()
        done = 0
        last_id = 0
        while True:
            with self._reading() as orm:
                ids = list(orm.scalars(
                    select(Document.id).where(Document.id > last_id)
                    .order_by(Document.id).limit(self.batch)))
            if not ids:
                break
            last_id = ids[-1]
            self._apply(ids, report)
            done += len(ids)
            if progress is not None:
                progress(done, total)
        self._record((), outbox)
        return report

    def reindex(self, *, full: bool = False,
                progress: Progress | None = None) -> ReindexReport:
        """Bring the index up to date: missing and stale documents only, or all with ``full``.

        Raises:
            SearchError: the backend failed.
        """
        reason = self.backend.needs_rebuild()
        if full or reason:
            return self.rebuild(progress=progress, reason=reason or "requested")
        report = self.drain(progress=progress)
        stale = [p.data["document_id"] for p in self.drift()]
        ids = sorted({int(i) for i in stale if isinstance(i, int)})
        with _database_errors("reindexing"):
            for start in range(0, len(ids), self.batch):
                self._apply(ids[start:start + self.batch], report)
        return report

    def drift(self) -> list[Problem]:
        """Compare the index with the database: missing, stale and unknown entries.

        Raises:
            SearchError: the database or the backend failed.
        """
        with _database_errors("comparing the index with the database"), \
                self._reading() as orm:
            expected = {
                doc_id: (number, sha)
                for doc_id, number, sha in orm.execute(
                    select(Document.id, Version.number, Version.sha256).join(
                        Version, (Version.document_id == Document.id)
                        & (Version.number == Document.version_count))
                    .where(Document.akte_id.not_in(disposed_akte_ids())))
            }
            waiting = set(orm.scalars(select(SearchOutbox.document_id)))
        problems: list[Problem] = []
        seen: set[int] = set()
        for entry in self.backend.entries():
            seen.add(entry.document_id)
            want = expected.get(entry.document_id)
            if want is None:
                problems.append(Problem(
                    ProblemKind.INDEX_UNKNOWN, f"document {entry.document_id}",
                    "indexed but not in the database (run 'eakte reindex')",
                    severity="notice", data={"document_id": entry.document_id}))
            elif want != (entry.version, entry.sha256) and entry.document_id not in waiting:
                problems.append(Problem(
                    ProblemKind.INDEX_STALE, f"document {entry.document_id}",
                    f"index holds version {entry.version}, the newest is {want[0]} "
                    "(run 'eakte reindex')",
                    severity="notice", data={"document_id": entry.document_id}))
        for doc_id in sorted(expected.keys() - seen - waiting):
            problems.append(Problem(
                ProblemKind.INDEX_MISSING, f"document {doc_id}",
                "not in the search index (run 'eakte reindex')",
                severity="notice", data={"document_id": doc_id}))
        return problems
