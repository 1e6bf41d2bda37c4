"""Invalid Unicode and control characters in titles, comments, reasons and metadata.

Rule: one-line texts (titles, reasons, ids) refuse control characters other than tab
(C0, DEL, C1) and unpaired surrogates; comments may span lines; metadata must be JSON
(text keys without control characters, text values without NUL or surrogates, no NaN,
no sets or objects, at most 32 levels, at most 64 KiB). All refusals are ``InvalidInput``,
raised before any content is written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from store_state import StoreState, assert_unchanged

from eakte.errors import InvalidInput

BAD_TEXT = {
    "lone-surrogate": "Bescheid \ud800",
    "low-surrogate": "\udcff Bescheid",
    "nul": "Be\x00scheid",
    "newline": "Bescheid\nzweite Zeile",
    "escape": "Bescheid \x1b[31mrot",
    "del": "Be\x7fscheid",
    "c1": "Be\x85scheid",  # at the ends, NEL is whitespace and stripped like a space
    "bell": "\x07Bescheid",
}
SESSION_CALLS: dict[str, Callable] = {
    "document-title": lambda s, f, bad: s.file_document(s.get_akte(f.akte.id), b"x",
                                                        filename="x.txt", title=bad),
    "document-retitle": lambda s, f, bad: s.update_document(s.get_document(f.document.id),
                                                            title=bad),
    "akte-title": lambda s, f, bad: s.create_akte("630.10", bad),
    "akte-retitle": lambda s, f, bad: s.update_akte(s.get_akte(f.akte.id), title=bad),
    "vorgang-title": lambda s, f, bad: s.create_vorgang(s.get_akte(f.akte.id), bad),
    "plan-title": lambda s, f, bad: s.add_plan_unit("999", bad),
    "external-id": lambda s, f, bad: s.create_akte("630.10", "Akte",
                                                   external_ids=[("bauportal", bad)]),
    "hold-reason": lambda s, f, bad: s.set_hold(s.get_akte(f.akte.id), reason=bad),
    "rendition-kind": lambda s, f, bad: s.add_rendition(
        s.get_version(s.get_document(f.document.id)), b"y", kind=bad, filename="y.txt"),
}


def _refused(filled, call: Callable, *args) -> None:
    before = StoreState.of(filled.store)
    with pytest.raises(InvalidInput) as info, filled.store.session() as s:
        call(s, filled, *args)
    assert type(info.value) is InvalidInput
    assert_unchanged(filled.store, before)


@pytest.mark.parametrize("text", ["lone-surrogate", "nul"])
@pytest.mark.parametrize("call", sorted(SESSION_CALLS))
def test_bad_one_line_text_is_refused_everywhere(filled, call: str, text: str) -> None:
    _refused(filled, SESSION_CALLS[call], BAD_TEXT[text])


@pytest.mark.parametrize("text", sorted(BAD_TEXT))
def test_every_kind_of_bad_text_is_refused(sqlite_filled, text: str) -> None:
    _refused(sqlite_filled, SESSION_CALLS["document-title"], BAD_TEXT[text])
    _refused(sqlite_filled, SESSION_CALLS["akte-retitle"], BAD_TEXT[text])


@pytest.mark.parametrize("text", ["lone-surrogate", "nul", "escape", "c1"])
@pytest.mark.parametrize("where", ["file", "version"])
def test_bad_comments_are_refused_before_content_is_written(filled, text: str,
                                                            where: str) -> None:
    def call(s, f, bad):
        if where == "file":
            s.file_document(s.get_akte(f.akte.id), b"neu", filename="neu.txt", comment=bad)
        else:
            s.add_version(s.get_document(f.document.id), b"neu", comment=bad)

    _refused(filled, call, BAD_TEXT[text])


def test_multi_line_comments_and_tabs_in_titles_are_fine(filled) -> None:
    with filled.store.session() as s:
        version = s.add_version(s.get_document(filled.document.id), b"v2",
                                comment="Zeile 1\r\nZeile 2\tmit Tab")
        doc = s.update_document(s.get_document(filled.document.id), title="Titel\tmit Tab")
    assert version.comment == "Zeile 1\r\nZeile 2\tmit Tab"
    assert doc.title == "Titel\tmit Tab"


class _Obj:
    pass


def _deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"n": value}
    return value


def _cycle() -> dict:
    value: dict = {}
    value["self"] = value
    return value


BAD_META = {
    "set": {"k": {1, 2}},
    "object": {"k": _Obj()},
    "date": {"k": date(2026, 1, 1)},
    "bytes": {"k": b"x"},
    "nan": {"k": float("nan")},
    "inf": {"k": [1.0, float("inf")]},
    "int-key": {"k": {1: "x"}},
    "tuple-key": {("a", "b"): 1},
    "control-key": {"a\nb": 1},
    "nul-key": {"a\x00": 1},
    "surrogate-key": {"\ud800": 1},
    "surrogate-value": {"k": ["ok", "\udc80"]},
    "nul-value": {"k": "a\x00b"},
    "too-deep": _deep(40),
    "cycle": _cycle(),
    "too-big": {"k": "x" * (64 * 1024 + 1)},
    "too-many": {f"k{i}": i for i in range(20_000)},
    "huge-int": {"k": 10**5000},
    "not-a-mapping": [("k", "v")],
}
META_CALLS: dict[str, Callable] = {
    "file": lambda s, f, m: s.file_document(s.get_akte(f.akte.id), b"x", filename="x.txt",
                                            metadata=m),
    "update-document": lambda s, f, m: s.update_document(s.get_document(f.document.id),
                                                         metadata=m),
    "create-akte": lambda s, f, m: s.create_akte("630.10", "Akte", metadata=m),
    "update-akte": lambda s, f, m: s.update_akte(s.get_akte(f.akte.id), metadata=m),
    "vorgang": lambda s, f, m: s.create_vorgang(s.get_akte(f.akte.id), "V", metadata=m),
}


@pytest.mark.parametrize("meta", ["nul-value", "surrogate-value", "too-big", "nan"])
@pytest.mark.parametrize("call", sorted(META_CALLS))
def test_bad_metadata_is_refused_everywhere(filled, call: str, meta: str) -> None:
    _refused(filled, META_CALLS[call], BAD_META[meta])


@pytest.mark.parametrize("meta", sorted(BAD_META))
def test_every_kind_of_bad_metadata_is_refused(sqlite_filled, meta: str) -> None:
    _refused(sqlite_filled, META_CALLS["file"], BAD_META[meta])


def test_good_metadata_round_trips_as_json(filled) -> None:
    meta = {"flurstück": "12/3", "ß": True, "n": 1, "x": 1.5, "none": None,
            "liste": ("a", 1), "tief": _deep(30), "mehrzeilig": "a\nb\tc", "": "leer"}
    with filled.store.session() as s:
        doc = s.file_document(s.get_akte(filled.akte.id), b"x", filename="x.txt",
                              metadata=meta)
    with filled.store.session() as s:
        stored = s.get_document(doc.id).meta
    assert stored == {**meta, "liste": ["a", 1]}
