"""Invalid Kennzeichen, Aktenzeichen, ids and Aktenzeichen patterns.

Creating with a malformed Kennzeichen is ``InvalidInput``; looking anything up by a key that
cannot exist (traversal, SQL, NUL, surrogates, huge numbers, bools) is ``NotFoundError``,
never a database driver's exception.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from store_state import StoreState, assert_unchanged

import eakte
from eakte.errors import InvalidInput, NotFoundError

BAD_KENNZEICHEN = ["", " ", "6 3", "6..3", ".6", "6.", "../6", "6/3", "6-3", "6\x00",
                   "\ud800", "6\n3", "630;DROP TABLE akten", "9" * 21, ".".join("1" * 11),
                   "6" * 10_000, "Ä6", 630, None, 6.3]
BAD_KEYS = ["../../etc/passwd", "' OR '1'='1", "630.10-0001/2026'; --", "\x00", "a\x00b",
            "\ud800", "%", "*", "x" * 100_000, 10**30, -(10**30), True, 1.5, None, b"630"]


@pytest.mark.parametrize("kennzeichen", BAD_KENNZEICHEN, ids=repr)
def test_malformed_kennzeichen_are_refused(filled, kennzeichen) -> None:
    before = StoreState.of(filled.store)
    creates = [lambda s: s.add_plan_unit(kennzeichen, "Titel"),
               lambda s: s.create_akte(kennzeichen, "Titel")]
    if kennzeichen:  # an empty parent means a top-level unit
        creates.append(lambda s: s.add_plan_unit("77", "Titel", parent=kennzeichen))
    for create in creates:
        with pytest.raises((InvalidInput, NotFoundError)) as info, \
                filled.store.session() as s:
            create(s)
        assert type(info.value) in (InvalidInput, NotFoundError)
    assert_unchanged(filled.store, before)


def test_a_well_formed_unknown_kennzeichen_is_not_found(filled) -> None:
    before = StoreState.of(filled.store)
    with pytest.raises(NotFoundError) as info, filled.store.session() as s:
        s.create_akte("999.99", "Titel")
    assert type(info.value) is NotFoundError and info.value.kind == "Aktenplan unit"
    assert_unchanged(filled.store, before)


@pytest.mark.parametrize("key", BAD_KEYS, ids=lambda k: repr(k)[:20])
def test_hostile_lookup_keys_are_not_found(filled, key) -> None:
    before = StoreState.of(filled.store)
    lookups = {
        "get_akte": lambda s: s.get_akte(key),
        "get_document": lambda s: s.get_document(key),
        "get_vorgang": lambda s: s.get_vorgang(key),
        "get_plan_unit": lambda s: s.get_plan_unit(key),
        "find_akte": lambda s: s.find_akte("bauportal", key),
        "search_in_akte": lambda s: s.search("Bauantrag", akte=key),
    }
    for name, lookup in lookups.items():
        if name in ("get_plan_unit", "find_akte") and not isinstance(key, str):
            continue  # text-only keys; other types are a programmer's error
        if name == "search_in_akte" and key is None:
            continue  # no Akte: search everything
        with filled.store.session() as s:
            with pytest.raises(NotFoundError) as info:
                lookup(s)
            assert type(info.value) is NotFoundError, name
    assert_unchanged(filled.store, before)


@pytest.mark.parametrize("pattern", [
    "{kennzeichen}", "{number}", "{kennzeichen.__class__}-{number}", "{kennzeichen}-{0}",
    "{kennzeichen}-{number:100000d}", "{kennzeichen}-{number!r:>300}", "{kennzeichen}{number}",
    "{kennzeichen}-{number}{", "{kennzeichen}\n{number}",
], ids=repr)
def test_hostile_aktenzeichen_patterns_are_refused_at_init(tmp_path: Path, pattern: str) -> None:
    with pytest.raises(InvalidInput) as info:
        eakte.init(tmp_path / "s", aktenzeichen_pattern=pattern)
    assert type(info.value) is InvalidInput
    assert not (tmp_path / "s" / "eakte-store.json").exists()


def test_an_org_unit_cannot_smuggle_anything_into_the_aktenzeichen(store_factory,
                                                                   make_akte) -> None:
    store = store_factory.init(aktenzeichen_pattern="{org_unit}/{kennzeichen}-{number}")
    make_akte(store, org_unit="Bauamt")
    before = StoreState.of(store)
    for org_unit in ("a\nb", "x" * 300, "\ud800"):
        with pytest.raises(InvalidInput) as info, store.session() as s:
            s.create_akte("630.10", "Titel", org_unit=org_unit)
        assert type(info.value) is InvalidInput
    assert_unchanged(store, before)


def test_the_cli_answers_hostile_aktenzeichen_with_not_found(filled) -> None:
    from eakte.cli import cli

    folder = str(filled.store.location)
    filled.store.close()
    for key in ("../../etc/passwd", "' OR 1=1 --", "99999999999999999999999999"):
        result = CliRunner().invoke(cli, ["--store", folder, "show", key])
        assert result.exit_code == NotFoundError.exit_code, (key, result.output)
