"""Fixtures for the command line tests: an isolated CliRunner and a prepared store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from eakte.cli import cli

Run = Callable[..., Result]


@pytest.fixture
def runner() -> CliRunner:
    # No inherited EAKTE_* settings; a wide console so human tables are not truncated.
    return CliRunner(env={"EAKTE_STORE": None, "EAKTE_USER": None, "COLUMNS": "200"})


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def run(runner: CliRunner, store_dir: Path) -> Run:
    """Invoke ``eakte --store <store_dir> ARGS…``; extra keyword arguments go to invoke."""

    def invoke(*args: str, **kwargs: Any) -> Result:
        return runner.invoke(cli, ["--store", str(store_dir), *args], **kwargs)

    return invoke


@pytest.fixture
def ok(run: Run) -> Run:
    """Like ``run`` but asserts exit code 0 (showing stderr when it is not)."""

    def invoke(*args: str, **kwargs: Any) -> Result:
        result = run(*args, **kwargs)
        assert result.exit_code == 0, (result.exit_code, result.stderr, result.exception)
        return result

    return invoke


@pytest.fixture
def store(ok: Run, store_dir: Path) -> Path:
    """An initialised store with the Aktenplan units 630 and 630.10."""
    ok("init")
    ok("plan", "add", "630", "Bauordnung", "--retention-years", "30")
    ok("plan", "add", "630.10", "Baugenehmigungen", "--parent", "630",
       "--retention-years", "unlimited", "--disposal", "A")
    return store_dir


@pytest.fixture
def akte(ok: Run, store: Path) -> str:
    """The Aktenzeichen of a new Akte under 630.10."""
    result = ok("akte", "create", "630.10", "Neubau Einfamilienhaus Lindenstraße 4", "--json")
    return str(json.loads(result.stdout)["aktenzeichen"])

