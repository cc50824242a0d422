"""What ``deployer checks`` reports: the monitor's judgements, as the ``health_checks`` table
keeps them (one row per rollout per tick: status, action, figures, verdicts, message).

``deployer history`` shows only the judgements that moved something (``MOVES``); this shows every
one, waits included, so an operator can see why a canary has not moved on.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from agents.bootstrap import Container
from agents.output import console
from database.models import HealthCheckRow
from lifecycle.errors import UnknownModelError
from lifecycle.monitor import MonitorAction

MOVES = frozenset(
    a.value
    for a in (
        MonitorAction.ADVANCE,
        MonitorAction.COMPLETE,
        MonitorAction.RETIRE,
        MonitorAction.ROLLBACK,
        MonitorAction.RESTART,
    )
)
"""The actions that change routing or servers; waits and observations change nothing."""


def health_checks(
    container: Container,
    model_name: str | None = None,
    deployment_id: str | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    """The latest ``limit`` judgements, oldest first, of one model, one deployment, or all.

    Raises UnknownModelError for a model with no registered version or an unknown deployment.
    """
    with container.reader() as uow:
        if model_name and model_name not in uow.models.list_model_names():
            raise UnknownModelError(f"no model named {model_name!r} is registered")
        if deployment_id:
            uow.deployments.get(deployment_id)
        rows = uow.health_checks.list(deployment_id or None, model_name or None, max(1, limit))
        checks = [check_dict(r) for r in rows]
    return {"model_name": model_name, "deployment_id": deployment_id, "checks": checks}


def check_dict(row: HealthCheckRow) -> dict[str, Any]:
    """One judgement as JSON-ready fields."""
    return {
        "id": row.id,
        "checked_at": row.checked_at,
        "deployment_id": row.deployment_id,
        "model_name": row.model_name,
        "status": row.status,
        "action": row.action,
        "message": row.message,
        "metrics": dict(row.metrics),
        "tick_id": row.tick_id,
    }


def figures_text(metrics: dict[str, Any]) -> str:
    """The figures a judgement was made on: the candidate's requests of its current step
    (``412 req, 1.2% err, p95 38 ms``), or a shadow's comparisons (``97.5% agreed of 40``)."""
    if "compared" in metrics:
        if not metrics["compared"]:
            return "no comparisons"
        return f"{metrics.get('agreement') or 0.0:.1%} agreed of {metrics['compared']:,}"
    candidate = metrics.get("candidate") or {}
    if not candidate.get("requests"):
        return "no requests"
    parts = [f"{candidate['requests']:,} req", f"{candidate.get('error_rate', 0.0):.1%} err"]
    if candidate.get("p95_ms") is not None:
        parts.append(f"p95 {candidate['p95_ms']:,.0f} ms")
    return ", ".join(parts)


def render_checks(result: dict[str, Any]) -> None:
    """A table of judgements, oldest first."""
    checks = result["checks"]
    scope = result["deployment_id"] or result["model_name"] or "every model"
    if not checks:
        console.print(f"no health checks yet for {scope}", highlight=False)
        return
    table = Table("time (UTC)", "deployment", "action", "status", "figures", "message")
    table.title = f"health checks of {scope}"
    for c in checks:
        colour = {"failed": "red", "passed": "green"}.get(c["status"], "yellow")
        table.add_row(
            c["checked_at"].strftime("%Y-%m-%d %H:%M:%S"),
            Text(c["deployment_id"]),
            Text(c["action"], style="bold" if c["action"] in MOVES else ""),
            Text(c["status"], style=colour),
            Text(figures_text(c["metrics"])),
            # Text, not markup: messages quote figures and may hold brackets.
            Text(c["message"]),
        )
    console.print(table)
