"""ORM rows as the typed values the pure decisions in ``lifecycle`` read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from database.models import DeploymentRow, RolloutRow
from lifecycle.monitor import RolloutPhase, RolloutView
from lifecycle.rollout import DeploymentView
from lifecycle.stages import DeploymentStatus, ModelStage


def view_of(row: DeploymentRow) -> DeploymentView:
    """One deployment row as a decision reads it."""
    return DeploymentView(
        deployment_id=row.deployment_id,
        version=row.model_version,
        strategy=row.strategy,
        status=DeploymentStatus(row.status),
        stage=ModelStage(row.target_stage),
        deployed_at=row.deployed_at,
    )


def views_of(rows: Iterable[DeploymentRow]) -> list[DeploymentView]:
    """Rows as decision views, in the order given."""
    return [view_of(r) for r in rows]


@dataclass(frozen=True, slots=True)
class OpenRollout:
    """A rollout the monitor judges: its deployments, the decision's view of it, its stored
    rollback config and step marks, and the reasons of a rollback already decided."""

    deployment_id: str
    model_name: str
    baseline_deployment_id: str | None
    view: RolloutView
    config: Mapping[str, object]
    marks: Mapping[str, Any]
    pending: tuple[str, ...] | None
    """The reasons of a decided rollback not finished yet (None: nothing pending)."""


def open_rollout_of(row: RolloutRow) -> OpenRollout:
    """One ``rollouts`` row as the monitor reads it."""
    return OpenRollout(
        deployment_id=row.deployment_id,
        model_name=row.model_name,
        baseline_deployment_id=row.baseline_deployment_id,
        view=RolloutView(
            phase=RolloutPhase(row.phase),
            steps=tuple(float(w) for w in row.steps.get("weights", [])),
            step_index=row.step_index,
            step_started_at=row.step_started_at,
            pause_seconds=row.pause_seconds,
            warm_until=row.warm_until,
        ),
        config=dict(row.config),
        marks=dict(row.marks),
        pending=tuple(row.pending["reasons"]) if row.pending else None,
    )
