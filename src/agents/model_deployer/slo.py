"""The monitoring tick's service levels: every routed deployment judged against its model's
objectives, all the time, rollout or not.

``SloGuard.assess`` reads a deployment's counters (``MetricsSource.counts``), its SLO state
(the counter samples its trailing window and baseline come from, its last status) and its
model's objectives (the policy's defaults under the model's own row), and judges them with the
pure ``lifecycle.slo.judge``. A deployment an open warm rollout judges gets its breaches added to
the rollout's gates (one judgement, the rollout's: it rolls back to the warm baseline); any other
routed deployment is judged here (``check``), and ``lifecycle.slo.guard_action`` says what a
breach leads to: inside the guard window after its release, with the replaced deployment still
warm, a rollback through the monitor's own path (``rollouts.pending`` first); otherwise the
command that rolls back, proposed. ``record`` writes the state in the tick's one write, and a
breach that starts is an audit event (``slo_breach``, ``slo_rollback_proposed``): the alerts'
outbox.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agents.model_deployer.deps import MONITOR_ACTOR, DeployerDeps
from agents.model_deployer.state import HealthCheck
from database.models import RolloutRow
from database.protocols import UnitOfWork
from database.tick_reads import DeploymentFacts
from lifecycle.gates import VerdictStatus
from lifecycle.metrics import PerformanceMetrics
from lifecycle.monitor import MonitorAction, RolloutPhase
from lifecycle.slo import (
    GuardAction,
    Objectives,
    SloVerdict,
    guard_action,
    is_new_breach,
    judge,
    objectives,
)
from lifecycle.slo_window import Sample, kept, periods
from lifecycle.stages import DeploymentStatus


@dataclass(frozen=True)
class SloAssessment:
    """One deployment's SLO judgement this tick, and the state to keep after it."""

    deployment_id: str
    model_name: str
    version: str
    goals: Objectives
    verdict: SloVerdict
    window: PerformanceMetrics
    samples: list[dict[str, Any]]
    previous: str | None
    completed_at: datetime
    guard: GuardAction = GuardAction.NONE
    command: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def new_breach(self) -> bool:
        """Whether this judgement starts a breach (said once while it lasts)."""
        return is_new_breach(self.verdict, self.previous)

    def figures(self) -> dict[str, Any]:
        """What the ``health_checks`` row keeps of it."""
        w = self.window
        return {
            "status": self.verdict.status.value,
            "window": {
                "requests": w.request_count,
                "errors": w.error_count,
                "error_rate": round(w.error_rate, 5),
                "p95_ms": w.p95_ms,
                "p99_ms": w.p99_ms,
            },
            "objectives": self.goals.to_json(),
            "guard": self.guard.value,
            **({"command": self.command} if self.command else {}),
        }


def rollback_command(model_name: str, to: str | None) -> str:
    """The one command a person runs to confirm a proposed rollback."""
    words = ["deployer", "rollback", model_name]
    if to:
        words += ["--to", to]
    words += ["--reason", "SLO breach"]
    return shlex.join(words)


