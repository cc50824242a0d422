"""A share set by hand: a new canary share, or a new mirror share for a shadow, in flight.

``plan_deploy`` decides it (``lifecycle.rollout.traffic_update``); ``update_traffic`` writes the
table, restarts the rollout's step at that share (or its warm period at 100%), and hands the
stable deployment over when the canary has taken everything.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agents.model_deployer.changes import change, nothing
from agents.model_deployer.deps import DeployerDeps
from agents.model_deployer.retirement import hand_over, hand_over_effect
from agents.model_deployer.rollouts import marks_of
from agents.model_deployer.state import State, traffic_plan
from database.protocols import UnitOfWork
from lifecycle.monitor import OPEN_PHASES, RolloutPhase
from lifecycle.rollout import canary_restart_weights, updated_routes


class ShareNodes:
    """The share change's node over the ports in ``deps``."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps

    def update_traffic(self, state: State) -> dict[str, Any]:
        """Set a canary's share (or a shadow's mirror share) by hand; 100% completes a canary."""
        update = traffic_plan(state)
        dep, percent = update.deployment_id, update.traffic
        self.deps.router.set_routes(updated_routes(update, state.model_name))
        marks = marks_of(self.deps, dep, update.stable)

        def act(uow: UnitOfWork) -> dict[str, Any]:
            row = uow.deployments.get(dep)
            row.traffic_percentage = percent
            self._reset_rollout(uow, dep, percent, update.completed, marks)
            if update.stable != dep:
                version, actor = str(state.version), state.requested_by
                hand_over(self.deps, uow, update.stable, update, version, actor)
            uow.audit.append(state.requested_by, "traffic_set", dep, {"percent": percent})
            uow.flush()
            return row.to_manifest().model_dump(mode="json")

        effect = hand_over_effect(self.deps, update.stable, update, str(state.version))
        if update.stable == dep:
            effect = nothing
        marked = [dep, update.stable]
        manifest = change(self.deps, state.run_id, "update_traffic", marked, effect, act)
        return {
            "plan": update,
            "deployment_manifest": manifest,
            "status": "traffic_updated",
            "active_deployment_id": dep if update.completed else update.stable,
        }

    def _reset_rollout(
        self, uow: UnitOfWork, dep: str, percent: float, completed: bool, marks: dict[str, Any]
    ) -> None:
        """A share set by hand starts a new step at that share (or the warm period at 100%)."""
        rollout = uow.rollouts.find(dep)
        if rollout is None or RolloutPhase(rollout.phase) not in OPEN_PHASES:
            return
        now = self.deps.clock.now()
        rollout.step_started_at, rollout.marks = now, marks
        if rollout.phase == RolloutPhase.SHADOW.value:
            return
        if completed:
            rollout.phase = RolloutPhase.WARM.value
            rollout.warm_until = now + timedelta(seconds=self.deps.policy.kept_warm_seconds)
            return
        weights = [float(w) for w in rollout.steps.get("weights", [])]
        rollout.steps = {"weights": canary_restart_weights(weights, percent)}
        rollout.step_index = 0
