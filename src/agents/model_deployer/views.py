"""ORM rows as the typed values the pure decisions in ``lifecycle`` read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row

from database.models import DeploymentRow, ModelVersionRow, RolloutRow
from database.protocols import UnitOfWork
from database.tick_reads import DeploymentFacts
from lifecycle.comparing_gates import ProductionComparison, comparison_of
from lifecycle.monitor import RolloutPhase, RolloutView
from lifecycle.rollout import DeploymentView
from lifecycle.stages import DeploymentStatus, ModelStage


def view_of(row: DeploymentRow | DeploymentFacts) -> DeploymentView:
    """One deployment row as a decision reads it."""
    return DeploymentView(
        deployment_id=row.deployment_id,
        version=row.model_version,
        strategy=row.strategy,
        status=DeploymentStatus(row.status),
        stage=ModelStage(row.target_stage),
        deployed_at=row.deployed_at,
    )


def views_of(rows: Iterable[DeploymentRow | DeploymentFacts]) -> list[DeploymentView]:
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


def open_rollout_of(row: RolloutRow | Row[Any]) -> OpenRollout:
    """One ``rollouts`` row as the monitor reads it (a row object, or its ``OPEN_ROLLOUT``
    columns: ``rollouts.read_in_phases``)."""
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


def production_comparison(uow: UnitOfWork, row: ModelVersionRow) -> ProductionComparison:
    """What a relative criterion of ``row`` compares with: the version in production now
    (another than ``row``; the latest to get there when several are), on the retraining
    evaluation that compared the two on the same held-out data, else on registered metrics."""
    others = [
        v
        for v in uow.models.list(row.model_name, ModelStage.PRODUCTION)
        if v.version != row.version
    ]
    if not others:
        return comparison_of(row.metrics, None, {})
    current = max(others, key=lambda v: v.stage_changed_at)
    return comparison_of(
        {k: float(v) for k, v in row.metrics.items()},
        current.version,
        {k: float(v) for k, v in current.metrics.items()},
        evaluation_of(uow, row),
    )


def evaluation_of(uow: UnitOfWork, row: ModelVersionRow) -> Mapping[str, Any] | None:
    """The retraining run's evaluation of ``row``: the run its lineage names, else the newest
    run of the model that registered this version with an evaluation (None: none did)."""
    run_id = (row.lineage or {}).get("retraining_run_id")
    run = uow.retraining.run(str(run_id)) if run_id else None
    if run is None:
        runs = uow.retraining.runs(row.model_name)
        run = next((r for r in runs if r.new_version == row.version and r.evaluation), None)
    return dict(run.evaluation) if run is not None and run.evaluation else None
