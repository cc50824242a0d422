"""A rollback planned the moment the tick decides it, and stored with the decision.

Before, the tick stored the decision (``rollouts.pending``), and the act node then ran the
rollback flow, which planned (reading the routes and the rows again, and asking the target's
server ``/readyz``), paused, stored the plan in a second write, and resumed to switch. Between
the decision and every gateway serving the new table that was three more database round trips,
an HTTP probe of a busy model server and LangGraph's checkpoints of the flow.

Now ``check_health`` plans each new rollback from what it has just read (the model's rows, its
routing table, the gateways' figures it judged on) right after the decision, and the tick's one
write stores the plan beside the decision. The act node then runs the flow straight through with
the stored plan (``rollback_flow(pause=False)``): restore (nothing, when warm), switch, record.
The plan is durable before anything is undone, as before, so a watcher killed after the switch
leaves the next tick to finish the very same plan.

The target is judged warm on the gateways' own evidence where it holds (``lifecycle.warm_target``:
active, its process running, taking users' traffic and answering them in the gateways' fresh
window); only where the evidence cannot tell is its server asked (``Serving.is_alive``), as the
flow's own plan does. A plan that cannot be made now (``RollbackFailedError``: nothing to roll
back to) is left to the flow, which plans again and reports why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from agents.model_deployer.deps import DeployerDeps
from agents.model_deployer.state import HealthCheck
from agents.model_deployer.views import OpenRollout, views_of
from database.tick_reads import DeploymentFacts
from lifecycle.errors import ModelDeployerError
from lifecycle.monitor import MonitorAction, RolloutPhase
from lifecycle.ports import MetricsSource, Routes
from lifecycle.rollback import config_from_dict
from lifecycle.rollback_plan import RollbackPlan, plan_rollback, rollback_target
from lifecycle.stages import DeploymentStatus
from lifecycle.warm_target import TargetEvidence, warm_on_evidence

Plans = Mapping[str, RollbackPlan]
"""Rollbacks planned when decided, by the rolled-back deployment's id."""


def rollback_run_id(tick: str, deployment_id: str) -> str:
    """The run id a rollback the tick decides runs under (its keys, a restored deployment's id)."""
    return f"{tick}-{deployment_id}"[:100]


def pending_of(tick: str, check: HealthCheck, now: datetime, plans: Plans) -> dict[str, Any]:
    """A rollback decided at ``now``, as its rollout stores it (``rollouts.pending``) before
    anything acts on it: when, the run it runs under, why, where to, and its plan (none: the
    flow plans it)."""
    plan = plans.get(check.deployment_id)
    return {
        "decided_at": now.isoformat(),
        "run_id": rollback_run_id(tick, check.deployment_id),
        "reasons": list(check.reasons),
        "target": check.target,
        **({"plan": plan.model_dump(mode="json")} if plan is not None else {}),
    }


def plan_decided(
    deps: DeployerDeps,
    tick: str,
    checks: Iterable[HealthCheck],
    rollouts: Iterable[OpenRollout],
    rows: Mapping[str, DeploymentFacts],
    figures: MetricsSource,
    now: datetime,
) -> dict[str, RollbackPlan]:
    """The plan of each rollback decided just now (a rollout with nothing pending, not a shadow:
    a shadow's mirror is stopped, nothing is restored), by the rolled-back deployment's id."""
    fresh = {
        r.deployment_id: r
        for r in rollouts
        if r.pending is None and r.view.phase is not RolloutPhase.SHADOW
    }
    plans = {}
    for check in checks:
        rollout = fresh.get(check.deployment_id)
        if check.action is not MonitorAction.ROLLBACK or rollout is None:
            continue
        try:
            plans[check.deployment_id] = _plan(deps, tick, check, rollout, rows, figures, now)
        except ModelDeployerError:
            continue  # the flow plans again, and says why it cannot
    return plans


def _plan(
    deps: DeployerDeps,
    tick: str,
    check: HealthCheck,
    rollout: OpenRollout,
    rows: Mapping[str, DeploymentFacts],
    figures: MetricsSource,
    now: datetime,
) -> RollbackPlan:
    """One rollback's plan, as the flow's ``plan_rollback`` makes it for the monitor's request
    (back to the rollout's baseline), decided at ``now``."""
    name = check.model_name
    routes = deps.router.get_routes(name)
    views = views_of(r for r in rows.values() if r.model_name == name)
    target = rollback_target(name, routes, views, check.target)
    assert routes is not None  # rollback_target refuses a model with no routing table
    threshold = config_from_dict(rollout.config).error_rate_threshold
    warm = _warm(deps, rows[target.deployment_id], routes, figures, threshold)
    run_id = rollback_run_id(tick, check.deployment_id)
    plan = plan_rollback(name, routes, views, target, warm, run_id, now)
    return plan.model_copy(update={"decided_at": now})


def _warm(
    deps: DeployerDeps,
    row: DeploymentFacts,
    routes: Routes,
    figures: MetricsSource,
    max_error_rate: float,
) -> bool:
    """Whether the target is restored by one routing write: on the gateways' evidence, else
    (the evidence cannot tell) by asking its server."""
    endpoint = row.endpoint()
    try:
        window = figures.metrics(row.deployment_id)
    except KeyError:  # not in the tick's snapshot: no evidence read
        window = None
    evidence = TargetEvidence(
        status=DeploymentStatus(row.status),
        process_alive=deps.serving.process_alive(endpoint),
        routed_percent=float(routes.weights.get(row.deployment_id, 0.0)),
        window=window if window is not None and window.request_count else None,
    )
    judged = warm_on_evidence(evidence, max_error_rate)
    return judged if judged is not None else deps.serving.is_alive(endpoint)
