"""``deployer drift NAME [--window 1h] [--json]``: each feature's (and the output's) drift
statistic, p-value, effect size and verdict over a window of captured predictions, judged
against the serving version's reference (``agents.queries.drift``); and ``--reference``, the
option ``deployer register`` takes for a version's reference file."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.render import cells
from agents.entrypoints.cli.shared import JsonOption, command
from agents.queries.drift import drift_report, parse_window

ReferenceOption = Annotated[
    str | None,
    typer.Option("--reference", help="CSV or Parquet of feature rows: the drift reference."),
]


def drift(
    name: Annotated[str, typer.Argument(help="Model name.")],
    window: Annotated[
        str, typer.Option("--window", help="Captured predictions of the last 30m, 1h, 1d...")
    ] = "1h",
    as_json: JsonOption = False,
) -> None:
    """Is the model drifting? Each column's test, p-value, PSI and verdict (nothing written)."""
    with command(as_json) as c:
        result = drift_report(c, name, parse_window(window))
        emit(result, as_json, lambda: render_drift(result))


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
                "KS" if col["kind"] == "numeric" else "chi2",
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


COMMANDS = (drift,)
"""Registered on the local ``deployer`` app."""
