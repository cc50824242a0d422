"""``deployer capture`` in remote mode: enable, disable and status of one model through the ops
API (``/v1/models/{name}/capture``; deployers change, viewers read). ``export`` writes a file
where the home is, so it stays local. Imports no database, MLflow or graph library."""

from __future__ import annotations

from typing import Annotated

import typer

from agents.entrypoints.cli.capture_render import capture_line, render_capture_status
from agents.entrypoints.cli.output import console, emit, fail
from agents.entrypoints.cli.remote import URL_ENV, RemoteModeError, model_segment, remote_command
from lifecycle.capture import capture_percent

app = typer.Typer(help="Prediction capture of a model, through the ops API.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Model name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]


def _path(name: str) -> str:
    return f"/v1/models/{model_segment(name)}/capture"


def _set(name: str, percent: str | float, as_json: bool) -> None:
    with remote_command(as_json) as api:
        answer = api.put(_path(name), {"percent": capture_percent(percent)})
        emit(
            answer.body, as_json, lambda: console.print(capture_line(answer.body), highlight=False)
        )


@app.command("enable")
def enable(
    name: Name,
    percent: Annotated[
        str, typer.Option("--percent", help="Share of requests to capture, 0 to 100.")
    ] = "10",
    as_json: JsonOption = False,
) -> None:
    """Capture this share of the model's requests."""
    _set(name, percent, as_json)


@app.command("disable")
def disable(name: Name, as_json: JsonOption = False) -> None:
    """Stop capturing the model's requests."""
    _set(name, 0.0, as_json)


@app.command("status")
def status(
    name: Annotated[str | None, typer.Argument(help="Model name.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The model's capture percent and its captured predictions."""
    if name is None:
        fail(
            RemoteModeError("`deployer capture status` needs a model name in remote mode"), as_json
        )
    with remote_command(as_json) as api:
        result = {"models": [api.get(_path(name)).body]}
        emit(result, as_json, lambda: render_capture_status(result))


@app.command("export", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def export(ctx: typer.Context) -> None:
    """(local only) it writes a Parquet file where the home is."""
    fail(
        RemoteModeError(
            "`deployer capture export` is local only: it writes a file where the home is; "
            f"unset {URL_ENV} to run it there"
        ),
        "--json" in ctx.args,
    )
