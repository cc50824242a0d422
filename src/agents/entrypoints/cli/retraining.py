"""``deployer retraining set|show|clear|runs`` (a model's retraining policy and its runs) and
``deployer retrain NAME`` (a manual run: a deployer asking is the approval).

Their remote twins are ``cli/remote_retraining.py`` (``resume`` stays local: it trains where
the home is); both print through ``cli/render_retraining.py``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from agents.entrypoints.cli.output import console, emit
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
from agents.entrypoints.cli.shared import JsonOption, command
from agents.handlers import retraining as retraining_runs
from agents.handlers import retraining_policy as policies
from agents.queries import retraining as queries

app = typer.Typer(help="Retraining: each model's policy (MLflow Project, triggers) and its runs.")


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
    """Set NAME's retraining policy (deployers only); replaces any."""
    request = policies.PolicyRequest(
        project, entry_point, tuple(param or ()), on_drift, on_quality_drop, schedule, cooldown,
        window, expensive,
    )  # fmt: skip
    with command(as_json) as c:
        result = policies.set_policy(c, c.settings.user, name, request)
        emit(result, as_json, lambda: render_policies([result]))


@app.command("show")
def show(
    name: Annotated[str | None, typer.Argument(help="Model name (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """The retraining policies (one model's, or every model's)."""
    with command(as_json) as c:
        result = policies.show_policies(c, name)
        emit(result, as_json, lambda: render_policies(result))


@app.command("clear")
def clear(name: NameArg, as_json: JsonOption = False) -> None:
    """Remove NAME's retraining policy (deployers only)."""
    with command(as_json) as c:
        result = policies.clear_policy(c, c.settings.user, name)
        said = "cleared" if result["cleared"] else "had none"
        emit(result, as_json, lambda: console.print(Text(f"{name}: policy {said}")))


@app.command("runs")
def runs(
    name: Annotated[str | None, typer.Argument(help="Model name (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Retraining runs, newest first: status, trigger, window, versions, evaluation."""
    with command(as_json) as c:
        result = queries.runs(c, name)
        emit(result, as_json, lambda: render_runs(result))


@app.command("resume")
def resume(
    run_id: Annotated[str, typer.Argument(help="Retraining run id (deployer retraining runs).")],
    force: Annotated[
        bool, typer.Option("--force", help="Even if it made progress lately (it may still run).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Take up a running retraining cut short (its process died) from its checkpoint; the
    watcher does this itself once it made no progress for DEPLOYER_RETRAINING_STALE_SECONDS."""
    with command(as_json) as c:
        result = retraining_runs.resume_by_hand(c, run_id, c.settings.user, force)
        emit(result, as_json, lambda: render_retrained(result))


def retrain(
    name: NameArg,
    reason: ReasonOption = "",
    since: SinceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Retrain NAME now on recent labelled traffic; a better version goes to staging and
    shadow (never production)."""
    with command(as_json) as c:
        result = retraining_runs.retrain(c, name, c.settings.user, reason, since)
        emit(result, as_json, lambda: render_retrained(result))


COMMANDS = (retrain,)
"""Registered on the local ``deployer`` app."""
