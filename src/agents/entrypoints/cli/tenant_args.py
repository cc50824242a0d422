"""What ``deployer tenant`` and its remote twin share: the argument and the printing (Typer
and rich only: the remote commands import no database)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from agents.entrypoints.cli.output import console

TenantArg = Annotated[
    str, typer.Argument(help="The tenant: lower-case letters, digits and '-' (team-a).")
]


def say(result: dict[str, Any], done: str, already: str) -> None:
    """One line: what changed, or that nothing needed to."""
    text = done if result["changed"] else already
    console.print(escape(text.format(**result)), highlight=False)


def render(result: dict[str, Any]) -> None:
    """The tenants as a table."""
    table = Table("tenant", "models", "people", "created by", "created at")
    for t in result["tenants"]:
        when = t["created_at"]
        shown = f"{when:%Y-%m-%d %H:%M}" if hasattr(when, "strftime") else str(when)[:16]
        table.add_row(t["tenant"], str(t["models"]), str(t["people"]), t["created_by"], shown)
    console.print(table)
