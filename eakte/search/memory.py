"""The reference search backend: an inverted index in memory, in pure Python.

It analyses text with the same German analyzer as the Whoosh backend
(:func:`eakte.search.analysis.german_analyzer`: umlaut/ß folding, stemming, compound parts at
index time), parses queries with :mod:`eakte.search.query` and ranks with a small BM25.
It passes :class:`~eakte.testing.search.SearchBackendContract` and
:class:`~eakte.testing.search.GermanAnalysisContract` and is meant for tests, examples and
small embedded uses; everything is lost when the process ends, so :meth:`needs_rebuild`
asks for a rebuild until :meth:`clear` was called once.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from eakte.errors import SearchError
from eakte.search.analysis import german_analyzer
from eakte.search.base import IndexDocument, IndexEntry, SearchHit, SearchQuery, SearchResult
from eakte.search.query import (
    TEXT_FIELDS,
    Clause,
    DateClause,
    KeywordClause,
    TextClause,
    check_query,
    filename_text,
    highlight_terms,
    make_snippet,
    match_spans,
    utc_naive,
)

__all__ = ["MemorySearchBackend"]

#: Relative weight of a match per field.
FIELD_BOOSTS: dict[str, float] = {"title": 2.0, "content": 1.0, "filename": 1.0, "meta": 1.0}
_K1 = 1.2
_B = 0.75

Postings = dict[str, dict[int, list[int]]]  # term → document id → positions


@dataclass(frozen=True)
class _Entry:
    document: IndexDocument
    created: datetime
    date: datetime | None
    fields: dict[str, dict[str, list[int]]]  # field → term → positions
    lengths: dict[str, int]


def _has_phrase(lists: list[dict[int, list[int]]], doc_id: int) -> bool:
    """Tell whether the terms' positions in ``doc_id`` follow each other somewhere."""
    later = [set(docs[doc_id]) for docs in lists[1:]]
    return any(all(start + k in positions for k, positions in enumerate(later, start=1))
               for start in lists[0][doc_id])


