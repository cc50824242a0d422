"""Healing deploys a crash left half done: ``deployer watch`` calls :func:`heal_stuck_deploys`.

A deploy killed between two steps leaves its deployment ``pending`` or ``deploying``: maybe a
server nobody records, maybe routes to it (its rollout opened first, so the monitor judges it
once the crashed run's mark is stale). Past ``AgentPolicy.stuck_deploy_seconds`` with no
progress, the pure ``lifecycle.recovery.heal_stuck_deploy`` decides: resume the deploy's
thread (the deployment row names it), else roll the deployment back: its users go back to the
stable deployment (``routes_without``), its server (and any unrecorded one) is stopped and it
is recorded failed through the one ``retire``, its rollout closed. Each healing is written to
the audit log and to ``health_checks`` (action ``resume`` or ``rollback``), so ``deployer
checks`` shows why.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from agents.model_deployer.changes import change, stop_servers
from agents.model_deployer.deps import MONITOR_ACTOR, DeployerDeps
from agents.model_deployer.rollouts import close_rollouts
from database.models import DeploymentRow, HealthCheckRow
from database.protocols import UnitOfWork
from database.services import retire
from lifecycle.monitor import RolloutPhase
from lifecycle.ports import Routes
from lifecycle.recovery import (
    IN_FLIGHT,
    HealAction,
    HealDecision,
    heal_stuck_deploy,
    routes_without,
)
from lifecycle.stages import DeploymentStatus, ModelStage

if TYPE_CHECKING:
    from agents.model_deployer.agent import ModelDeployerAgent


@dataclass(frozen=True, slots=True)
class InFlight:
    """A deployment whose deploy has not finished, as read."""

    deployment_id: str
    model_name: str
    status: DeploymentStatus
    thread_id: str | None
    progress: datetime
    """The later of its creation and its mark (the thread's last checkpoint is added later)."""


class Threads(Protocol):
    """The threads of a graph that runs the deployer as a subgraph (the system graph): a
    deploy it started records the system thread, and is taken up through it."""

    def owns(self, thread_id: str | None) -> bool: ...

    def deploy_thread(self, thread_id: str) -> tuple[bool, datetime | None]: ...

    def continue_deploy(self, thread_id: str) -> str | None:
        """Take the thread up; the status its deploy ended with (None: unfinished)."""
        ...


def heal_stuck_deploys(
    agent: ModelDeployerAgent,
    model_name: str = "",
    system: Threads | None = None,
    models: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Resume or roll back every deploy stuck past the deadline (of ``model_name``, or all;
    ``models``: only those models', from the same one read); one report per deployment acted
    on (a deploy within its deadline is left to run). A deploy on one of ``system``'s threads
    is resumed through ``system``."""
    healed = []
    for found in in_flight(agent.deps, model_name):
        if models is not None and found.model_name not in models:
            continue
        owner = system if system is not None and system.owns(found.thread_id) else None
        report = heal(agent, found, owner)
        if report is not None:
            healed.append(report)
    return healed


def in_flight(deps: DeployerDeps, model_name: str = "") -> list[InFlight]:
    """The deployments whose deploy has not finished, oldest first."""
    with deps.uow() as uow:
        rows = uow.deployments.list(model_name or None, IN_FLIGHT)
        return [_in_flight(row) for row in rows]


def _in_flight(row: DeploymentRow) -> InFlight:
    signs = [row.deployed_at, row.changing_since]
    return InFlight(
        row.deployment_id,
        row.model_name,
        DeploymentStatus(row.status),
        row.thread_id,
        max(s for s in signs if s is not None),
    )


def heal(
    agent: ModelDeployerAgent, found: InFlight, system: Threads | None = None
) -> dict[str, Any] | None:
    """Decide about one deploy in flight and carry the decision out (None: left to run);
    ``system``: the graph whose thread the deploy runs on (else the deployer's own)."""
    deps, policy = agent.deps, agent.deps.policy.stuck_deploy_seconds
    if system is not None and found.thread_id:
        resumable, checkpointed = system.deploy_thread(found.thread_id)
    else:
        resumable, checkpointed = thread_state(agent, found.thread_id)
    progress = max(found.progress, checkpointed or found.progress)
    decision = heal_stuck_deploy(found.status, progress, deps.clock.now(), policy, resumable)
    if decision.action in (HealAction.NONE, HealAction.WAIT):
        return None
    outcome = ""
    if decision.action is HealAction.RESUME:
        outcome, status = _resume(system or _Own(agent), agent.deps, found)
        if status not in IN_FLIGHT:
            _record(deps, found, decision, outcome)
            return _report(found, decision, outcome)
        decision = heal_stuck_deploy(status, progress, deps.clock.now(), policy, True, True)
    outcome = "; ".join(filter(None, [outcome, roll_back_stuck(deps, found, decision)]))
    _record(deps, found, decision, outcome)
    return _report(found, decision, outcome)


def thread_state(agent: ModelDeployerAgent, thread_id: str | None) -> tuple[bool, datetime | None]:
    """Whether the thread can be taken up (a deploy, not finished, waiting on nobody), and
    when it last checkpointed (None: no checkpoint)."""
    if not thread_id:
        return False, None
    snapshot = agent.graph.get_state({"configurable": {"thread_id": thread_id}})
    values = snapshot.values if isinstance(snapshot.values, dict) else {}
    at = datetime.fromisoformat(snapshot.created_at) if snapshot.created_at else None
    resumable = values.get("action") == "deploy" and bool(snapshot.next) and not snapshot.interrupts
    return resumable, at


class _Own:
    """The deployer's own threads (a deploy run by the deployer alone)."""

    def __init__(self, agent: ModelDeployerAgent) -> None:
        self.agent = agent

    def continue_deploy(self, thread_id: str) -> str | None:
        return self.agent.continue_run(thread_id).get("status") or None


def _resume(
    runner: Threads | _Own, deps: DeployerDeps, found: InFlight
) -> tuple[str, DeploymentStatus]:
    """Take the thread up; what came of it, and the deployment's status afterwards."""
    try:
        ended = runner.continue_deploy(str(found.thread_id))
        outcome = f"resumed: the deploy ended {ended or 'unfinished'}."
    except Exception as exc:  # a resume that breaks is healed by a rollback, not raised
        outcome = f"resumed, but it broke: {exc}".splitlines()[0]
    with deps.uow() as uow:
        status = DeploymentStatus(uow.deployments.get(found.deployment_id).status)
    return outcome, status


def roll_back_stuck(deps: DeployerDeps, found: InFlight, decision: HealDecision) -> str:
    """Take the deployment's weight away, stop its server (and any unrecorded one), record it
    failed and close its rollout; keyed, so a watcher killed half-way finishes it next time."""
    dep, run_id = found.deployment_id, f"heal-{found.deployment_id}"
    routes = deps.router.get_routes(found.model_name)
    table = routes_without(routes, dep, _fallback(deps, found))

    def effect() -> None:
        if table is not None:
            deps.router.set_routes(table)
        stop_servers(deps, [dep])
        deps.serving.stop_strays(dep)

    def record(uow: UnitOfWork) -> dict[str, Any]:
        retire(uow.deployments.get(dep), deps.clock.now(), DeploymentStatus.FAILED)
        close_rollouts(uow, [dep], RolloutPhase.FAILED, decision.reason)
        if table is not None:
            for other, weight in table.weights.items():
                uow.deployments.get(other).traffic_percentage = weight
        return {}

    with deps.uow() as uow:  # the crashed run's mark (or its resume's) is taken over
        holder = uow.deployments.get(dep).changing_run_id or run_id
    change(deps, run_id, "heal_stuck_deploy", [dep], effect, record, holder)
    return _said(routes, table, dep)


def _fallback(deps: DeployerDeps, found: InFlight) -> str | None:
    """The newest other production deployment still serving: where users go when the stuck
    one was all of the table."""
    with deps.uow() as uow:
        serving = uow.deployments.list(
            found.model_name, (DeploymentStatus.ACTIVE, DeploymentStatus.DRAINING)
        )
        ids = [
            r.deployment_id
            for r in serving
            if r.target_stage == ModelStage.PRODUCTION.value
            and r.deployment_id != found.deployment_id
        ]
    return ids[-1] if ids else None


def _said(routes: Routes | None, table: Routes | None, dep: str) -> str:
    named = routes is not None and (dep in routes.weights or routes.shadow_deployment_id == dep)
    if table is not None:
        back = ", ".join(sorted(table.weights))
        return f"rolled back: its users went back to {back}; its server stopped"
    if named:
        return "rolled back: nothing else serves the model, its route is left; its server stopped"
    return "rolled back: it took no traffic; its server stopped"


def _record(deps: DeployerDeps, found: InFlight, decision: HealDecision, outcome: str) -> None:
    """The healing in the audit log and ``health_checks`` (``deployer checks`` lists it)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        uow.health_checks.add(
            HealthCheckRow(
                deployment_id=found.deployment_id,
                model_name=found.model_name,
                checked_at=now,
                status="failed",
                action=decision.action.value,
                metrics={"thread_id": found.thread_id},
                message=f"{decision.reason}; {outcome}"[:2000],
                tick_id=f"heal-{found.deployment_id}"[:100],
            )
        )
        uow.audit.append(
            MONITOR_ACTOR,
            f"stuck_deploy_{decision.action.value}",
            found.deployment_id,
            {"why": decision.reason, "outcome": outcome, "thread_id": found.thread_id},
        )
        uow.commit()


def _report(found: InFlight, decision: HealDecision, outcome: str) -> dict[str, Any]:
    return {
        "model_name": found.model_name,
        "deployment_id": found.deployment_id,
        "action": decision.action.value,
        "message": decision.reason,
        "outcome": outcome,
        "thread_id": found.thread_id,
    }
