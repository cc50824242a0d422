"""The arguments of ``deployer retraining set`` and ``deployer retrain``, defined once for the
local commands (``cli/retraining.py``) and their remote twins (``cli/remote_retraining.py``), so
the two modes take the same options with the same help. Typer only: remote mode imports it."""

from __future__ import annotations

from typing import Annotated

import typer

NameArg = Annotated[str, typer.Argument(help="Model name.")]
ProjectOption = Annotated[str, typer.Option("--project", help="MLflow Project folder (MLproject).")]
EntryPointOption = Annotated[str, typer.Option("--entry-point", help="Its entry point.")]
ParamOption = Annotated[
    list[str] | None, typer.Option("--param", help="KEY=VALUE for the entry point (repeat).")
]
OnDriftOption = Annotated[
    int | None, typer.Option("--on-drift", help="Retrain when N features drift.")
]
OnQualityDropOption = Annotated[
    float | None, typer.Option("--on-quality-drop", help="Retrain on a drop beyond MARGIN.")
]
ScheduleOption = Annotated[str | None, typer.Option("--schedule", help="Cron, UTC: '0 3 * * 1'.")]
CooldownOption = Annotated[
    str, typer.Option("--cooldown", help="No automatic run sooner than this.")
]
WindowOption = Annotated[str, typer.Option("--window", help="Recent labelled traffic to use.")]
ExpensiveOption = Annotated[
    bool, typer.Option("--expensive", help="Automatic runs wait for an approval.")
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why, in a sentence.")]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="Data window (default: the policy's).")
]
