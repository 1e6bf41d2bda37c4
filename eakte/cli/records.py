"""Commands for the store, the Aktenplan and Akten: init, plan, akte, close, reopen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from eakte.cli._common import App, emit_json, json_option, pass_app
from eakte.cli._tables import fmt_utc, id_col, text_col
from eakte.types import AkteStatus, Confidentiality, DisposalDecision
from eakte.views import akte_summary, plan_unit_view

__all__ = ["akte", "close", "init", "plan", "reopen"]


# -- init --------------------------------------------------------------------------------


@click.command()
@click.option("--admin", default="admin", show_default=True,
              help="Name of the local administrator principal to create.")
@click.option("--aktenzeichen-pattern", metavar="PATTERN", default=None,
              help="Format of new Aktenzeichen, e.g. '{kennzeichen}-{number:04d}/{year}' "
                   "(the default).")
@click.option("--search", "search", type=click.Choice(["whoosh", "postgres", "none"]),
              default="whoosh", show_default=True,
              help="Search backend: a Whoosh index in the store folder, PostgreSQL full-text "
                   "search (stores on PostgreSQL), or none.")
@click.option("--encrypt", is_flag=True,
              help="Encrypt the blobs at rest (AES-256-GCM) under a master key kept outside "
                   "the store.")
@click.option("--master-key", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="The master key file for --encrypt (create one with 'eakte keys "
                   "generate'); its path is recorded in the store configuration. Default: "
                   "$EAKTE_MASTER_KEY_FILE.")
@json_option
@pass_app
def init(app: App, admin: str, aktenzeichen_pattern: str | None, search: str, encrypt: bool,
         master_key: Path | None) -> None:
    """Create a new store.

    The --store folder receives the configuration and the blobs, and the SQLite database
    unless --db names another database. With --encrypt every blob is stored encrypted;
    the master key never goes into the store.
    """
    if master_key is not None and not encrypt:
        raise click.UsageError("--master-key needs --encrypt")
    store = app.init_store(admin=admin, aktenzeichen_pattern=aktenzeichen_pattern, search=search,
                           encrypt=encrypt, master_key=master_key)
    info = {
        "store": str(app.store_path),
        "store_id": store.setting("store_id"),
        "admin": store.admin,
        "database": store.dialect,
        "aktenzeichen_pattern": store.aktenzeichen_pattern.pattern,
        "search": search,
        "encrypted": encrypt,
    }
    if app.json:
        emit_json(info)
        return
    click.echo(f"Created eakte store at {app.store_path} (administrator: {store.admin})"
               + (", blobs encrypted" if encrypt else ""))


# -- plan --------------------------------------------------------------------------------


def _retention(ctx: click.Context, param: click.Parameter,
               value: str | None) -> int | str | None:
    """Convert ``--retention-years``: a number of years, ``unlimited``, or None if not given."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in {"unlimited", "unbegrenzt"}:
        return "unlimited"
    if text.isascii() and text.isdigit():
        return int(text)
    raise click.BadParameter(f"{value!r} is neither a number of years nor 'unlimited'",
                             ctx, param)


@click.group()
def plan() -> None:
    """Manage the Aktenplan (file plan) units."""


@plan.command("add")
@click.argument("kennzeichen")
@click.argument("title")
@click.option("--parent", metavar="KENNZEICHEN", help="Kennzeichen of the parent unit.")
@click.option("--retention-years", metavar="N|unlimited", callback=_retention,
              help="Aufbewahrungsfrist in years after closing, or 'unlimited' "
                   "(default: eakte's default of 10 years).")
@click.option("--disposal", type=click.Choice([d.value for d in DisposalDecision],
                                              case_sensitive=False),
              default=None,
              help="Aussonderungsart: A archive, V destroy, B archive appraises (default: B).")
@json_option
@pass_app
def plan_add(app: App, kennzeichen: str, title: str, parent: str | None,
             retention_years: int | str | None, disposal: str | None) -> None:
    """Add an Aktenplan unit KENNZEICHEN (e.g. 630.10) with TITLE."""
    options: dict[str, Any] = {}
    if retention_years is not None:
        options["retention_years"] = None if retention_years == "unlimited" else retention_years
    if disposal is not None:
        options["disposal"] = disposal.upper()
    with app.session() as s:
        unit = s.add_plan_unit(kennzeichen, title, parent=parent, **options)
    view = plan_unit_view(unit, parent.strip() if parent else None)
    if app.json:
        emit_json(view)
        return
    click.echo(f"Added Aktenplan unit {unit.kennzeichen} {unit.title}")