class SloGuard:
    """Service levels over the ports in ``deps``; ``assessed`` holds this tick's judgements
    until the tick's write records them."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps
        self.assessed: dict[str, SloAssessment] = {}

    def assess(self, row: DeploymentFacts) -> SloAssessment:
        """Judge ``row`` on its trailing window (and baseline), against its model's goals."""
        policy, dep = self.deps.policy, row.deployment_id
        counts = self.deps.metrics.counts(dep)  # the metrics source reads in its own session
        now = self.deps.clock.now()
        with self.deps.uow() as uow:
            goals = objectives(policy.slo, uow.slo.objectives(row.model_name) or {})
            state = uow.slo.state(dep)
            rollout = uow.rollouts.find(dep)
            done = _completed_at(rollout, row)
        stored = state.samples.get("samples", []) if state is not None else []
        samples = [Sample.from_json(s) for s in stored]
        window, baseline = policy.slo_window_seconds, policy.slo_baseline_seconds
        p = periods(samples, counts, now, window, baseline)
        verdict = judge(goals, p.window.metrics(), p.baseline.metrics() if p.baseline else None)
        keep = [s.to_json() for s in kept(samples, Sample(now, counts), window, baseline)]
        previous = state.status if state is not None else None
        found = SloAssessment(
            dep,
            row.model_name,
            row.model_version,
            goals,
            verdict,
            p.window.metrics(),
            keep,
            previous,
            done,
        )
        self.assessed[dep] = found
        return found

    def check(self, row: DeploymentFacts, rows: dict[str, DeploymentFacts]) -> HealthCheck:
        """The judgement of a routed deployment no rollout owns, and what its breach leads to."""
        found = self.assess(row)
        warm = _warm_previous(self.deps, row, rows)
        others = [r for r in rows.values() if r.model_name == row.model_name and r is not row]
        done = warm.drained_at if warm is not None and warm.drained_at else found.completed_at
        guard = guard_action(
            found.verdict,
            done,
            self.deps.clock.now(),
            self.deps.policy.slo_guard_seconds,
            warm is not None,
            can_roll_back=bool(others),
        )
        target = warm.deployment_id if warm is not None else None
        command = rollback_command(row.model_name, target) if guard is GuardAction.PROPOSE else None
        found = _with(found, guard=guard, command=command, completed_at=done)
        self.assessed[row.deployment_id] = found
        action, lead = _lead(found, target)
        return HealthCheck(
            deployment_id=row.deployment_id,
            model_name=row.model_name,
            version=row.model_version,
            strategy=row.strategy,
            target=target if guard is GuardAction.ACT else None,
            action=action,
            status=found.verdict.status,
            next_percent=None,
            reasons=(lead, *found.verdict.reasons),
            message="; ".join((lead, *found.verdict.reasons)),
            metrics={"slo": found.figures()},
        )

    def acting(self, deployment_id: str) -> SloAssessment:
        """The deployment's assessment, marked as acted on (its rollout rolls it back)."""
        found = _with(self.assessed[deployment_id], guard=GuardAction.ACT)
        self.assessed[deployment_id] = found
        return found

    def record(self, uow: UnitOfWork, deployment_id: str, now: datetime) -> None:
        """Keep the deployment's SLO state; a breach that starts is an audit event (and, when
        only proposed, so is the command that rolls it back)."""
        found = self.assessed.get(deployment_id)
        if found is None:
            return
        status = found.verdict.status.value
        uow.slo.save_state(deployment_id, found.model_name, status, found.samples, now)
        if found.previous == VerdictStatus.FAILED.value and status == VerdictStatus.PASSED.value:
            summary = f"{found.model_name} v{found.version} ({deployment_id}) meets its SLO again"
            payload: dict[str, Any] = {"model": found.model_name, "version": found.version}
            payload["summary"] = summary
            uow.audit.append(
                MONITOR_ACTOR,
                "slo_recovered",
                deployment_id,
                {**payload, "deployment_id": deployment_id},
            )
        if not found.new_breach:
            return
        uow.audit.append(MONITOR_ACTOR, "slo_breach", deployment_id, _breach(found))
        if found.guard is GuardAction.PROPOSE:
            proposal: dict[str, Any] = {**_breach(found), "command": found.command}
            proposal["summary"] = f"rollback of {found.model_name} proposed: {found.command}"
            uow.audit.append(MONITOR_ACTOR, "slo_rollback_proposed", deployment_id, proposal)

    def open_for_rollback(self, uow: UnitOfWork, check: HealthCheck, now: datetime) -> None:
        """The rollout an SLO rollback is stored in (``pending``) before it acts: the one the
        deployment had, reopened, or a new one; a crash mid-way is finished next tick."""
        rollout = uow.rollouts.find(check.deployment_id)
        if rollout is None:
            rollout = uow.rollouts.add(
                RolloutRow(
                    deployment_id=check.deployment_id,
                    model_name=check.model_name,
                    strategy=check.strategy,
                    steps={"weights": []},
                    step_index=0,
                    step_started_at=now,
                    pause_seconds=0.0,
                    config={},
                    marks={},
                    pending=None,
                    last_message="",
                )
            )
        rollout.phase, rollout.baseline_deployment_id = RolloutPhase.WARM.value, check.target
        rollout.warm_until = now


def _lead(found: SloAssessment, target: str | None) -> tuple[MonitorAction, str]:
    guard, status = found.guard, found.verdict.status
    if guard is GuardAction.ACT:
        return MonitorAction.ROLLBACK, f"SLO breach inside the guard window: back to {target}"
    if guard is GuardAction.PROPOSE:
        return MonitorAction.OBSERVE, f"SLO breach: to roll back, run {found.command}"
    if guard is GuardAction.ALERT:
        return MonitorAction.OBSERVE, "SLO breach: no earlier deployment to roll back to"
    if status is VerdictStatus.PASSED:
        return MonitorAction.OBSERVE, "SLO met"
    return MonitorAction.OBSERVE, "SLO not judged"


def _breach(found: SloAssessment) -> dict[str, Any]:
    first = found.verdict.breaches[0] if found.verdict.breaches else None
    return {
        "model": found.model_name,
        "version": found.version,
        "deployment_id": found.deployment_id,
        "objective": first.objective if first else None,
        "observed": first.observed if first else None,
        "limit": first.limit if first else None,
        "breaches": [
            {"objective": b.objective, "observed": b.observed, "limit": b.limit}
            for b in found.verdict.breaches
        ],
        "guard": found.guard.value,
        "summary": f"SLO breach of {found.model_name} v{found.version} "
        f"({found.deployment_id}): {found.verdict.summary}",
    }


def _with(found: SloAssessment, **changes: Any) -> SloAssessment:
    from dataclasses import replace

    return replace(found, **changes)


def _completed_at(rollout: RolloutRow | None, row: DeploymentFacts) -> datetime:
    """When the deployment's release completed, short of the replaced deployment's drain time
    (``check`` prefers it): a completed rollout's last step (the canary's 100%), else its
    deploy."""
    if rollout is not None and rollout.phase == RolloutPhase.COMPLETED.value:
        return rollout.step_started_at
    return row.deployed_at


def _warm_previous(
    deps: DeployerDeps, row: DeploymentFacts, rows: dict[str, DeploymentFacts]
) -> DeploymentFacts | None:
    """The newest replaced deployment of the model still warm (draining, its server alive)."""
    warm = [
        r
        for r in rows.values()
        if r.model_name == row.model_name
        and r.deployment_id != row.deployment_id
        and r.status == DeploymentStatus.DRAINING.value
        and deps.serving.process_alive(r.endpoint())
    ]
    warm.sort(key=lambda r: (r.drained_at or r.deployed_at, r.deployment_id))
    return warm[-1] if warm else None
