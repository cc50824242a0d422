"""``deployer tenant``: the teams on the platform (issue 19). ``create`` and ``delete`` are a
platform admin's (``deployer init`` makes its OS user one); ``list`` shows the tenants you hold
a role in (all of them to a platform admin). ``default`` owns every bare model name and cannot
be deleted; a tenant with registered models is not deleted (exit 3)."""

from __future__ import annotations

import typer

from agents.entrypoints.cli.output import emit
from agents.entrypoints.cli.shared import JsonOption, command
from agents.entrypoints.cli.tenant_args import TenantArg, render, say
from agents.handlers import tenants

app = typer.Typer(help="Tenants: the teams on the platform (platform admins create and delete).")


@app.command("create")
def create(name: TenantArg, as_json: JsonOption = False) -> None:
    """Make tenant NAME (platform admins only)."""
    with command(as_json) as c:
        result = tenants.create_tenant(c, c.settings.user, name)
        emit(
            result,
            as_json,
            lambda: say(result, "tenant {tenant} created", "tenant {tenant} exists"),
        )


@app.command("delete")
def delete(name: TenantArg, as_json: JsonOption = False) -> None:
    """Delete the empty tenant NAME and its role bindings (platform admins only)."""
    with command(as_json) as c:
        result = tenants.delete_tenant(c, c.settings.user, name)
        text = "tenant {tenant} deleted ({bindings_removed} role binding(s) removed)"
        emit(result, as_json, lambda: say(result, text, text))


@app.command("list")
def list_tenants(as_json: JsonOption = False) -> None:
    """The tenants you hold a role in (every tenant for a platform admin)."""
    with command(as_json) as c:
        result = tenants.list_tenants(c, c.settings.user)
        emit(result, as_json, lambda: render(result))
