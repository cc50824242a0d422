"""Evidence rows as the production watch writes them (drift checks, quality checks, SLO states
and observe judgements, stale figures), a served model, a retraining policy, and the monitor
agent's deps over a world: for the monitor agent's node and integration tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from agents.model_monitor import MonitorDeps
from database.models import DeploymentRow, HealthCheckRow, ModelVersionRow
from database.models_drift import DriftCheckRow
from database.models_feedback import QualityCheckRow
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.records import model_version_id
from lifecycle.retraining import RetrainingPolicy
from lifecycle.stages import DeploymentStatus, ModelStage

UowFactory = Callable[[], SqlAlchemyUnitOfWork]
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def serve(
    uow_of: UowFactory,
    model: str,
    version: str = "1",
    deployment_id: str = "",
    status: DeploymentStatus = DeploymentStatus.ACTIVE,
    now: datetime | None = None,
    stage: ModelStage = ModelStage.PRODUCTION,
) -> str:
    """A registered production version and a deployment serving it; the deployment's id."""
    dep = deployment_id or f"{model}-v{version}-0001"
    with uow_of() as uow:
        if uow.models.find(model, version) is None:
            uow.models.add(
                ModelVersionRow(
                    model_version_id=model_version_id(model, version),
                    model_name=model,
                    version=version,
                    stage=stage.value,
                    metrics={"accuracy": 0.95},
                    params={},
                    success_criteria={"criteria": []},
                    artifact_uri=f"runs:/r/{model}",
                    experiment_id="0",
                )
            )
            uow.session.flush()
        uow.deployments.add(
            DeploymentRow(
                deployment_id=dep,
                model_version_id=model_version_id(model, version),
                model_name=model,
                model_version=version,
                target_stage=ModelStage.PRODUCTION.value,
                endpoint_name=dep,
                status=status.value,
                traffic_percentage=100.0 if status is DeploymentStatus.ACTIVE else 0.0,
                deployed_by="ann",
                **({"deployed_at": now, "drained_at": now} if now else {}),
            )
        )
        uow.commit()
    return dep


def drift_check(
    uow_of: UowFactory, model: str, now: datetime, drifted: tuple[str, ...] = ()
) -> None:
    """A ``drift_checks`` row as ``handlers.drift_checks.record`` writes it."""
    columns = [
        {
            "name": name,
            "role": "feature",
            "kind": "numeric",
            "p_value": 0.0001 if name in drifted else 0.6,
            "adjusted_p_value": 0.0004 if name in drifted else 1.0,
            "psi": 0.9 if name in drifted else 0.01,
            "verdict": "drift" if name in drifted else "no_drift",
        }
        for name in FEATURES
    ]
    with uow_of() as uow:
        uow.session.add(
            DriftCheckRow(
                model_name=model,
                version="1",
                deployment_id=f"{model}-v1-0001",
                checked_at=now,
                checked_by="watcher",
                window_seconds=3600.0,
                verdict="drift" if drifted else "no_drift",
                drifted=list(drifted),
                current_rows=500,
                reference_rows=150,
                columns=columns,
                summary=f"drift in {', '.join(drifted)}" if drifted else "no drift",
            )
        )
        uow.commit()


def quality_check(
    uow_of: UowFactory, model: str, now: datetime, observed: float, approved: float = 0.95
) -> None:
    """A ``quality_checks`` row as ``handlers.feedback.judge_quality`` writes it."""
    with uow_of() as uow:
        uow.session.add(
            QualityCheckRow(
                checked_at=now,
                model_name=model,
                version="1",
                deployment_id=f"{model}-v1-0001",
                task="classification",
                metric="accuracy",
                observed=observed,
                approved=approved,
                labelled=200,
                verdict="drop" if observed < approved - 0.02 else "ok",
                summary=f"accuracy {observed:.4f}",
            )
        )
        uow.commit()


def slo_breach(uow_of: UowFactory, model: str, dep: str, now: datetime, ticks: int) -> None:
    """A deployment's SLO state failed, with ``ticks`` observe judgements that proposed a
    rollback, as the deployer's guard writes them outside its window."""
    with uow_of() as uow:
        uow.slo.save_state(dep, model, "failed", [], now)
        for n in range(ticks):
            uow.health_checks.add(
                HealthCheckRow(
                    deployment_id=dep,
                    model_name=model,
                    checked_at=now,
                    status="failed",
                    action="observe",
                    metrics={"slo": {"status": "failed", "guard": "propose"}},
                    message="SLO breach: to roll back, run deployer rollback; error rate 0.3",
                    tick_id=f"tick-{n}",
                )
            )
        uow.commit()


def set_policy(uow_of: UowFactory, now: datetime, **kw: Any) -> RetrainingPolicy:
    policy = RetrainingPolicy(project="/srv/project", **kw)
    with uow_of() as uow:
        uow.retraining.set_policy(policy, "ann", now)
        uow.commit()
    return policy


def monitor_deps(world: Any, actor: str | None = None) -> MonitorDeps:
    """The monitor agent's deps over an ``agent_fakes`` world."""
    return MonitorDeps(uow=world.uow, memory=world.memory, clock=world.clock, actor=actor)
