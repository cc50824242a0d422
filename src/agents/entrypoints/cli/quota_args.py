"""The options of ``deployer quota`` (local and remote take them from here). Typer only."""

from __future__ import annotations

from typing import Annotated

import typer

TenantArg = Annotated[str, typer.Argument(help="The tenant (default: the bare model names).")]
Deployments = Annotated[
    int | None, typer.Option("--deployments", help="Most live deployments at once.", min=0)
]
Replicas = Annotated[
    int | None,
    typer.Option(
        "--replicas", help="Most replicas over every live deployment (autoscaled: max).", min=0
    ),
]
Cpu = Annotated[str | None, typer.Option("--cpu", help="Most CPUs reserved (Ray), e.g. 4 or 500m.")]
Memory = Annotated[
    str | None, typer.Option("--memory", help="Most memory reserved (Ray), e.g. 8Gi.")
]
CaptureRows = Annotated[
    int | None,
    typer.Option("--capture-rows", help="Most captured predictions kept (oldest dropped).", min=0),
]
