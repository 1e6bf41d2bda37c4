"""init, plan, akte, close/reopen, user and the global --store/--user/env handling."""

from __future__ import annotations

import json

import pytest

from eakte.cli import cli
from eakte.store import CONFIG_NAME


def test_init_creates_store_and_refuses_second_init(ok, run, store_dir):
    result = ok("init")
    assert (store_dir / CONFIG_NAME).exists()
    assert str(store_dir) in result.stdout
    again = run("init")
    assert again.exit_code == 7
    assert again.stderr.startswith("Error: ")
    assert "already exists" in again.stderr
    assert again.stdout == ""


def test_init_json_and_admin(ok, store_dir):
    info = json.loads(ok("init", "--admin", "registratur", "--json").stdout)
    assert info["admin"] == "registratur"
    assert info["database"] == "sqlite"
    events = json.loads(ok("audit", "--json").stdout)
    assert {e["actor"] for e in events} == {"registratur"}


def test_missing_store(run, store_dir):
    result = run("akte", "list")
    assert result.exit_code == 3
    assert "no eakte store at" in result.stderr
    assert "eakte init" in result.stderr
    assert not store_dir.exists()  # opening never creates a store


def test_plan_list(ok, store):
    units = json.loads(ok("plan", "list", "--json").stdout)
    assert units == [
        {"id": 1, "kennzeichen": "630", "title": "Bauordnung", "parent": None,
         "retention_years": 30, "disposal": "B"},
        {"id": 2, "kennzeichen": "630.10", "title": "Baugenehmigungen", "parent": "630",
         "retention_years": None, "disposal": "A"},
    ]
    human = ok("plan", "list").stdout
    assert "Baugenehmigungen" in human and "unlimited" in human


def test_plan_add_errors(run, store):
    assert run("plan", "add", "630.10", "Doppelt").exit_code == 7
    assert run("plan", "add", "63/0", "Falsch").exit_code == 6
    assert run("plan", "add", "631", "X", "--parent", "999").exit_code == 3
    bad = run("plan", "add", "632", "X", "--retention-years", "ewig")
    assert bad.exit_code == 2 and "ewig" in bad.stderr
    assert run("plan", "add", "633", "X", "--disposal", "Z").exit_code == 2


def test_akte_create_prints_aktenzeichen(ok, store):
    first = ok("akte", "create", "630.10", "Erste").stdout.strip()
    second = ok("akte", "create", "630.10", "Zweite").stdout.strip()
    assert first.startswith("630.10-0001/")
    assert second.startswith("630.10-0002/")
    listed = json.loads(ok("akte", "list", "--json").stdout)
    assert [a["aktenzeichen"] for a in listed] == [first, second]
    assert [a["title"] for a in listed] == ["Erste", "Zweite"]
    human = ok("akte", "list").stdout
    assert first in human and "Zweite" in human


def test_akte_create_errors(run, store):
    wrong = run("akte", "create", "630.1x!", "Titel")
    assert wrong.exit_code == 6
    assert "Kennzeichen" in wrong.stderr
    assert run("akte", "create", "999", "Titel").exit_code == 3
    assert run("akte", "create", "630.10", "   ").exit_code == 6
    assert run("akte", "create", "630.10", "T", "--external-id", "ohne-doppelpunkt").exit_code == 2
    assert run("akte", "create", "630.10", "T", "--confidentiality", "geheim").exit_code == 2
    assert run("akte", "create", "630.10", "A", "--external-id", "fv:1").exit_code == 0
    assert run("akte", "create", "630.10", "B", "--external-id", "fv:1").exit_code == 7


def test_close_and_reopen(ok, run, akte):
    assert "Closed (z.d.A.)" in ok("close", akte).stdout
    assert json.loads(ok("show", akte, "--json").stdout)["status"] == "closed"
    reopened = json.loads(ok("reopen", akte, "--json").stdout)
    assert reopened == {"aktenzeichen": akte, "status": "open", "closed_at": None}
    assert run("reopen", akte).exit_code == 7


def test_user_add_and_act_as_user(ok, run, akte):
    added = json.loads(ok("user", "add", "mueller", "--org-unit", "63", "--display-name",
                          "Anna Müller", "--json").stdout)
    assert added["name"] == "mueller" and added["is_admin"] is False
    no_grant = run("--user", "mueller", "akte", "create", "630.10", "Von Müller")
    assert no_grant.exit_code == 4
    assert "may not create Akten under Aktenplan unit 630.10" in no_grant.stderr
    assert "Granted editor on 630.10 to 63" in ok("grant", "63", "editor", "630.10").stdout
    ok("--user", "mueller", "akte", "create", "630.10", "Von Müller")
    events = json.loads(ok("audit", "--json").stdout)
    assert events[-1]["action"] == "akte.create" and events[-1]["actor"] == "mueller"
    denied = run("--user", "mueller", "user", "add", "schaefer")
    assert denied.exit_code == 4
    assert "mueller" in denied.stderr
    assert run("user", "add", "mueller").exit_code == 7
    ok("user", "add", "chefin", "--admin")
    ok("--user", "chefin", "user", "add", "schaefer")


