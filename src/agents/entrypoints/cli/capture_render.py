"""How ``deployer capture`` shows its results, locally and in remote mode (no database import)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from agents.entrypoints.cli.output import console


def capture_line(result: dict[str, Any]) -> str:
    if result["enabled"]:
        return f"capturing {result['percent']:g}% of {result['model_name']}'s requests"
    return f"capture of {result['model_name']} is off"


def render_capture_status(result: dict[str, Any]) -> None:
    if not result["models"]:
        console.print("no model is captured")
        return
    table = Table("model", "percent", "captured", "oldest (UTC)", "newest (UTC)", "set by")
    for m in result["models"]:
        row = (
            m["model_name"],
            f"{m['percent']:g}%" if m["enabled"] else "off",
            m["captured"],
            (m["oldest"] or "-")[:19],
            (m["newest"] or "-")[:19],
            m["updated_by"] or "-",
        )
        table.add_row(*(Text(str(v)) for v in row))  # user text as Text, never markup
    console.print(table)
