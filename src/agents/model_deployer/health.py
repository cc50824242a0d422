"""The monitoring tick, judging: every open rollout and every routed endpoint, one judgement each.

``check_health`` reads the gateways' counters for each canary, warm and shadow deployment,
judges the requests of its current step with the rollback config it was given at deploy time
(the pure ``lifecycle.monitor.decide``), rolls back a live one whose gateways stopped reporting
it (``stale_figures``: ticks and age since the last report the state DB recorded), and writes
one ``health_checks`` row per deployment; a decided rollback is written into the rollout
(``pending``) in the same transaction, so a watcher killed half-way leaves it to the next tick.
A routed deployment without a rollout whose server is gone is judged for a restart.
``act_on_health`` (monitor.py) carries the judgements out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agents.keyed_steps import once
from agents.model_deployer.changes import left_alone, marked_now
from agents.model_deployer.decided import Plans, pending_of, plan_decided
from agents.model_deployer.deps import MONITOR_ACTOR, DeployerDeps
from agents.model_deployer.rollouts import mark_of, rollout_config
from agents.model_deployer.slo import SloGuard
from agents.model_deployer.state import HealthCheck, MonitorReport, State
from agents.model_deployer.views import OpenRollout, open_rollout_of
from database.protocols import UnitOfWork
from database.tick_reads import DeploymentFacts
from lifecycle.gates import Verdict, VerdictStatus, health_gates, shadow_agreement_gate
from lifecycle.latency import RequestCounts
from lifecycle.metrics import PerformanceMetrics
from lifecycle.monitor import (
    OPEN_PHASES,
    MonitorAction,
    MonitorDecision,
    RolloutPhase,
    judge,
    stale_figures,
)
from lifecycle.ports import MetricsSource
from lifecycle.rollback import config_from_dict
from lifecycle.shadow_watch import FIGURES_KEY, gate_figures, shadow_gates
from lifecycle.stages import DeploymentStatus


class HealthChecks:
    """The tick's judging node over the ports in ``deps``."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps
        self.slo = SloGuard(deps)

    def check(self, state: State) -> dict[str, Any]:
        """Judge every open rollout (of ``model_name``, or all) and every routed endpoint."""
        tick = state.run_id
        model = state.model_name or None
        self.slo.assessed.clear()
        scope = set(state.model_names)  # a tick over several models: theirs alone
        with self.deps.uow() as uow:
            # read as columns, not row objects: the tick changes none of them through these
            rollouts = [open_rollout_of(r) for r in uow.rollouts.read_in_phases(OPEN_PHASES, model)
                        if not scope or r.model_name in scope]  # fmt: skip
            rows = {d.deployment_id: d for d in uow.deployments.facts(model)
                    if not scope or d.model_name in scope}  # fmt: skip
        owned = {r.deployment_id for r in rollouts}
        busy = {d for d, row in rows.items() if left_alone(self.deps, row)}
        mine = [r for r in rollouts if not {r.deployment_id, r.baseline_deployment_id} & busy]
        bases = {r.baseline_deployment_id for r in rollouts if r.baseline_deployment_id}
        figures = self.deps.metrics.snapshot(_judged(mine))  # every rollout's figures: one read
        checks = [self._judge(r, rows, figures) for r in mine]
        checks += self._sweep(rows, owned | busy, bases)
        now = self.deps.clock.now()
        planned = plan_decided(self.deps, tick, checks, mine, rows, figures, now)
        done = once(self.deps, tick, "check_health", self._recorder(tick, checks, now, planned))
        kept = tuple(c for c in checks if c.deployment_id not in done.get("left_alone", ()))
        return {"monitor": MonitorReport(tick_id=tick, checked_at=now, checks=kept)}

    def _recorder(self, tick: str, checks: list[HealthCheck], now: datetime, plans: Plans) -> Any:
        """The tick's one write: a ``health_checks`` row per judgement, and each decided
        rollback stored in its rollout (``pending``, with its plan: ``decided.py``) before anything
        acts on it. A deployment a run marked since it was read is left to that run (its server
        may be stopping: a judgement of it is not one of its health), and so is said in the
        result."""

        def act(uow: UnitOfWork) -> dict[str, Any]:
            ids = {d for c in checks for d in (c.deployment_id, c.target) if d}
            marks = uow.deployments.change_marks(ids)  # columns: no row objects for 2,000
            left = [c.deployment_id for c in checks if self._marked(uow, marks, c)]
            kept = [c for c in checks if c.deployment_id not in left]
            decided = [c.deployment_id for c in kept if c.action is MonitorAction.ROLLBACK]
            # the rollouts a rollback is written into, as row objects, read at once and kept
            # referenced (the session's identity map holds rows weakly: a later find reads no
            # more); of the others only what they said last is read
            loaded = uow.rollouts.find_many(decided) if decided else {}
            told = uow.rollouts.last_messages(c.deployment_id for c in kept if c.action
                                              is not MonitorAction.ROLLBACK)  # fmt: skip
            said: dict[str, str] = {}
            uow.health_checks.add_many(_health_row(c, tick, now) for c in kept)
            for check in kept:
                dep = check.deployment_id
                self.slo.record(uow, dep, now)
                if check.action is MonitorAction.ROLLBACK:
                    self._store_rollback(uow, check, tick, now, plans, said)
                elif dep in told and told[dep] != check.message:
                    said[dep] = check.message
            uow.rollouts.set_messages(said)  # one statement: what each judgement said
            del loaded
            return {"left_alone": left}

        return act

    def _store_rollback(
        self,
        uow: UnitOfWork,
        check: HealthCheck,
        tick: str,
        now: datetime,
        plans: Plans,
        said: dict[str, str],
    ) -> None:
        """A decided rollback written into its rollout (``pending``), once: a rollback already
        pending there only has its message said (in ``said``)."""
        if check.metrics.get("slo"):
            self.slo.open_for_rollback(uow, check, now)
        rollout = uow.rollouts.find(check.deployment_id)
        if rollout is None:
            return
        if rollout.pending is not None:
            if rollout.last_message != check.message:
                said[check.deployment_id] = check.message
            return
        rollout.last_message = check.message
        rollout.pending = pending_of(tick, check, now, plans)
        _audit_stale(uow, check)

    def _marked(
        self,
        uow: UnitOfWork,
        marks: dict[str, tuple[str | None, datetime | None]],
        check: HealthCheck,
    ) -> bool:
        """Whether the check's deployment (or its baseline) is marked by a run changing it."""
        ids = [d for d in (check.deployment_id, check.target) if d]
        for d in ids:
            if d not in marks:
                uow.deployments.get(d)  # gone since it was judged: says which
        return any(marked_now(self.deps, *marks[d]) for d in ids)

    def _judge(
        self, rollout: OpenRollout, rows: dict[str, DeploymentFacts], source: MetricsSource
    ) -> HealthCheck:
        """One rollout's judgement (``lifecycle.monitor.judge``), with the figures it was made
        on (``source``: the tick's snapshot of them); a rollback already decided is finished
        without looking at any."""
        row = rows[rollout.deployment_id]
        base = rows.get(rollout.baseline_deployment_id or "")
        alive = self.deps.serving.process_alive(row.endpoint())
        figures: dict[str, Any] = {}
        verdicts: list[Verdict] = []
        now = self.deps.clock.now()
        stale = None
        if rollout.pending is None:
            figures, verdicts = self._verdicts(rollout, row, base, source)
            stale = self._stale(rollout, now, source)
            if rollout.view.phase is RolloutPhase.WARM and alive:
                figures["slo"], breaches = self._slo_of(row)
                verdicts += breaches
        decision = judge(rollout.view, verdicts, now, alive, rollout.pending, stale)
        return _check(row, decision, figures, base, verdicts)

    def _slo_of(self, row: DeploymentFacts) -> tuple[dict[str, Any], list[Verdict]]:
        """A warm rollout's deployment's service levels, judged once: its breaches join the
        rollout's gates (a rollback to the warm baseline, inside the guard window); nothing
        else it says holds the rollout up."""
        found = self.slo.assess(row)
        failed = [v for v in found.verdict.verdicts if v.status is VerdictStatus.FAILED]
        if failed:
            found = self.slo.acting(row.deployment_id)
        return found.figures(), failed

    def _stale(self, rollout: OpenRollout, now: datetime, source: MetricsSource) -> str | None:
        """Why the rollout's figures are stale, or None: the ticks that judged it, and the time
        gone, since the later of its last gateway report (as the state DB stored it) and the
        start of its current step. The ticks are counted only once the time is reached (both
        must be, ``stale_figures``): a rollout whose gateways report costs no read here."""
        since = rollout.view.step_started_at
        reported = source.reported_at(rollout.deployment_id)
        if reported is not None and reported > since:
            since = reported
        policy = self.deps.policy
        seconds = (now - since).total_seconds()
        if seconds < policy.stale_figures_seconds:
            return None
        with self.deps.uow() as uow:
            ticks = uow.health_checks.count_since(rollout.deployment_id, since) + 1
        return stale_figures(
            ticks, seconds, policy.stale_figures_ticks, policy.stale_figures_seconds
        )

    def _verdicts(
        self,
        rollout: OpenRollout,
        row: DeploymentFacts,
        base: DeploymentFacts | None,
        source: MetricsSource,
    ) -> tuple[dict[str, Any], list[Verdict]]:
        """The gates of the rollout's phase over the requests of its current step."""
        if rollout.view.phase is RolloutPhase.SHADOW:
            stats = source.shadow_stats(row.deployment_id)
            promotion = self.deps.policy.promotion
            verdict = shadow_agreement_gate(
                stats, promotion.min_shadow_agreement, promotion.min_shadow_comparisons
            )
            error_threshold = rollout_config(self.deps, None).error_rate_threshold  # as promotion
            gates = shadow_gates(stats, promotion, error_threshold)  # kept, never acted on
            figures: dict[str, Any] = {
                "compared": stats.compared,
                "agreed": stats.agreed,
                "shadow_errors": stats.shadow_errors,
                "agreement": stats.agreement,
                FIGURES_KEY: gate_figures(gates),
            }
            return figures, [verdict]
        config = config_from_dict(rollout.config)
        marks = rollout.marks
        candidate = source.counts(row.deployment_id).since(mark_of(marks, row.deployment_id))
        baseline = (
            source.counts(base.deployment_id).since(mark_of(marks, base.deployment_id))
            if base is not None
            else RequestCounts()
        )
        measured, compared = candidate.metrics(), baseline.metrics()  # quantiles: once each
        verdicts = health_gates(measured, compared, config)
        return {
            "candidate": _figures(measured),
            "baseline": _figures(compared),
            "config": dict(rollout.config),
        }, verdicts

    def _sweep(
        self, rows: dict[str, DeploymentFacts], owned: set[str], bases: set[str]
    ) -> list[HealthCheck]:
        """Routed, active deployments no rollout owns: a dead server is restarted in place, a
        live one's service levels judged (``SloGuard.check``), unless a rollout compares with it.

        A deployment still pending or deploying belongs to the deploy in flight, which has not
        written its rollout yet; it is never touched here, nor one a run has marked."""
        found = []
        tables = self.deps.router.tables({r.model_name for r in rows.values()})
        for name in sorted(tables):
            routes = tables[name]
            for dep in sorted(routes.weights):
                row = rows.get(dep)
                if row is None or dep in owned or row.status != DeploymentStatus.ACTIVE.value:
                    continue
                if self.deps.serving.process_alive(row.endpoint()):
                    if dep not in bases:
                        found.append(self.slo.check(row, rows))
                    continue
                decision = MonitorDecision(
                    MonitorAction.RESTART,
                    VerdictStatus.FAILED,
                    (f"the endpoint of {dep} is gone: starting it again",),
                )
                found.append(_check(row, decision, {}, None))
        return found


