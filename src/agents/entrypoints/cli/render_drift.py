"""How drift and references are printed (no database or statistics import: remote mode's
``deployer drift`` uses it too)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from agents.entrypoints.cli.output import console
from agents.entrypoints.cli.render import cells
from lifecycle.version_labels import describe_version

TESTS = {"numeric": "KS", "categorical": "chi2"}
"""The test each kind of column gets (a column with an empty side gets none)."""


def render_registered(result: dict[str, Any], name: str, model_uri: str) -> None:
    """``deployer register``'s line, and its reference's when it has one."""
    console.print(
        f"registered [bold]{escape(name)}[/] "
        f"{escape(describe_version(result['version'], result.get('label')))} "
        f"({result['stage']}) from {escape(model_uri)}"
    )
    ref = result.get("reference")
    if ref:
        console.print(
            Text(
                f"reference: {ref['rows']} rows (of {ref['source_rows']}) x "
                f"{len(ref['columns'])} columns from {ref['source']}"
            )
        )


def render_drift(result: dict[str, Any]) -> None:
    """The check's summary line, then one row per column."""
    console.print(f"{result['model_name']}: {result['summary']}", markup=False, highlight=False)
    if not result["columns"]:
        return
    table = Table("column", "test", "statistic", "p (Holm)", "PSI", "W/sd", "rows", "verdict")
    for col in result["columns"]:
        table.add_row(
            *cells(
                col["name"] + (" (output)" if col["role"] == "output" else ""),
                TESTS.get(col["kind"], "-"),
                f"{col['statistic']:.3f}",
                _number(col["adjusted_p_value"]),
                f"{col['psi']:.3f}",
                _number(col["wasserstein"]),
                f"{col['current_rows']}/{col['reference_rows']}",
                col["verdict"],
            )
        )
    console.print(table)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