class MemorySearchBackend:
    """A thread-safe in-memory :class:`~eakte.search.base.SearchBackend`.

    Args:
        analyzer_factory: returns the Whoosh-style analyzer for text fields.
    """

    name: ClassVar[str] = "memory"

    def __init__(self, *, analyzer_factory: Callable[[], Any] = german_analyzer) -> None:
        self._analyzer = analyzer_factory()
        self._lock = threading.RLock()
        self._entries: dict[int, _Entry] = {}
        self._postings: dict[str, Postings] = {field: {} for field in TEXT_FIELDS}
        self._total_length: dict[str, int] = dict.fromkeys(TEXT_FIELDS, 0)
        self._fresh = True
        self._closed = False

    # -- writing -------------------------------------------------------------------------

    def index(self, documents: Sequence[IndexDocument]) -> None:
        """Add or replace these documents; the batch becomes visible at once."""
        self._check_open()
        latest = {doc.document_id: doc for doc in documents}
        entries = [self._analyse(doc) for doc in latest.values()]
        with self._lock:
            self._check_open()
            for entry in entries:
                self._remove(entry.document.document_id)
                self._add(entry)

    def delete(self, document_ids: Sequence[int]) -> None:
        """Remove these documents if present."""
        self._check_open()
        with self._lock:
            for document_id in document_ids:
                self._remove(document_id)

    def clear(self) -> None:
        """Remove everything; the index then counts as built."""
        self._check_open()
        with self._lock:
            self._entries.clear()
            self._postings = {field: {} for field in TEXT_FIELDS}
            self._total_length = dict.fromkeys(TEXT_FIELDS, 0)
            self._fresh = False

    def _analyse(self, doc: IndexDocument) -> _Entry:
        texts = {
            "title": doc.title,
            "content": doc.text,
            "filename": filename_text(doc.filename),
            "meta": "\n".join(doc.metadata.values()),
        }
        fields: dict[str, dict[str, list[int]]] = {}
        lengths: dict[str, int] = {}
        for field, text in texts.items():
            terms: dict[str, list[int]] = {}
            length = 0
            for token in self._analyzer(text, positions=True, mode="index"):
                terms.setdefault(token.text, []).append(token.pos)
                length = max(length, token.pos + 1)
            fields[field] = terms
            lengths[field] = length
        return _Entry(
            document=doc,
            created=utc_naive(doc.created_at),
            date=utc_naive(doc.document_date) if doc.document_date else None,
            fields=fields,
            lengths=lengths,
        )

    def _add(self, entry: _Entry) -> None:
        document_id = entry.document.document_id
        self._entries[document_id] = entry
        for field, terms in entry.fields.items():
            postings = self._postings[field]
            for term, positions in terms.items():
                postings.setdefault(term, {})[document_id] = positions
            self._total_length[field] += entry.lengths[field]

    def _remove(self, document_id: int) -> None:
        entry = self._entries.pop(document_id, None)
        if entry is None:
            return
        for field, terms in entry.fields.items():
            postings = self._postings[field]
            for term in terms:
                docs = postings.get(term)
                if docs is not None:
                    docs.pop(document_id, None)
                    if not docs:
                        del postings[term]
            self._total_length[field] -= entry.lengths[field]

    # -- reading -------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query; see :class:`~eakte.search.base.SearchQuery` for the syntax.

        Raises:
            InvalidInput: the query cannot be parsed.
            SearchError: the backend is closed.
        """
        self._check_open()
        parsed = check_query(query)
        if query.akte_ids is not None and not query.akte_ids:
            return SearchResult(hits=[], total=0)
        with self._lock:
            self._check_open()
            universe = {
                doc_id for doc_id, entry in self._entries.items()
                if query.akte_ids is None or entry.document.akte_id in query.akte_ids
            }
            scores = self._evaluate(parsed.required, parsed.excluded, universe)
            entries = {doc_id: self._entries[doc_id] for doc_id in scores}
        if query.order == "date":
            ranked = sorted(scores, key=lambda i: (entries[i].created, i), reverse=True)
        else:
            ranked = sorted(scores, key=lambda i: (-scores[i], -entries[i].created.timestamp(),
                                                   i))
        terms, prefixes = highlight_terms(parsed, self._analyzer)
        hits = [self._hit(entries[i], scores[i], terms, prefixes)
                for i in ranked[:query.limit]]
        return SearchResult(hits=hits, total=len(scores))

    def _evaluate(self, required: Sequence[Clause], excluded: Sequence[Clause],
                  universe: set[int]) -> dict[int, float]:
        scores: dict[int, float] | None = None
        for clause in required:
            matched = self._match(clause, universe)
            if matched is None:
                continue  # nothing searchable in it, e.g. "(" or "*"
            if scores is None:
                scores = matched
            else:
                scores = {i: s + matched[i] for i, s in scores.items() if i in matched}
        if scores is None:
            if not excluded:
                return {}
            scores = dict.fromkeys(universe, 1.0)
        for clause in excluded:
            matched = self._match(clause, universe)
            for doc_id in matched or ():
                scores.pop(doc_id, None)
        return scores

    def _match(self, clause: Clause, universe: set[int]) -> dict[int, float] | None:
        """Return matching documents with score contributions, or None for no terms."""
        if isinstance(clause, TextClause):
            return self._match_text(clause, universe)
        if isinstance(clause, KeywordClause):
            return {i: 1.0 for i in universe if self._keyword(clause, self._entries[i])}
        return {i: 1.0 for i in universe if self._in_range(clause, self._entries[i])}

    @staticmethod
    def _keyword(clause: KeywordClause, entry: _Entry) -> bool:
        doc = entry.document
        value = {"aktenzeichen": doc.aktenzeichen, "kind": doc.kind,
                 "mime": doc.mime}[clause.field].lower()
        return value.startswith(clause.value) if clause.prefix else value == clause.value

    @staticmethod
    def _in_range(clause: DateClause, entry: _Entry) -> bool:
        value = entry.created if clause.field == "created" else entry.date
        if value is None:
            return False
        low, high = clause.bounds()
        return (low is None or value >= low) and (high is None or value <= high)

    def _query_terms(self, text: str) -> list[str]:
        return [token.text for token in self._analyzer(text, mode="query")]

    def _match_text(self, clause: TextClause, universe: set[int]) -> dict[int, float] | None:
        terms = self._query_terms(clause.text)
        if not terms:
            return None
        scores: dict[int, float] = {}
        for field in clause.fields:
            postings = self._postings[field]
            if clause.prefix and len(terms) == 1:
                found: dict[int, float] = {}
                for term, docs in postings.items():
                    if term.startswith(terms[0]):
                        for doc_id, score in self._term_scores(field, term, docs,
                                                               universe).items():
                            found[doc_id] = max(found.get(doc_id, 0.0), score)
            elif len(terms) == 1:
                found = self._term_scores(field, terms[0], postings.get(terms[0], {}),
                                          universe)
            else:
                found = self._phrase_scores(field, terms, universe)
            for doc_id, score in found.items():
                scores[doc_id] = scores.get(doc_id, 0.0) + score
        return scores

    def _term_scores(self, field: str, term: str, docs: dict[int, list[int]],
                     universe: set[int]) -> dict[int, float]:
        """BM25 of one term in one field, for the documents of ``universe`` having it."""
        if not docs:
            return {}
        count = len(self._entries)
        idf = math.log(1.0 + (count - len(docs) + 0.5) / (len(docs) + 0.5))
        average = max(self._total_length[field] / max(count, 1), 1.0)
        boost = FIELD_BOOSTS[field]
        out: dict[int, float] = {}
        for doc_id, positions in docs.items():
            if doc_id not in universe:
                continue
            tf = len(positions)
            norm = _K1 * (1 - _B + _B * self._entries[doc_id].lengths[field] / average)
            out[doc_id] = boost * idf * tf * (_K1 + 1) / (tf + norm)
        return out

    def _phrase_scores(self, field: str, terms: list[str],
                       universe: set[int]) -> dict[int, float]:
        postings = self._postings[field]
        lists = [postings.get(term, {}) for term in terms]
        if not all(lists):
            return {}
        candidates = set.intersection(*(set(docs) for docs in lists)) & universe
        matched = {doc_id for doc_id in candidates if _has_phrase(lists, doc_id)}
        out: dict[int, float] = {}
        for term, docs in zip(terms, lists, strict=True):
            for doc_id, score in self._term_scores(field, term, docs, matched).items():
                out[doc_id] = out.get(doc_id, 0.0) + score
        return out

    def _hit(self, entry: _Entry, score: float, terms: frozenset[str],
             prefixes: tuple[str, ...]) -> SearchHit:
        doc = entry.document
        if doc.text.strip():
            spans = match_spans(self._analyzer, doc.text, terms, prefixes)
            snippet = make_snippet(doc.text, spans)
        else:
            snippet = make_snippet(doc.title, [])
        return SearchHit(document_id=doc.document_id, akte_id=doc.akte_id,
                         aktenzeichen=doc.aktenzeichen, title=doc.title,
                         score=float(score), snippet=snippet)

    def entries(self) -> Iterator[IndexEntry]:
        """Yield what is indexed (a snapshot taken when called)."""
        self._check_open()
        with self._lock:
            snapshot = [IndexEntry(e.document.document_id, e.document.version,
                                   e.document.sha256) for e in self._entries.values()]
        return iter(snapshot)

    def needs_rebuild(self) -> str | None:
        """Ask for a rebuild until :meth:`clear` ran: a new memory index starts empty."""
        if self._fresh and not self._closed:
            return "new in-memory index: it starts empty and must be built"
        return None

    def stats(self) -> dict[str, int | str]:
        """Return ``documents``, an estimate of ``size_bytes`` and ``terms``."""
        self._check_open()
        with self._lock:
            size = sum(len(e.document.title) + len(e.document.text)
                       for e in self._entries.values())
            terms = sum(len(p) for p in self._postings.values())
            return {"documents": len(self._entries), "size_bytes": size, "terms": terms,
                    "backend": self.name}

    def close(self) -> None:
        """Drop the index. Idempotent; later calls other than close raise SearchError."""
        with self._lock:
            self._closed = True
            self._entries = {}
            self._postings = {field: {} for field in TEXT_FIELDS}

    def _check_open(self) -> None:
        if self._closed:
            raise SearchError("the memory search backend is closed")
