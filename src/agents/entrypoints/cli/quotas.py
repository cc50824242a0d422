"""``deployer quota``: a tenant's limits (issue 19 item 3): ``set`` and ``clear`` are a platform
admin's; ``show`` prints used and allowed per figure (``lifecycle.quotas``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.quota_args import (
    CaptureRows,
    Cpu,
    Deployments,
    Memory,
    Replicas,
    TenantArg,
)
from agents.entrypoints.cli.render_quotas import render_quotas
from agents.entrypoints.cli.shared import JsonOption, command
from agents.handlers import quotas
from lifecycle.errors import BadInputError

app = typer.Typer(
    help="Per-tenant quotas: deployments, replicas, CPU, memory, captured rows.",
    no_args_is_help=True,
)


@app.command("set")
def set_quota(
    tenant: TenantArg,
    deployments: Deployments = None,
    replicas: Replicas = None,
    cpu: Cpu = None,
    memory: Memory = None,
    capture_rows: CaptureRows = None,
    as_json: JsonOption = False,
) -> None:
    """Make these the tenant's limits (platform admins only); an omitted figure is unlimited."""
    with command(as_json) as c:
        if (deployments, replicas, cpu, memory, capture_rows) == (None,) * 5:
            raise BadInputError(
                "a quota needs at least one limit (--deployments, --replicas, --cpu, --memory, "
                f"--capture-rows); to lift every limit: deployer quota clear {tenant}"
            )
        result = quotas.set_quota(
            c, c.settings.user, tenant, deployments, replicas, cpu, memory, capture_rows
        )
        emit(result, as_json, lambda: render_quotas([result]))


@app.command("show")
def show(
    tenant: Annotated[
        str | None, typer.Argument(help="One tenant (default: every tenant with a quota).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Used and allowed per figure."""
    with command(as_json) as c:
        result = quotas.show_quota(c, tenant)
        emit(result, as_json, lambda: render_quotas(result))


@app.command("clear")
def clear(tenant: TenantArg, as_json: JsonOption = False) -> None:
    """Lift every limit of the tenant (platform admins only)."""
    with command(as_json) as c:
        result = quotas.clear_quota(c, c.settings.user, tenant)
        said = "quota of {tenant} cleared" if result["changed"] else "{tenant} had no quota"
        emit(result, as_json, lambda: console.print(escape(said.format(**result))))
