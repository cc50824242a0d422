"""``deployer drift NAME [--window 1h] [--json]``: each feature's (and the output's) drift
statistic, p-value, effect size and verdict over a window of captured predictions, judged
against the serving version's reference (``agents.queries.drift``); and ``--reference``, the
option ``deployer register`` takes for a version's reference file."""

from __future__ import annotations

from typing import Annotated

import typer

from agents.entrypoints.cli.output import emit
from agents.entrypoints.cli.render_drift import render_drift, render_registered
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


__all__ = ["COMMANDS", "ReferenceOption", "drift", "render_registered"]

COMMANDS = (drift,)
"""Registered on the local ``deployer`` app."""
