"""``deployer retraining set|show|clear|runs`` and ``deployer retrain NAME`` in remote mode, over
``/v1/models/{name}/retraining`` (viewers read, deployers set and clear), ``.../retraining/runs``
and ``POST .../retrain`` (deployers; an operation, followed until the run is done). They print
what the local twins print (``render_retraining``). ``resume`` stays local: it trains where the
home is. Imports no database, MLflow or graph library."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from agents.entrypoints.cli.output import console, emit, fail
from agents.entrypoints.cli.remote import URL_ENV, RemoteModeError, model_segment, remote_command
from agents.entrypoints.cli.remote_operations import (
    NoWaitOption,
    accepted_operation,
    follow,
    outcome,
)
from agents.entrypoints.cli.render_retraining import render_policies, render_retrained, render_runs
from agents.entrypoints.cli.retraining_args import (
    CooldownOption,
    EntryPointOption,
    ExpensiveOption,
    NameArg,
    OnDriftOption,
    OnQualityDropOption,
    ParamOption,
    ProjectOption,
    ReasonOption,
    ScheduleOption,
    SinceOption,
    WindowOption,
)
from lifecycle.errors import BadInputError

app = typer.Typer(
    help="Retraining: each model's policy and its runs, through the ops API.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]
TIMES = ("requested_at", "started_at", "finished_at", "data_since", "data_until", "progress_at")


def _path(name: str, *rest: str) -> str:
    return "/".join((f"/v1/models/{model_segment(name)}", *rest))


def _named(name: str | None, what: str, as_json: bool) -> str:
    """Remote mode reads one model's (the API lists by model); one line, exit 2, otherwise."""
    if not name:
        fail(RemoteModeError(f"name the model: remote mode shows one model's {what}"), as_json)
    return str(name)


def params_of(pairs: list[str] | None) -> dict[str, str]:
    """``KEY=VALUE`` options as the API's ``params`` object (bad input before anything is sent)."""
    found: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BadInputError(f"--param takes KEY=VALUE, not {pair!r}")
        found[key.strip()] = value
    return found


@app.command("set")
def set_policy(
    name: NameArg,
    project: ProjectOption,
    entry_point: EntryPointOption = "main",
    param: ParamOption = None,
    on_drift: OnDriftOption = None,
    on_quality_drop: OnQualityDropOption = None,
    schedule: ScheduleOption = None,
    cooldown: CooldownOption = "6h",
    window: WindowOption = "7d",
    expensive: ExpensiveOption = False,
    as_json: JsonOption = False,
) -> None:
    """Set NAME's retraining policy through the ops API (deployers); replaces any. The
    project folder is read on the API's machine."""
    with remote_command(as_json) as api:
        body = {
            "project": project, "entry_point": entry_point, "params": params_of(param),
            "on_drift": on_drift, "on_quality_drop": on_quality_drop, "schedule": schedule,
            "cooldown": cooldown, "window": window, "expensive": expensive,
        }  # fmt: skip
        result = api.put(_path(name, "retraining"), body).body
        emit(result, as_json, lambda: render_policies([result]))


@app.command("show")
def show(
    name: Annotated[str | None, typer.Argument(help="Model name.")] = None,
    as_json: JsonOption = False,
) -> None:
    """NAME's retraining policy, through the ops API."""
    model = _named(name, "policy", as_json)
    with remote_command(as_json) as api:
        result = [api.get(_path(model, "retraining")).body]
        emit(result, as_json, lambda: render_policies(result))


@app.command("clear")
def clear(name: NameArg, as_json: JsonOption = False) -> None:
    """Remove NAME's retraining policy through the ops API (deployers)."""
    with remote_command(as_json) as api:
        result = api.delete(_path(name, "retraining")).body
        said = "cleared" if result["cleared"] else "had none"
        line = f"{name}: policy {said}"
        emit(result, as_json, lambda: console.print(line, markup=False, highlight=False))


@app.command("runs")
def runs(
    name: Annotated[str | None, typer.Argument(help="Model name.")] = None,
    as_json: JsonOption = False,
) -> None:
    """NAME's retraining runs, newest first, through the ops API (``--json``: the list the
    local command prints)."""
    model = _named(name, "runs", as_json)
    with remote_command(as_json) as api:
        result: Any = api.get(_path(model, "retraining", "runs")).body["runs"]
        emit(result, as_json, lambda: render_runs([_timed(r) for r in result]))


@app.command("resume", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def resume(ctx: typer.Context) -> None:
    """(local only) it trains where the home is."""
    fail(
        RemoteModeError(
            "`deployer retraining resume` is local only: it trains where the home is; unset "
            f"{URL_ENV} to run it there"
        ),
        "--json" in ctx.args,
    )


def retrain(
    name: NameArg,
    reason: ReasonOption = "",
    since: SinceOption = None,
    no_wait: NoWaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Retrain NAME now through the ops API (deployers): the API runs it as an operation,
    followed here until the run is done (``--no-wait``: its id at once). A better version
    goes to staging and shadow (never production)."""
    with remote_command(as_json) as api:
        body: dict[str, Any] = {"reason": reason}
        if since:
            body["since"] = since
        operation = accepted_operation(api, _path(name, "retrain"), body, no_wait, as_json)
        done = follow(api, str(operation["location"]), as_json)
        # a run that ended failed is printed as the local command prints it (exit 0); a
        # refusal (no operation result) is its typed error, as locally
        ran = done["status"] == "failed" and done.get("result")
        result = dict(done["result"]) if ran else outcome(done).body
        emit(result, as_json, lambda: render_retrained(result))


def _timed(run: dict[str, Any]) -> dict[str, Any]:
    """A run from the API with its times as datetimes again, for the table."""
    out = dict(run)
    for key in TIMES:
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key])
    return out
