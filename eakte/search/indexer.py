"""Keep a search backend in step with the database: drain the outbox, rebuild, find drift."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from eakte.errors import EakteError, Problem, SearchError
from eakte.ingest.extract import Extraction, extract_text
from eakte.ingest.limits import ExtractLimits, read_at_most
from eakte.model import Akte, Document, SearchOutbox, TextExtraction, Version
from eakte.model.lifecycle import disposed_akte_ids
from eakte.search.base import IndexDocument, SearchBackend

if TYPE_CHECKING:
    from eakte.store import Store

__all__ = ["Indexer", "ReindexReport"]

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
        store: Store,
        backend: SearchBackend,
        *,
        batch: int = 500,
        limits: ExtractLimits | None = None,
    ) -> None:
        self.store = store
        self.backend = backend
        self.batch = batch
        self.limits = limits or ExtractLimits()

    # -- building entries ----------------------------------------------------------------

    def _load(self, document_ids: Sequence[int]) -> tuple[list[IndexDocument], list[int]]:
        """Return index documents for these ids, and the ids that no longer exist."""
        stmt = (
            select(Document, Version, Akte.aktenzeichen)
            .join(Version, (Version.document_id == Document.id)
                  & (Version.number == Document.version_count))
            .join(Akte, Akte.id == Document.akte_id)
            .where(Document.id.in_(document_ids))
            # documents of disposed Akten lost their content: they leave the index
            .where(Document.akte_id.not_in(disposed_akte_ids()))
        )
        docs: list[IndexDocument] = []
        extractions: list[dict[str, Any]] = []
        with self.store.orm_session() as orm:
            rows = orm.execute(stmt).all()
        found = set()
        for document, version, aktenzeichen in rows:
            found.add(document.id)
            extraction = self._extract(version)
            extractions.append({
                "version_id": version.id,
                "status": str(extraction.status),
                "chars": len(extraction.text),
                "problems": list(extraction.problems),
            })
            docs.append(IndexDocument(
                document_id=document.id,
                akte_id=document.akte_id,
                aktenzeichen=aktenzeichen,
                title=document.title,
                text=_full_text(extraction),
                kind=document.kind,
                mime=version.mime,
                filename=version.filename,
                version=version.number,
                sha256=version.sha256,
                created_at=document.created_at,
                document_date=document.document_date,
                metadata=_flatten(document.meta),
            ))
        self._pending_extractions = extractions
        missing = [i for i in document_ids if i not in found]
        return docs, missing

    def _extract(self, version: Version) -> Extraction:
        try:
            with self.store.blobs.open(version.sha256) as fh:
                data = read_at_most(fh, self.limits.max_input_bytes + 1)
        except EakteError as exc:
            return Extraction(text="", status="failed",  # type: ignore[arg-type]
                              problems=[f"content unavailable: {exc}"])
        return extract_text(data, version.mime, filename=version.filename, limits=self.limits)

    def _record(self, outbox_ids: Iterable[int]) -> None:
        """Record extraction outcomes and remove the handled outbox rows, in one transaction."""
        now = self.store.clock()
        # one order for every process, so concurrent upserts cannot deadlock
        rows = sorted(({**e, "extracted_at": now} for e in self._pending_extractions),
                      key=lambda row: row["version_id"])
        with self.store.orm_session() as orm, orm.begin():
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
            outbox = sorted(outbox_ids)
            if outbox:
                orm.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(outbox)))
        self._pending_extractions = []

    def _apply(self, document_ids: Sequence[int], report: ReindexReport) -> None:
        docs, missing = self._load(document_ids)
        if docs:
            self.backend.index(docs)
        if missing:
            self.backend.delete(missing)
        report.indexed += len(docs)
        report.deleted += len(missing)
        for e in self._pending_extractions:
            report.failed_extractions += e["status"] == "failed"
            report.needs_ocr += e["status"] == "needs_ocr"

    # -- public --------------------------------------------------------------------------

    def pending(self) -> int:
        """Return how many outbox rows wait to be indexed."""
        with self.store.orm_session() as orm:
            return int(orm.scalar(select(func.count()).select_from(SearchOutbox)) or 0)

    def drain(self, *, progress: Progress | None = None) -> ReindexReport:
        """Index every document waiting in the outbox, in batches.

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
            with self.store.orm_session() as orm:
                rows = orm.execute(
                    select(SearchOutbox.id, SearchOutbox.document_id)
                    .where(SearchOutbox.id > last_id)
                    .order_by(SearchOutbox.id).limit(self.batch)
                ).all()
            if not rows:
                break
            last_id = rows[-1][0]
            document_ids = list(dict.fromkeys(doc_id for _, doc_id in rows))
            self._apply(document_ids, report)
            self._record(row_id for row_id, _ in rows)
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
        report = ReindexReport(full=True, reason=reason)
        with self.store.orm_session() as orm:
            max_outbox = orm.scalar(select(func.max(SearchOutbox.id))) or 0
            total = int(orm.scalar(select(func.count()).select_from(Document)) or 0)
        self.backend.clear()
        done = 0
        last_id = 0
        while True:
            with self.store.orm_session() as orm:
                ids = list(orm.scalars(
                    select(Document.id).where(Document.id > last_id)
                    .order_by(Document.id).limit(self.batch)))
            if not ids:
                break
            last_id = ids[-1]
            self._apply(ids, report)
            self._record(())
            done += len(ids)
            if progress is not None:
                progress(done, total)
        with self.store.orm_session() as orm, orm.begin():
            orm.execute(delete(SearchOutbox).where(SearchOutbox.id <= max_outbox))
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
        for start in range(0, len(ids), self.batch):
            self._apply(ids[start:start + self.batch], report)
            self._record(())
        return report

    def drift(self) -> list[Problem]:
        """Compare the index with the database: missing, stale and unknown entries."""
        with self.store.orm_session() as orm:
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
                    "index.unknown", f"document {entry.document_id}",
                    "indexed but not in the database (run 'eakte reindex')",
                    severity="notice", data={"document_id": entry.document_id}))
            elif want != (entry.version, entry.sha256) and entry.document_id not in waiting:
                problems.append(Problem(
                    "index.stale", f"document {entry.document_id}",
                    f"index holds version {entry.version}, the newest is {want[0]} "
                    "(run 'eakte reindex')",
                    severity="notice", data={"document_id": entry.document_id}))
        for doc_id in sorted(expected.keys() - seen - waiting):
            problems.append(Problem(
                "index.missing", f"document {doc_id}",
                "not in the search index (run 'eakte reindex')",
                severity="notice", data={"document_id": doc_id}))
        return problems
