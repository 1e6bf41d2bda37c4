"""Whoosh details of :mod:`eakte.search.whoosh_backend`: schema, merging, query translation.

Nothing of this module is pickled into an index: the schema refers only to Whoosh's own
classes and to :mod:`eakte.search.analysis`. Bump
:data:`~eakte.search.whoosh_backend.SCHEMA_VERSION` when the fields change.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, Final

from whoosh import query as wq
from whoosh.analysis import RegexTokenizer
from whoosh.collectors import TopCollector
from whoosh.fields import DATETIME, ID, NUMERIC, STORED, TEXT, Schema

from eakte.search.base import IndexDocument
from eakte.search.query import (
    Clause,
    DateClause,
    KeywordClause,
    ParsedQuery,
    TextClause,
    filename_text,
    utc_naive,
)

__all__ = [
    "build_schema",
    "document_fields",
    "id_query",
    "latest_generation",
    "scores_of",
    "segment_pattern",
    "step_through",
    "tiered_merge",
    "toc_filename",
    "top_collector",
    "translate",
]

_KEYWORD_FIELDS: Final = {"aktenzeichen": "az", "kind": "kind", "mime": "mime"}
_SEPARATOR: Final = "\x1f"  # between the Aktenzeichen prefixes in az_prefix
_MAX_PREFIX: Final = 100


# -- the index folder's file names ------------------------------------------------------
# Whoosh 2.7 names its table-of-contents and segment files only through private class
# methods of ``whoosh.index.TOC`` (``_filename``, ``_pattern``, ``_segment_pattern``,
# ``_latest_generation``). These three reproduce that naming, which is part of the
# on-disk format Whoosh 2.7 reads, so the backend needs no private Whoosh API.


def toc_filename(indexname: str, generation: int) -> str:
    """Return the file name of the table of contents of ``generation``."""
    return f"_{indexname}_{generation}.toc"


def latest_generation(files: Iterable[str], indexname: str) -> int:
    """Return the newest table-of-contents generation among ``files``, or -1 if none.

    Args:
        files: the names in the index folder (a Whoosh storage iterates over them).
        indexname: the index's name within the folder.
    """
    pattern = re.compile(rf"^_{re.escape(indexname)}_([0-9]+)\.toc$")
    return max((int(m.group(1)) for m in map(pattern.match, files) if m), default=-1)


def segment_pattern(indexname: str) -> re.Pattern[str]:
    """Return the pattern of the segment files of ``indexname``."""
    return re.compile(rf"({re.escape(indexname)}_[0-9a-z]+)[.][A-Za-z0-9_.]+")


def build_schema(analyzer: Any) -> Schema:
    """Return the index schema; every text field uses ``analyzer``."""
    return Schema(
        document_id=ID(stored=True, unique=True, sortable=True),
        akte_id=ID(stored=True),
        aktenzeichen=STORED(),
        az=ID(),  # the Aktenzeichen in lower case, for aktenzeichen:
        # its leading parts up to a punctuation mark ("630.", "630.10-"), so
        # aktenzeichen:630.10-* reads one posting list, not one per Aktenzeichen
        az_prefix=ID(analyzer=RegexTokenizer(f"[^{_SEPARATOR}]+")),
        title=TEXT(analyzer=analyzer, stored=True, field_boost=2.0),
        content=TEXT(analyzer=analyzer),
        body=STORED(),  # zlib-compressed leading text, for snippets
        filename=TEXT(analyzer=analyzer),
        meta=TEXT(analyzer=analyzer),
        kind=ID(),
        mime=ID(),
        created=DATETIME(sortable=True),
        date=DATETIME(),
        version=NUMERIC(sortable=True),
        sha256=ID(sortable=True),
    )


def document_fields(doc: IndexDocument, stored_chars: int) -> dict[str, Any]:
    """Return the Whoosh field values of a document."""
    text = doc.text[:stored_chars].encode("utf-8", "surrogatepass")
    fields: dict[str, Any] = {
        "document_id": str(doc.document_id),
        "akte_id": str(doc.akte_id),
        "aktenzeichen": doc.aktenzeichen,
        "az": doc.aktenzeichen.strip().lower(),
        "az_prefix": _SEPARATOR.join(_prefixes(doc.aktenzeichen.strip().lower())),
        "title": doc.title,
        "content": doc.text,
        "body": zlib.compress(text, 6),
        "filename": filename_text(doc.filename),
        "meta": "\n".join(doc.metadata.values()),
        "kind": doc.kind.lower(),
        "mime": doc.mime.lower(),
        "created": utc_naive(doc.created_at),
        "version": doc.version,
        "sha256": doc.sha256,
    }
    if doc.document_date is not None:
        fields["date"] = utc_naive(doc.document_date)
    return fields


def tiered_merge(writer: Any, segments: list[Any], *, factor: int = 10,
                 max_docs: int = 20_000) -> list[Any]:
    """Whoosh merge policy: merge ``factor`` segments of one size class, bounded in size.

    A segment's size class is ``floor(log(live documents, factor))``. When a class holds
    ``factor`` segments, the smallest of them are merged into the segment being written,
    never more than ``max_docs`` documents (nor segments already that large). So each
    document is copied about ``log(max_docs / batch, factor)`` times, the number of
    segments stays near ``factor`` per class, and one commit copies at most ``max_docs``
    documents. Whoosh copies only 150-300 documents a second, so that bound is what keeps
    one commit (holding the lock other writers wait for) from growing with the index:
    Whoosh's default ``MERGE_SMALL`` lets about 17 segments pile up and then merges them
    with the larger ones, ever larger merges as the index grows.

    Args:
        writer: the Whoosh segment writer committing.
        segments: the index's current segments.
        factor: how many segments of one class trigger a merge.
        max_docs: the largest segment a merge may produce.

    Returns:
        The segments kept as they are.
    """
    from whoosh.reading import SegmentReader

    classes: dict[int, list[Any]] = {}
    for segment in segments:
        live = segment.doc_count()
        if live < max_docs:
            classes.setdefault(int(math.log(max(live, 1), factor)), []).append(segment)
    for size_class in sorted(classes):
        group = sorted(classes[size_class], key=lambda seg: seg.doc_count())
        if len(group) < factor:
            continue
        chosen: list[Any] = []
        total = 0
        for segment in group[:factor]:
            if total + segment.doc_count() > max_docs:
                break
            chosen.append(segment)
            total += segment.doc_count()
        if len(chosen) < 2:
            continue
        for segment in chosen:
            reader = SegmentReader(writer.storage, writer.schema, segment)
            try:
                writer.add_reader(reader)
            finally:
                reader.close()
        return [seg for seg in segments if seg not in chosen]
    return segments


class _Or(wq.Or):  # type: ignore[misc]  # whoosh is untyped
    """Or that always walks its parts in step (Whoosh's binary union tree).

    For small segments Whoosh otherwise preloads and scores every posting of every part,
    even when another clause allows only a few documents: ``Vermerk Nr. 00001`` took
    36 ms of CPU instead of 9 ms at 10,000 documents.
    """

    matcher_type = wq.Or.DEFAULT_MATCHER


def id_query(document_ids: dict[int, Any]) -> Any:
    """Return a query for these document ids."""
    return _Or([wq.Term("document_id", str(i)) for i in document_ids])


def _prefixes(value: str) -> list[str]:
    """Return the leading parts of a value that end with a punctuation mark."""
    value = value.replace(_SEPARATOR, " ")[:_MAX_PREFIX]
    return [value[:i] for i in range(1, len(value) + 1) if _is_mark(value[i - 1])]


def _is_mark(char: str) -> bool:
    return not char.isalnum() and not char.isspace()


def _analyse(analyzer: Any, text: str) -> list[str]:
    return [token.text for token in analyzer(text, mode="query")]


def translate(parsed: ParsedQuery, searcher: Any) -> tuple[Any, Any] | None:
    """Return Whoosh queries ``(to match, to exclude or None)``, or None for no match."""
    required = [q for q in (_clause(c, searcher) for c in parsed.required) if q is not None]
    excluded = [q for q in (_clause(c, searcher) for c in parsed.excluded) if q is not None]
    if (not required and not excluded) or any(q is wq.NullQuery for q in required):
        return None  # Whoosh would still read the other clauses' postings
    positive = (wq.And(required) if len(required) > 1
                else required[0] if required else wq.Every())
    return positive, (_Or(excluded) if excluded else None)


def _clause(clause: Clause, searcher: Any) -> Any:
    """Translate one clause; None if it has no terms (it is then ignored)."""
    if isinstance(clause, TextClause):
        return _text_clause(clause, searcher)
    if isinstance(clause, KeywordClause):
        field = _KEYWORD_FIELDS[clause.field]
        if not clause.prefix:
            return wq.Term(field, clause.value)
        if field == "az" and clause.value and _is_mark(clause.value[-1]) \
                and len(clause.value) <= _MAX_PREFIX:
            return wq.Term("az_prefix", clause.value)  # indexed, see build_schema
        return wq.Prefix(field, clause.value) if clause.value else wq.Every()
    assert isinstance(clause, DateClause)
    low, high = clause.bounds()
    return wq.DateRange(clause.field, low, high)


def _text_clause(clause: TextClause, searcher: Any) -> Any:
    """Or over the fields; fields lacking a term are left out (fewer matchers to run)."""
    schema, reader = searcher.schema, searcher.reader()
    parts = []
    analysed = False
    for field in clause.fields:
        terms = _analyse(schema[field].analyzer, clause.text)
        if not terms:
            continue
        analysed = True
        if clause.prefix and len(terms) == 1:
            parts.append(wq.Prefix(field, terms[0]))
        elif any((field, term) not in reader for term in terms):
            continue
        elif len(terms) == 1:
            parts.append(wq.Term(field, terms[0]))
        else:
            parts.append(wq.Phrase(field, terms))
    if not parts:
        return wq.NullQuery if analysed else None
    return parts[0] if len(parts) == 1 else _Or(parts)


def top_collector(limit: int) -> Any:
    """Return a collector of the best ``limit`` hits that also counts exactly.

    Every match is scored, without Whoosh's block-quality skipping or matcher
    replacement. Replacement drops low-scoring matches from the count (``Bau*`` counted
    7,864 of 9,583 matches at 10,000 documents), and block skipping loops forever in
    Whoosh 2.7.4 when a prefix query sits inside an Or (``ArrayUnionMatcher``); where it
    worked it saved a fifth of the time at 46,000 matches and cost half again at 18,000
    (it needs a second pass to count).
    """
    return TopCollector(limit, usequality=False, replace=0)


def step_through(query: Any, searcher: Any) -> bool:
    """Tell whether a date-sorted search should step through matches one by one.

    Without stepping, Whoosh intersects the full sets of ids of an And's parts: for one
    rare word next to common ones that read every posting (49 ms instead of 4 ms at
    10,000 documents), while for common words alone it is faster (40 ms instead of 72).
    """
    if not isinstance(query, wq.And):
        return False
    reader = searcher.reader()
    sizes: list[int] = [part.estimate_size(reader) for part in query.subqueries]
    return min(sizes) * 4 < max(sizes)


def scores_of(searcher: Any, query: Any, docnums: Sequence[int]) -> dict[int, float]:
    """Return relevance scores of some documents (for results sorted by date)."""
    wanted = sorted(docnums)
    scores: dict[int, float] = {}
    context = searcher.context()
    for subsearcher, offset in searcher.leaf_searchers():
        local = [d - offset for d in wanted
                 if offset <= d < offset + subsearcher.doc_count_all()]
        if not local:
            continue
        matcher = query.matcher(subsearcher, context)
        for docnum in local:
            if not matcher.is_active():
                break
            if matcher.id() < docnum:
                matcher.skip_to(docnum)
            if matcher.is_active() and matcher.id() == docnum:
                scores[docnum + offset] = matcher.score()
    return scores