@plan.command("list")
@json_option
@pass_app
def plan_list(app: App) -> None:
    """List the Aktenplan ordered by Kennzeichen."""
    with app.session() as s:
        units = s.plan_units()
    by_id = {u.id: u.kennzeichen for u in units}
    views = [plan_unit_view(u, by_id.get(u.parent_id) if u.parent_id else None) for u in units]
    if app.json:
        emit_json(views)
        return
    parents = {v["kennzeichen"]: v["parent"] for v in views}

    def depth(kennzeichen: str | None) -> int:
        seen = 0
        while (kennzeichen := parents.get(kennzeichen or "")) and seen < len(parents):
            seen += 1
        return seen

    table = Table(id_col("Kennzeichen"), text_col("Title"), id_col("Retention"), id_col("Disposal"),
                  title="Aktenplan")
    for v in views:
        retention = "unlimited" if v["retention_years"] is None else f"{v['retention_years']} y"
        indent = "  " * depth(v["kennzeichen"])
        table.add_row(v["kennzeichen"], indent + v["title"], retention, v["disposal"])
    app.out.print(table)


# -- Akten -------------------------------------------------------------------------------


def _external_id(ctx: click.Context, param: click.Parameter,
                 values: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        system, sep, ext = value.partition(":")
        if not (sep and system.strip() and ext.strip()):
            raise click.BadParameter(f"{value!r} is not SYSTEM:ID", ctx, param)
        pairs.append((system.strip(), ext.strip()))
    return pairs


@click.group()
def akte() -> None:
    """Create and list Akten (record files)."""


@akte.command("create")
@click.argument("kennzeichen")
@click.argument("title")
@click.option("--external-id", "external_ids", metavar="SYSTEM:ID", multiple=True,
              callback=_external_id,
              help="A key under which a Fachverfahren knows the Akte (repeatable).")
@click.option("--org-unit", metavar="OU", help="The owning organisational unit.")
@click.option("--confidentiality", type=click.Choice([c.value for c in Confidentiality]),
              default=Confidentiality.OPEN.value, show_default=True,
              help="Vertraulichkeitsstufe.")
@json_option
@pass_app
def akte_create(app: App, kennzeichen: str, title: str, external_ids: list[tuple[str, str]],
                org_unit: str | None, confidentiality: str) -> None:
    """Create an Akte and print its Aktenzeichen.

    The Akte is filed under the Aktenplan unit KENNZEICHEN with the title TITLE.
    """
    with app.session() as s:
        new = s.create_akte(kennzeichen, title, org_unit=org_unit,
                            confidentiality=confidentiality, external_ids=external_ids)
        view = akte_summary(new, new.unit.kennzeichen)
        view["external_ids"] = s.external_ids(new)
    if app.json:
        emit_json(view)
        return
    click.echo(new.aktenzeichen)


@akte.command("list")
@click.option("--kennzeichen", help="Only Akten of this Aktenplan unit.")
@click.option("--query", "-q", metavar="TEXT",
              help="Only Akten whose title, Aktenzeichen or external id (SYSTEM:ID) "
                   "contains TEXT, ignoring case.")
@click.option("--status", type=click.Choice([s.value for s in AkteStatus]),
              help="Only open or only closed (z.d.A.) Akten.")
@json_option
@pass_app
def akte_list(app: App, kennzeichen: str | None, query: str | None,
              status: str | None) -> None:
    """List the Akten you may read, ordered by Aktenzeichen."""
    with app.session() as s:
        found = s.list_akten(kennzeichen=kennzeichen, query=query, status=status)
        views = [akte_summary(a, a.unit.kennzeichen) for a in found]
    if app.json:
        emit_json(views)
        return
    table = Table(id_col("Aktenzeichen"), text_col("Title"), id_col("Status"),
                  id_col("Created (UTC)"), title=f"{len(views)} Akten")
    for v in views:
        status = "z.d.A." if v["status"] == "closed" else v["status"]
        table.add_row(v["aktenzeichen"], v["title"], status, fmt_utc(v["created_at"]))
    app.out.print(table)


def _set_status(app: App, aktenzeichen: str, *, close_it: bool) -> None:
    with app.session() as s:
        found = s.get_akte(aktenzeichen)
        target = s.close_akte(found) if close_it else s.reopen_akte(found)
    if app.json:
        emit_json({"aktenzeichen": target.aktenzeichen, "status": target.status,
                   "closed_at": target.closed_at})
        return
    verb = "Closed (z.d.A.)" if close_it else "Reopened"
    click.echo(f"{verb} {target.aktenzeichen}")


@click.command()
@click.argument("aktenzeichen")
@json_option
@pass_app
def close(app: App, aktenzeichen: str) -> None:
    """Close an Akte (z.d.A.).

    The Akte AKTENZEICHEN then refuses new documents and versions until it is reopened.
    """
    _set_status(app, aktenzeichen, close_it=True)


@click.command()
@click.argument("aktenzeichen")
@json_option
@pass_app
def reopen(app: App, aktenzeichen: str) -> None:
    """Reopen the closed Akte AKTENZEICHEN."""
    _set_status(app, aktenzeichen, close_it=False)
