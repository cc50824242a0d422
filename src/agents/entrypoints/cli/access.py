"""``deployer access``: who holds which role, and per-person API tokens.

``grant``, ``revoke``, ``token create`` and ``token revoke`` are an admin's (the OS user running
the command must hold admin in the state database; ``deployer init`` makes its user the first
one). ``list`` shows bindings and token ids, never a token. ``token create`` prints the token
once: only its SHA-256 is stored, so a lost token is revoked and a new one made.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.shared import JsonOption, command
from agents.handlers import access
from agents.settings import local_identity

app = typer.Typer(help="Roles (viewer < deployer < approver < admin) and API tokens.")
token_app = typer.Typer(help="Per-person API tokens for the ops API (shown once).")
app.add_typer(token_app, name="token")

UserArg = Annotated[str, typer.Argument(help="The person (their OS user name or login).")]
RoleArg = Annotated[str, typer.Argument(help="viewer, deployer, approver or admin.")]
TenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        help="The tenant the role holds in (default: admin on the "
        "platform, any other role in the default tenant).",
    ),
]
PlatformOption = Annotated[
    bool, typer.Option("--platform", help="The role holds on the whole platform (every tenant).")
]


def _changed(result: dict[str, Any], done: str, already: str) -> None:
    text = done if result["changed"] else already
    console.print(escape(text.format(**result)), highlight=False)


@app.command("grant")
def grant(
    user: UserArg,
    role: RoleArg,
    tenant: TenantOption = None,
    platform: PlatformOption = False,
    as_json: JsonOption = False,
) -> None:
    """Give USER the ROLE in a tenant or on the platform (that tenant's admins, or platform
    admins)."""
    with command(as_json) as c:
        result = access.grant(c, c.settings.user, user, role, tenant, platform)
        emit(
            result,
            as_json,
            lambda: _changed(
                result,
                "{user} now holds {role} in {tenant}",
                "{user} already holds {role} in {tenant}",
            ),
        )


@app.command("revoke")
def revoke(
    user: UserArg,
    role: RoleArg,
    tenant: TenantOption = None,
    platform: PlatformOption = False,
    as_json: JsonOption = False,
) -> None:
    """Take ROLE from USER in a tenant or on the platform (that tenant's admins, or platform
    admins; the last platform admin keeps theirs)."""
    with command(as_json) as c:
        result = access.revoke(c, c.settings.user, user, role, tenant, platform)
        emit(
            result,
            as_json,
            lambda: _changed(
                result,
                "{user} no longer holds {role} in {tenant}",
                "{user} did not hold {role} in {tenant}",
            ),
        )


@app.command("list")
def list_access(as_json: JsonOption = False) -> None:
    """Role bindings and API token ids (never the tokens)."""
    with command(as_json) as c:
        result = access.list_access(c)
        emit(result, as_json, lambda: _render(result))


def _render(result: dict[str, Any]) -> None:
    roles = Table("user", "role", "tenant", "granted by", "granted at")
    for b in result["bindings"]:
        scope = "* (platform)" if b["tenant"] == "*" else b["tenant"]
        when = f"{b['granted_at']:%Y-%m-%d %H:%M}"
        roles.add_row(b["user"], b["role"], scope, b["granted_by"], when)
    console.print(roles)
    if not result["tokens"]:
        console.print("no API tokens (make one: deployer access token create USER)")
        return
    tokens = Table("token id", "owner", "created by", "created at", "revoked at")
    for t in result["tokens"]:
        revoked = f"{t['revoked_at']:%Y-%m-%d %H:%M}" if t["revoked_at"] else ""
        tokens.add_row(
            t["token_id"], t["owner"], t["created_by"], f"{t['created_at']:%Y-%m-%d %H:%M}", revoked
        )
    console.print(tokens)


@token_app.command("create")
def token_create(user: UserArg, as_json: JsonOption = False) -> None:
    """Make an API token for USER (admins only) and print it, the only time it is shown."""
    with command(as_json) as c:
        result = access.create_token(c, c.settings.user, user)

        def render() -> None:
            console.print(f"token {result['token_id']} for {result['owner']} (shown once):")
            console.print(result["token"], highlight=False, markup=False)

        emit(result, as_json, render)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (deployer access list).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke an API token (admins only); the API refuses it from the next request on."""
    with command(as_json) as c:
        result = access.revoke_token(c, c.settings.user, token_id)
        emit(
            result,
            as_json,
            lambda: _changed(
                result, "revoked {token_id} of {owner}", "{token_id} of {owner} was already revoked"
            ),
        )


def whoami(as_json: JsonOption = False) -> None:
    """Who you act as: in local mode the OS user (remote mode asks the ops API)."""
    result = {"user": local_identity(), "mode": "local"}
    emit(result, as_json, lambda: console.print(f"{result['user']} (local)", highlight=False))
