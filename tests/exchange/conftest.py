"""Fixtures for the xdomea tests: the XSD folder switch and stores with a due-at-once Aktenplan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from xdomea_helpers import HAVE_XSD, PLAN, XDOMEA, Clock, own_0503, require_xdomea

import eakte
from eakte.store import Store


@pytest.fixture
def xdomea_dir() -> Path:
    """The shared xdomea folder (skips when it is absent)."""
    return require_xdomea()


@pytest.fixture
def schemas(monkeypatch: pytest.MonkeyPatch, xdomea_dir: Path) -> Path:
    """Switch XSD validation on for every message eakte writes or reads."""
    monkeypatch.setenv("EAKTE_XDOMEA_SCHEMAS", str(xdomea_dir))
    return xdomea_dir


@pytest.fixture
def xsd(monkeypatch: pytest.MonkeyPatch) -> bool:
    """Validate against the official XSDs if they are there; return whether they are.

    For tests of eakte's own messages: they run in any clone, with eakte's structural
    checks only when the XSDs are absent (``schema_validated`` is then False).
    """
    if HAVE_XSD:
        monkeypatch.setenv("EAKTE_XDOMEA_SCHEMAS", str(XDOMEA))
    else:
        monkeypatch.delenv("EAKTE_XDOMEA_SCHEMAS", raising=False)
    return HAVE_XSD


@pytest.fixture
def own_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid 0503 container written by eakte's own exporter (see ``own_0503``)."""
    return own_0503(tmp_path_factory.mktemp("own"))


@pytest.fixture
def no_schemas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch XSD validation off (only eakte's structural checks run)."""
    monkeypatch.delenv("EAKTE_XDOMEA_SCHEMAS", raising=False)


@pytest.fixture
def make_store(tmp_path: Path, db_url: str | None, request: pytest.FixtureRequest
               ) -> Callable[..., Store]:
    """Return ``make_store(name)``: a store with PLAN (retention 0 = due once closed).

    Parametrized over SQLite and PostgreSQL through ``db_url``; every further PostgreSQL
    store gets a schema of its own.
    """
    opened: list[Store] = []

    def make(name: str = "a", *, clock: Clock | None = None, plan: bool = True) -> Store:
        url = db_url
        if db_url is not None and opened:
            url = request.getfixturevalue("pg_url_factory")()
        store = eakte.init(tmp_path / name, db_url=url, clock=clock or Clock(), search="none")
        opened.append(store)
        if plan:
            with store.session() as s:
                for kz, title, parent, years, disposal in PLAN:
                    s.add_plan_unit(kz, title, parent=parent, retention_years=years,
                                    disposal=disposal)
        return store

    return make
