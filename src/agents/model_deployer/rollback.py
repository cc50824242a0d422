"""The rollback flow: choose what to undo and what to restore -> warm it -> switch -> record.

The choice is the pure ``lifecycle.rollback_plan`` decision over what the node reads. The switch
is one routing-table write: every gateway serves the restored deployment within a second, and
retries any request that still reaches an undone one on the restored (stable) one. A deployment
kept warm (active or draining, process alive) is restored instantly; otherwise its version is
started again first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.keyed_steps import once, operation_key
from agents.model_deployer.aliases import NODE as ALIAS_NODE
from agents.model_deployer.aliases import AliasNode
from agents.model_deployer.changes import change, stop_servers
from agents.model_deployer.deps import MONITOR_ACTOR, DeployerDeps, failpoint
from agents.model_deployer.rollouts import close_rollouts
from agents.model_deployer.state import State
from agents.model_deployer.views import views_of
from database.models import DeploymentRow
from database.protocols import UnitOfWork
from database.services import record_stage_change, retire
from lifecycle.errors import RollbackFailedError
from lifecycle.monitor import RolloutPhase, monitor_mark
from lifecycle.rollback_plan import RollbackPlan, plan_rollback, rollback_target, switched_routes
from lifecycle.stages import WARM_STATUSES, DeploymentStatus, ModelStage, change_status
from memory import episodes
from memory.stores import strict_serde


class RollbackNodes:
    """The nodes of the rollback flow, over the ports in ``deps``."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps

    def plan(self, state: State) -> dict[str, Any]:
        """Pick the deployments to undo and the one to restore; refuse if there is none.

        A plan already in the state (the monitor's stored decision) is kept as it is."""
        if state.rollback is not None:
            return {}
        name = state.model_name
        routes = self.deps.router.get_routes(name)
        with self.deps.uow() as uow:
            rows = {d.deployment_id: d for d in uow.deployments.list(name)}
        views = views_of(rows.values())
        undo = state.current_deployment_id
        target = rollback_target(name, routes, views, state.deployment_id, undo)
        assert routes is not None  # rollback_target refuses a model with no routing table
        warm = target.status in WARM_STATUSES and self.deps.serving.is_alive(
            rows[target.deployment_id].endpoint()
        )
        now = self.deps.clock.now()
        return {"rollback": plan_rollback(name, routes, views, target, warm, state.run_id, now)}

    def restore_endpoint(self, state: State) -> dict[str, Any]:
        """Start the restored version again unless its deployment is still warm."""
        plan = _plan(state)
        if plan.warm:
            return {}
        once(self.deps, state.run_id, "restore_record", self._restore_record(state, plan))
        with self.deps.uow() as uow:
            row = uow.deployments.get(plan.restored)
        if row.endpoint().started and self.deps.serving.is_alive(row.endpoint()):
            return {}
        try:
            self.deps.serving.stop_strays(plan.restored)
            tag = row.bento_tag or self.deps.serving.package(
                state.model_name, row.model_version, state.requested_by
            )
            endpoint = self.deps.serving.start(plan.restored, tag, row.resources())
        except Exception as exc:
            self._mark(plan.restored, DeploymentStatus.FAILED, state.requested_by)
            raise RollbackFailedError(
                f"could not start v{row.model_version} again to roll back to: {exc}".splitlines()[0]
            ) from exc
        with self.deps.uow() as uow:
            uow.deployments.get(plan.restored).serve_from(endpoint)
            uow.commit()
        return {}

    def _restore_record(self, state: State, plan: RollbackPlan) -> Any:
        """The write of the restored deployment: a copy of the target's row, deploying."""

        def act(uow: UnitOfWork) -> dict[str, Any]:
            if _exists(uow, state.model_name, plan.restored):
                return {}
            target = uow.deployments.get(plan.target)
            uow.deployments.add(
                DeploymentRow(
                    deployment_id=plan.restored,
                    model_version_id=target.model_version_id,
                    model_name=target.model_name,
                    model_version=target.model_version,
                    experiment_id=target.experiment_id,
                    target_stage=ModelStage.PRODUCTION.value,
                    strategy=target.strategy,
                    endpoint_name=target.endpoint_name,
                    status=DeploymentStatus.DEPLOYING.value,
                    replicas=target.replicas,  # restarted with what it asked for
                    cpu_limit=target.cpu_limit,
                    memory_limit=target.memory_limit,
                    autoscaling=dict(target.autoscaling or {}),
                    bento_tag=target.bento_tag,
                    traffic_percentage=0.0,
                    deployed_by=state.requested_by,
                )
            )
            return {}

        return act

    def _mark(self, deployment_id: str, status: DeploymentStatus, actor: str) -> None:
        with self.deps.uow() as uow:
            row = uow.deployments.get(deployment_id)
            row.status = change_status(DeploymentStatus(row.status), status)
            uow.audit.append(actor, f"deployment_{status.value}", deployment_id, {})
            uow.commit()

    def switch(self, state: State) -> dict[str, Any]:
        """One routing-table write: all traffic to the restored deployment."""
        plan = _plan(state)
        self.deps.router.set_routes(switched_routes(plan, state.model_name))
        failpoint("rollback.switched")
        # A confirming router knows when every running gateway served the table.
        effective = getattr(self.deps.router, "last_effective_seconds", None)
        switched = {
            "switched_at": self.deps.clock.now(),
            "effective_seconds": round(effective, 4) if effective is not None else None,
        }
        return {"rollback": plan.model_copy(update=switched)}

    def record(self, state: State) -> dict[str, Any]:
        """Stop the undone servers and move the registry's stages (undone versions to
        development, the restored one to production), the deployments marked meanwhile; then
        record statuses, stages and the audit event, and remember."""
        plan = _plan(state)
        self.deps.clock.sleep(self.deps.policy.drain_seconds)
        marked, effect = [*plan.undo, plan.restored], self._effect(state, plan)
        recorder, run = self._recorder(state, plan), state.run_id
        mine = monitor_mark(run) if state.requested_by == MONITOR_ACTOR else run
        done = change(self.deps, run, "record_rollback", marked, effect, recorder, mine)
        self.deps.memory.record_episode(
            state.model_name,
            episodes.ROLLBACK,
            {
                "deployment_id": plan.undo[-1],
                "undone": list(plan.undo),
                "restored_deployment_id": plan.restored,
                "version": plan.target_version,
                "requested_by": state.requested_by,
                "outcome": episodes.SUCCEEDED,
                "reasons": [state.reason or "rolled back by hand"],
            },
            episode_id=operation_key(state.run_id, episodes.ROLLBACK),
        )
        return {
            "rollback_successful": True,
            "active_deployment_id": plan.restored,
            "version_record": done["version_record"],
            "status": "rolled_back",
        }

    def _effect(self, state: State, plan: RollbackPlan) -> Callable[[], None]:
        """The rollback's outside half: the undone servers stop, and the registry follows the
        stages ``_stages`` records (each move idempotent, read from the rows before them)."""
        name = state.model_name

        def effect() -> None:
            stop_servers(self.deps, plan.undo)
            for version in self._demoted(state, plan):
                self.deps.registry.set_stage(name, version, ModelStage.DEVELOPMENT)
            # Always: a newer version approved for production took the registry's
            # `production` alias, and moving that version back above just dropped it.
            self.deps.registry.set_stage(name, plan.target_version, ModelStage.PRODUCTION)

        return effect

    def _demoted(self, state: State, plan: RollbackPlan) -> list[str]:
        """The undone versions (not the restored one) still in production or shadow."""
        with self.deps.uow() as uow:
            undone = {uow.deployments.get(d).model_version for d in plan.undo}
            return [
                version
                for version in sorted(undone - {plan.target_version})
                if uow.models.get(state.model_name, version).model_stage
                in (ModelStage.PRODUCTION, ModelStage.SHADOW)
            ]

    def _recorder(self, state: State, plan: RollbackPlan) -> Any:
        """The rollback's one write: undone deployments retired, the restored one active with
        all traffic, stages, rollouts closed, the audit event."""

        def act(uow: UnitOfWork) -> dict[str, Any]:
            undone = set()
            for deployment_id in plan.undo:
                row = uow.deployments.get(deployment_id)
                retire(row, self.deps.clock.now())
                undone.add(row.model_version)
            restored = uow.deployments.get(plan.restored)
            if DeploymentStatus(restored.status) is not DeploymentStatus.ACTIVE:
                restored.status = change_status(
                    DeploymentStatus(restored.status), DeploymentStatus.ACTIVE
                )
            restored.traffic_percentage, restored.drained_at = 100.0, None
            records = self._stages(uow, state, undone - {plan.target_version}, plan)
            why = state.reason or "rolled back"
            close_rollouts(uow, list(plan.undo), RolloutPhase.ROLLED_BACK, why)
            uow.audit.append(
                state.requested_by, "rolled_back", state.model_name, _event(state, plan)
            )
            return {"version_record": records[-1] if records else None}

        return act

    def _stages(
        self, uow: UnitOfWork, state: State, undone: set[str], plan: RollbackPlan
    ) -> list[dict[str, Any]]:
        """Undone versions go back to development; the restored version serves in production."""
        records = []
        for version in sorted(undone):
            row = uow.models.get(state.model_name, version)
            if row.model_stage in (ModelStage.PRODUCTION, ModelStage.SHADOW):
                record = record_stage_change(
                    uow,
                    state.model_name,
                    version,
                    ModelStage.DEVELOPMENT,
                    state.requested_by,
                    reason=f"rolled back: {state.reason}".rstrip(": "),
                )
                records.append(record.model_dump(mode="json"))
        target = uow.models.get(state.model_name, plan.target_version)
        if target.model_stage is not ModelStage.PRODUCTION:
            record = record_stage_change(
                uow,
                state.model_name,
                plan.target_version,
                ModelStage.PRODUCTION,
                state.requested_by,
                reason=f"restored by a rollback: {state.reason}".rstrip(": "),
                rollback=True,
            )
            records.append(record.model_dump(mode="json"))
        return records


