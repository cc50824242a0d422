"""What ``deployer checks`` reports: the monitor's judgements, as the ``health_checks`` table
keeps them (one row per rollout per tick: status, action, figures, verdicts, message); and the
evidence a promotion's gates judge, each metric with where it came from (``metric_evidence``:
what ``deployer approvals`` shows an approver).

``deployer history`` shows only the judgements that moved something (``MOVES``); this shows every
one, waits included, so an operator can see why a canary has not moved on.
"""

from __future__ import annotations

from typing import Any

from agents.ports import Services
from database.models import HealthCheckRow, ModelVersionRow
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
    container: Services,
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


UNRECORDED = "unrecorded"
"""The source shown for a metric recorded before provenance was kept."""


def metric_evidence(row: ModelVersionRow) -> list[dict[str, Any]]:
    """Each metric the gates judge for ``row``, by name: its value and its source (``run``:
    logged by the training run; ``caller``: typed at register or with the criteria;
    ``registry``: found in MLflow's tags by sync; ``unrecorded``: older than provenance)."""
    sources = row.metric_sources
    return [
        {"metric": name, "value": value, "source": sources.get(name, UNRECORDED)}
        for name, value in sorted(row.metrics.items())
    ]
