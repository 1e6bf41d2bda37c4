"""A search backend on a Whoosh index in a folder, with eakte's German analysis.

Layout of the folder: Whoosh's files (``_MAIN_<generation>.toc``, ``MAIN_*.seg``,
``MAIN_WRITELOCK``) and ``eakte-index.json``, which records the analyzer and schema
versions the index was built with and whether it was ever fully built (see
:meth:`WhooshSearchBackend.needs_rebuild`).

Design notes (DESIGN §4, STYLE §5):

- The schema is pickled into the index, so its analyzers come from
  :mod:`eakte.search.analysis` (importable, picklable, versioned).
- One writer and one commit per :meth:`~WhooshSearchBackend.index` call; the writer lock
  is awaited for ``lock_timeout`` seconds, then :class:`~eakte.errors.SearchError`. Never
  ``AsyncWriter`` (it can lose writes).
- The index and one searcher stay open; each search refreshes the searcher, which is
  cheap when nothing changed and picks up commits from other processes.
- For snippets the first ``stored_chars`` characters of the text are stored
  zlib-compressed (Whoosh does not compress stored fields).
- Commits merge segments with :func:`~eakte.search._whoosh.tiered_merge` (bounded work) instead of
  Whoosh's default; :meth:`~WhooshSearchBackend.optimize` merges everything.
- Queries are translated from :mod:`eakte.search.query` clauses into Whoosh query objects;
  Whoosh's own query parser and its syntax are not used. Exclusions become a mask of
  document numbers (Whoosh's ``AndNot`` matcher misses some), ``aktenzeichen:630.10-*``
  reads an indexed prefix term. No Whoosh type or exception leaves this module.
- Thread-safe: one instance serialises its searches (Whoosh searchers are not shared
  between threads) and its writes; processes coordinate through the writer lock, which
  :meth:`~WhooshSearchBackend.exclusive` holds across several writes (the indexer checks
  the database and writes under it, so no process overwrites a newer entry).
"""

from __future__ import annotations

import functools
import gc
import json
import os
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Final

from whoosh import query as wq
from whoosh.collectors import FilterCollector
from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.index import TOC, FileIndex, LockError
from whoosh.sorting import FieldFacet
from whoosh.util.filelock import try_for

from eakte.errors import EakteError, SearchError
from eakte.search._whoosh import (
    build_schema,
    document_fields,
    id_query,
    latest_generation,
    scores_of,
    segment_pattern,
    step_through,
    tiered_merge,
    toc_filename,
    top_collector,
    translate,
)
from eakte.search.analysis import analyzer_version, german_analyzer
from eakte.search.base import IndexDocument, IndexEntry, SearchHit, SearchQuery, SearchResult
from eakte.search.query import (
    check_query,
    highlight_terms,
    make_snippet,
    match_spans,
)

__all__ = ["META_FILE", "SCHEMA_VERSION", "WhooshSearchBackend"]

#: Bump when the fields of :func:`eakte.search._whoosh.build_schema` change: indexes with
#: another schema version are rebuilt.
SCHEMA_VERSION: Final = 1
#: The file beside the index recording how it was built.
META_FILE: Final = "eakte-index.json"
_INDEX_NAME: Final = "MAIN"


