"""``deployer feedback import`` and ``show`` in remote mode, over the ops API's
``POST /v1/models/{name}/feedback`` and ``GET /v1/models/{name}/quality``.

The file is read and judged here first (``lifecycle.feedback_rows``, ``check_batch``), so a
malformed line is refused naming the line before anything is sent; the API then records the
batch all or nothing. Imports no database library up front (the renderer is imported when used).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agents.entrypoints.cli.output import emit
from agents.entrypoints.cli.remote import model_segment, remote_command
from lifecycle.errors import BadInputError
from lifecycle.feedback_rows import feedback_rows
from lifecycle.quality import check_batch, parse_window

app = typer.Typer(help="Ground truth for captured predictions, and quality from it.")
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]


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
    from agents.entrypoints.cli.feedback import render_import

    with remote_command(as_json) as api:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInputError(f"cannot read {file}: {exc}") from None
        labels = check_batch(feedback_rows(text))
        body = [{"request_id": r, "label": label} for r, label in labels.items()]
        params = {"replace": "true"} if replace else {}
        result = api.post(f"/v1/models/{model_segment(name)}/feedback", body, params).body
    emit(result, as_json, lambda: render_import(result))


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="The model.")],
    window: Annotated[
        str, typer.Option("--window", help="Captured predictions of the last 90s/30m/1h/7d.")
    ] = "1h",
    as_json: JsonOption = False,
) -> None:
    """Each deployment's rolling accuracy/F1 or MAE vs the approved metric, and the verdict."""
    from agents.entrypoints.cli.feedback import render_quality

    with remote_command(as_json) as api:
        seconds = parse_window(window)
        report = api.get(f"/v1/models/{model_segment(name)}/quality", {"window": seconds}).body
    emit(report, as_json, lambda: render_quality(report, window))
