"""The monitoring tick, acting: carry out each judgement ``check_health`` made (see health.py).

``act_on_health`` carries the decisions out: the next canary weight, completion (100%, the old
deployment drains and its version is archived), retirement of the old deployment after the
warm period, the restart of a dead server, or an automatic rollback, which runs the rollback
flow (the same nodes and edges a requested rollback takes) under the run id stored with it.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from agents.keyed_steps import once
from agents.model_deployer.changes import change, mark, nothing, stop_servers, unmark
from agents.model_deployer.deps import MONITOR_ACTOR, DeployerDeps
from agents.model_deployer.retirement import replace_effect, replace_stable
from agents.model_deployer.rollback import rollback_flow, run_rollback
from agents.model_deployer.rollouts import marks_of
from agents.model_deployer.state import HealthCheck, MonitorReport, State
from database.models import RolloutRow
from database.protocols import UnitOfWork
from database.services import retire
from lifecycle.monitor import MonitorAction, RolloutPhase, act_order, monitor_mark
from lifecycle.ports import Routes
from lifecycle.rollback_plan import RollbackPlan
from lifecycle.routing import single, split, with_shadow_of, without_mirror
from lifecycle.stages import DeploymentStatus
from memory import episodes


class MonitorNodes:
    """The monitoring tick's two nodes over the ports in ``deps``."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps
        self.rollback_flow = rollback_flow(deps)
        self.planned_flow = rollback_flow(deps, pause=False)
        """A rollback whose plan the tick stored with its decision: straight through."""

    # -- act --------------------------------------------------------------------------------

    def act(self, state: State) -> dict[str, Any]:
        """Carry out each decision, rollbacks first (users are on a failing deployment until its
        switch); one that cannot be carried out is reported, not raised."""
        report = state.monitor
        if isinstance(report, dict):  # a checkpoint read without its class gives JSON back
            report = MonitorReport.model_validate(report)
        if report is None:
            return {"status": "monitored"}
        order = act_order([c.action for c in report.checks])  # rollbacks first
        outcomes = {i: self._outcome(state, report.checks[i]) for i in order}
        done = tuple(
            c.model_copy(update={"outcome": outcomes[i]}) for i, c in enumerate(report.checks)
        )
        return {"monitor": report.model_copy(update={"checks": done}), "status": "monitored"}

    def _outcome(self, state: State, check: HealthCheck) -> str:
        try:
            return self._carry_out(state, check)
        except Exception as exc:  # one broken rollout must not stop the others' ticks
            return f"could not {check.action.value}: {exc}".splitlines()[0]

    def _carry_out(self, state: State, check: HealthCheck) -> str:
        action = check.action
        if action is MonitorAction.ADVANCE:
            return self._advance(state, check)
        if action is MonitorAction.COMPLETE:
            return self._complete(state, check)
        if action is MonitorAction.RETIRE:
            return self._retire(state, check)
        if action is MonitorAction.ROLLBACK:
            return self._roll_back(check)
        if action is MonitorAction.RESTART:
            return self._restart(state, check)
        return check.message

    def _advance(self, state: State, check: HealthCheck) -> str:
        dep, base, percent = check.deployment_id, check.target, float(check.next_percent or 0)
        self._route(check, split(check.model_name, str(base), dep, percent))
        marks = marks_of(self.deps, dep, base)

        def act(uow: UnitOfWork) -> dict[str, Any]:
            rollout = _open(uow, dep)
            rollout.step_index += 1
            rollout.step_started_at, rollout.marks = self.deps.clock.now(), marks
            uow.deployments.get(dep).traffic_percentage = percent
            if base:
                uow.deployments.get(base).traffic_percentage = 100.0 - percent
            uow.audit.append(
                MONITOR_ACTOR, "canary_advanced", dep, {"percent": percent, "why": check.message}
            )
            return {}

        once(self.deps, state.run_id, f"advance:{dep}", act)
        return f"{dep} now takes {percent:g}%"

    def _complete(self, state: State, check: HealthCheck) -> str:
        dep, base = check.deployment_id, check.target
        self._route(check, single(check.model_name, dep))
        marks = marks_of(self.deps, dep)

        def act(uow: UnitOfWork) -> dict[str, Any]:
            rollout = _open(uow, dep)
            now = self.deps.clock.now()
            # The new deployment is judged on its own requests from now; the old one keeps its
            # last step's mark: it serves nobody while warm, so its figures since the switch
            # would be none, and the warm phase could never pass (its latency gates compare
            # with the old one's last step instead).
            kept = {base: rollout.marks[base]} if base and base in rollout.marks else {}
            rollout.phase, rollout.step_started_at, rollout.marks = (
                RolloutPhase.WARM.value,
                now,
                {**kept, **marks},
            )
            rollout.step_index = max(0, len(rollout.steps.get("weights", [])) - 1)
            rollout.warm_until = now + timedelta(seconds=self.deps.policy.kept_warm_seconds)
            row = uow.deployments.get(dep)
            row.traffic_percentage = 100.0
            if base:
                old = uow.deployments.get(base)
                replace_stable(self.deps, uow, old, row.model_version, MONITOR_ACTOR)
            uow.audit.append(MONITOR_ACTOR, "canary_completed", dep, {"why": check.message})
            return {}

        effect = replace_effect(self.deps, base, check.version) if base else nothing
        mine = monitor_mark(state.run_id)
        change(self.deps, state.run_id, f"complete:{dep}", [dep, base], effect, act, mine)
        return f"{dep} takes all traffic; {base} stays warm"

    def _retire(self, state: State, check: HealthCheck) -> str:
        dep, base = check.deployment_id, check.target

        def act(uow: UnitOfWork) -> dict[str, Any]:
            rollout = _open(uow, dep)
            rollout.phase = RolloutPhase.COMPLETED.value
            if base:
                retire(uow.deployments.get(base), self.deps.clock.now())
                uow.audit.append(MONITOR_ACTOR, "retired", base, {"replaced_by": dep})
            return {}

        effect = partial(stop_servers, self.deps, [base])
        mine = monitor_mark(state.run_id)
        change(self.deps, state.run_id, f"retire:{dep}", [dep, base], effect, act, mine)
        return f"warm period over: {base} retired" if base else "rollout completed"

    def _roll_back(self, check: HealthCheck) -> str:
        """The rollback flow (the graph's own path), under the run id the decision was stored
        with. A plan stored with the decision (``decided.py``) runs straight through; without
        one, a new plan is stored in the rollout before anything is undone."""
        dep = check.deployment_id
        with self.deps.uow() as uow:
            rollout = _open(uow, dep)
            pending, phase = dict(rollout.pending or {}), rollout.phase
        if phase == RolloutPhase.SHADOW.value:
            return self._stop_mirror(check, pending)
        reason = "automatic: " + "; ".join(pending.get("reasons") or check.reasons)
        stored = pending.get("plan")
        request = State(
            action="rollback",
            model_name=check.model_name,
            deployment_id=pending.get("target") or None,
            reason=reason,
            requested_by=MONITOR_ACTOR,
            run_id=pending["run_id"],
            rollback=RollbackPlan.model_validate(stored) if stored else None,
        )

        def keep(planned: RollbackPlan) -> RollbackPlan:
            decided = {**planned.model_dump(), "decided_at": pending.get("decided_at")}
            plan = RollbackPlan.model_validate(decided)
            self._save_pending(dep, {**pending, "plan": plan.model_dump(mode="json")})
            return plan

        if stored:  # stored with the decision (or by a tick that stopped): straight through
            result = run_rollback(self.planned_flow, request)
        else:
            result = run_rollback(self.rollback_flow, request, keep)
        return f"rolled back to {result['active_deployment_id']}: {reason}"

    def _stop_mirror(self, check: HealthCheck, pending: dict[str, Any]) -> str:
        dep, name = check.deployment_id, check.model_name
        routes = self.deps.router.get_routes(name)
        if routes is not None and routes.shadow_deployment_id == dep:
            self.deps.router.set_routes(without_mirror(routes))

        def act(uow: UnitOfWork) -> dict[str, Any]:
            row = uow.deployments.get(dep)
            retire(row, self.deps.clock.now(), DeploymentStatus.FAILED)
            rollout = _open(uow, dep)
            rollout.phase, rollout.pending = RolloutPhase.FAILED.value, None
            uow.audit.append(MONITOR_ACTOR, "shadow_stopped", dep, {"why": list(check.reasons)})
            return {}

        effect = partial(stop_servers, self.deps, [dep])
        mine = monitor_mark(pending["run_id"])
        change(self.deps, pending["run_id"], "stop_mirror", [dep], effect, act, mine)
        self._remember(check, episodes.FAILED, pending["run_id"])
        return f"mirroring to {dep} stopped"

    def _restart(self, state: State, check: HealthCheck) -> str:
        """Start a dead routed deployment's server again under the same deployment id."""
        dep = check.deployment_id
        with self.deps.uow() as uow:
            row = uow.deployments.get(dep)
            tag, resources = row.bento_tag, row.resources()
        mark(self.deps, monitor_mark(state.run_id), [dep])
        self.deps.serving.stop_strays(dep)
        endpoint = self.deps.serving.start(dep, str(tag), resources)
        with self.deps.uow() as uow:
            row = uow.deployments.get(dep)
            old = row.endpoint_pid
            row.serve_from(endpoint)
            unmark(uow, monitor_mark(state.run_id), [dep])
            uow.audit.append(
                MONITOR_ACTOR, "endpoint_restarted", dep, {"old_pid": old, "pid": endpoint.pid}
            )
            uow.commit()
        self._remember(check, episodes.SUCCEEDED, state.run_id)
        return f"{dep} restarted at {endpoint.url}"

    # -- helpers ----------------------------------------------------------------------------

    def _route(self, check: HealthCheck, routes: Routes) -> None:
        previous = self.deps.router.get_routes(check.model_name)
        self.deps.router.set_routes(with_shadow_of(routes, previous, {check.deployment_id}))

    def _save_pending(self, dep: str, pending: dict[str, Any]) -> None:
        with self.deps.uow() as uow:
            _open(uow, dep).pending = pending
            uow.commit()

    def _remember(self, check: HealthCheck, outcome: str, run_id: str) -> None:
        self.deps.memory.record_episode(
            check.model_name,
            episodes.HEALTH,
            {
                "deployment_id": check.deployment_id,
                "version": check.version,
                "action": check.action.value,
                "outcome": outcome,
                "reasons": list(check.reasons),
            },
            episode_id=f"health:{check.deployment_id}:{run_id}",
        )


def _open(uow: UnitOfWork, deployment_id: str) -> RolloutRow:
    row = uow.rollouts.find(deployment_id)
    if row is None:
        raise RuntimeError(f"{deployment_id} has no rollout")
    return row