ROLLBACK_FLOW = "model_deployer_rollback"
"""The rollback flow compiled on its own, as the monitor runs it."""


def add_rollback_flow(graph: StateGraph[State, None, Any, State], nodes: RollbackNodes) -> None:
    """The rollback flow's nodes and edges: the one path every rollback takes, requested (after
    intake, in the deployer's graph) or decided by the monitor (:func:`rollback_flow`). It ends
    in ``move_aliases``, which the deployer's other flows end in too."""
    graph.add_node("plan_rollback", nodes.plan)
    graph.add_node("restore_endpoint", nodes.restore_endpoint)
    graph.add_node("switch_traffic", nodes.switch)
    graph.add_node("record_rollback", nodes.record)
    graph.add_node(ALIAS_NODE, AliasNode(nodes.deps))
    graph.add_edge("plan_rollback", "restore_endpoint")
    graph.add_edge("restore_endpoint", "switch_traffic")
    graph.add_edge("switch_traffic", "record_rollback")
    graph.add_edge("record_rollback", ALIAS_NODE)
    graph.add_edge(ALIAS_NODE, END)


def rollback_flow(
    deps: DeployerDeps, pause: bool = True
) -> CompiledStateGraph[State, None, State, State]:
    """The rollback flow alone, entered at ``plan_rollback`` with a full request (its run id,
    and the plan when one was already decided), pausing after the plan so the caller can store
    the decision before anything is undone. Each run is one short-lived in-memory thread.

    Without ``pause``: for a request whose plan is already stored (the monitor's tick plans a
    rollback when it decides it and stores both in one write), the flow runs straight through,
    with no checkpointer: nothing is left to store before the switch, and checkpointing every
    step was most of the flow's own time before it."""
    graph = StateGraph(State)
    add_rollback_flow(graph, RollbackNodes(deps))
    graph.add_edge(START, "plan_rollback")
    if not pause:
        return graph.compile(name=ROLLBACK_FLOW)
    # The same allow-list as every checkpointer: a plan is restored as a RollbackPlan, and an
    # undeclared type is refused rather than warned about.
    saver = InMemorySaver(serde=strict_serde((State,)))
    return graph.compile(checkpointer=saver, interrupt_after=["plan_rollback"], name=ROLLBACK_FLOW)


