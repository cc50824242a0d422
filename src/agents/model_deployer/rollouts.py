"""The ``rollouts`` rows the deploy flow hands to the monitor, and the helpers both share.

A deploy returns as soon as its first step is routed; what is left (a canary's next weights, a
warm period, a shadow's comparison) is written here, committed before the first route names
the new deployment (``open_rollout_first``), and the monitoring tick carries it on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig

from agents.keyed_steps import once
from agents.model_deployer.changes import RUN_ID_LENGTH
from agents.model_deployer.deps import DeployerDeps
from database.models import RolloutRow
from database.protocols import UnitOfWork
from database.services import record_stage_change
from lifecycle.latency import RequestCounts
from lifecycle.monitor import OPEN_PHASES, RolloutPhase
from lifecycle.rollback import RollbackConfig, config_to_dict, configure
from lifecycle.rollout import RolloutPlan, monitored_phase, remaining_steps
from lifecycle.stages import ModelStage
from lifecycle.supervision import is_system_thread


def rollout_config(deps: DeployerDeps, advised_preset: str | None) -> RollbackConfig:
    """The rollback config of a new rollout: memory's advice (a cautious preset after a rolled
    back rollout) or the policy's preset, with the policy's explicit thresholds over it."""
    preset = advised_preset or deps.policy.rollback_preset
    return configure(preset, deps.policy.rollback_overrides)


def marks_of(deps: DeployerDeps, *deployment_ids: str | None) -> dict[str, Any]:
    """The cumulative counters of the deployments now, to judge a step on its own requests.

    Read before a unit of work opens: the metrics source has its own session.
    """
    return {d: deps.metrics.counts(d).to_json() for d in deployment_ids if d}


def mark_of(marks: Mapping[str, Any], deployment_id: str | None) -> RequestCounts | None:
    """The counters stored for ``deployment_id`` (None when none were)."""
    if not deployment_id or deployment_id not in marks:
        return None
    return RequestCounts.from_json(marks[deployment_id])


def open_rollout(
    uow: UnitOfWork,
    deps: DeployerDeps,
    model_name: str,
    planned: RolloutPlan,
    marks: dict[str, Any],
    now: datetime,
) -> RolloutRow | None:
    """Hand a deployment that is not finished (canary, warm, shadow) to the monitor."""
    phase = monitored_phase(planned)
    if phase is None:
        return None
    weights, index = remaining_steps(planned)
    row = RolloutRow(
        deployment_id=planned.deployment_id,
        model_name=model_name,
        strategy=planned.strategy.value,
        phase=phase.value,
        baseline_deployment_id=planned.stable,
        steps={"weights": weights},
        step_index=index,
        step_started_at=now,
        pause_seconds=deps.policy.canary_step_seconds,
        warm_until=now + timedelta(seconds=deps.policy.kept_warm_seconds)
        if phase is RolloutPhase.WARM
        else None,
        config=config_to_dict(planned.rollback_config),
        marks=marks,
        pending=None,
        last_message="",
    )
    return uow.rollouts.add(row)


def open_rollout_first(
    deps: DeployerDeps, run_id: str, model_name: str, reached: RolloutPlan
) -> None:
    """Before a deploy routes users to its new deployment: open the rollout the monitor judges
    (``reached`` says how far the deploy's steps go) and mark the deployment as this run's, in
    one keyed commit. The monitor leaves the deployment to the run until the run finishes
    (``finish_deploy`` or ``fail_deploy`` clear the mark); a run killed after routing leaves
    the rollout, the mark and the deployment's thread for ``deployer watch`` to heal."""
    marks = marks_of(deps, reached.deployment_id, reached.stable)

    def act(uow: UnitOfWork) -> dict[str, Any]:
        now = deps.clock.now()
        row = uow.deployments.get(reached.deployment_id)
        row.changing_run_id, row.changing_since = run_id[:RUN_ID_LENGTH], now
        opened = open_rollout(uow, deps, model_name, reached, marks, now)
        return {"rollout": opened is not None}

    once(deps, run_id, "open_rollout", act)


def own_thread(config: RunnableConfig) -> str | None:
    """The thread a node runs on, when the deployer runs alone or inside the system graph
    (the watcher resumes a system thread through the system graph); None inside an upstream
    agent's graph: that thread is the upstream graph's, resumed through that agent."""
    configurable = config.get("configurable", {})
    thread = str(configurable.get("thread_id") or "")
    if is_system_thread(thread):
        return thread
    if not thread or "|" in str(configurable.get("checkpoint_ns") or ""):
        return None
    return thread


def close_rollouts(
    uow: UnitOfWork, deployment_ids: list[str], phase: RolloutPhase, why: str
) -> None:
    """End the open rollouts of these deployments (rolled back, failed, replaced)."""
    for deployment_id in deployment_ids:
        row = uow.rollouts.find(deployment_id)
        if row is not None and RolloutPhase(row.phase) in OPEN_PHASES:
            row.phase, row.pending, row.last_message = phase.value, None, why


def archive_in_registry(deps: DeployerDeps, model_name: str, version: str) -> None:
    """The outside half of ``archive_version``: a version production still holds leaves the
    registry's production alias (idempotent; run before the record)."""
    with deps.uow() as uow:
        stage = uow.models.get(model_name, version).model_stage
    if stage is ModelStage.PRODUCTION:
        deps.registry.set_stage(model_name, version, ModelStage.ARCHIVED)


def archive_version(
    uow: UnitOfWork, model_name: str, version: str, actor: str, reason: str
) -> None:
    """Record a replaced production version as archived (its registry stage moved before, by
    ``archive_in_registry``); others are left."""
    row = uow.models.get(model_name, version)
    if row.model_stage is not ModelStage.PRODUCTION:
        return
    record_stage_change(uow, model_name, version, ModelStage.ARCHIVED, actor, reason=reason)
