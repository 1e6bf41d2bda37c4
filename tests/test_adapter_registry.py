"""Adapter plugins: entry-point loading, validation with precise errors, listing, runner."""

from __future__ import annotations

import json
import sys
import types
from importlib.metadata import EntryPoint

import pytest
from click.testing import CliRunner

import eakte
import eakte._registry
import eakte.cli.adapters
from eakte.adapter import (
    ADAPTERS,
    Adapter,
    AdapterParam,
    AdapterRegistry,
    RunReport,
    check_adapter_class,
    run_once,
    watch,
)
from eakte.cli import cli
from eakte.filing import Filer


class Good:
    """A minimal adapter."""

    name = "good"
    api_version = 1
    summary = "Files nothing"
    params = (AdapterParam("folder", "Where to look.", type="path"),)

    def __init__(self, folder=None) -> None:
        self.system = "good"
        self.folder = folder

    def run_once(self, filer: Filer) -> RunReport:
        return RunReport(self.name, notes=[f"looked at {self.folder}"])


class Future(Good):
    name = "future"
    api_version = 99


class NoRun:
    name = "norun"
    api_version = 1
    summary = "x"
    params = ()


class Clashing(Good):
    name = "clashing"
    params = (AdapterParam("watch", "Reserved."), AdapterParam("x", ""),
              AdapterParam("x", "Twice.", type="blob"))  # type: ignore[arg-type]


class Dist:
    def __init__(self, name: str, version: str = "1.0") -> None:
        self.name, self.version = name, version


def _ep(name: str, value: str, dist: str | None = "eakte-fake") -> EntryPoint:
    ep = EntryPoint(name, value, "eakte.adapters")
    return ep._for(Dist(dist)) if dist else ep  # type: ignore[attr-defined]


@pytest.fixture
def fake_eps(monkeypatch):
    module = types.ModuleType("fake_adapters")
    for cls in (Good, Future, NoRun, Clashing):
        setattr(module, cls.__name__, cls)
    module.not_a_class = object()
    monkeypatch.setitem(sys.modules, "fake_adapters", module)
    eps: list[EntryPoint] = []
    monkeypatch.setattr(eakte._registry, "entry_points",
                        lambda group: [e for e in eps if e.group == group])
    return eps


def test_valid_adapter_loads(fake_eps) -> None:
    fake_eps.append(_ep("good", "fake_adapters:Good"))
    registry = AdapterRegistry()
    assert registry.get("good") is Good
    [info] = registry.infos()
    assert (info.name, info.distribution, info.version, info.api_version, info.problem) == (
        "good", "eakte-fake", "1.0", 1, None)
    assert isinstance(Good(), Adapter)


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("broken", "no_such_module_xyz:Thing", "cannot be imported: ModuleNotFoundError"),
    ("missing", "fake_adapters:Nope", "has no attribute 'Nope'"),
    ("notaclass", "fake_adapters:not_a_class", "not a class"),
    ("future", "fake_adapters:Future", "'api_version' 99 is not supported"),
    ("norun", "fake_adapters:NoRun", "missing method 'run_once"),
    ("other", "fake_adapters:Good", "'name' is 'good' but the entry point is named 'other'"),
    ("clashing", "fake_adapters:Clashing", "'watch' is reserved"),
])
def test_broken_adapters_raise_precise_errors(fake_eps, name, value, expected) -> None:
    fake_eps.append(_ep(name, value))
    registry = AdapterRegistry()
    with pytest.raises(eakte.AdapterContractError) as info:
        registry.get(name)
    exc = info.value
    assert expected in str(exc)
    assert "eakte-fake 1.0" in str(exc) and f"eakte.adapters: {name} = {value}" in str(exc)
    assert exc.distribution == "eakte-fake" and exc.entry_point.endswith(value)
    assert exc.exit_code == 11
    [listed] = registry.infos()  # listing never crashes
    assert listed.problem == str(exc) and listed.api_version is None


def test_every_problem_of_a_class_is_reported() -> None:
    with pytest.raises(eakte.AdapterContractError) as info:
        check_adapter_class(Clashing, name="clashing")
    problems = info.value.problems
    assert any("reserved" in p for p in problems)
    assert any("declared twice" in p for p in problems)
    assert any("unknown type 'blob'" in p for p in problems)
    assert any("no help text" in p for p in problems)


