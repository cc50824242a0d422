"""How ``deployer quota`` shows a tenant's figures, local and remote alike (rich only)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from agents.entrypoints.cli.output import console


def render_quotas(shown: list[dict[str, Any]]) -> None:
    """One table: tenant, figure, used, allowed (``unlimited`` when not limited)."""
    if not shown:
        console.print("no tenant has a quota (set one: deployer quota set TENANT --deployments N)")
        return
    table = Table("tenant", "figure", "used", "allowed", "set by")
    for entry in shown:
        for i, (figure, value) in enumerate(entry["figures"].items()):
            allowed = "unlimited" if value["allowed"] is None else str(value["allowed"])
            by = (entry["set_by"] or "") if i == 0 else ""
            table.add_row(
                Text(entry["tenant"] if i == 0 else ""),
                figure.replace("_", " "),
                str(value["used"]),
                allowed,
                Text(by),
            )
    console.print(table)
