"""How ``deployer decisions`` shows the monitor agent's decisions (local and remote mode: no
database or graph import here)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from agents.entrypoints.cli.output import console


def handed(d: dict[str, Any]) -> str:
    """What a decision handed over, in a few words."""
    if d["retraining_run_id"]:
        return f"run {d['retraining_run_id']}"
    handoff = d.get("handoff") or {}
    if handoff:
        return f"-> {handoff.get('to')}"
    return ""


def render_decisions(result: dict[str, Any]) -> None:
    rows = result["decisions"]
    if not rows:
        console.print("no decisions yet: `deployer watch` runs the monitor agent every tick")
        return
    table = Table(title="monitor decisions (newest first)")
    for column in ("decided", "model", "action", "trigger"):
        table.add_column(column, no_wrap=True)
    table.add_column("why", overflow="fold", ratio=1)
    table.add_column("handed over", no_wrap=True)
    for d in rows:
        when = str(d["decided_at"])[:19].replace("T", " ")
        table.add_row(
            Text(when),
            Text(d["model_name"]),
            Text(d["action"]),
            Text(d["trigger"] or ""),
            Text("\n".join(d["reasons"])),
            Text(handed(d)),
        )
    console.print(table)
