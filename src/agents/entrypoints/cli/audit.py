"""``deployer audit verify``: walk the audit log's hash chain and say whether it is intact.

Intact: ``audit chain intact: 57 events`` and exit 0. Broken: one line on stderr naming the first
row that was changed or removed (``audit chain broken at event 12: event 12 was changed``) and
the exit code of ``AuditChainBrokenError`` (1, the hierarchy's "anything else": a broken chain
is neither bad input nor a refusal). With ``--json`` exactly one document is printed either way:
``{"ok", "checked", "first_bad_id", "problem"}``; a script tells the cases apart by ``ok``.

``agents.queries.audit.verify_audit`` is the query; the HTTP API's ``GET /v1/audit/verify``
calls it too.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.markup import escape

from agents.entrypoints.cli.output import console, emit, err_console, to_json
from agents.entrypoints.cli.shared import JsonOption, command
from agents.queries.audit import verify_audit
from lifecycle.errors import AuditChainBrokenError

app = typer.Typer(help="The audit log: every change, who made it, hash-chained.")


def describe(report: dict[str, Any]) -> str:
    """The report in one line, as the command prints it."""
    if report["ok"]:
        return f"audit chain intact: {report['checked']} events"
    where = f" at event {report['first_bad_id']}" if report["first_bad_id"] is not None else ""
    return f"audit chain broken{where}: {report['problem']}"


@app.command("verify")
def verify(as_json: JsonOption = False) -> None:
    """Check that no audit event was changed or removed since it was written."""
    with command(as_json) as c:
        report = verify_audit(c)
    if report["ok"]:
        emit(
            report, as_json, lambda: console.print(describe(report), highlight=False, markup=False)
        )
        return
    if as_json:
        sys.stdout.write(to_json(report) + "\n")
    err_console.print(f"[bold red]error:[/] {escape(describe(report))}", highlight=False)
    raise typer.Exit(AuditChainBrokenError.exit_code)