class WhooshSearchBackend:
    """A :class:`~eakte.search.base.SearchBackend` storing a Whoosh index in a folder.

    Args:
        path: the index folder; created if missing.
        analyzer_factory: returns the analyzer for text fields of a new index.
        lock_timeout: seconds to wait for the writer lock held by another writer.
        stored_chars: how many leading characters of each text are kept for snippets.
        limitmb: memory in MB the writer may use before it spills postings to disk.
        merge_factor: segments of a size class are merged when this many exist.
        max_merge_docs: merging never builds a segment of more documents than this, which
            bounds how long one commit can take (see :func:`eakte.search._whoosh.tiered_merge`).
    """

    name: ClassVar[str] = "whoosh"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        analyzer_factory: Callable[[], Any] = german_analyzer,
        lock_timeout: float = 10.0,
        stored_chars: int = 20_000,
        limitmb: int = 64,
        merge_factor: int = 10,
        max_merge_docs: int = 20_000,
    ) -> None:
        self.path = Path(path)
        self._analyzer_factory = analyzer_factory
        self._analyzer_version = _version_of(analyzer_factory(), analyzer_factory)
        self._lock_timeout = lock_timeout
        self._stored_chars = stored_chars
        self._limitmb = limitmb
        self._merge = functools.partial(tiered_merge, factor=merge_factor,
                                        max_docs=max_merge_docs)
        self._write_lock = threading.RLock()
        self._holding = False  # this instance holds the writer lock (see exclusive())
        self._read_lock = threading.RLock()
        self._ix: Any = None
        self._searcher: Any = None
        self._broken: str | None = None
        self._closed = False
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._storage = FileStorage(str(self.path))
        except OSError as exc:
            raise SearchError(f"cannot use {self.path} for the search index: {exc}") from exc
        if latest_generation(self._storage, _INDEX_NAME) < 0:
            self._create(state="new", only_if_missing=True)
        self._open()

    # -- opening, creating ---------------------------------------------------------------

    def _open(self) -> None:
        """Open the index and a searcher; remember why if that fails.

        Whoosh leaves files open when a damaged segment fails to load (and retries ten
        times); those handles are collected here with their ResourceWarnings silenced,
        so a damaged index is reported through :meth:`needs_rebuild`, not as warnings.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                self._check_toc()
                self._ix = FileIndex(self._storage, indexname=_INDEX_NAME)
                self._searcher = self._ix.searcher()
                self._searcher.doc_count()
                self._broken = None
            except Exception as exc:  # anything: a damaged index must not crash eakte
                self._ix = self._searcher = None
                self._broken = f"index unreadable ({type(exc).__name__}: {exc})"
            if self._broken:
                gc.collect()

    def _check_toc(self) -> None:
        """Read the newest table of contents from a copy in memory.

        Whoosh leaves the file open when a damaged TOC fails to load; reading a copy
        keeps a damaged index from leaking file handles.
        """
        generation = latest_generation(self._storage, _INDEX_NAME)
        name = toc_filename(_INDEX_NAME, generation)
        data = (self.path / name).read_bytes()
        memory = RamStorage()
        with memory.create_file(name) as stream:
            stream.write(data)
        TOC.read(memory, _INDEX_NAME, generation)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold Whoosh's writer lock (shared with writers in other processes)."""
        if self._holding:  # exclusive() holds it already
            yield
            return
        lock = self._storage.lock(f"{_INDEX_NAME}_WRITELOCK")
        if not try_for(lock.acquire, timeout=self._lock_timeout, delay=0.05):
            raise self._lock_error()
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the writer lock across several :meth:`index` and :meth:`delete` calls.

        Other threads of this instance and every other process writing the index wait
        until the block ends.

        Raises:
            SearchError: another writer held the lock beyond ``lock_timeout``.
        """
        with self._write_lock:
            if self._holding:
                yield
                return
            with self._locked():
                self._holding = True
                try:
                    yield
                finally:
                    self._holding = False

    def _writer(self, **options: Any) -> Any:
        """Return a Whoosh writer; it takes the writer lock unless :meth:`exclusive` holds it."""
        return self._ix.writer(timeout=self._lock_timeout, delay=0.05,
                               _lk=not self._holding, **options)

    def _lock_error(self) -> SearchError:
        return SearchError(
            f"search index {self.path} is locked by another writer "
            f"(waited {self._lock_timeout:g} s); try again when it has finished")

    def _create(self, *, state: str, only_if_missing: bool = False) -> None:
        """Replace whatever is in the folder by a new, empty index (under the lock).

        With ``only_if_missing``, leave an index that another process created meanwhile.
        """
        schema = build_schema(self._analyzer_factory())
        storage = self._storage
        with self._locked(), self._errors("creating the index"):
            generation = latest_generation(storage, _INDEX_NAME)
            if only_if_missing and generation >= 0:
                return
            toc_prefix = f"_{_INDEX_NAME}_"
            segment = segment_pattern(_INDEX_NAME)
            for name in list(storage):
                if name.startswith(toc_prefix) or segment.match(name):
                    storage.delete_file(name)
            TOC(schema, [], generation + 1).write(storage, _INDEX_NAME)
            self._write_meta(state)

    def _write_meta(self, state: str) -> None:
        meta = {"format": 1, "schema_version": SCHEMA_VERSION,
                "analyzer_version": self._analyzer_version, "state": state}
        target = self.path / META_FILE
        temp = target.with_suffix(".tmp")
        temp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        os.replace(temp, target)

    def _read_meta(self) -> dict[str, Any] | None:
        try:
            meta = json.loads((self.path / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn Whoosh and OS exceptions into SearchError."""
        try:
            yield
        except EakteError:
            raise
        except LockError as exc:
            raise self._lock_error() from exc
        except Exception as exc:
            raise SearchError(f"search index {self.path}: {action} failed: "
                              f"{type(exc).__name__}: {exc}") from exc

    def _check_usable(self) -> None:
        if self._closed:
            raise SearchError(f"search index {self.path} is closed")
        if self._broken:
            raise SearchError(f"search index {self.path} must be rebuilt: {self._broken}")

    # -- writing -------------------------------------------------------------------------

    def index(self, documents: Sequence[IndexDocument]) -> None:
        """Add or replace these documents with one writer and one commit.

        Raises:
            SearchError: the index is locked by another writer beyond ``lock_timeout``,
                damaged or not writable.
        """
        self._check_usable()
        latest = {doc.document_id: doc for doc in documents}
        if not latest:
            return
        with self._write_lock, self._errors("indexing"):
            writer = self._writer(limitmb=self._limitmb)
            try:
                writer.delete_by_query(id_query(latest))
                for doc in latest.values():
                    writer.add_document(**document_fields(doc, self._stored_chars))
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=self._merge)

    def delete(self, document_ids: Sequence[int]) -> None:
        """Remove these documents if present, in one commit."""
        self._check_usable()
        ids = dict.fromkeys(document_ids)
        if not ids:
            return
        with self._write_lock, self._errors("deleting"):
            writer = self._writer()
            try:
                writer.delete_by_query(id_query(ids))
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=self._merge)

    def optimize(self) -> None:
        """Merge all segments into one (slow: minutes for 100 000 documents).

        Not part of the protocol; searches get faster with fewer segments, so run it after
        a full rebuild or from a maintenance job.

        Raises:
            SearchError: the index is locked, damaged or not writable.
        """
        self._check_usable()
        with self._write_lock, self._errors("optimizing"):
            writer = self._writer(limitmb=self._limitmb)
            writer.commit(optimize=True)

    def clear(self) -> None:
        """Recreate the index empty, with the current analyzer; also repairs damage."""
        if self._closed:
            raise SearchError(f"search index {self.path} is closed")
        with self._write_lock, self._read_lock:
            self._close_searcher()
            self._create(state="built")
            self._open()
            if self._broken:
                raise SearchError(f"search index {self.path}: {self._broken}")

    # -- reading -------------------------------------------------------------------------

    def _current_searcher(self) -> Any:
        """Return the open searcher, refreshed to the newest commit (hold ``_read_lock``)."""
        self._searcher = self._searcher.refresh()
        return self._searcher

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query; see :class:`~eakte.search.base.SearchQuery` for the syntax.

        Raises:
            InvalidInput: the query cannot be parsed.
            SearchError: the index failed.
        """
        self._check_usable()
        parsed = check_query(query)
        empty = SearchResult(hits=[], total=0)
        if query.akte_ids is not None and not query.akte_ids:
            return empty
        with self._read_lock, self._errors("searching"):
            self._check_usable()
            searcher = self._current_searcher()
            schema = searcher.schema
            translated = translate(parsed, searcher)
            if translated is None:
                return empty
            positive, excluded = translated
            allow = restrict = None
            if query.akte_ids is not None:
                allow = set()
                for akte_id in query.akte_ids:  # term by term: 8 ms, not 160 ms as one Or
                    allow.update(searcher.docs_for_query(wq.Term("akte_id", str(akte_id))))
                if not allow:
                    return empty
            if excluded is not None:
                # a mask, not AndNot: Whoosh's AndNotMatcher lets a segment's first
                # match through when the excluded term occurs earlier in the segment
                restrict = set(searcher.docs_for_query(excluded)) or None
            limit = max(query.limit, 1)
            if query.order == "date":
                collector = searcher.collector(limit=limit, filter=allow, mask=restrict,
                                               sortedby=FieldFacet("created", reverse=True))
                context = searcher.context(needs_current=step_through(positive, searcher))
                searcher.search_with_collector(positive, collector, context=context)
                results = collector.results()
                docnums = [hit.docnum for hit in results][:query.limit]
                scores = scores_of(searcher, positive, docnums)
            else:
                collector = top_collector(limit)
                if allow is not None or restrict is not None:
                    collector = FilterCollector(collector, allow=allow, restrict=restrict)
                searcher.search_with_collector(positive, collector)
                results = collector.results()
                docnums = [hit.docnum for hit in results][:query.limit]
                scores = {hit.docnum: hit.score for hit in results}
            total = len(results)
            analyzer = schema["content"].analyzer
            terms, prefixes = highlight_terms(parsed, analyzer)
            hits = [self._hit(searcher, d, scores.get(d), analyzer, terms, prefixes)
                    for d in docnums]
        return SearchResult(hits=hits, total=total)

    @staticmethod
    def _hit(searcher: Any, docnum: int, score: float | None, analyzer: Any,
             terms: frozenset[str], prefixes: tuple[str, ...]) -> SearchHit:
        stored = searcher.stored_fields(docnum)
        text = zlib.decompress(stored.get("body", b"")).decode("utf-8", "surrogatepass") \
            if stored.get("body") else ""
        title = stored.get("title", "")
        if text.strip():
            snippet = make_snippet(text, match_spans(analyzer, text, terms, prefixes))
        else:
            snippet = make_snippet(title, [])
        return SearchHit(
            document_id=int(stored["document_id"]),
            akte_id=int(stored["akte_id"]),
            aktenzeichen=stored.get("aktenzeichen", ""),
            title=title,
            score=float(score) if score and score > 0 else _MIN_SCORE,
            snippet=snippet,
        )

    def entries(self) -> Iterator[IndexEntry]:
        """Yield id, version and sha256 of every indexed document (a snapshot)."""
        self._check_usable()
        with self._read_lock, self._errors("listing entries"):
            reader = self._current_searcher().reader()
            if reader.doc_count() == 0:
                return iter(())
            ids = reader.column_reader("document_id")
            versions = reader.column_reader("version")
            shas = reader.column_reader("sha256")
            snapshot = [IndexEntry(int(ids[d]), int(versions[d]), str(shas[d]))
                        for d in reader.all_doc_ids()]
        return iter(snapshot)

    def needs_rebuild(self) -> str | None:
        """Return why the index must be rebuilt, or None.

        Reasons: the index is unreadable; ``eakte-index.json`` is missing or records
        another analyzer or schema version; the index was created but never built
        (a new folder); the analyzer pickled in the index has another version.
        """
        if self._closed:
            return None
        if self._broken:
            return self._broken
        meta = self._read_meta()
        if meta is None:
            return f"{META_FILE} is missing or unreadable"
        if meta.get("analyzer_version") != self._analyzer_version:
            return (f"index built with analyzer {meta.get('analyzer_version')!r}, "
                    f"current is {self._analyzer_version!r}")
        if meta.get("schema_version") != SCHEMA_VERSION:
            return (f"index schema version {meta.get('schema_version')!r}, "
                    f"current is {SCHEMA_VERSION}")
        if meta.get("state") != "built":
            return "new index: it must be built"
        try:
            with self._read_lock:
                schema = self._current_searcher().schema
                stored = _version_of(schema["content"].analyzer, self._analyzer_factory)
        except Exception as exc:  # damaged since opened
            return f"index unreadable ({type(exc).__name__}: {exc})"
        if stored != self._analyzer_version:
            return (f"index schema holds analyzer {stored!r}, "
                    f"current is {self._analyzer_version!r}")
        return None

    def stats(self) -> dict[str, int | str]:
        """Return ``documents``, ``size_bytes`` (all files), ``segments`` and versions."""
        if self._closed:
            raise SearchError(f"search index {self.path} is closed")
        size = sum(entry.stat().st_size for entry in self.path.rglob("*") if entry.is_file())
        stats: dict[str, int | str] = {"backend": self.name, "size_bytes": size,
                                       "documents": 0, "segments": 0,
                                       "analyzer_version": self._analyzer_version,
                                       "schema_version": SCHEMA_VERSION}
        if self._broken:
            return stats
        with self._read_lock, self._errors("reading statistics"):
            searcher = self._current_searcher()
            stats["documents"] = searcher.doc_count()
            stats["segments"] = len(list(searcher.leaf_searchers()))
        return stats

    def close(self) -> None:
        """Close the searcher and the index. Idempotent."""
        with self._read_lock:
            self._close_searcher()
            self._ix = None
            self._closed = True

    def _close_searcher(self) -> None:
        if self._searcher is not None:
            searcher, self._searcher = self._searcher, None
            try:
                searcher.close()
            except Exception:  # noqa: S110 - closing a damaged index must not fail
                pass


_MIN_SCORE: Final = 1e-6


def _version_of(analyzer: Any, factory: Callable[[], Any]) -> str:
    """Return an analyzer's version, or a name for analyzers not from eakte."""
    version = analyzer_version(analyzer)
    if version is not None:
        return version
    return f"custom:{getattr(factory, '__module__', '?')}.{getattr(factory, '__qualname__', '?')}"


