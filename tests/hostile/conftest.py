"""Fixtures for the hostile-input suite: a store with one open Akte and a filed document."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import eakte
from eakte.store import Store


@dataclass
class Filled:
    """A store, its open Akte and one document filed before the hostile operation."""

    store: Store
    akte: eakte.Akte
    document: eakte.Document


@pytest.fixture
def filled(store_factory, make_akte, db_url) -> Filled:
    """A store (SQLite and PostgreSQL) whose Akte already holds a document."""
    store = store_factory.init(db_url=db_url)
    akte = make_akte(store)
    with store.session() as s:
        document = s.file_document(akte, "Bauantrag der Familie Müller".encode(),
                                   filename="bauantrag.txt", metadata={"eingang": "Post"})
    return Filled(store, akte, document)


@pytest.fixture
def sqlite_filled(store_factory, make_akte) -> Filled:
    """As ``filled``, SQLite only (for cases the database cannot influence)."""
    store = store_factory.init()
    akte = make_akte(store)
    with store.session() as s:
        document = s.file_document(akte, "Bauantrag der Familie Müller".encode(),
                                   filename="bauantrag.txt")
    return Filled(store, akte, document)
