"""``deployer capture``: which share of a model's requests the gateways capture, what they
captured, and its export to Parquet.

``enable NAME --percent P`` / ``disable NAME`` set the percent (audited ``capture_set``; the
running gateways apply it within half a second), ``status [NAME] [--json]`` shows the settings
and the captured rows, ``export NAME --to FILE.parquet [--since 1h]`` writes one row per
prediction. The use cases are ``agents.handlers.capture``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agents.entrypoints.cli.capture_render import capture_line, render_capture_status
from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.shared import JsonOption, command
from agents.handlers.capture import capture_status, export_capture, set_capture_percent

app = typer.Typer(help="Prediction capture: sample a model's requests, show them, export them.")

Name = Annotated[str, typer.Argument(help="Model name.")]


@app.command("enable")
def enable(
    name: Name,
    percent: Annotated[
        str, typer.Option("--percent", help="Share of requests to capture, 0 to 100.")
    ] = "10",
    as_json: JsonOption = False,
) -> None:
    """Capture this share of the model's requests (inputs, output, deployment, latency)."""
    with command(as_json) as c:
        result = set_capture_percent(c, name, percent, c.settings.user)
        emit(result, as_json, lambda: console.print(capture_line(result), highlight=False))


@app.command("disable")
def disable(name: Name, as_json: JsonOption = False) -> None:
    """Stop capturing the model's requests (what was captured stays until retention)."""
    with command(as_json) as c:
        result = set_capture_percent(c, name, 0, c.settings.user)
        emit(result, as_json, lambda: console.print(capture_line(result), highlight=False))


@app.command("status")
def status(
    name: Annotated[str | None, typer.Argument(help="Model name (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Each model's capture percent and its captured predictions."""
    with command(as_json) as c:
        result = capture_status(c, name)
        emit(result, as_json, lambda: render_capture_status(result))


@app.command("export")
def export(
    name: Name,
    to: Annotated[Path, typer.Option("--to", help="The Parquet file to write.")],
    since: Annotated[
        str | None, typer.Option("--since", help="Only the last 90s, 30m, 1h, 2d, 1w.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the captured predictions to Parquet: one row per prediction, features as
    ``input.<name>`` columns, the raw request and response JSON beside them."""
    with command(as_json) as c:
        result = export_capture(c, name, to, since)
        emit(
            result,
            as_json,
            lambda: console.print(
                f"wrote {result['rows']} prediction(s) of {result['requests']} request(s)"
                f" to {result['path']}",
                highlight=False,
                markup=False,
            ),
        )
