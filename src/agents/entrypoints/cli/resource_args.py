"""``deployer deploy``'s options: the strategy, the share and the resources (issue 17), defined
once for the local command (``agent.py``) and its remote twin (``remote_commands.py``). The
resource figures stay text here: ``lifecycle.resource_asks`` reads them once, on every path, so
a malformed one is refused with the same words from the command line, the API or the chat. Only
Typer here: remote mode imports it and must import no database, MLflow or graph library."""

from __future__ import annotations

from typing import Annotated

import typer

StrategyOption = Annotated[
    str | None,
    typer.Option(
        "--strategy",
        help="direct|rolling|blue_green|canary|shadow (default: by the version's stage).",
    ),
]
TrafficOption = Annotated[
    float | None,
    typer.Option("--traffic", help="Canary share or shadow mirror share, in percent."),
]
ReplicasOption = Annotated[
    int,
    typer.Option(
        "--replicas",
        help="Replicas of the endpoint (a local endpoint: its server's workers, at most 16).",
    ),
]
CpuOption = Annotated[
    str | None,
    typer.Option("--cpu", help="CPUs per replica, e.g. 0.5 or 500m (DEPLOYER_SERVING=ray)."),
]
MemoryOption = Annotated[
    str | None,
    typer.Option("--memory", help="Memory per replica, e.g. 512Mi or 1Gi (DEPLOYER_SERVING=ray)."),
]
AutoscaleOption = Annotated[
    str | None,
    typer.Option(
        "--autoscale",
        metavar="MIN:MAX[:TARGET]",
        help="Autoscale between MIN and MAX replicas, aiming at TARGET ongoing requests per "
        "replica (default 2; DEPLOYER_SERVING=ray).",
    ),
]
