"""``deployer feedback import NAME FILE`` and ``deployer feedback show NAME``: ground truth for
captured predictions, and each deployment's rolling quality against its approval.

``import`` reads a CSV file (header ``request_id,label``) or JSON lines
(``{"request_id": ..., "label": ...}``) and records it as one batch
(``agents.handlers.feedback.import_feedback``): a malformed row is refused naming its line and
nothing is written; ``--replace`` replaces labels already given. ``show`` is
``agents.queries.quality.quality_report`` (the ops API's ``GET /v1/models/{name}/quality``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.render import DASH
from agents.entrypoints.cli.shared import JsonOption, command
from agents.handlers.feedback import describe, import_feedback
from agents.queries.quality import quality_report
from lifecycle.quality import parse_window

app = typer.Typer(help="Ground truth for captured predictions, and quality from it.")

VERDICT_STYLE = {"ok": "green", "drop": "red", "inconclusive": "yellow"}


@app.command("import")
def import_command(
    name: Annotated[str, typer.Argument(help="The model the labels are for.")],
    file: Annotated[Path, typer.Argument(help="CSV (request_id,label) or JSON lines.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace labels already given.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Record the true labels of captured requests, all or nothing."""
    with command(as_json) as c:
        result = import_feedback(c, name, file, c.settings.user, replace)

    emit(result, as_json, lambda: render_import(result))


def render_import(result: dict[str, Any]) -> None:
    """A batch's outcome, and the request ids no captured prediction has (yet)."""
    console.print(Text(describe(result)), highlight=False)
    shown = result["unmatched_request_ids"]
    if shown:
        more = result["unmatched"] - len(shown)
        tail = f" and {more} more" if more else ""
        console.print(Text(f"unmatched: {', '.join(shown)}{tail}", style="yellow"))


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="The model.")],
    window: Annotated[
        str, typer.Option("--window", help="Captured predictions of the last 90s/30m/1h/7d.")
    ] = "1h",
    as_json: JsonOption = False,
) -> None:
    """Each deployment's rolling accuracy/F1 or MAE vs the approved metric, and the verdict."""
    with command(as_json) as c:
        report = quality_report(c, name, parse_window(window))
    emit(report, as_json, lambda: render_quality(report, window))


def _figure(value: Any) -> str:
    return DASH if value is None else f"{value:.4f}"


def render_quality(report: dict[str, Any], window: str) -> None:
    """A table of the model's deployments' quality."""
    rows = report["deployments"]
    if not rows:
        text = f"no labelled predictions of {report['model_name']} in the last {window.strip()}"
        console.print(Text(text), highlight=False)
        return
    table = Table()
    table.add_column("deployment", no_wrap=True)
    for heading in ("version", "metric", "rolling", "approved", "labels", "verdict"):
        table.add_column(heading, no_wrap=True)
    table.title = Text(
        f"quality of {report['model_name']} over {window.strip()}"
        f" (margin {report['margin']:g}, at least {report['min_labelled']} labels)"
    )
    for d in rows:
        table.add_row(
            Text(d["deployment_id"]),
            Text(d["version"]),
            Text(d["metric"] or DASH),
            Text(_figure(d["observed"])),
            Text(_figure(d["approved"])),
            Text(str(d["labelled"])),
            Text(d["verdict"], style=VERDICT_STYLE.get(d["verdict"], "")),
        )
    console.print(table)
    for d in rows:
        console.print(Text(f"{d['deployment_id']}: {d['summary']}"), highlight=False)
