"""``deployer deployments change ID`` in remote mode: ``PATCH /v1/deployments/{id}`` (issue 19
item 5): a running canary's or shadow's share, and/or the deployment's replicas and resources
in place (a local endpoint refuses any resize: exit 2, nothing changed). Only Typer and the
API's client: remote mode imports no database, MLflow or graph library."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.text import Text

from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.remote import remote_command
from agents.entrypoints.cli.resource_args import AutoscaleOption, CpuOption, MemoryOption
from lifecycle.errors import BadInputError

TrafficOption = Annotated[
    float | None, typer.Option("--traffic", help="A canary's share or a shadow's mirror, in %.")
]
ReplicasOption = Annotated[
    int | None, typer.Option("--replicas", min=1, help="Replicas (a Ray deployment's, in place).")
]


def change(
    deployment_id: Annotated[str, typer.Argument(help="Deployment id.")],
    traffic: TrafficOption = None,
    replicas: ReplicasOption = None,
    cpu: CpuOption = None,
    memory: MemoryOption = None,
    autoscale: AutoscaleOption = None,
    reason: Annotated[str, typer.Option("--reason", help="Why, in a sentence.")] = "",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print exactly one JSON document.")
    ] = False,
) -> None:
    """Change a running deployment: its share (--traffic) and/or its replicas and resources in
    place (--replicas, --cpu, --memory, --autoscale; figures not given are kept)."""
    asked = {"traffic": traffic, "replicas": replicas, "cpu": cpu, "memory": memory}
    body: dict[str, Any] = {k: v for k, v in {**asked, "autoscale": autoscale}.items() if v}
    with remote_command(as_json) as api:
        if not body:
            raise BadInputError("give --traffic, --replicas, --cpu, --memory or --autoscale")
        answer = api.patch(
            f"/v1/deployments/{quote(deployment_id, safe='')}", {**body, "reason": reason}
        )
    emit(answer.body, as_json, lambda: _render(deployment_id, answer.body))


def _render(deployment_id: str, body: dict[str, Any]) -> None:
    resize = body.get("resize") or {}
    if resize:
        before, after = resize.get("before") or {}, resize.get("after") or {}
        moved = [
            f"{k} {before.get(k)} -> {after.get(k)}" for k in after if before.get(k) != after.get(k)
        ]
        console.print(Text(f"{deployment_id}: " + (", ".join(moved) or "resources unchanged")))
    if "traffic" in str(body.get("status", "")):
        console.print(Text(f"{deployment_id}: share changed"))
