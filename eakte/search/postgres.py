"""Search on PostgreSQL full-text search (``german`` configuration), for stores on PostgreSQL.

Usage::

    from eakte.search.postgres import PostgresSearchBackend
    backend = PostgresSearchBackend(store.engine)  # or "postgresql+psycopg://…"
    backend.search(SearchQuery('Bauantrag -Widerspruch title:"Neubau Lindenstraße"'))

Storage. The index is one table in the store's database (``search_documents`` unless told
otherwise, schema-qualified names such as ``search.documents`` allowed), created on first
use with ``CREATE TABLE IF NOT EXISTS`` under an advisory lock. It is derived data and
deliberately outside the alembic-managed records schema: it is not migrated, ``eakte
reindex`` rebuilds it from the records and blobs, and dropping it loses nothing (alembic
autogenerate must be told to ignore it). The database role needs CREATE on the schema the
first time. Columns: the document's fields, the first ``stored_chars`` characters of the
text (for snippets), ``meta`` (jsonb), ``analyzer`` (the tag below) and ``tsv``, a
``tsvector`` computed in the INSERT, with a GIN index. ``tsv`` is kept in the row
(``STORAGE MAIN``, ``toast_tuple_target = 256`` moves the text out instead), and each
batch moves the GIN pending list into the index, so plans and search times do not depend
on when autovacuum last ran. The table comment records the layout and whether the index
was ever fully built (a new table asks for a rebuild, as a new Whoosh folder does).

Analysis. Python normalises all indexed text and every query word the same way before
PostgreSQL sees it (:mod:`eakte.search._pgtext`): lower case, NFKC, soft hyphens removed,
accents other than ä/ö/ü stripped (Café = Cafe), ae/oe/ue folded to ä/ö/ü by the Snowball 3
rules of :func:`eakte.search._german.fold` ("u" between vowels and "qu" stay: Steuer,
Quelle), tokens over :data:`~eakte.search.analysis.MAX_TOKEN_CHARS` dropped. PostgreSQL's
``german`` Snowball stemmer then folds ä/ö/ü → a/o/u and ß → ss and stems: ``Müller`` =
``Mueller`` = ``muller``, ``Straße`` = ``Strasse``, ``Anträge`` = ``Antrag``. ``unaccent``
(contrib, often missing on managed servers) and custom text search configurations are not
needed. Compounds are split at index time by eakte's dictionary splitter and their parts
appended as words (``bau antrag`` after ``Bauantrag``), so ``Antrag`` finds ``Bauantrag``
and ``Digitalisierung`` finds ``Verwaltungsdigitalisierung``; query words are never split.
Weights: title A, metadata values B, text C, file name D (each with its compound parts);
``title:``, ``meta:`` and ``filename:`` restrict a clause to their weight. Ranking:
``ts_rank_cd`` with length normalisation (flags 1|32).

Queries are parsed by :func:`eakte.search.query.parse_query`, the parser every backend
shares, and turned into SQL by :mod:`eakte.search._pgquery`. Each text clause becomes
``phraseto_tsquery('german', …)`` (a word with ``*``: ``to_tsquery('german', 'word:*')``),
evaluated by PostgreSQL; the serialised results are combined with ``&``/``!`` and weight
labels and sent back as one bound ``tsquery``. Aktenzeichen, kind and MIME type compare the
stored values (``lower(…) = …`` or ``LIKE`` with escaped wildcards), dates compare UTC
days. User input only ever travels as bound parameters. Snippets are built like the other
backends' (:func:`~eakte.search.query.make_snippet` over the stored text, marks from
eakte's analyzer, so ``Antrag`` marks ``Bauantrag``).

What matches differently from the Whoosh backend (same folding rules, splitter and query
parser, but PostgreSQL's stemmer and tokenizer):

- Stop words: ``german`` drops words such as ``der``, ``und``, ``nicht``, ``auf``. A query
  of stop words only finds nothing (``der``: Whoosh finds it); in phrases they are gaps
  (``"Antrag auf Baugenehmigung"`` also matches ``Antrag zur Baugenehmigung``).
- Stemmer: PostgreSQL 15 ships Snowball 2 (hence the ae/oe/ue folding in Python); its stems
  differ from PyStemmer's Snowball 3 in rare cases. Prefixes are stemmed first, as in
  Whoosh (``Genehmigungen*`` and ``Genehm*`` find Genehmigung, ``Genehmigu*`` finds nothing
  in either backend).
- Tokens: PostgreSQL's parser has its own token types. ``630.10-0001/26`` becomes
  ``630.10``, ``-0001`` and ``/26``, so ``0001`` alone does not find it (it does in
  Whoosh); use ``aktenzeichen:`` (exact or prefix on the stored value, the same in both
  backends). Dotted names, e-mail addresses and hyphenated words behave alike (checked:
  ``gutachten_final.pdf``, ``amt@kreis.de``, ``Neubau-Lindenstraße``).
- Compound parts sit after the text, not at the word's position: ``"Antrag Neubau"`` does
  not match ``Bauantrag Neubau`` as a phrase (it does in Whoosh).
- Limits: phrases only see the first 16,383 word positions, text is indexed up to
  :data:`MAX_INDEX_CHARS` characters and :data:`LEXEME_BUDGET` bytes of distinct words
  per weight (a tsvector holds < 1 MiB; text with more, e.g. base64 garbage, is cut).
- Scores are ``ts_rank_cd`` values, not BM25F; orders of equally relevant hits differ.

:meth:`~PostgresSearchBackend.needs_rebuild` reports a table of another layout, a table
never fully built, and rows whose analyzer tag (``pg-german-<layout>.<normalisation>/
<eakte analyzer>/pg<server major>``) differs from the current one, so a new analysis version
or a PostgreSQL major upgrade (new stemmer) leads to a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from functools import lru_cache
from itertools import chain
from typing import Any, ClassVar, Final

from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy import TextClause as SqlText
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from eakte.errors import InvalidInput, SearchError
from eakte.search._german import CompoundSplitter
from eakte.search._pglock import advisory_lock
from eakte.search._pgquery import search_statement
from eakte.search._pgtext import NORMALISATION, clean, normalise, within_budget
from eakte.search.analysis import ANALYZER_VERSION, analyze, german_analyzer
from eakte.search.base import IndexDocument, IndexEntry, SearchHit, SearchQuery, SearchResult
from eakte.search.query import (
    ParsedQuery,
    TextClause,
    check_query,
    filename_text,
    make_snippet,
    match_spans,
)

__all__ = ["LAYOUT", "LEXEME_BUDGET", "MAX_INDEX_CHARS", "NORMALISATION", "PostgresSearchBackend",
           "normalise"]

#: Text beyond this many characters is not indexed.
MAX_INDEX_CHARS: Final = 1_000_000
#: Caps on the bytes of distinct words indexed per weight (title, metadata, text, file
#: name), compound parts included; together they keep a tsvector below its 1 MiB limit.
LEXEME_BUDGET: Final = {"A": 50_000, "B": 200_000, "C": 600_000, "D": 20_000}
#: Table layout; a table of another layout is dropped and recreated by ``clear()``.
LAYOUT: Final = 1

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,47}(?:\.[a-z_][a-z0-9_]{0,47})?$")
_SPLITTABLE = re.compile(r"\b[^\W\d_]{6,48}\b")
_COLUMNS: Final = ("document_id", "akte_id", "aktenzeichen", "title", "content", "kind", "mime",
                   "filename", "meta", "created_at", "document_date", "version", "sha256",
                   "analyzer")
_MIN_SCORE: Final = 1e-6


class PostgresSearchBackend:
    """A :class:`~eakte.search.base.SearchBackend` on PostgreSQL full-text search.

    Example::

        backend = PostgresSearchBackend(store.engine)
        backend.index(documents)
        result = backend.search(SearchQuery("Mueller Bauantrag", akte_ids=frozenset({7})))

    Args:
        engine_or_url: the store's SQLAlchemy engine (left open by :meth:`close`) or a
            PostgreSQL URL (its engine is disposed by :meth:`close`).
        table: table name, optionally schema-qualified; lower-case identifiers only.
        decompound: index the parts of compound words (``Antrag`` finds ``Bauantrag``).
        extra_words: more known words for the compound splitter (see
            :func:`eakte.search.analysis.learn_vocabulary`); part of the analyzer tag.
        stored_chars: how many leading characters of each text are kept for snippets.

    Raises:
        InvalidInput: not PostgreSQL, or a table name that is not a plain identifier.
    """

    name: ClassVar[str] = "postgres"

    def __init__(self, engine_or_url: Engine | str, *, table: str = "search_documents",
                 decompound: bool = True, extra_words: Iterable[str] = (),
                 stored_chars: int = 20_000) -> None:
        if not _IDENT.match(table):
            raise InvalidInput(f"table name {table!r} is not a plain lower-case identifier")
        if isinstance(engine_or_url, str):
            url = make_url(engine_or_url)
            if url.drivername == "postgresql":
                url = url.set(drivername="postgresql+psycopg")
            if url.get_backend_name() != "postgresql":
                raise InvalidInput("the postgres search backend needs a PostgreSQL URL, not "
                                   f"{url.get_backend_name()!r}")
            self._engine, self._owned = create_engine(url, pool_pre_ping=True), True
        elif engine_or_url.dialect.name != "postgresql":
            raise InvalidInput("the postgres search backend needs a PostgreSQL engine, "
                               f"not {engine_or_url.dialect.name!r}")
        else:
            self._engine, self._owned = engine_or_url, False
        self.table = table
        self._t = ".".join(f'"{part}"' for part in table.split("."))
        self._i = table.replace(".", "_")
        schema = f'"{table.split(".")[0]}".' if "." in table else ""
        self._gin = f'{schema}"{self._i}_tsv"'
        self.decompound = decompound
        self.stored_chars = stored_chars
        self._words = tuple(sorted({w.lower() for w in extra_words}))
        self._splitter = CompoundSplitter(self._words) if decompound else None
        self._analyzer = german_analyzer(self._words, decompound=decompound)
        self._surfaces = lru_cache(maxsize=262_144)(self._surfaces_uncached)
        self._tag: str | None = None
        self._flush = True
        self._closed = False

    # -- table ---------------------------------------------------------------------------

    def _sql(self, template: str) -> SqlText:
        """Return ``template`` as SQL with ``{t}`` replaced by the (validated) table name."""
        return text(template.replace("{t}", self._t))

    def _connect(self) -> Connection:
        if self._closed:
            raise SearchError("the postgres search backend is closed")
        return self._engine.connect()

    def _comment(self, state: str) -> SqlText:
        note = json.dumps({"eakte_search_layout": LAYOUT, "state": state})
        return self._sql(f"COMMENT ON TABLE {{t}} IS '{note}'")

    def _state(self, conn: Connection) -> tuple[bool, dict[str, Any]]:
        """Return whether the table exists and what its comment records."""
        found, note = conn.execute(text(
            "SELECT to_regclass(:t) IS NOT NULL, obj_description(to_regclass(:t), 'pg_class')"),
            {"t": self._t}).one()
        try:
            recorded = json.loads(note) if note else {}
        except ValueError:
            recorded = {}
        return bool(found), recorded if isinstance(recorded, dict) else {}

    def _ready(self, conn: Connection) -> str:
        """Create the table on first use; return the current analyzer tag."""
        if self._tag is not None:
            return self._tag
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": self.table})
        major = int(conn.scalar(text("SHOW server_version_num")) or 0) // 10000
        if not self._state(conn)[0]:
            conn.execute(self._sql("""CREATE TABLE IF NOT EXISTS {t} (
                document_id bigint PRIMARY KEY, akte_id bigint NOT NULL,
                aktenzeichen text NOT NULL, title text NOT NULL, content text NOT NULL,
                kind text NOT NULL, mime text NOT NULL, filename text NOT NULL,
                meta jsonb NOT NULL, created_at timestamptz NOT NULL, document_date date,
                version integer NOT NULL, sha256 text NOT NULL, analyzer text NOT NULL,
                tsv tsvector NOT NULL) WITH (toast_tuple_target = 256)"""))
            # tsv in the row, text out of it: scans and ranking then read no TOAST
            # (measured at 10k documents: relevance p95 halved, +12 % size).
            conn.execute(self._sql("ALTER TABLE {t} ALTER COLUMN tsv SET STORAGE MAIN"))
            conn.execute(self._comment("new"))
            for name, spec in (("akte", "(akte_id)"), ("tsv", "USING gin (tsv)"),
                               ("created", "(created_at)"), ("analyzer", "(analyzer)"),
                               ("az", "(lower(aktenzeichen) text_pattern_ops)")):
                conn.execute(self._sql(
                    f'CREATE INDEX IF NOT EXISTS "{self._i}_{name}" ON {{t}} {spec}'))
        conn.commit()
        words = hashlib.sha256("\n".join(self._words).encode()).hexdigest()[:12]
        split = ANALYZER_VERSION + (f"+words-{words}" if self._words else "")
        self._tag = (f"pg-german-{LAYOUT}.{NORMALISATION}/"
                     f"{split if self.decompound else 'nosplit'}/pg{major}")
        return self._tag

    def _fail(self, what: str, exc: SQLAlchemyError) -> SearchError:
        first = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()
        return SearchError(f"postgres search index {self.table!r} could not {what}: "
                           f"{type(exc).__name__}: {first[0] if first else ''}")

    # -- analysis ------------------------------------------------------------------------

    def _surfaces_uncached(self, word: str) -> tuple[str, ...]:
        """Return the compound parts of a folded word as words (empty if not a compound).

        The same runs of parts as :meth:`CompoundSplitter.terms` indexes, unstemmed, so
        that PostgreSQL's stemmer treats them like the words of a query.
        """
        assert self._splitter is not None
        segments = self._splitter.split(word)
        if not segments:
            return ()
        out: dict[str, None] = {}
        last = len(segments) - 1
        for first in range(len(segments)):
            for final in range(first, len(segments)):
                if first == 0 and final == last:
                    continue
                start, stop = segments[first][0], segments[final][0]
                out[word[start:] if final == last else word[start:stop] + segments[final][1]] = None
        for _, lemma in segments:
            if lemma != word:
                out.update(dict.fromkeys(self._surfaces(lemma)))
        out.pop(word, None)
        return tuple(out)

    def _prepared(self, raw: str, weight: str) -> str:
        """Return text normalised and followed by its compounds' parts, within budget."""
        norm = normalise(clean(raw[:MAX_INDEX_CHARS]))
        if self._splitter is not None:
            words = dict.fromkeys(_SPLITTABLE.findall(norm))  # ordered: deterministic output
            found = dict.fromkeys(chain.from_iterable(map(self._surfaces, words)))
            norm = f"{norm} {' '.join(found)}" if found else norm
        return within_budget(norm, LEXEME_BUDGET[weight])

    def _row(self, doc: IndexDocument, tag: str) -> dict[str, Any]:
        meta = {clean(k): clean(v) for k, v in doc.metadata.items()}
        return {
            "document_id": doc.document_id, "akte_id": doc.akte_id,
            "aktenzeichen": clean(doc.aktenzeichen), "title": clean(doc.title),
            "content": clean(doc.text[:self.stored_chars]), "kind": clean(doc.kind),
            "mime": clean(doc.mime), "filename": clean(doc.filename),
            "meta": json.dumps(meta, ensure_ascii=False), "created_at": doc.created_at,
            "document_date": doc.document_date, "version": doc.version,
            "sha256": doc.sha256, "analyzer": tag,
            "a": self._prepared(doc.title, "A"),
            "b": self._prepared("\n".join(meta.values()), "B"),
            "c": self._prepared(doc.text, "C"),
            "d": self._prepared(filename_text(doc.filename), "D"),
        }

    # -- writing -------------------------------------------------------------------------

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold an advisory lock for this table: every writer of it takes turns.

        Raises:
            SearchError: the database failed.
        """
        if self._closed:
            raise SearchError("the postgres search backend is closed")
        return advisory_lock(self._engine, f"eakte-search:{self.table}")

    def index(self, documents: Sequence[IndexDocument]) -> None:
        """Add or replace these documents in one transaction (upsert by ``document_id``).

        Raises:
            SearchError: the database failed; nothing of the batch is visible.
        """
        latest = {doc.document_id: doc for doc in documents}  # the last one wins
        if not latest:
            return
        sql = self._sql(f"""INSERT INTO {{t}} ({", ".join(_COLUMNS)}, tsv)
            VALUES ({", ".join(f"CAST(:{c} AS jsonb)" if c == "meta" else f":{c}"
                               for c in _COLUMNS)},
              setweight(to_tsvector('german', :a), 'A')
              || setweight(to_tsvector('german', :b), 'B')
              || setweight(to_tsvector('german', :c), 'C')
              || setweight(to_tsvector('german', :d), 'D'))
            ON CONFLICT (document_id) DO UPDATE SET
              {", ".join(f"{c} = EXCLUDED.{c}" for c in (*_COLUMNS[1:], "tsv"))}""")  # noqa: S608
        try:
            with self._connect() as conn:
                tag = self._ready(conn)
                # ascending ids: concurrent batches lock rows in the same order (no deadlock)
                conn.execute(sql, [self._row(latest[i], tag) for i in sorted(latest)])
                self._flush_gin(conn)
                conn.commit()
        except SQLAlchemyError as exc:
            raise self._fail("index documents", exc) from exc

    def _flush_gin(self, conn: Connection) -> None:
        """Move the GIN pending list into the index (stable plans and search times).

        Needs ownership of the index; without it the pending list is left to autovacuum.
        """
        if not self._flush:
            return
        try:
            with conn.begin_nested():
                conn.execute(text("SELECT gin_clean_pending_list(to_regclass(:i))"),
                             {"i": self._gin})
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
                raise
            self._flush = False

    def delete(self, document_ids: Sequence[int]) -> None:
        """Remove these documents if present (one transaction).

        Raises:
            SearchError: the database failed.
        """
        if not document_ids:
            return
        try:
            with self._connect() as conn:
                self._ready(conn)
                conn.execute(self._sql("DELETE FROM {t} WHERE document_id = ANY(:ids)"),
                             {"ids": list(document_ids)})
                conn.commit()
        except SQLAlchemyError as exc:
            raise self._fail("delete documents", exc) from exc

    def clear(self) -> None:
        """Remove every entry (``TRUNCATE``) and mark the index built; recreate other layouts.

        Raises:
            SearchError: the database failed.
        """
        try:
            with self._connect() as conn:
                self._ready(conn)
                if self._state(conn)[1].get("eakte_search_layout") != LAYOUT:
                    conn.execute(self._sql("DROP TABLE IF EXISTS {t}"))
                    conn.commit()
                    self._tag = None
                    self._ready(conn)
                conn.execute(self._sql("TRUNCATE {t}"))
                conn.execute(self._comment("built"))
                conn.commit()
        except SQLAlchemyError as exc:
            raise self._fail("clear the index", exc) from exc

    # -- reading -------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query; the Akte filter applies before counting, ranking and snippets.

        Raises:
            InvalidInput: the query cannot be parsed (see :mod:`eakte.search.query`).
            SearchError: the database failed.
        """
        parsed = check_query(query)
        if query.akte_ids is not None and not query.akte_ids:
            return SearchResult(hits=[], total=0)
        try:
            with self._connect() as conn:
                self._ready(conn)
                return self._run(conn, parsed, query)
        except SQLAlchemyError as exc:
            raise self._fail("search", exc) from exc

    def _run(self, conn: Connection, parsed: ParsedQuery, query: SearchQuery) -> SearchResult:
        built = search_statement(conn, parsed, query)
        if built is None:
            return SearchResult(hits=[], total=0)  # nothing searchable left in the query
        statement, params = built
        rows = conn.execute(self._sql(statement), params).all()
        total = int(rows[0].total) if rows else 0
        terms, prefixes = self._highlight_terms(parsed)
        hits = [SearchHit(document_id=r.document_id, akte_id=r.akte_id,
                          aktenzeichen=r.aktenzeichen, title=r.title,
                          score=max(float(r.score), _MIN_SCORE),
                          snippet=self._snippet(r.content, r.title, terms, prefixes))
                for r in rows[:query.limit]]
        return SearchResult(hits=hits, total=total)

    def _highlight_terms(self, parsed: ParsedQuery) -> tuple[frozenset[str], tuple[str, ...]]:
        """Return eakte's analyzer terms (and prefixes) of the required content clauses."""
        terms: set[str] = set()
        prefixes: list[str] = []
        for clause in parsed.required:
            if isinstance(clause, TextClause) and "content" in clause.fields:
                found = analyze(clause.text, mode="query", analyzer=self._analyzer)
                if clause.prefix and len(found) == 1:
                    prefixes.extend(found)
                else:
                    terms.update(found)
        return frozenset(terms), tuple(prefixes)

    def _snippet(self, body: str, title: str, terms: frozenset[str],
                 prefixes: tuple[str, ...]) -> str:
        if not body.strip():
            return make_snippet(title, [])
        return make_snippet(body, match_spans(self._analyzer, body, terms, prefixes))

    def entries(self) -> Iterator[IndexEntry]:
        """Yield ``(document_id, version, sha256)`` of every indexed document, by id.

        Raises:
            SearchError: the database failed.
        """
        try:
            with self._connect() as conn:
                self._ready(conn)
                result = conn.execution_options(yield_per=5000).execute(
                    self._sql("SELECT document_id, version, sha256 FROM {t} ORDER BY 1"))
                for row in result:
                    yield IndexEntry(document_id=row[0], version=row[1], sha256=row[2])
        except SQLAlchemyError as exc:
            raise self._fail("list entries", exc) from exc

    def needs_rebuild(self) -> str | None:
        """Return why the index must be rebuilt, or None if it is usable.

        Reasons: a table of another layout, a table never fully built (new), rows with
        another analyzer tag.

        Raises:
            SearchError: the database failed.
        """
        try:
            with self._connect() as conn:
                tag = self._ready(conn)
                _, recorded = self._state(conn)
                if recorded.get("eakte_search_layout") != LAYOUT:
                    return (f"table {self.table!r} has another layout "
                            f"({recorded.get('eakte_search_layout')!r}, expected {LAYOUT})")
                if recorded.get("state") != "built":
                    return "new index: it must be built"
                low, high = conn.execute(  # two lookups in the analyzer index
                    self._sql("SELECT min(analyzer), max(analyzer) FROM {t}")).one()
        except SQLAlchemyError as exc:
            raise self._fail("check the index", exc) from exc
        for other in (low, high):
            if other is not None and other != tag:
                return f"index built with analysis {other!r}, current is {tag!r}"
        return None

    def stats(self) -> dict[str, int | str]:
        """Return ``documents``, ``size_bytes`` (table, TOAST and indexes) and ``analyzer``.

        Raises:
            SearchError: the database failed.
        """
        try:
            with self._connect() as conn:
                tag = self._ready(conn)
                count, size = conn.execute(self._sql(
                    "SELECT (SELECT count(*) FROM {t}), pg_total_relation_size(to_regclass(:t))"
                ), {"t": self._t}).one()
        except SQLAlchemyError as exc:
            raise self._fail("read statistics", exc) from exc
        return {"backend": self.name, "table": self.table, "documents": int(count),
                "size_bytes": int(size or 0), "analyzer": tag}

    def close(self) -> None:
        """Dispose of the engine if this backend created it. Idempotent."""
        if not self._closed and self._owned:
            self._engine.dispose()
        self._closed = True