def _judged(rollouts: list[OpenRollout]) -> set[str]:
    """The deployments whose figures the rollouts are judged on: each and its baseline."""
    return {d for r in rollouts for d in (r.deployment_id, r.baseline_deployment_id) if d}


def _check(
    row: DeploymentFacts,
    decision: MonitorDecision,
    figures: dict[str, Any],
    base: DeploymentFacts | None,
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


def _audit_stale(uow: UnitOfWork, check: HealthCheck) -> None:
    """A stale-figures rollback, decided now, is an audit event (alerts are made from them)."""
    if not check.reasons or not check.reasons[0].startswith("figures stale"):
        return
    summary = f"{check.model_name} {check.deployment_id}: {check.reasons[0]}; rolling back"
    payload = {"model": check.model_name, "version": check.version, "summary": summary}
    uow.audit.append(
        MONITOR_ACTOR,
        "stale_figures",
        check.deployment_id,
        {**payload, "deployment_id": check.deployment_id},
    )


def _health_row(check: HealthCheck, tick: str, now: datetime) -> dict[str, Any]:
    """The ``health_checks`` row of a judgement, as its columns' values."""
    return {
        "deployment_id": check.deployment_id,
        "model_name": check.model_name,
        "checked_at": now,
        "status": check.status.value,
        "action": check.action.value,
        "metrics": check.metrics,
        "message": check.message,
        "tick_id": tick,
    }


def _figures(m: PerformanceMetrics) -> dict[str, Any]:
    return {
        "requests": m.request_count,
        "errors": m.error_count,
        "error_rate": round(m.error_rate, 5),
        "p50_ms": m.p50_ms,
        "p95_ms": m.p95_ms,
        "p99_ms": m.p99_ms,
    }
