"""``deployer alerts``: the channels this home tells (Apprise URLs) and the alerts told so far.

``add``, ``remove`` and ``test`` are an admin's. ``list`` shows URLs redacted (webhook tokens and
SMTP passwords are secrets). ``test [ID]`` sends one test alert now and prints how each delivery
went. ``history`` lists the alerts of the last ``--since`` (sent, pending retry, failed with the
error, suppressed). Alerts are derived from the audit chain by ``agents.alerting``'s dispatcher
(``deployer watch`` runs it in the background).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from agents.alerting import AlertServices
from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.render import cells
from agents.entrypoints.cli.shared import JsonOption, command
from agents.handlers import alerts
from lifecycle.alerts import GROUPS
from lifecycle.tenant_views import local_reader
from lifecycle.tenants import Grants

app = typer.Typer(help="Alert channels (Apprise URLs) and the alerts sent, failed or suppressed.")

IdArg = Annotated[int, typer.Argument(help="The channel's id (deployer alerts list).")]


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="An Apprise URL: json://host:port/path, mailto://...")],
    events: Annotated[
        str, typer.Option("--events", help=f"Comma-separated: {', '.join(GROUPS)} (default all).")
    ] = "",
    min_severity: Annotated[
        str, typer.Option("--min-severity", help="info, warning or critical.")
    ] = "info",
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant", help="Only this tenant's models' alerts (default: the platform's: all)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Tell URL about the alerts it chooses (platform admins; a tenant's admins for --tenant)."""
    with command(as_json) as c:
        row = alerts.add_channel(c, c.settings.user, url, events, min_severity, tenant)
    emit(row, as_json, lambda: console.print(_line("added", row), highlight=False, markup=False))


def _line(verb: str, row: dict[str, Any]) -> str:
    return (
        f"{verb} alert channel {row['id']}: {row['url']} "
        f"(events: {row['events']}, min severity: {row['min_severity']}, "
        f"tenant: {row.get('tenant') or 'the platform'})"
    )


def _reader(c: AlertServices) -> Grants:
    """The local user's grants now, as the local read paths read them."""
    with c.reader() as uow:
        return local_reader(uow.access.grants_of(c.settings.user))


@app.command("list")
def list_channels(as_json: JsonOption = False) -> None:
    """The channels you see (URLs redacted): a tenant's to its people, every one to a platform
    admin."""
    with command(as_json) as c:
        rows = alerts.list_channels(c, _reader(c))

    def render() -> None:
        if not rows:
            console.print("no alert channels (deployer alerts add URL)", highlight=False)
            return
        table = Table("id", "url", "events", "min severity", "tenant", "added by")
        for r in rows:
            scope = r["tenant"] or "(platform)"
            table.add_row(
                *cells(r["id"], r["url"], r["events"], r["min_severity"], scope, r["added_by"])
            )
        console.print(table)

    emit({"channels": rows}, as_json, render)


@app.command("remove")
def remove(channel_id: IdArg, as_json: JsonOption = False) -> None:
    """Stop telling a channel (admins only); its past alerts stay in the history."""
    with command(as_json) as c:
        row = alerts.remove_channel(c, c.settings.user, channel_id)
    emit(row, as_json, lambda: console.print(_line("removed", row), highlight=False, markup=False))


@app.command("test")
def test(
    channel_id: Annotated[int | None, typer.Argument(help="One channel (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Send a test alert now and say how each delivery went (admins only)."""
    with command(as_json) as c:
        outcomes = alerts.send_test(c, c.settings.user, channel_id)

    def render() -> None:
        if not outcomes:
            console.print("no alert channels (deployer alerts add URL)", highlight=False)
        for o in outcomes:
            said = f"channel {o['channel_id']}: {o['state']}" + (
                f" ({o['error']})" if o["error"] else ""
            )
            console.print(said, highlight=False, markup=False)

    emit({"deliveries": outcomes}, as_json, render)


@app.command("history")
def history(
    since: Annotated[str, typer.Option("--since", help="30m, 2h, 1d, 1w.")] = "1d",
    as_json: JsonOption = False,
) -> None:
    """The alerts of the last --since you may read (your tenants' models'), newest first."""
    with command(as_json) as c:
        rows = alerts.alert_history(c, since, _reader(c))

    def render() -> None:
        if not rows:
            console.print(f"no alerts in the last {since}", highlight=False, markup=False)
            return
        table = Table("when", "ch", "severity", "kind", "summary", "state")
        for r in rows:
            tries = f"{r['attempts']} attempt" + ("s" if r["attempts"] != 1 else "")
            state = r["state"] + (f" after {tries}: {r['error']}" if r["error"] else "")
            when = r["created_at"].strftime("%m-%d %H:%M:%S")
            table.add_row(
                *cells(when, r["channel_id"], r["severity"], r["kind"], r["summary"], state)
            )
        console.print(table)

    emit({"alerts": rows}, as_json, render)
