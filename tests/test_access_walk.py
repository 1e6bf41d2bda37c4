"""Access is enforced on every public Session method, found by walking the class, not a list.

Every public attribute of :class:`eakte.Session` must be classified in :data:`TABLE`:

- ``READ``: reads records of an Akte. A principal without any right on that Akte gets
  NotFoundError (hidden) or AccessDenied, and an ``access.denied`` event is recorded; a
  reader grant makes the very same call succeed (so a wrong call cannot hide in the table).
- ``FILTERED``: a store-wide read that shows only what the principal may read: without a
  right the Akte is not in the result, with a reader grant it is. (A READ method may have
  such calls too: ``search`` without an Akte.)
- ``WRITE``: changes an Akte or what hangs below it (or grants on it). Refused, with an
  ``access.denied`` event, to a principal without rights and to a reader; nothing changes.
- ``ADMIN``: needs a store-wide role (administrator, auditor). Refused, with an
  ``access.denied`` event, to both principals; reads of this kind succeed for the
  administrator.
- ``NONE``: concerns no record: the session's own state and transaction, the Aktenplan
  (readable by all), follower cursors, and the unit-of-work building blocks that the
  operations above use after their own checks.

The world is built once per database (SQLite, and PostgreSQL when reachable); every check
leaves it unchanged. The principals: ``gast`` holds no right on any Akte, ``leser`` is
reader on both Akten of the world; both own the system ``bauportal`` (so ``find_akte`` is
refused for the Akte, not for the system).

A new public method fails :func:`test_every_public_attribute_is_classified` until it is
added here with how to call it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import eakte
from eakte.audit.events import Action
from eakte.errors import AccessDenied, NotFoundError
from tests.conftest import PG_ADMIN_URL, pg_schema_url, require_postgres


class Kind(enum.Enum):
    READ = "read on an Akte"
    FILTERED = "store-wide read, filtered by access"
    WRITE = "write on an Akte"
    ADMIN = "store-wide administration"
    NONE = "no object"


@dataclass
class World:
    """The records the calls work on (detached ORM objects and ids)."""

    akte: eakte.Akte  # open, with a hold, an external id, Vorgänge and a document
    closed: eakte.Akte  # closed (z.d.A.) long enough ago to be due in the year 2200
    vorgang: eakte.Vorgang
    closed_vorgang: eakte.Vorgang
    document: eakte.Document  # two versions; the second has a "pdf" rendition
    version: eakte.Version  # the second version
    source: Path  # a file to file


Call = Callable[[eakte.Session, World], object]
Sees = Callable[[Any, World], bool]  # the result of the entry's call


@dataclass(frozen=True)
class Entry:
    """How one Session attribute is checked: its kind and the calls that exercise it."""

    kind: Kind
    calls: tuple[Call, ...] = ()
    #: Store-wide calls and whether their result shows the world's Akte (the open or the
    #: closed one): FILTERED entries have only these, READ entries may have them too.
    filtered: tuple[tuple[Call, Sees], ...] = ()


def _read(*calls: Call, filtered: tuple[tuple[Call, Sees], ...] = ()) -> Entry:
    return Entry(Kind.READ, calls, filtered)


def _write(*calls: Call) -> Entry:
    return Entry(Kind.WRITE, calls)


def _admin(*calls: Call) -> Entry:
    return Entry(Kind.ADMIN, calls)


def _filtered(call: Call, sees: Sees) -> Entry:
    return Entry(Kind.FILTERED, filtered=((call, sees),))


NONE = Entry(Kind.NONE)

TABLE: dict[str, Entry] = {
    # -- reads of one Akte and what hangs below it -----------------------------------------
    "get_akte": _read(lambda s, w: s.get_akte(w.akte.aktenzeichen),
                      lambda s, w: s.get_akte(w.akte.id)),
    "get_document": _read(lambda s, w: s.get_document(w.document.id)),
    "get_vorgang": _read(lambda s, w: s.get_vorgang(w.vorgang.id)),
    "get_version": _read(lambda s, w: s.get_version(w.document),
                         lambda s, w: s.get_version(w.document, 1)),
    "versions": _read(lambda s, w: s.versions(w.document)),
    "renditions": _read(lambda s, w: s.renditions(w.version)),
    "documents": _read(lambda s, w: s.documents(w.akte)),
    "vorgaenge": _read(lambda s, w: s.vorgaenge(w.akte)),
    "latest_versions": _read(lambda s, w: s.latest_versions(w.akte)),
    "external_ids": _read(lambda s, w: s.external_ids(w.akte)),
    "holds": _read(lambda s, w: s.holds(w.akte)),
    "read_content": _read(lambda s, w: s.read_content(w.document),
                          lambda s, w: s.read_content(w.document, version=1),
                          lambda s, w: s.read_content(w.document, rendition="pdf")),
    "open_content": _read(lambda s, w: s.open_content(w.document).read(),
                          lambda s, w: s.open_content(w.document, version=1).read()),
    "find_akte": _read(lambda s, w: s.find_akte("bauportal", "BA-2026-1")),
    "find_vorgang": _read(lambda s, w: s.find_vorgang(w.akte, "Antrag")),
    "disposal_status": _read(lambda s, w: s.disposal_status(w.closed),
                             lambda s, w: s.disposal_status(w.closed, as_of=date(2200, 1, 1))),
    "retention_until": _read(lambda s, w: s.retention_until(w.closed)),
    "retention_years": _read(lambda s, w: s.retention_years(w.akte)),
    "search": _read(lambda s, w: s.search("Bauantrag", akte=w.akte.aktenzeichen),
                    lambda s, w: s.search("Bauantrag", akte=w.akte.id),
                    filtered=((lambda s, w: s.search("Lindenstrasse").hits,
                               lambda hits, w: any(h.akte_id == w.akte.id for h in hits)),)),
    # -- store-wide reads that show only what may be read ---------------------------------
    "list_akten": _filtered(lambda s, w: s.list_akten(),
                            lambda found, w: w.akte.id in {a.id for a in found}),
    "changes": _filtered(lambda s, w: s.changes().events,
                         lambda events, w: any(e.akte_id == w.akte.id
                                               for e in events)),
    "disposal_due": _filtered(lambda s, w: s.disposal_due(date(2200, 1, 1)),
                              lambda due, w: w.closed.id in {d.id for d in due}),
    # -- writes on an Akte -----------------------------------------------------------------
    "add_rendition": _write(lambda s, w: s.add_rendition(w.version, b"ocr", kind="ocr",
                                                         filename="ocr.txt")),
    "add_version": _write(lambda s, w: s.add_version(w.document, b"dritte Fassung")),
    "file_document": _write(lambda s, w: s.file_document(w.akte, b"neu", filename="neu.txt")),
    "file_documents": _write(lambda s, w: s.file_documents(w.akte, [w.source])),
    "update_akte": _write(lambda s, w: s.update_akte(w.akte, title="Umbenannt")),
    "update_document": _write(lambda s, w: s.update_document(w.document, title="Umbenannt")),
    "create_vorgang": _write(lambda s, w: s.create_vorgang(w.akte, "Nachforderung")),
    "close_vorgang": _write(lambda s, w: s.close_vorgang(w.vorgang)),
    "reopen_vorgang": _write(lambda s, w: s.reopen_vorgang(w.closed_vorgang)),
    "close_akte": _write(lambda s, w: s.close_akte(w.akte)),
    "reopen_akte": _write(lambda s, w: s.reopen_akte(w.closed)),
    "set_hold": _write(lambda s, w: s.set_hold(w.akte, "Klage")),
    "release_hold": _write(lambda s, w: s.release_hold(w.akte, "erledigt")),
    "set_retention": _write(lambda s, w: s.set_retention(w.akte, 5)),
    "create_akte": _write(lambda s, w: s.create_akte("630", "Darf nicht")),
    "grant": _write(lambda s, w: s.grant("gast", "reader", w.akte.aktenzeichen)),
    "revoke": _write(lambda s, w: s.revoke("leser", "reader", w.akte.aktenzeichen)),
    "appraise_by_default": _write(lambda s, w: s.appraise_by_default(w.closed)),
    "record_appraisal": _write(lambda s, w: s.record_appraisal(w.closed, "A")),
    "mark_offered": _write(lambda s, w: s.mark_offered([w.closed], "MSG-1")),
    "mark_exported": _write(lambda s, w: s.mark_exported([w.closed], "MSG-1")),
    "confirm_transfer": _write(lambda s, w: s.confirm_transfer(w.closed, "ARCH-1")),
    "destroy": _write(lambda s, w: s.destroy(w.closed)),
    # -- store-wide administration ---------------------------------------------------------
    "audit_events": _admin(lambda s, w: list(s.audit_events()),
                           lambda s, w: list(s.audit_events(object_type="akte",
                                                            object_id=str(w.akte.id)))),
    "audit_count": _admin(lambda s, w: s.audit_count()),
    "principals": _admin(lambda s, w: s.principals()),
    "grants": _admin(lambda s, w: s.grants(), lambda s, w: s.grants("leser")),
    "add_user": _admin(lambda s, w: s.add_user("neu")),
    "add_group": _admin(lambda s, w: s.add_group("Neue Gruppe")),
    "add_member": _admin(lambda s, w: s.add_member("leser", "Sachgebiet")),
    "add_plan_unit": _admin(lambda s, w: s.add_plan_unit("631", "Neu")),
    "set_clearance": _admin(lambda s, w: s.set_clearance("gast", "vs-nfd")),
    # -- no object: the Aktenplan is public ------------------------------------------------
    "plan_units": NONE,
    "get_plan_unit": NONE,
    # -- no object: the session itself ------------------------------------------------------
    "user": NONE,
    "principal": NONE,
    "access": NONE,
    "permissions": NONE,  # what the principal may do: answers, never refuses
    "commit": NONE,
    "rollback": NONE,
    "close": NONE,
    "flush": NONE,
    "index_progress": NONE,
    "require_system": NONE,
    "require_store_job": NONE,
    # -- no object: a follower's own cursor (the events it returns are filtered) ----------
    "feed_position": NONE,
    "save_feed_position": NONE,
    # -- no object: unit-of-work building blocks, used after the operation's own check ----
    "unit_of_work": NONE,
    "orm": NONE,
    "store": NONE,
    "now": NONE,
    "record": NONE,
    "reindex": NONE,
    "reused_blob": NONE,
    "on_commit": NONE,
    "savepoint": NONE,
    "accept_content": NONE,
    "own": NONE,
    "change": NONE,
    "begin_write": NONE,
    "require": NONE,
    "require_store": NONE,
    "require_open": NONE,
    "require_content": NONE,
    "lock_akte": NONE,
    "is_disposed": NONE,
    "add_external_ref": NONE,  # requires the system; the operations that use it check the Akte
}


def _public_attributes(session: eakte.Session) -> set[str]:
    """Every public attribute of the Session class and of an instance (set in __init__)."""
    return {name for name in {*dir(type(session)), *dir(session)} if not name.startswith("_")}


def _cases(*kinds: Kind, names: set[str] | None = None) -> list[object]:
    return [pytest.param(name, call, id=f"{name}-{index}")
            for name, entry in TABLE.items()
            if entry.kind in kinds and (names is None or name in names)
            for index, call in enumerate(entry.calls)]


def _filtered_cases() -> list[object]:
    return [pytest.param(name, call, sees, id=f"{name}-{index}")
            for name, entry in TABLE.items()
            for index, (call, sees) in enumerate(entry.filtered)]


# -- the world: built once for the module (every check below leaves it unchanged) ----------


def _pg_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The world's database: the store folder's SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield None
        return
    require_postgres()
    schema = f"t_{uuid.uuid4().hex}"
    _pg_execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_schema_url(schema)
    finally:
        _pg_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module")
def world_store(database: str | None, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[tuple[eakte.Store, World]]:
    folder = tmp_path_factory.mktemp("access-walk")
    store = eakte.init(folder / "store", blobs=eakte.MemoryBlobStore(), db_url=database)
    try:
        source = folder / "anlage.txt"
        source.write_bytes(b"Anlage zum Bauantrag")
        with store.session() as s:
            s.add_plan_unit("630", "Baugenehmigungen", retention_years=10, disposal="A")
            akte = s.create_akte("630", "Neubau Lindenstraße 4",
                                 external_ids=[("bauportal", "BA-2026-1")])
            vorgang = s.create_vorgang(akte, "Antrag")
            closed_vorgang = s.create_vorgang(akte, "Vorprüfung")
            s.close_vorgang(closed_vorgang)
            document = s.file_document(akte, b"Bauantrag Lindenstrasse", filename="a.txt",
                                       vorgang=vorgang, title="Bauantrag")
            version = s.add_version(document, b"Bauantrag Lindenstrasse, ergaenzt")
            s.add_rendition(version, b"%PDF-1.4 Bauantrag", kind="pdf", filename="a.pdf")
            s.set_hold(akte, "Widerspruch")
            closed = s.create_akte("630", "Garage Mühlweg")
            s.file_document(closed, b"Bauantrag Garage", filename="g.txt")
            s.close_akte(closed)
            s.add_user("gast")  # no right on anything
            s.add_user("leser")  # reader on both Akten
            s.add_group("Sachgebiet")
            for name in ("gast", "leser"):  # so find_akte is refused for the Akte, not the system
                s.grant(name, "owner", "system:bauportal")
            s.grant("leser", "reader", akte.aktenzeichen)
            s.grant("leser", "reader", closed.aktenzeichen)
        yield store, World(akte, closed, vorgang, closed_vorgang, document, version, source)
    finally:
        store.close()


@pytest.fixture
def store(world_store: tuple[eakte.Store, World]) -> eakte.Store:
    return world_store[0]


@pytest.fixture
def world(world_store: tuple[eakte.Store, World]) -> World:
    return world_store[1]


def _events(store: eakte.Store) -> list[tuple[str, str]]:
    with store.session() as s:
        return [(e.action, e.actor) for e in s.audit_events()]


def _refused(store: eakte.Store, world: World, user: str, call: Call,
             errors: tuple[type[Exception], ...]) -> None:
    """``call`` as ``user`` raises one of ``errors``, records a denial and nothing else."""
    before = _events(store)
    with pytest.raises(errors), store.session(user) as s:
        call(s, world)
    new = _events(store)[len(before):]
    assert (Action.ACCESS_DENIED, user) in new, f"no {Action.ACCESS_DENIED} event for {user}"
    assert {action for action, _ in new} == {Action.ACCESS_DENIED}, new


# -- the walk --------------------------------------------------------------------------------


def test_every_public_attribute_is_classified(store: eakte.Store) -> None:
    with store.session() as s:
        public = _public_attributes(s)
    missing = sorted(public - set(TABLE))
    assert not missing, (
        f"Session has public attributes without an access classification: {missing}; add "
        "each to TABLE in tests/test_access_walk.py as READ/FILTERED/WRITE/ADMIN (with how "
        "to call it on the test world) or NONE (concerns no record)")


def test_table_entries_are_usable(store: eakte.Store) -> None:
    with store.session() as s:
        public = _public_attributes(s)
    for name, entry in TABLE.items():
        if entry.kind is Kind.NONE:
            assert not entry.calls, name
            continue  # building blocks may leave the Session; they concern no record
        assert name in public, f"Session.{name} is gone: remove it from TABLE"
        assert entry.calls or entry.filtered, (
            f"TABLE[{name!r}] says how to call it: give at least one call")
        assert bool(entry.calls) == (entry.kind is not Kind.FILTERED), name
        assert not entry.filtered or entry.kind in (Kind.READ, Kind.FILTERED), name


@pytest.mark.parametrize(("name", "call"), _cases(Kind.READ))
def test_reads_are_hidden_without_a_right(store: eakte.Store, world: World, name: str,
                                          call: Call) -> None:
    _refused(store, world, "gast", call, (NotFoundError, AccessDenied))


@pytest.mark.parametrize(("name", "call"), _cases(Kind.READ))
def test_reads_succeed_with_a_reader_grant(store: eakte.Store, world: World, name: str,
                                           call: Call) -> None:
    before = _events(store)
    with store.session("leser") as s:
        result = call(s, world)
    if isinstance(result, list | dict | bytes):
        assert result, f"{name} returned nothing: the table's call misses the world's records"
    new = _events(store)[len(before):]
    assert (Action.ACCESS_DENIED, "leser") not in new


@pytest.mark.parametrize(("name", "call", "sees"), _filtered_cases())
def test_store_wide_reads_show_only_readable_akten(store: eakte.Store, world: World,
                                                   name: str, call: Call, sees: Sees) -> None:
    with store.session("gast") as s:
        assert not sees(call(s, world), world), f"{name} shows an Akte 'gast' may not read"
    with store.session("leser") as s:
        assert sees(call(s, world), world), f"{name} hides an Akte 'leser' may read"


@pytest.mark.parametrize(("name", "call"), _cases(Kind.WRITE))
@pytest.mark.parametrize("user", ["gast", "leser"])
def test_writes_are_refused_without_the_right(store: eakte.Store, world: World, user: str,
                                              name: str, call: Call) -> None:
    errors = (NotFoundError, AccessDenied) if user == "gast" else (AccessDenied,)
    _refused(store, world, user, call, errors)


@pytest.mark.parametrize(("name", "call"), _cases(Kind.ADMIN))
@pytest.mark.parametrize("user", ["gast", "leser"])
def test_administration_is_refused_without_a_store_role(store: eakte.Store, world: World,
                                                        user: str, name: str,
                                                        call: Call) -> None:
    _refused(store, world, user, call, (AccessDenied,))


@pytest.mark.parametrize(("name", "call"), _cases(
    Kind.ADMIN, names={"audit_events", "audit_count", "principals", "grants"}))
def test_administrative_reads_succeed_for_the_administrator(store: eakte.Store, world: World,
                                                            name: str, call: Call) -> None:
    with store.session() as s:
        assert call(s, world)
