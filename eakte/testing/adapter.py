"""The contract suite every Fachverfahren adapter (``eakte.adapters`` plugin) must pass.

Subclass :class:`AdapterContract` in a class whose name starts with ``Test`` and provide an
``adapter`` fixture: an adapter instance whose input holds at least one case with at least
one document, ready to be filed into ``adapter_store``::

    from eakte.testing.adapter import AdapterContract

    class TestMyAdapter(AdapterContract):
        entry_point = "myadapter"          # checks the installed entry point too

        @pytest.fixture
        def adapter(self, tmp_path, adapter_store):
            (tmp_path / "in").mkdir()
            ...                              # write sample input
            return MyAdapter(folder=tmp_path / "in", mapping=...)

``adapter_store`` has the Aktenplan of :data:`CONTRACT_PLAN` and a user
:data:`CONTRACT_USER` with the editor role on its top units and, once the adapter runs,
the owner role on the adapter's system (``system:NAME``, for its external ids); the
adapter runs as that user, as it would in production. Map your sample cases to those
units (or create Akten there in your fixture, as the store's administrator).

:func:`run_cli` runs the ``eakte`` command line in the test's process, e.g. to check
``eakte adapter run NAME --help`` or an exit code.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner, Result

import eakte
from eakte import Store
from eakte.adapter import (
    ADAPTERS,
    Adapter,
    Filer,
    FilingResult,
    FilingStatus,
    RunReport,
    check_adapter_class,
    run_once,
)

__all__ = ["CONTRACT_PLAN", "CONTRACT_USER", "AdapterContract", "run_cli"]

#: The Aktenplan of the contract store: (Kennzeichen, title, parent).
CONTRACT_PLAN: tuple[tuple[str, str, str | None], ...] = (
    ("020", "Allgemeine Verwaltung", None),
    ("020.10", "Posteingang", "020"),
    ("630", "Bauordnung", None),
    ("630.10", "Baugenehmigungen", "630"),
    ("630.20", "Bauvoranfragen", "630"),
)
#: The principal the adapter acts as: editor on every top unit of CONTRACT_PLAN.
CONTRACT_USER = "fachverfahren"


def run_cli(*args: str | os.PathLike[str]) -> Result:
    """Run the ``eakte`` command line with ``args`` in this process; return its result.

    ``EAKTE_STORE`` and ``EAKTE_USER`` of the environment are ignored, so the arguments
    say which store and user (``"--store", path, "--user", name, "adapter", "run", …``).
    The result has ``exit_code``, ``stdout``, ``stderr`` and ``output``; exceptions that
    escape the command are in ``exception``, not raised.
    """
    from eakte.cli import cli  # loads click commands only when a test runs the CLI

    runner = CliRunner(env={"EAKTE_STORE": None, "EAKTE_USER": None})
    return runner.invoke(cli, [os.fspath(arg) for arg in args])


def _document_count(store: Store) -> int:
    with store.session() as s:
        return sum(len(s.documents(akte)) for akte in s.list_akten())


def _own_system(store: Store, system: str) -> None:
    """Let CONTRACT_USER use the external ids of ``system`` (as an administrator grants)."""
    with store.session() as s:
        s.grant(CONTRACT_USER, "owner", f"system:{system}")


def _documents(results: list[FilingResult]) -> list[FilingResult]:
    return [r for result in results for r in result.walk() if r.key.document_id is not None]


class AdapterContract:
    """Tests that check an adapter against the :class:`~eakte.adapter.Adapter` contract."""

    #: The entry point name the adapter's distribution registers (None: not checked).
    entry_point: ClassVar[str | None] = None

    @pytest.fixture
    def adapter_store(self, tmp_path: Path) -> Iterator[Store]:
        """A new store with CONTRACT_PLAN and CONTRACT_USER (editor on the top units)."""
        store = eakte.init(tmp_path / "contract-store")
        try:
            with store.session() as s:
                for kennzeichen, title, parent in CONTRACT_PLAN:
                    s.add_plan_unit(kennzeichen, title, parent=parent, retention_years=10,
                                    disposal="B")
                s.add_user(CONTRACT_USER, display_name="Fachverfahren (adapter)")
            with store.session() as s:
                for kennzeichen, _, parent in CONTRACT_PLAN:
                    if parent is None:
                        s.grant(CONTRACT_USER, "editor", kennzeichen)
            yield store
        finally:
            store.close()

    @pytest.fixture
    def adapter(self, adapter_store: Store, tmp_path: Path) -> Adapter:
        """The adapter under test, with sample input ready (provided by the subclass)."""
        raise NotImplementedError("provide an 'adapter' fixture in your test class")

    def _run(self, adapter: Adapter, store: Store, user: str = CONTRACT_USER) -> RunReport:
        if user == CONTRACT_USER:
            _own_system(store, adapter.system)
        return run_once(adapter, store, user=user)

    def test_class_satisfies_the_contract(self, adapter: Adapter) -> None:
        """Load-time validation passes and the instance matches the protocol."""
        check_adapter_class(type(adapter), name=type(adapter).name)
        assert isinstance(adapter, Adapter)
        assert isinstance(adapter.system, str) and adapter.system

    def test_registered_through_its_entry_point(self, adapter: Adapter) -> None:
        """The installed distribution registers this very class under its name."""
        if self.entry_point is None:
            pytest.skip("entry_point is not set on the test class")
        assert type(adapter).name == self.entry_point
        assert ADAPTERS.get(self.entry_point) is type(adapter)
        assert any(info.name == self.entry_point and info.problem is None
                   for info in ADAPTERS.infos())

    def test_first_run_files_the_input(self, adapter: Adapter, adapter_store: Store) -> None:
        """Every case is filed, each with a result, and its documents can be read back."""
        report = self._run(adapter, adapter_store)
        assert isinstance(report, RunReport)
        assert report.results, "the sample input must hold at least one case"
        assert report.ok, [str(r.error) for r in report.failed]
        assert any(r.status == FilingStatus.CREATED for r in report.results)
        documents = _documents(report.results)
        assert documents, "the sample cases must hold at least one document"
        filer = Filer(adapter_store, adapter.system, user=CONTRACT_USER)
        for result in documents:
            assert result.key.system == adapter.system
            assert result.document_id is not None and result.sha256 is not None
            assert filer.get_document(result.key).id == result.document_id
            content = filer.read(result.key)
            assert hashlib.sha256(content).hexdigest() == result.sha256

    def test_second_run_creates_nothing(self, adapter: Adapter, adapter_store: Store) -> None:
        """Running again on the same input is a no-op: no document or version is added."""
        first = self._run(adapter, adapter_store)
        assert first.ok
        count = _document_count(adapter_store)
        second = self._run(adapter, adapter_store)
        assert second.ok, [str(r.error) for r in second.failed]
        assert all(r.status not in (FilingStatus.CREATED, FilingStatus.NEW_VERSION)
                   for result in second.results for r in result.walk())
        assert _document_count(adapter_store) == count

    def test_report_is_json(self, adapter: Adapter, adapter_store: Store) -> None:
        """The run report serialises to JSON (``eakte adapter run … --json``)."""
        report = self._run(adapter, adapter_store)
        data = json.loads(json.dumps(report.as_dict()))
        assert data["adapter"] == type(adapter).name
        assert sum(data["counts"].values()) == len(report.results)

    def test_without_rights_nothing_is_filed(self, adapter: Adapter,
                                             adapter_store: Store) -> None:
        """A principal without the editor role files nothing; the run reports failures."""
        with adapter_store.session() as s:
            s.add_user("ohne-rechte")
            s.grant("ohne-rechte", "owner", f"system:{adapter.system}")
        report = self._run(adapter, adapter_store, user="ohne-rechte")
        assert not report.ok
        assert _document_count(adapter_store) == 0

    def test_without_the_system_nothing_is_filed(self, adapter: Adapter,
                                                 adapter_store: Store) -> None:
        """An editor that does not hold the adapter's system files nothing (AccessDenied)."""
        with adapter_store.session() as s:
            s.add_user("fremdes-verfahren")
            for kennzeichen, _, parent in CONTRACT_PLAN:
                if parent is None:
                    s.grant("fremdes-verfahren", "editor", kennzeichen)
        report = self._run(adapter, adapter_store, user="fremdes-verfahren")
        assert not report.ok
        assert report.failed and all(isinstance(r.error, eakte.AccessDenied)
                                     for r in report.failed)
        assert _document_count(adapter_store) == 0

    def test_store_verifies_after_filing(self, adapter: Adapter, adapter_store: Store) -> None:
        """Filing leaves an intact store: audit chain and every blob verify."""
        self._run(adapter, adapter_store)
        report = adapter_store.verify()
        assert report.ok, report.problems
