"""The command line as a whole: help texts, exit codes, the error handler, lazy imports."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import click
import pytest

import eakte
import eakte.cli
from eakte import errors
from eakte.cli import cli
from eakte.session import Session


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


ALL_COMMANDS = list(_commands(cli))


def test_expected_commands_exist():
    names = {" ".join(path) for path, _ in ALL_COMMANDS}
    assert names >= {
        "init", "plan", "plan add", "plan list", "akte", "akte create", "akte list", "close",
        "reopen", "add", "version", "show", "get", "audit", "verify", "user", "user add",
        "demo",
    }


@pytest.mark.parametrize("path", [p for p, _ in ALL_COMMANDS], ids=" ".join)
def test_every_command_and_option_has_help(runner, path):
    command = dict(ALL_COMMANDS)[path]
    assert command.help and command.help.strip(), f"{' '.join(path)} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help and param.help.strip(), f"{' '.join(path)} {param.opts}"
    result = runner.invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


def test_global_options_have_help(runner):
    for param in cli.params:
        if isinstance(param, click.Option):
            assert param.help, param.opts
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("--store", "--db", "--user", "--json", "--debug"):
        assert name in result.stdout


def test_exit_code_table_matches_errors_module():
    doc = eakte.cli.__doc__ or ""
    table: dict[str, int] = {}
    current = None
    for line in doc.splitlines():
        match = re.match(r"\s+(\d+)\s{2,}.*?\s{2,}(.*)$", line)
        if match:
            current = int(match.group(1))
            names = match.group(2)
        elif current is not None and re.match(r"\s{40,}\S", line):
            names = line
        else:
            continue
        for name in re.findall(r"[A-Z]\w+", names):
            table[name] = current
    documented = {n: c for n, c in table.items() if hasattr(errors, n)}
    classes = {
        name: obj for name in errors.__all__
        if isinstance(obj := getattr(errors, name), type) and issubclass(obj, errors.EakteError)
    }
    assert documented.keys() == classes.keys()
    for name, cls in classes.items():
        assert cls.exit_code == documented[name], name


def test_usage_error_exit_2(run):
    result = run("frobnicate")
    assert result.exit_code == 2
    assert run("get", "1").exit_code == 2  # -o is required
    assert run("show").exit_code == 2
    assert run("version", "eins", "x").exit_code == 2


def test_unexpected_error_is_reported_without_traceback(run, akte, monkeypatch):
    def boom(self, akte):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Session, "vorgaenge", boom)
    result = run("show", akte)
    assert result.exit_code == 1
    assert "Error: unexpected RuntimeError: disk on fire" in result.stderr
    assert "--debug" in result.stderr
    assert "Traceback" not in result.stderr
    debug = run("--debug", "show", akte)
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr and "disk on fire" in debug.stderr


def test_debug_shows_traceback_for_eakte_errors(run, store):
    result = run("--debug", "show", "4711")
    assert result.exit_code == 3
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().endswith("Error: Document 4711 not found")


def test_import_eakte_does_not_load_cli_dependencies():
    code = ("import sys, eakte, eakte.demo.run; "
            "bad = [m for m in ('click', 'rich', 'eakte.cli') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_python_dash_m_and_version():
    result = subprocess.run([sys.executable, "-m", "eakte", "--version"], check=True,
                            capture_output=True, text=True)
    assert result.stdout.startswith("eakte, version")
    assert eakte.__version__ in result.stdout


def _json_error(result, *, after_prompt: bool = False) -> dict:
    """The one JSON object a failed ``--json`` invocation prints on stderr."""
    stderr = result.stderr
    if after_prompt:  # a confirmation prompt precedes the error on stderr
        stderr = stderr[stderr.index("{"):]
    error = json.loads(stderr)  # the whole of stderr is one object
    assert set(error) == {"error"}
    assert set(error["error"]) == {"type", "message", "exit_code"}
    assert error["error"]["exit_code"] == result.exit_code
    return error["error"]


def test_json_errors_are_one_object_on_stderr(ok, run, akte, monkeypatch):
    cases = [
        (("--json", "show", "4711"), "NotFoundError", 3, "Document 4711 not found"),
        (("show", "4711", "--json"), "NotFoundError", 3, "Document 4711 not found"),
        (("--json", "close", "630.10-9999/2026"), "NotFoundError", 3, "630.10-9999/2026"),
        (("--json", "plan", "add", "630", "Doppelt"), "StateConflict", 7, "exists already"),
        (("--json", "hold", "set", akte, "--reason", "  "), "InvalidInput", 6, "reason"),
        (("--json", "get", "1"), "UsageError", 2, "Missing option '-o'"),
        (("get", "1", "--json"), "UsageError", 2, "Missing option '-o'"),
        (("--json", "frobnicate"), "UsageError", 2, "No such command 'frobnicate'"),
        (("--json", "disposal", "frobnicate"), "UsageError", 2, "No such command"),
        (("--json", "--bogus"), "UsageError", 2, "No such option '--bogus'"),
        (("get", "1", "--bogus", "--json"), "UsageError", 2, "No such option '--bogus'"),
        (("akte", "list", "--status", "zu", "--json"), "UsageError", 2, "'zu' is not one"),
        (("--json",), "UsageError", 2, "Missing command"),
        (("--json", "retention", akte, "ewig"), "UsageError", 2, "ewig"),
        (("--json", "disposal", "destroy", akte), "Abort", 1, "aborted"),
    ]
    for args, kind, code, text in cases:
        result = run(*args, input="n\n") if kind == "Abort" else run(*args)
        assert result.exit_code == code, (args, result.stderr)
        assert result.stdout == "", args
        error = _json_error(result, after_prompt=kind == "Abort")
        assert error["type"] == kind, (args, error)
        assert text in error["message"], (args, error)
    denied = run("--json", "--user", "niemand", "akte", "list")
    assert denied.exit_code == 3 and _json_error(denied)["type"] == "NotFoundError"

    def boom(self, akte):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Session, "vorgaenge", boom)
    crashed = run("--json", "show", akte)
    error = _json_error(crashed)
    assert error["type"] == "RuntimeError" and crashed.exit_code == 1
    assert "unexpected RuntimeError: disk on fire" in error["message"]


def test_json_access_denied(ok, run, akte):
    ok("user", "add", "leser")
    ok("grant", "leser", "reader", akte)
    denied = run("--json", "--user", "leser", "close", akte)
    assert denied.exit_code == 4
    assert _json_error(denied)["type"] == "AccessDenied"


def test_errors_without_json_stay_text(run, akte):
    result = run("show", "4711")
    assert result.stderr == "Error: Document 4711 not found\n"
    usage = run("get", "1")
    assert usage.exit_code == 2 and usage.stderr.startswith("Usage: ")
    assert "Error: Missing option '-o'" in usage.stderr
    titled = run("akte", "create", "630.10", "--", "--json")  # a title, not the option
    assert titled.exit_code == 0 and titled.stdout.startswith("630.10-")
    missing = run("akte", "create", "--", "--json")
    assert missing.exit_code == 2 and missing.stderr.startswith("Usage: ")
