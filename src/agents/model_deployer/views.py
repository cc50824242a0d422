"""ORM rows as the typed values the pure decisions in ``lifecycle`` read."""

from __future__ import annotations

from collections.abc import Iterable

from database.models import DeploymentRow
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
