"""Commands for principals and their rights: user, group, grant, revoke, grants."""

from __future__ import annotations

import click
from rich.table import Table

from eakte.cli._common import App, emit_json, json_option, pass_app
from eakte.cli._tables import id_col, text_col
from eakte.ops.grants import STORE_TARGET, GrantInfo
from eakte.types import Confidentiality, PrincipalKind, Role
from eakte.views import principal_view

__all__ = ["grant", "grants", "group", "revoke", "user"]

_ROLES = click.Choice([role.value for role in Role])
_TARGET_HELP = ("TARGET is an Aktenplan Kennzeichen (the unit and everything below it), an "
                "Aktenzeichen, '*' for the whole store, or system:NAME for the external "
                "ids of the system NAME (role owner).")


# -- users and groups --------------------------------------------------------------------


@click.group()
def user() -> None:
    """Manage users (principals) of the store."""


@user.command("add")
@click.argument("name")
@click.option("--group", "groups", multiple=True, metavar="G",
              help="A group the user belongs to (created if missing; repeatable).")
@click.option("--org-unit", metavar="OU",
              help="The user's organisational unit (created if missing).")
@click.option("--clearance", type=click.Choice([c.value for c in Confidentiality]),
              default=Confidentiality.OPEN.value, show_default=True,
              help="The highest confidentiality the user may see.")
@click.option("--admin", "is_admin", is_flag=True,
              help="Make the user an administrator of the whole store.")
@click.option("--display-name", metavar="NAME", help="Full name to show.")
@json_option
@pass_app
def user_add(app: App, name: str, groups: tuple[str, ...], org_unit: str | None,
             clearance: str, is_admin: bool, display_name: str | None) -> None:
    """Create the user NAME (administrators only).

    Rights come from grants to the user, its groups and its organisational unit
    (see `eakte grant`).
    """
    with app.session() as s:
        principal = s.add_user(name, display_name=display_name, org_unit=org_unit,
                               groups=groups, is_admin=is_admin, clearance=clearance)
    if app.json:
        emit_json(principal_view(principal) | {"groups": list(groups)})
        return
    member = [f"org unit {org_unit}"] if org_unit else []
    member += [f"group {g}" for g in groups]
    click.echo(f"Added {'administrator' if is_admin else 'user'} {principal.name}"
               + (f" ({', '.join(member)})" if member else ""))


@user.command("list")
@json_option
@pass_app
def user_list(app: App) -> None:
    """List users, groups and organisational units (administrators and auditors)."""
    with app.session() as s:
        principals = s.principals()
    if app.json:
        emit_json([principal_view(p) for p in principals])
        return
    table = Table(text_col("name"), id_col("kind"), text_col("org unit"), id_col("clearance"),
                  id_col("admin"), id_col("active"))
    for p in principals:
        table.add_row(p.name, p.kind, p.org_unit or "", p.clearance,
                      "yes" if p.is_admin else "", "yes" if p.active else "no")
    app.out.print(table)


@click.group()
def group() -> None:
    """Manage groups and organisational units."""


@group.command("add")
@click.argument("name")
@click.option("--org-unit", "is_org_unit", is_flag=True,
              help="Create an organisational unit (Organisationseinheit), not a group.")
@click.option("--display-name", metavar="NAME", help="Full name to show.")
@json_option
@pass_app
def group_add(app: App, name: str, is_org_unit: bool, display_name: str | None) -> None:
    """Create the group NAME (administrators only)."""
    kind = PrincipalKind.ORG_UNIT if is_org_unit else PrincipalKind.GROUP
    with app.session() as s:
        principal = s.add_group(name, kind=kind, display_name=display_name)
    if app.json:
        emit_json(principal_view(principal))
        return
    click.echo(f"Added {'org unit' if is_org_unit else 'group'} {principal.name}")


@group.command("join")
@click.argument("member")
@click.argument("group_name", metavar="GROUP")
@pass_app
def group_join(app: App, member: str, group_name: str) -> None:
    """Put MEMBER (a user or group) into GROUP (administrators only)."""
    with app.session() as s:
        s.add_member(member, group_name)
    click.echo(f"{member} is now a member of {group_name}")


# -- grants ------------------------------------------------------------------------------


@click.command(epilog=_TARGET_HELP)
@click.argument("principal")
@click.argument("role", type=_ROLES)
@click.argument("target")
@json_option
@pass_app
def grant(app: App, principal: str, role: str, target: str) -> None:
    """Give PRINCIPAL (user, group or org unit) the ROLE on TARGET.

    Roles: reader (see and read), editor (also file and change), manager (also close,
    retention, holds, Aussonderung), administrator (everything), auditor (audit log,
    verify and checkpoints only); owner on system:NAME lets a Fachverfahren use the
    external ids of NAME (create, look up and file under them).
    """
    with app.session() as s:
        s.grant(principal, role, target)
    if app.json:
        emit_json({"principal": principal, "role": role, "target": target, "granted": True})
        return
    where = "the whole store" if target == STORE_TARGET else target.strip()
    click.echo(f"Granted {role} on {where} to {principal}")


@click.command(epilog=_TARGET_HELP)
@click.argument("principal")
@click.argument("role", type=_ROLES)
@click.argument("target")
@json_option
@pass_app
def revoke(app: App, principal: str, role: str, target: str) -> None:
    """Take ROLE on TARGET back from PRINCIPAL."""
    with app.session() as s:
        removed = s.revoke(principal, role, target)
    if app.json:
        emit_json({"principal": principal, "role": role, "target": target,
                   "revoked": removed})
        return
    where = "the whole store" if target == STORE_TARGET else target
    if removed:
        click.echo(f"Revoked {role} on {where} from {principal}")
    else:
        click.echo(f"{principal} held no {role} grant on {where}; nothing changed")


@click.command()
@click.argument("principal", required=False)
@json_option
@pass_app
def grants(app: App, principal: str | None) -> None:
    """List grants, all or those of PRINCIPAL (administrators and auditors)."""
    with app.session() as s:
        items = s.grants(principal)
    if app.json:
        emit_json([_grant_view(g) for g in items])
        return
    table = Table(text_col("principal"), id_col("role"), id_col("target"), text_col("granted by"))
    for g in items:
        table.add_row(g.principal, g.role.value,
                      "whole store" if g.target_type == "store" else g.target, g.created_by)
    app.out.print(table)


def _grant_view(item: GrantInfo) -> dict[str, str]:
    return {"principal": item.principal, "role": item.role.value,
            "target_type": item.target_type, "target": item.target,
            "granted_by": item.created_by}
