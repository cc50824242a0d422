"""``deployer audit verify`` in remote mode: the ops API checks the chain."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from agents.entrypoints.cli.output import console, emit, err_console, to_json
from agents.entrypoints.cli.remote import remote_command
from lifecycle.errors import AuditChainBrokenError

app = typer.Typer(help="The audit log: every change, who made it, hash-chained.")
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]


@app.command("verify")
def audit_verify(as_json: JsonOption = False) -> None:
    """Check that no audit event was changed or removed since it was written."""
    from agents.entrypoints.cli.audit import describe

    with remote_command(as_json) as api:
        report = api.get("/v1/audit/verify").body
    if report["ok"]:
        emit(report, as_json, lambda: console.print(describe(report), highlight=False))
        return
    if as_json:
        sys.stdout.write(to_json(report) + "\n")
    err_console.print(f"[bold red]error:[/] {describe(report)}", highlight=False)
    raise typer.Exit(AuditChainBrokenError.exit_code)
