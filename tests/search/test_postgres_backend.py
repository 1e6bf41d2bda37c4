"""PostgresSearchBackend: the contract suites plus PostgreSQL-specific behaviour."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from eakte.demo.corpus import make_pdf
from eakte.errors import InvalidInput, SearchError
from eakte.search.base import SearchQuery
from eakte.search.postgres import PostgresSearchBackend, normalise
from eakte.testing.search import (
    CORPUS,
    GermanAnalysisContract,
    SearchBackendContract,
    make_document,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[sa.Engine]:
    """An engine bound (by search_path) to a fresh, empty schema."""
    engine = sa.create_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def backend_factory(pg_engine: sa.Engine) -> Iterator[Callable[..., PostgresSearchBackend]]:
    made: list[PostgresSearchBackend] = []

    def make(**options: object) -> PostgresSearchBackend:
        backend = PostgresSearchBackend(pg_engine, **options)  # type: ignore[arg-type]
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


class TestPostgresBackend(SearchBackendContract, GermanAnalysisContract):
    @pytest.fixture
    def search_backend(
            self, backend_factory: Callable[..., PostgresSearchBackend]
    ) -> PostgresSearchBackend:
        return backend_factory()


def _ids(backend: PostgresSearchBackend, text: str, **options: object) -> set[int]:
    result = backend.search(SearchQuery(text, limit=1000, **options))  # type: ignore[arg-type]
    assert result.total == len(result.hits)
    return {hit.document_id for hit in result.hits}


@pytest.fixture
def backend(backend_factory: Callable[..., PostgresSearchBackend]) -> PostgresSearchBackend:
    return backend_factory()


# -- safety ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "'); DROP TABLE search_documents; --",
    "title:'); DROP TABLE search_documents; --",
    "aktenzeichen:x' OR '1'='1",
    "kind:' OR 1=1 --",
    "meta:\\'; DELETE FROM search_documents; --",
    "filename:%' OR ''='",
    "created:2026-01-01'; DROP TABLE x; --..",
    "'fat' & !'rat' | 'x':*A",
    "x:*A !!y <-> z",
    "\\\\' \\' ''",
])
def test_sql_and_tsquery_injection_is_harmless(backend: PostgresSearchBackend,
                                               pg_engine: sa.Engine, text: str) -> None:
    backend.index(list(CORPUS))
    try:
        backend.search(SearchQuery(text))
    except InvalidInput:
        pass  # a malformed date is refused before any SQL runs
    with pg_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM search_documents")) == len(CORPUS)
    assert _ids(backend, "Sperrung") == {5, 6}


def test_like_wildcards_in_fields_are_literal(backend: PostgresSearchBackend) -> None:
    backend.index(list(CORPUS))
    assert _ids(backend, "aktenzeichen:%") == set()
    assert _ids(backend, "aktenzeichen:_30.10-*") == set()
    assert _ids(backend, "mime:%/pdf") == set()
    assert _ids(backend, "kind:_ncoming") == set()


def test_hostile_text_is_stored_safely(backend: PostgresSearchBackend) -> None:
    backend.index([make_document(
        1, title="<script>alert(1)</script> Bescheid",
        text="Bescheid <img src=x> 3 < 4 \ud800 \x00 Ende", metadata={"x\x00y": "a\x00b"})])
    [hit] = backend.search(SearchQuery("Bescheid")).hits
    assert hit.title == "<script>alert(1)</script> Bescheid"
    assert hit.snippet.startswith("«Bescheid» <img src=x> 3 < 4")  # plain text, as stored
    assert _ids(backend, "meta:ab") == {1}


# -- analysis -------------------------------------------------------------------------------


def test_normalise_folds_like_the_stemmer() -> None:
    assert normalise("Mueller MÜLLER Café Steuer Quelle") == "müller müller cafe steuer quelle"
    assert normalise("Stra\u00dfe ﬁnal Mu\u0308ller") == "strasse final müller"
    assert normalise("x" * 101 + " ok") == "  ok"


def test_highlights_folded_spellings(backend: PostgresSearchBackend) -> None:
    backend.index([make_document(1, text="Antwort an Frau Mueller wegen der Gebühr")])
    for query in ("Müller", "Mueller", "MÜLLER", "muller"):
        [hit] = backend.search(SearchQuery(query)).hits
        assert "«Mueller»" in hit.snippet, (query, hit.snippet)


def test_compound_deep_in_a_long_text_is_marked(backend: PostgresSearchBackend) -> None:
    filler = "Die Unterlagen wurden geprüft und zur Akte genommen. " * 40
    backend.index([make_document(1, text=f"{filler}Eingang Bauantrag Neubau. {filler}")])
    [hit] = backend.search(SearchQuery("Antrag")).hits
    assert "«Bauantrag»" in hit.snippet and hit.snippet.startswith("… ")


def test_prefix_and_weighted_fields(backend: PostgresSearchBackend) -> None:
    backend.index(list(CORPUS))
    assert _ids(backend, "Baugenehm*") == {1}
    assert _ids(backend, "title:Bau*") == {1, 5}
    assert _ids(backend, "meta:Muster*") == {1}
    assert _ids(backend, "-title:Bauantrag Bauantrag") == {7}
    assert _ids(backend, "gutachten.pdf") == {1}
    assert _ids(backend, "filename:gutachten") == {1}
    assert _ids(backend, "filename:Lageplan") == set()
    assert _ids(backend, "630.10-0001/26") == set()  # Aktenzeichen: only aktenzeichen:


def test_filter_only_queries(backend: PostgresSearchBackend) -> None:
    backend.index(list(CORPUS))
    result = backend.search(SearchQuery("kind:incoming", order="date"))
    assert [h.document_id for h in result.hits] == [7, 1, 5]
    assert result.hits[0].snippet.startswith("Der Bauantrag")
    assert all(h.score > 0 for h in result.hits)


def test_stop_words_only_finds_nothing(backend: PostgresSearchBackend) -> None:
    backend.index(list(CORPUS))
    assert backend.search(SearchQuery("der und die")).total == 0
    assert _ids(backend, "der Lageplan") == {1}


# -- maintenance ----------------------------------------------------------------------------


def test_needs_rebuild_on_analyzer_change(backend_factory: Callable[..., PostgresSearchBackend],
                                         pg_engine: sa.Engine) -> None:
    backend = backend_factory()
    assert backend.needs_rebuild() == "new index: it must be built"
    backend.index(list(CORPUS))
    assert backend.needs_rebuild() == "new index: it must be built"
    backend.clear()
    backend.index(list(CORPUS))
    assert backend.needs_rebuild() is None
    with pg_engine.begin() as conn:
        conn.execute(sa.text("UPDATE search_documents SET analyzer = 'pg-german-0.0/de-0/pg9' "
                             "WHERE document_id = 3"))
    reason = backend.needs_rebuild()
    assert reason is not None and "pg-german-0.0" in reason
    backend.clear()
    assert backend.needs_rebuild() is None
    # a backend analysing differently (no decompounding) sees the other rows as stale
    backend.index(list(CORPUS))
    other = backend_factory(decompound=False)
    assert other.needs_rebuild() is not None
    assert backend_factory(extra_words=["Einfamilienhaus"]).needs_rebuild() is not None


def test_table_of_another_layout_is_rebuilt(backend_factory: Callable[..., PostgresSearchBackend],
                                            pg_engine: sa.Engine) -> None:
    with pg_engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE search_documents (document_id bigint PRIMARY KEY)"))
    backend = backend_factory()
    assert "layout" in (backend.needs_rebuild() or "")
    with pytest.raises(SearchError):
        backend.index(list(CORPUS))
    backend.clear()
    assert backend.needs_rebuild() is None
    backend.index(list(CORPUS))
    assert _ids(backend, "Lageplan") == {1}


def test_table_is_created_once_and_shared(backend_factory: Callable[..., PostgresSearchBackend],
                                          pg_engine: sa.Engine) -> None:
    first, second = backend_factory(), backend_factory()
    first.index(list(CORPUS))
    assert _ids(second, "Lageplan") == {1}
    stats = second.stats()
    assert stats["documents"] == len(CORPUS) and int(stats["size_bytes"]) > 0
    with pg_engine.connect() as conn:
        indexes = set(conn.scalars(sa.text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents'")))
    assert {"search_documents_tsv", "search_documents_akte"} <= indexes


def test_custom_table_name_and_bad_names(backend_factory: Callable[..., PostgresSearchBackend],
                                         pg_engine: sa.Engine) -> None:
    backend = backend_factory(table="idx_akten")
    backend.index(list(CORPUS))
    assert backend.stats()["documents"] == len(CORPUS)
    for bad in ('x"; DROP TABLE y; --', "Upper", "a.b.c", ""):
        with pytest.raises(InvalidInput):
            PostgresSearchBackend(pg_engine, table=bad)


def test_url_constructor_owns_its_engine(pg_url: str) -> None:
    backend = PostgresSearchBackend(pg_url.replace("postgresql+psycopg", "postgresql", 1))
    backend.index(list(CORPUS))
    assert _ids(backend, "Lageplan") == {1}
    backend.close()
    backend.close()
    with pytest.raises(SearchError, match="closed"):
        backend.search(SearchQuery("Lageplan"))


def test_non_postgres_is_refused() -> None:
    with pytest.raises(InvalidInput):
        PostgresSearchBackend("sqlite:///:memory:")
    engine = sa.create_engine("sqlite://")
    with pytest.raises(InvalidInput):
        PostgresSearchBackend(engine)
    engine.dispose()


def test_database_errors_become_search_errors(pg_admin_url: str) -> None:
    backend = PostgresSearchBackend(
        pg_admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
        + "?options=-csearch_path%3Dno_such_schema_for_eakte")
    with pytest.raises(SearchError):
        backend.index(list(CORPUS))
    backend.close()


def test_batch_is_atomic(backend: PostgresSearchBackend) -> None:
    backend.index(list(CORPUS))
    bad = make_document(99, text="kaputt", created_at=None)  # type: ignore[arg-type]
    with pytest.raises(SearchError):
        backend.index([make_document(50, text="Zwischenstand"), bad])
    assert _ids(backend, "Zwischenstand") == set()


def test_meta_is_stored_as_json(backend: PostgresSearchBackend, pg_engine: sa.Engine) -> None:
    backend.index([CORPUS[0]])
    with pg_engine.connect() as conn:
        meta = conn.scalar(sa.text("SELECT meta FROM search_documents"))
    assert meta == json.loads(json.dumps(CORPUS[0].metadata))


# -- the GIN index is used ------------------------------------------------------------------


def test_query_over_10k_rows_uses_the_gin_index(backend: PostgresSearchBackend,
                                                pg_engine: sa.Engine) -> None:
    words = ["Bauantrag", "Widerspruch", "Gebühr", "Stellungnahme", "Denkmalschutz",
             "Haushalt", "Sperrung", "Lageplan", "Anhörung", "Bescheid"]
    docs = [make_document(i, akte_id=i % 50,
                          text=f"{words[i % 10]} {words[(i * 7) % 10]} Vorgang {i} "
                               + ("Seltenheit " if i % 1000 == 0 else ""))
            for i in range(1, 10_001)]
    for start in range(0, len(docs), 2000):
        backend.index(docs[start:start + 2000])
    with pg_engine.begin() as conn:
        conn.execute(sa.text("ANALYZE search_documents"))
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "ts_rank_cd" in statement:
            statements.append((statement, parameters))

    sa.event.listen(pg_engine, "before_cursor_execute", capture)
    try:
        assert _ids(backend, "Seltenheit") == set(range(1000, 10_001, 1000))
        assert _ids(backend, "Seltenheit -Gebühr", akte_ids=frozenset({0, 1})) \
            == set(range(1000, 10_001, 1000))
    finally:
        sa.event.remove(pg_engine, "before_cursor_execute", capture)
    assert len(statements) == 2
    with pg_engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        assert driver is not None
        for statement, parameters in statements:
            cursor = driver.cursor()
            cursor.execute("EXPLAIN " + statement, parameters)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Bitmap Index Scan on search_documents_tsv" in plan, plan
            assert "Seq Scan" not in plan, plan


def test_store_on_postgres_searches_with_this_backend(pg_url: str, store_factory, tmp_path,
                                                      make_akte) -> None:
    store = store_factory.init(tmp_path / "store", db_url=pg_url, search="postgres")
    akte = make_akte(store, "Neubau Einfamilienhaus, Lindenstraße 4")
    with store.session() as s:
        pdf = s.file_document(akte, make_pdf("Bauantrag", [
            "Antrag auf Baugenehmigung der Familie Müller. Verwaltungsdigitalisierung."]),
            filename="bauantrag.pdf", kind="incoming").id
        note = s.file_document(akte, b"Aktennotiz: Ortstermin mit Herrn Mueller.",
                               filename="notiz.txt").id
    assert isinstance(store.indexer.backend, PostgresSearchBackend)  # type: ignore[union-attr]
    with store.session() as s:
        assert {h.document_id for h in s.search("muller").hits} == {pdf, note}
        assert {h.document_id for h in s.search("Digitalisierung").hits} == {pdf}
        hit = s.search("Anträge").hits[0]
    assert hit.document_id == pdf and "«Antrag»" in hit.snippet
    assert store.indexer.drift() == []  # type: ignore[union-attr]
    report = store.indexer.reindex(full=True)  # type: ignore[union-attr]
    assert report.full and report.indexed == 2
    assert store.indexer.backend.needs_rebuild() is None  # type: ignore[union-attr]


def test_import_eakte_does_not_import_this_module() -> None:
    code = "import sys, eakte; print('eakte.search.postgres' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_text_beyond_the_tsvector_limit_is_cut_not_refused(backend: PostgresSearchBackend) -> None:
    import random

    rng = random.Random(5)
    letters = "abcdefghijklmnopqrstuvwxyz"
    garbage = " ".join("".join(rng.choices(letters, k=12)) for _ in range(80_000))  # ~1 MB
    compounds = " ".join(f"Verwaltungs{w}gesetz" for w in garbage.split()[:20_000])
    backend.index([make_document(1, title="Anfang " + garbage[:200_000],
                                 text=f"Anfang {garbage} Ende",
                                 metadata={"m": compounds}, filename=garbage[:50_000]),
                   make_document(2, text="Anfang und Ende")])
    assert _ids(backend, "Anfang") == {1, 2}
    assert _ids(backend, "Ende") == {2}  # beyond the budget of document 1


def test_documented_differences_from_whoosh(backend: PostgresSearchBackend) -> None:
    """Pins what the module docstring says this backend matches differently."""
    backend.index([
        make_document(1, text="Die Genehmigungen für den Bauantrag Neubau wurden erteilt."),
        make_document(2, text="Antrag zur Baugenehmigung, Az. 630.10-0001/26"),
        make_document(3, text="Der Antrag auf Baugenehmigung")])
    assert _ids(backend, "der") == set()  # stop word
    assert _ids(backend, '"Antrag auf Baugenehmigung"') == {2, 3}  # stop words are gaps
    assert _ids(backend, "0001") == set()  # PostgreSQL's tokens: '-0001'
    assert _ids(backend, '"Antrag Neubau"') == set()  # compound parts sit after the text
    assert _ids(backend, "Genehm*") == _ids(backend, "Genehmigungen*") == {1, 2, 3}
    assert _ids(backend, "Genehmigu*") == set()
