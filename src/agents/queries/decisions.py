"""What ``deployer decisions`` and ``GET /v1/models/{name}/decisions`` report: the monitor
agent's decisions (``monitor_decisions``), newest first, each with its reasons, its trigger,
who asked from where, and what it handed over (a retraining run, a rollback request)."""

from __future__ import annotations

from typing import Any

from agents.ports import Services
from database.models_monitor import MonitorDecisionRow
from database.monitor import MonitorRepository
from lifecycle.errors import UnknownModelError


def decisions(c: Services, model_name: str = "", limit: int = 20) -> dict[str, Any]:
    """The latest ``limit`` decisions of one model (or every model), newest first.
    UnknownModelError names a model with no registered version."""
    with c.reader() as uow:
        if model_name and model_name not in uow.models.list_model_names():
            raise UnknownModelError(f"no model named {model_name!r} is registered")
        rows = MonitorRepository(uow.session).decisions(model_name or None, max(1, limit))
        found = [decision_dict(r) for r in rows]
    return {"model_name": model_name or None, "decisions": found}


def decision_dict(row: MonitorDecisionRow) -> dict[str, Any]:
    """One decision as JSON-ready fields."""
    handoff = row.handoff or None
    return {
        "id": row.id,
        "model_name": row.model_name,
        "decided_at": row.decided_at,
        "action": row.action,
        "trigger": row.trigger,
        "severity": row.severity,
        "reasons": list(row.reasons or []),
        "requested_by": row.requested_by,
        "source": row.source,
        "retraining_run_id": row.retraining_run_id,
        "handoff": handoff,
        "evidence": row.evidence,
    }