def test_duplicate_names_from_two_distributions(fake_eps) -> None:
    fake_eps.append(_ep("good", "fake_adapters:Good", "eakte-one"))
    fake_eps.append(_ep("good", "fake_adapters:Good", "eakte-two"))
    with pytest.raises(eakte.AdapterContractError, match=r"eakte-one.*eakte-two"):
        AdapterRegistry().get("good")


def test_unknown_name_and_register_in_code(fake_eps) -> None:
    registry = AdapterRegistry()
    with pytest.raises(eakte.InvalidInput, match="unknown adapter 'nope'"):
        registry.get("nope")
    registry.register("good", Good)
    assert registry.get("good") is Good
    with pytest.raises(ValueError, match="already"):
        registry.register("good", Good)
    with pytest.raises(eakte.AdapterContractError):
        registry.register("norun", NoRun)  # type: ignore[arg-type]


def test_installed_reference_adapters_are_found() -> None:
    infos = {info.name: info for info in ADAPTERS.infos()}
    for name in ("dropfolder", "email", "ozg"):
        assert infos[name].problem is None, infos[name].problem
        assert infos[name].distribution == f"eakte-{name}"
        assert infos[name].api_version == 1


def test_runner_and_watch(mem_store) -> None:
    report = run_once(Good(folder="x"), mem_store)
    assert report.ok and report.notes == ["looked at x"] and report.counts == {}
    seen: list[RunReport] = []
    assert watch(Good(), mem_store, max_iterations=2, on_report=seen.append,
                 sleep=lambda s: None) == 2
    assert len(seen) == 2
    with pytest.raises(eakte.InvalidInput):
        watch(Good(), mem_store, max_iterations=0)


def test_cli_lists_broken_adapters_without_crashing(fake_eps, monkeypatch, tmp_path) -> None:
    fake_eps.append(_ep("good", "fake_adapters:Good"))
    fake_eps.append(_ep("broken", "no_such_module_xyz:Thing"))
    monkeypatch.setattr(eakte.cli.adapters, "ADAPTERS", AdapterRegistry())
    runner = CliRunner(env={"EAKTE_STORE": None, "EAKTE_USER": None, "COLUMNS": "200"})
    result = runner.invoke(cli, ["adapters", "list", "--json"])
    assert result.exit_code == 0, result.output
    data = {d["name"]: d for d in json.loads(result.stdout)}
    assert data["good"]["ok"] and data["good"]["api_version"] == 1
    assert data["good"]["distribution"] == "eakte-fake"
    assert not data["broken"]["ok"] and "cannot be imported" in data["broken"]["problem"]
    human = runner.invoke(cli, ["adapters", "list"])
    assert "BROKEN" in human.stdout and "Files nothing" in human.stdout
    listing = runner.invoke(cli, ["adapter", "run", "--help"])
    assert "good" in listing.stdout and "cannot be loaded" in listing.stdout
    broken = runner.invoke(cli, ["--store", str(tmp_path), "adapter", "run", "broken"])
    assert broken.exit_code == 11 and "cannot be imported" in broken.stderr
    unknown = runner.invoke(cli, ["adapter", "run", "nope"])
    assert unknown.exit_code == 2


def test_cli_runs_an_adapter_with_its_options(fake_eps, monkeypatch, tmp_path) -> None:
    fake_eps.append(_ep("good", "fake_adapters:Good"))
    monkeypatch.setattr(eakte.cli.adapters, "ADAPTERS", AdapterRegistry())
    eakte.init(tmp_path / "store").close()
    runner = CliRunner(env={"EAKTE_STORE": None, "EAKTE_USER": None})
    result = runner.invoke(cli, ["--store", str(tmp_path / "store"), "adapter", "run",
                                 "good", "--folder", "/srv/in", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["notes"] == ["looked at /srv/in"]
    helptext = runner.invoke(cli, ["adapter", "run", "good", "--help"]).stdout
    assert "--folder" in helptext and "Where to look." in helptext and "--watch" in helptext


class Exploding(Good):
    """An adapter that breaks the contract: an unexpected exception escapes its run."""

    name = "exploding"

    def run_once(self, filer: Filer) -> RunReport:
        raise RecursionError("maximum recursion depth exceeded")


def test_an_exception_escaping_an_adapter_is_an_adapter_error(mem_store) -> None:
    with pytest.raises(eakte.AdapterError, match="'exploding' stopped on an unexpected "
                                                 "RecursionError") as raised:
        run_once(Exploding(), mem_store)
    assert isinstance(raised.value.__cause__, RecursionError)
