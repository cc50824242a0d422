"""The monitoring tick: judge every open rollout, record each judgement, act on it.

``check_health`` reads the gateways' counters for each canary, warm and shadow deployment,
judges the requests of its current step with the rollback config it was given at deploy time,
and writes one ``health_checks`` row per deployment; a decided rollback is written into the
rollout (``pending``) in the same transaction, so a watcher killed half-way leaves it to the
next tick. It also looks at every routed deployment without a rollout: a dead server is
restarted in place (the gateway retries on the stable deployment meanwhile).

``act_on_health`` carries the decisions out: the next canary weight, completion (100%, the old
deployment drains and its version is archived), retirement of the old deployment after the
warm period, or an automatic rollback through the rollback flow's own nodes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from agents.model_deployer.deps import DeployerDeps
from agents.model_deployer.idempotency import once
from agents.model_deployer.retirement import replace_stable, retire
from agents.model_deployer.rollback import rollback_flow, run_rollback
from agents.model_deployer.rollouts import mark_of, marks_of
from agents.model_deployer.state import HealthCheck, MonitorReport, State
from database.models import DeploymentRow, HealthCheckRow, RolloutRow
from database.protocols import UnitOfWork
from lifecycle.gates import Verdict, VerdictStatus, health_gates, shadow_agreement_gate
from lifecycle.latency import RequestCounts
from lifecycle.monitor import (
    OPEN_PHASES,
    MonitorAction,
    MonitorDecision,
    RolloutPhase,
    RolloutView,
    decide,
)
from lifecycle.ports import Routes
from lifecycle.rollback import config_from_dict
from lifecycle.rollback_plan import RollbackPlan
from lifecycle.routing import single, split, with_shadow_of, without_mirror
from lifecycle.stages import DeploymentStatus
from memory import episodes

MONITOR_ACTOR = "monitor"
"""Who the audit log and the memory name for what a tick does."""


class MonitorNodes:
    """The monitoring tick's two nodes over the ports in ``deps``."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps
        self.rollback_flow = rollback_flow(deps)

    # -- check ------------------------------------------------------------------------------

    def check(self, state: State) -> dict[str, Any]:
        """Judge every open rollout (of ``model_name``, or all) and every routed endpoint."""
        tick = state.run_id
        model = state.model_name or None
        with self.deps.uow() as uow:
            rollouts = [_rollout_dict(r) for r in uow.rollouts.in_phases(OPEN_PHASES, model)]
            rows = {d.deployment_id: d for d in uow.deployments.list(model)}
        owned = {r["deployment_id"] for r in rollouts}
        checks = [self._judge(r, rows) for r in rollouts] + self._sweep(rows, owned)
        now = self.deps.clock.now()
        once(self.deps, tick, "check_health", self._recorder(tick, checks, now))
        return {"monitor": MonitorReport(tick_id=tick, checked_at=now, checks=tuple(checks))}

    def _recorder(self, tick: str, checks: list[HealthCheck], now: datetime) -> Any:
        """The tick's one write: a ``health_checks`` row per judgement, and each decided
        rollback stored in its rollout (``pending``) before anything acts on it."""

        def act(uow: UnitOfWork) -> dict[str, Any]:
            for check in checks:
                uow.health_checks.add(_health_row(check, tick, now))
                rollout = uow.rollouts.find(check.deployment_id)
                if rollout is None:
                    continue
                rollout.last_message = check.message
                if check.action is MonitorAction.ROLLBACK and rollout.pending is None:
                    rollout.pending = {
                        "decided_at": now.isoformat(),
                        "run_id": f"{tick}-{check.deployment_id}"[:100],
                        "reasons": list(check.reasons),
                        "target": check.target,
                    }
            return {}

        return act

    def _judge(self, rollout: dict[str, Any], rows: dict[str, DeploymentRow]) -> HealthCheck:
        """One rollout's decision, with the figures it was made on."""
        dep = rollout["deployment_id"]
        row, base = rows[dep], rows.get(rollout["baseline_deployment_id"] or "")
        alive = self.deps.serving.process_alive(row.endpoint())
        if rollout["pending"]:
            reasons = list(rollout["pending"]["reasons"])
            decision = MonitorDecision(
                MonitorAction.ROLLBACK, VerdictStatus.FAILED, ("finishing the rollback", *reasons)
            )
            return _check(row, decision, {}, base)
        figures, verdicts = self._verdicts(rollout, row, base)
        view = RolloutView(
            phase=RolloutPhase(rollout["phase"]),
            steps=tuple(rollout["weights"]),
            step_index=rollout["step_index"],
            step_started_at=rollout["step_started_at"],
            pause_seconds=rollout["pause_seconds"],
            warm_until=rollout["warm_until"],
        )
        decision = decide(view, verdicts, self.deps.clock.now(), alive)
        if view.phase is RolloutPhase.SHADOW and not alive:
            decision = MonitorDecision(
                MonitorAction.ROLLBACK, VerdictStatus.FAILED, ("the shadow's process is gone",)
            )
        return _check(row, decision, figures, base, verdicts)

    def _verdicts(
        self, rollout: dict[str, Any], row: DeploymentRow, base: DeploymentRow | None
    ) -> tuple[dict[str, Any], list[Verdict]]:
        """The gates of the rollout's phase over the requests of its current step."""
        if rollout["phase"] == RolloutPhase.SHADOW.value:
            stats = self.deps.metrics.shadow_stats(row.deployment_id)
            promotion = self.deps.policy.promotion
            verdict = shadow_agreement_gate(
                stats, promotion.min_shadow_agreement, promotion.min_shadow_comparisons
            )
            figures: dict[str, Any] = {
                "compared": stats.compared,
                "agreed": stats.agreed,
                "shadow_errors": stats.shadow_errors,
                "agreement": stats.agreement,
            }
            return figures, [verdict]
        config = config_from_dict(rollout["config"])
        marks = rollout["marks"]
        candidate = self.deps.metrics.counts(row.deployment_id).since(
            mark_of(marks, row.deployment_id)
        )
        baseline = (
            self.deps.metrics.counts(base.deployment_id).since(mark_of(marks, base.deployment_id))
            if base is not None
            else RequestCounts()
        )
        verdicts = health_gates(candidate.metrics(), baseline.metrics(), config)
        return {
            "candidate": _figures(candidate),
            "baseline": _figures(baseline),
            "config": rollout["config"],
        }, verdicts

    def _sweep(self, rows: dict[str, DeploymentRow], owned: set[str]) -> list[HealthCheck]:
        """Routed, active deployments no rollout owns: a dead server is restarted in place.

        A deployment still pending or deploying belongs to the deploy in flight, which has not
        written its rollout yet; it is never touched here."""
        found = []
        for name in sorted({r.model_name for r in rows.values()}):
            routes = self.deps.router.get_routes(name)
            if routes is None:
                continue
            for dep in sorted(routes.weights):
                row = rows.get(dep)
                if row is None or dep in owned or row.status != DeploymentStatus.ACTIVE.value:
                    continue
                if self.deps.serving.process_alive(row.endpoint()):
                    continue
                decision = MonitorDecision(
                    MonitorAction.RESTART,
                    VerdictStatus.FAILED,
                    (f"the endpoint of {dep} is gone: starting it again",),
                )
                found.append(_check(row, decision, {}, None))
        return found

    # -- act --------------------------------------------------------------------------------

    def act(self, state: State) -> dict[str, Any]:
        """Carry out each decision; one that cannot be carried out is reported, not raised."""
        report = state.monitor
        if isinstance(report, dict):  # a checkpoint read without its class gives JSON back
            report = MonitorReport.model_validate(report)
        if report is None:
            return {"status": "monitored"}
        done = tuple(
            c.model_copy(update={"outcome": self._outcome(state, c)}) for c in report.checks
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
        marks = marks_of(self.deps, dep, base)

        def act(uow: UnitOfWork) -> dict[str, Any]:
            rollout = _open(uow, dep)
            now = self.deps.clock.now()
            rollout.phase, rollout.step_started_at, rollout.marks = (
                RolloutPhase.WARM.value,
                now,
                marks,
            )
            rollout.step_index = max(0, len(rollout.steps.get("weights", [])) - 1)
            rollout.warm_until = now + timedelta(seconds=self.deps.policy.warm_seconds)
            row = uow.deployments.get(dep)
            row.traffic_percentage = 100.0
            if base:
                old = uow.deployments.get(base)
                replace_stable(self.deps, uow, old, row.model_version, MONITOR_ACTOR)
            uow.audit.append(MONITOR_ACTOR, "canary_completed", dep, {"why": check.message})
            return {}

        once(self.deps, state.run_id, f"complete:{dep}", act)
        return f"{dep} takes all traffic; {base} stays warm"

    def _retire(self, state: State, check: HealthCheck) -> str:
        dep, base = check.deployment_id, check.target

        def act(uow: UnitOfWork) -> dict[str, Any]:
            rollout = _open(uow, dep)
            rollout.phase = RolloutPhase.COMPLETED.value
            if base:
                retire(uow.deployments.get(base), self.deps.serving.stop, self.deps.clock.now())
                uow.audit.append(MONITOR_ACTOR, "retired", base, {"replaced_by": dep})
            return {}

        once(self.deps, state.run_id, f"retire:{dep}", act)
        return f"warm period over: {base} retired" if base else "rollout completed"

    def _roll_back(self, check: HealthCheck) -> str:
        """The rollback flow (the graph's own path), under the run id the decision was stored
        with; a new plan is stored in the rollout before anything is undone."""
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

        result = run_rollback(self.rollback_flow, request, None if stored else keep)
        return f"rolled back to {result['active_deployment_id']}: {reason}"

    def _stop_mirror(self, check: HealthCheck, pending: dict[str, Any]) -> str:
        dep, name = check.deployment_id, check.model_name
        routes = self.deps.router.get_routes(name)
        if routes is not None and routes.shadow_deployment_id == dep:
            self.deps.router.set_routes(without_mirror(routes))

        def act(uow: UnitOfWork) -> dict[str, Any]:
            row = uow.deployments.get(dep)
            retire(row, self.deps.serving.stop, self.deps.clock.now(), DeploymentStatus.FAILED)
            rollout = _open(uow, dep)
            rollout.phase, rollout.pending = RolloutPhase.FAILED.value, None
            uow.audit.append(MONITOR_ACTOR, "shadow_stopped", dep, {"why": list(check.reasons)})
            return {}

        once(self.deps, pending["run_id"], "stop_mirror", act)
        self._remember(check, episodes.FAILED, pending["run_id"])
        return f"mirroring to {dep} stopped"

    def _restart(self, state: State, check: HealthCheck) -> str:
        """Start a dead routed deployment's server again under the same deployment id."""
        dep = check.deployment_id
        with self.deps.uow() as uow:
            row = uow.deployments.get(dep)
            tag, replicas = row.bento_tag, row.replicas
        self.deps.serving.stop_strays(dep)
        endpoint = self.deps.serving.start(dep, str(tag), replicas)
        with self.deps.uow() as uow:
            row = uow.deployments.get(dep)
            old = row.endpoint_pid
            row.serve_from(endpoint)
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


def _rollout_dict(row: RolloutRow) -> dict[str, Any]:
    return {
        "deployment_id": row.deployment_id,
        "model_name": row.model_name,
        "phase": row.phase,
        "baseline_deployment_id": row.baseline_deployment_id,
        "weights": [float(w) for w in row.steps.get("weights", [])],
        "step_index": row.step_index,
        "step_started_at": row.step_started_at,
        "pause_seconds": row.pause_seconds,
        "warm_until": row.warm_until,
        "config": dict(row.config),
        "marks": dict(row.marks),
        "pending": dict(row.pending) if row.pending else None,
    }


def _check(
    row: DeploymentRow,
    decision: MonitorDecision,
    figures: dict[str, Any],
    base: DeploymentRow | None,
    verdicts: list[Verdict] | None = None,
) -> HealthCheck:
    return HealthCheck(
        deployment_id=row.deployment_id,
        model_name=row.model_name,
        version=row.model_version,
        strategy=row.strategy,
        target=base.deployment_id if base is not None else None,
        action=decision.action,
        status=decision.status,
        next_percent=decision.next_percent,
        reasons=decision.reasons,
        message=decision.message,
        metrics={
            **figures,
            "verdicts": [
                {"gate": v.gate, "status": v.status.value, "message": v.message}
                for v in verdicts or []
            ],
        },
    )


def _health_row(check: HealthCheck, tick: str, now: datetime) -> HealthCheckRow:
    return HealthCheckRow(
        deployment_id=check.deployment_id,
        model_name=check.model_name,
        checked_at=now,
        status=check.status.value,
        action=check.action.value,
        metrics=check.metrics,
        message=check.message,
        tick_id=tick,
    )


def _figures(counts: RequestCounts) -> dict[str, Any]:
    m = counts.metrics()
    return {
        "requests": m.request_count,
        "errors": m.error_count,
        "error_rate": round(m.error_rate, 5),
        "p50_ms": m.p50_ms,
        "p95_ms": m.p95_ms,
        "p99_ms": m.p99_ms,
    }


def _open(uow: UnitOfWork, deployment_id: str) -> RolloutRow:
    row = uow.rollouts.find(deployment_id)
    if row is None:
        raise RuntimeError(f"{deployment_id} has no rollout")
    return row
