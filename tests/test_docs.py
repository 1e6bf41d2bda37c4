"""Docs that run: README commands and Python blocks, examples/, CLI help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_the_two_setup_commands() -> None:
    first = _blocks("sh")[0].strip().splitlines()
    assert len(first) == 2
    assert first[0].endswith("eakte demo")
    assert "pytest" in first[1]
    assert README.index("```sh") < README.index("\n## ")


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _blocks("sh")[0].strip().splitlines()[1]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_readme_python_block_runs(index: int, tmp_path: Path) -> None:
    code = _blocks("python")[index]
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _commands() -> list[tuple[str, ...]]:
    import click

    from eakte.cli import cli

    found: list[tuple[str, ...]] = []

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        for name, command in sorted(group.commands.items()):
            path = (*prefix, name)
            found.append(path)
            if isinstance(command, click.Group):
                walk(command, path)

    walk(cli, ())
    return found


def test_every_cli_command_has_help_and_is_documented() -> None:
    import click

    from eakte.cli import cli

    for path in _commands():
        command: click.Command = cli
        for part in path:
            assert isinstance(command, click.Group)
            command = command.commands[part]
        assert (command.help or command.short_help), f"eakte {' '.join(path)} has no help"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"option {param.opts} of eakte {' '.join(path)} has no help"
        if not isinstance(command, click.Group):
            assert f"eakte {' '.join(path)}" in README, f"eakte {' '.join(path)} not in README"
