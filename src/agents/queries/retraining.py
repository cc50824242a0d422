"""Retraining runs as the CLI (``deployer retraining runs``) and the API show them."""

from __future__ import annotations

from typing import Any

from agents.ports import Services
from database.models_retraining import RetrainingRunRow
from lifecycle.errors import UnknownModelError


def runs(c: Services, model_name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Runs, newest first (one model's, or every model's)."""
    with c.reader() as uow:
        return [run_dict(r) for r in uow.retraining.runs(model_name, limit)]


def run(c: Services, run_id: str) -> dict[str, Any]:
    with c.reader() as uow:
        row = uow.retraining.run(run_id)
        if row is None:
            raise UnknownModelError(f"there is no retraining run {run_id}")
        return run_dict(row)


def run_dict(row: RetrainingRunRow) -> dict[str, Any]:
    """A run: status, trigger, window, versions, evaluation."""
    return {
        "id": row.id,
        "model_name": row.model_name,
        "trigger": row.trigger,
        "status": row.status,
        "reason": row.reason,
        "requested_by": row.requested_by,
        "requested_at": row.requested_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "data_since": row.data_since,
        "data_until": row.data_until,
        "parent_version": row.parent_version,
        "new_version": row.new_version,
        "mlflow_run_id": row.mlflow_run_id,
        "approval_id": row.approval_id,
        "evaluation": dict(row.evaluation or {}),
        "error": row.error,
    }
