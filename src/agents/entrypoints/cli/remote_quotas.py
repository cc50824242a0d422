"""``deployer quota`` in remote mode: ``/v1/quotas/{tenant}`` through the ops API (platform admins
set and clear, viewers read). Imports no database, MLflow or graph library."""

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
from agents.entrypoints.cli.remote import remote_command
from agents.entrypoints.cli.render_quotas import render_quotas
from lifecycle.errors import BadInputError
from lifecycle.tenants import check_tenant

app = typer.Typer(help="Per-tenant quotas, through the ops API.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]


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
    with remote_command(as_json) as api:
        check_tenant(tenant)
        body = {
            "deployments": deployments,
            "replicas": replicas,
            "cpu": cpu,
            "memory": memory,
            "capture_rows": capture_rows,
        }
        if all(value is None for value in body.values()):
            raise BadInputError(
                "a quota needs at least one limit (--deployments, --replicas, --cpu, --memory, "
                f"--capture-rows); to lift every limit: deployer quota clear {tenant}"
            )
        answer = api.put(f"/v1/quotas/{tenant}", body)
        emit(answer.body, as_json, lambda: render_quotas([answer.body]))


@app.command("show")
def show(
    tenant: Annotated[
        str | None, typer.Argument(help="One tenant (default: every tenant with a quota).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Used and allowed per figure."""
    with remote_command(as_json) as api:
        if tenant is None:
            shown = list(api.get("/v1/quotas").body["quotas"])
        else:
            shown = [api.get(f"/v1/quotas/{check_tenant(tenant)}").body]
        emit(shown, as_json, lambda: render_quotas(shown))


@app.command("clear")
def clear(tenant: TenantArg, as_json: JsonOption = False) -> None:
    """Lift every limit of the tenant (platform admins only)."""
    with remote_command(as_json) as api:
        result = api.delete(f"/v1/quotas/{check_tenant(tenant)}").body
        said = "quota of {tenant} cleared" if result["changed"] else "{tenant} had no quota"
        emit(result, as_json, lambda: console.print(escape(said.format(**result))))
