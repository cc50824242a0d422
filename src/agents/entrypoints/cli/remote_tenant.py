"""``deployer tenant`` in remote mode: the same commands over ``/v1/tenants``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from agents.entrypoints.cli.output import emit
from agents.entrypoints.cli.remote import remote_command
from agents.entrypoints.cli.tenant_args import TenantArg, render, say

app = typer.Typer(help="Tenants: the teams on the platform (platform admins create and delete).")
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]


@app.command("create")
def create(name: TenantArg, as_json: JsonOption = False) -> None:
    """Make tenant NAME (platform admins only)."""
    with remote_command(as_json) as api:
        result = api.post("/v1/tenants", {"name": name}).body
    emit(result, as_json, lambda: say(result, "tenant {tenant} created", "tenant {tenant} exists"))


@app.command("delete")
def delete(name: TenantArg, as_json: JsonOption = False) -> None:
    """Delete the empty tenant NAME and its role bindings (platform admins only)."""
    with remote_command(as_json) as api:
        result = api.delete(f"/v1/tenants/{quote(name, safe='')}").body
    text = "tenant {tenant} deleted ({bindings_removed} role binding(s) removed)"
    emit(result, as_json, lambda: say(result, text, text))


@app.command("list")
def list_tenants(as_json: JsonOption = False) -> None:
    """The tenants you hold a role in (every tenant for a platform admin)."""
    with remote_command(as_json) as api:
        result = api.get("/v1/tenants").body
    emit(result, as_json, lambda: render(result))