def run_rollback(
    flow: CompiledStateGraph[State, None, State, State],
    request: State,
    keep: Callable[[RollbackPlan], RollbackPlan] | None = None,
) -> dict[str, Any]:
    """Run ``request`` through ``flow`` to its end; ``keep`` is given the new plan (and returns
    it as the flow carries it on) before the flow acts on it. Returns the final state. A flow
    compiled without a checkpointer (``pause=False``) runs a stored plan straight through."""
    if flow.checkpointer is None:
        if request.rollback is None:
            raise RuntimeError("a rollback flow that does not pause needs a stored plan")
        return dict(flow.invoke(request))
    config: RunnableConfig = {"configurable": {"thread_id": f"{ROLLBACK_FLOW}-{uuid.uuid4().hex}"}}
    try:
        flow.invoke(request, config)
        if keep is not None:
            planned = _plan(State(**flow.get_state(config).values))
            flow.update_state(config, {"rollback": keep(planned)})
        return dict(flow.invoke(None, config))
    finally:
        checkpointer = flow.checkpointer
        if isinstance(checkpointer, InMemorySaver):
            checkpointer.delete_thread(config["configurable"]["thread_id"])


def _event(state: State, plan: RollbackPlan) -> dict[str, Any]:
    """The audit payload of a rollback (times as ISO strings, as they were decided)."""
    return {
        "undone": list(plan.undo),
        "restored": plan.restored,
        "reason": state.reason,
        "decided_at": plan.decided_at.isoformat() if plan.decided_at else None,
        "switched_at": plan.switched_at.isoformat() if plan.switched_at else None,
        "effective_seconds": plan.effective_seconds,
    }


def _exists(uow: UnitOfWork, model_name: str, deployment_id: str) -> bool:
    return any(d.deployment_id == deployment_id for d in uow.deployments.list(model_name))


def _plan(state: State) -> RollbackPlan:
    """The rollback plan in the state (a checkpoint read without its class gives JSON back)."""
    if state.rollback is None:
        raise RuntimeError("the rollback flow ran a step before planning")
    if isinstance(state.rollback, dict):
        return RollbackPlan.model_validate(state.rollback)
    return state.rollback