def test_unknown_user(run, akte):
    result = run("--user", "niemand", "show", akte)
    assert result.exit_code == 3
    assert "unknown user 'niemand'" in result.stderr


def test_env_store_and_user(runner, ok, akte, store_dir):
    ok("user", "add", "schaefer")
    ok("grant", "schaefer", "editor", "*")
    ok("grant", "schaefer", "auditor", "*")
    env = {"EAKTE_STORE": str(store_dir), "EAKTE_USER": "schaefer"}
    created = runner.invoke(cli, ["akte", "create", "630.10", "Per Umgebung"], env=env)
    assert created.exit_code == 0, created.stderr
    listed = runner.invoke(cli, ["akte", "list", "--json"], env=env)
    assert len(json.loads(listed.stdout)) == 2
    events = json.loads(runner.invoke(cli, ["audit", "--json"], env=env).stdout)
    assert events[-1]["actor"] == "schaefer"
    # --user beats $EAKTE_USER; an unknown $EAKTE_USER is reported
    override = runner.invoke(cli, ["--user", "admin", "akte", "create", "630.10", "Admin"],
                             env=env)
    assert override.exit_code == 0
    events = json.loads(runner.invoke(cli, ["audit", "--json"], env=env).stdout)
    assert events[-1]["actor"] == "admin"
    bad = runner.invoke(cli, ["akte", "list"], env={**env, "EAKTE_USER": "niemand"})
    assert bad.exit_code == 3


def test_env_store_missing(runner, tmp_path):
    result = runner.invoke(cli, ["akte", "list"], env={"EAKTE_STORE": str(tmp_path / "x")})
    assert result.exit_code == 3
    assert str(tmp_path / "x") in result.stderr


def test_default_store_is_cwd_eakte_store(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(cli, ["init"]).exit_code == 0
    assert (tmp_path / "eakte-store" / CONFIG_NAME).exists()


@pytest.mark.postgres
def test_db_option_uses_another_database(ok, runner, store_dir, pg_url, tmp_path):
    info = json.loads(ok("--db", pg_url, "init", "--json").stdout)
    assert info["database"] == "postgresql"
    assert not (store_dir / "eakte.sqlite3").exists()
    # the store folder remembers its database; --db is only needed at init
    ok("plan", "add", "1", "Allgemeine Verwaltung")
    az = ok("akte", "create", "1", "Akte in PostgreSQL").stdout.strip()
    (tmp_path / "a.txt").write_bytes("Inhalt äöü\n".encode())
    ok("add", az, str(tmp_path / "a.txt"))
    ok("get", "1", "-o", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_bytes() == "Inhalt äöü\n".encode()
    assert json.loads(ok("verify", "--json").stdout)["ok"] is True
    assert ok("--db", pg_url, "akte", "list", "--json").stdout.count(az) == 1

    other = runner.invoke(cli, ["--store", str(tmp_path / "other"), "--db", pg_url, "init"])
    assert other.exit_code == 7
    assert "already holds an eakte store" in other.stderr


def test_init_with_aktenzeichen_pattern(ok, run):
    assert run("init", "--aktenzeichen-pattern", "{kennzeichen}-{jahr}").exit_code == 6
    ok("init", "--aktenzeichen-pattern", "{kennzeichen}/{number}")
    ok("plan", "add", "630.10", "Baugenehmigungen")
    assert ok("akte", "create", "630.10", "Muster").stdout.strip() == "630.10/1"


def test_akte_list_query_and_status(ok, run, db_url, store_dir):
    ok(*(("--db", db_url) if db_url else ()), "init")
    ok("plan", "add", "630.10", "Baugenehmigungen")
    ok("plan", "add", "020", "Personal")
    mueller = ok("akte", "create", "630.10", "Bauantrag Familie Müller", "--external-id",
                 "bauportal:BA-2026-17").stdout.strip()
    garage = ok("akte", "create", "630.10", "Garage 50%_Erweiterung").stdout.strip()
    stelle = ok("akte", "create", "020", "Stellenbesetzung Bauamt").stdout.strip()
    ok("close", garage)

    def listed(*args: str) -> list[str]:
        return [a["aktenzeichen"] for a in json.loads(ok("akte", "list", *args,
                                                         "--json").stdout)]

    assert listed("--query", "MÜLLER") == [mueller]
    assert listed("-q", "ba-2026-17") == [mueller]
    assert listed("--query", "bau") == [stelle, mueller]  # ordered by Aktenzeichen
    assert listed("--query", "%_") == [garage]
    assert listed("--query", "020-") == [stelle]
    assert listed("--status", "closed") == [garage]
    assert listed("--status", "open", "--query", "garage") == []
    assert listed("--kennzeichen", "630.10", "--query", "bau") == [mueller]
    assert "Garage" in ok("akte", "list", "--status", "closed").stdout
    ok("user", "add", "gast")
    ok("grant", "gast", "reader", stelle)
    seen = json.loads(ok("--user", "gast", "akte", "list", "-q", "bau", "--json").stdout)
    assert [a["aktenzeichen"] for a in seen] == [stelle]
    assert run("akte", "list", "--status", "z.d.A.").exit_code == 2
    empty = run("akte", "list", "--query", " ")
    assert empty.exit_code == 6 and "query" in empty.stderr
