"""Lifecycle commands: legal holds, retention and disposal (hold, retention, disposal)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import click
from rich.table import Table

from eakte._disposal import hold_view
from eakte.cli._common import App, emit_json, json_option, pass_app
from eakte.cli._tables import fmt_utc, id_col, text_col

__all__ = ["disposal", "hold", "retention"]


def _fmt_day(value: date | None) -> str:
    return value.isoformat() if value is not None else "-"


# -- legal holds -------------------------------------------------------------------------


@click.group()
def hold() -> None:
    """Set, release and list legal holds (they block disposal and deletion)."""


@hold.command("set")
@click.argument("aktenzeichen")
@click.option("--reason", required=True, metavar="TEXT",
              help="Why the Akte must be kept (litigation, audit, DSGVO request …).")
@json_option
@pass_app
def hold_set(app: App, aktenzeichen: str, reason: str) -> None:
    """Put a legal hold on the Akte AKTENZEICHEN."""
    with app.session() as s:
        new = s.set_hold(s.get_akte(aktenzeichen), reason)
    if app.json:
        emit_json({"aktenzeichen": aktenzeichen, **hold_view(new)})
        return
    click.echo(f"Legal hold {new.id} set on {aktenzeichen}")


@hold.command("release")
@click.argument("aktenzeichen")
@click.option("--reason", metavar="TEXT", help="Why the hold ends.")
@click.option("--hold", "hold_id", type=int, metavar="ID",
              help="Release only this hold (default: every active hold of the Akte).")
@json_option
@pass_app
def hold_release(app: App, aktenzeichen: str, reason: str | None, hold_id: int | None) -> None:
    """Release the legal holds of the Akte AKTENZEICHEN."""
    with app.session() as s:
        released = s.release_hold(s.get_akte(aktenzeichen), reason, hold=hold_id)
    if app.json:
        emit_json([{"aktenzeichen": aktenzeichen, **hold_view(h)} for h in released])
        return
    ids = ", ".join(str(h.id) for h in released)
    click.echo(f"Released legal hold{'s' if len(released) > 1 else ''} {ids} on {aktenzeichen}")


@hold.command("list")
@click.argument("aktenzeichen")
@json_option
@pass_app
def hold_list(app: App, aktenzeichen: str) -> None:
    """List the legal holds of the Akte AKTENZEICHEN, active and released."""
    with app.session() as s:
        views = [hold_view(h) for h in s.holds(s.get_akte(aktenzeichen))]
    if app.json:
        emit_json(views)
        return
    table = Table(id_col("Id", justify="right"), text_col("Reason"), id_col("Set (UTC) / by"),
                  id_col("Released (UTC) / by"), text_col("Release reason"),
                  title=f"Legal holds of {aktenzeichen}")
    for v in views:
        released = (f"{fmt_utc(v['released_at'])}\n{v['released_by']}" if v["released_at"]
                    else "active")
        table.add_row(str(v["id"]), v["reason"], f"{fmt_utc(v['set_at'])}\n{v['set_by']}",
                      released, v["release_reason"] or "-")
    app.out.print(table)


# -- retention ---------------------------------------------------------------------------


def _years(ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    text = value.strip().lower()
    if text in {"unlimited", "unbegrenzt"}:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    raise click.BadParameter(f"{value!r} is neither a number of years nor 'unlimited'",
                             ctx, param)


@click.command()
@click.argument("aktenzeichen")
@click.argument("years", metavar="YEARS|unlimited", callback=_years)
@json_option
@pass_app
def retention(app: App, aktenzeichen: str, years: int | None) -> None:
    """Set the retention period of AKTENZEICHEN, overriding its Aktenplan unit's default.

    YEARS counts from closing (z.d.A.); 'unlimited' means the Akte is never due.
    """
    with app.session() as s:
        akte = s.set_retention(s.get_akte(aktenzeichen), years)
        until = s.retention_until(akte)
    if app.json:
        emit_json({"aktenzeichen": akte.aktenzeichen, "retention_years": years,
                   "retention_until": until})
        return
    what = "unlimited" if years is None else f"{years} years"
    suffix = f" (until {until.isoformat()})" if until else ""
    click.echo(f"Retention of {akte.aktenzeichen}: {what}{suffix}")


# -- disposal ----------------------------------------------------------------------------


@click.group()
def disposal() -> None:
    """Aussonderung: Akten due for disposal, their status, appraisal, destruction after V."""


@disposal.command("due")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="DATE",
              help="The day to judge by, YYYY-MM-DD (default: today, UTC).")
@json_option
@pass_app
def disposal_due(app: App, as_of: datetime | None) -> None:
    """List closed Akten whose retention period has expired and that are not held.

    JSON output: a list of objects with aktenzeichen, id, title, closed_at,
    retention_years, due_since, decision (the Aktenplan default) and state.
    """
    with app.session() as s:
        due = s.disposal_due(as_of.date() if as_of is not None else None)
    views = [d.as_dict() for d in due]
    if app.json:
        emit_json(views)
        return
    table = Table(id_col("Aktenzeichen"), text_col("Title"), id_col("Due since"), id_col("Default"),
                  id_col("State"), title=f"{len(views)} Akten due for disposal",
                  caption="Default: the Aktenplan's decision (A archive, V destroy, "
                          "B archive appraises)")
    for d in due:
        state = d.state.value + (f" {d.appraised.value}" if d.appraised else "")
        table.add_row(d.aktenzeichen, d.title, d.due_since.isoformat(), d.decision.value,
                      state)
    app.out.print(table)


@disposal.command("status")
@click.argument("aktenzeichen")
@json_option
@pass_app
def disposal_status(app: App, aktenzeichen: str) -> None:
    """Show where the Akte AKTENZEICHEN stands on its way to Aussonderung."""
    with app.session() as s:
        status = s.disposal_status(s.get_akte(aktenzeichen))
    view = status.as_dict()
    if app.json:
        emit_json(view)
        return
    rows: list[tuple[str, Any]] = [
        ("state", view["state"]),
        ("closed", view["closed_at"] or "-"),
        ("retention", "unlimited" if view["retention_years"] is None
         else f"{view['retention_years']} years"
         + (" (own)" if view["retention_override"] else " (Aktenplan)")),
        ("retained until", _fmt_day(status.retention_until)),
        ("default decision", view["default_decision"]),
        ("appraisal", f"{view['decision']} ({view['decision_source']})"
         if view["decision"] else "-"),
        ("legal holds", ", ".join(f"{h['id']}: {h['reason']}" for h in view["active_holds"])
         or "none"),
    ]
    for key in ("offered_at", "exported_at", "transferred_at", "archivkennung",
                "destroyed_at"):
        if view[key]:
            rows.append((key.replace("_", " "), view[key]))
    for key, value in rows:
        click.echo(f"{key + ':':<18}{value}")


@disposal.command("appraise")
@click.argument("aktenzeichen")
@click.argument("decision", required=False, metavar="[A|V]",
                type=click.Choice(["A", "V"], case_sensitive=False))
@click.option("--default", "by_default", is_flag=True,
              help="Appraise by the Aktenplan unit's default decision (two-stage procedure) "
                   "instead of giving A or V.")
@click.option("--reason", metavar="TEXT",
              help="A note for the audit log, e.g. the archive's letter and its date.")
@json_option
@pass_app
def disposal_appraise(app: App, aktenzeichen: str, decision: str | None, by_default: bool,
                      reason: str | None) -> None:
    """Record the appraisal of the Akte AKTENZEICHEN: A (archive) or V (destroy).

    A or V records the archive's appraisal received on paper, for an Akte offered to the
    archive or due for disposal. --default appraises it by its Aktenplan unit's decision
    (two-stage procedure; the unit must say A or V). Either is audited; then an Akte
    appraised V can be destroyed ('eakte disposal destroy'), an A Akte is transferred
    ('eakte export xdomea --message 0503'). Appraisals in a 0502 message are imported with
    'eakte import xdomea'.
    """
    if (decision is None) == (not by_default):
        raise click.UsageError("give the decision A or V, or --default, but not both")
    with app.session() as s:
        akte = s.get_akte(aktenzeichen)
        if by_default:
            status = s.appraise_by_default(akte, reason=reason)
        else:
            assert decision is not None
            status = s.record_appraisal(akte, decision.upper(), reason=reason, on_paper=True)
    if app.json:
        emit_json(status.as_dict())
        return
    meaning = {"A": "archive", "V": "destroy"}[str(status.decision)]
    how = "by the Aktenplan default" if by_default else "as received on paper"
    nxt = ("destroy it with 'eakte disposal destroy'" if meaning == "destroy"
           else "transfer it with 'eakte export xdomea --message 0503'")
    click.echo(f"Appraised {aktenzeichen} {status.decision} ({meaning}) {how}; {nxt}")


@disposal.command("destroy")
@click.argument("aktenzeichen")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_app
def disposal_destroy(app: App, aktenzeichen: str, yes: bool) -> None:
    """Destroy the Akte AKTENZEICHEN after it was appraised V.

    Its content is deleted irrevocably (blobs another Akte still uses are kept); metadata
    and a deletion record with every SHA-256 stay in the audit log.
    """
    if not yes:
        click.confirm(f"Irrevocably delete the content of {aktenzeichen}?", abort=True,
                      err=True)
    with app.session() as s:
        status = s.destroy(s.get_akte(aktenzeichen))
    if app.json:
        emit_json(status.as_dict())
        return
    click.echo(f"Destroyed the content of {aktenzeichen}")
