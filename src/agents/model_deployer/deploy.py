"""The deploy flow: plan -> package -> start endpoint -> apply the strategy's steps -> finish.

The plan is the pure ``lifecycle.rollout`` decision over what the node reads; the strategy's
steps come from ``lifecycle.strategies.plan``; this flow carries them out up to the first step
that needs time (a pause, a health analysis), which the monitoring tick owns. A failed step ends
in ``fail_deploy``: the previous routing table is put back, the new deployment is ``failed``
and its server stopped.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig

from agents.keyed_steps import once, operation_key
from agents.model_deployer.changes import Effect, change, stop_servers, unmark
from agents.model_deployer.deps import DeployerDeps, failpoint
from agents.model_deployer.retirement import hand_over, hand_over_effect
from agents.model_deployer.rollouts import (
    close_rollouts,
    open_rollout_first,
    own_thread,
    rollout_config,
)
from agents.model_deployer.state import State, deploy_plan, resources_of, rollout_plan
from agents.model_deployer.views import views_of
from database.models import DeploymentRow
from database.protocols import UnitOfWork
from database.services import retire
from lifecycle.errors import UnknownModelError
from lifecycle.monitor import RolloutPhase
from lifecycle.ports import Endpoint
from lifecycle.rollout import (
    DeployRequest,
    RolloutPlan,
    TrafficUpdate,
    mirrored_routes,
    plan_rollout,
    traffic_update,
    weighted_routes,
)
from lifecycle.stages import LIVE_STATUSES, DeploymentStatus, change_status
from lifecycle.strategies import (
    Analyze,
    Pause,
    PlanOptions,
    Promote,
    SetMirror,
    SetWeight,
    StrategyName,
    parse_strategy,
)
from lifecycle.strategies import plan as strategy_steps
from memory import episodes

NEXT_OR_FAIL = Literal["package", "start_endpoint", "apply_steps", "finish_deploy", "fail_deploy"]


class DeployNodes:
    """The nodes of the deploy flow, over the ports in ``deps``."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps

    # -- plan ---------------------------------------------------------------------------

    def plan(self, state: State, config: RunnableConfig) -> dict[str, Any]:
        """Read the stage, live deployments and routes; decide (a share change of a rollout in
        flight, else a new rollout with memory's advice); record the new deployment with the
        thread that carries it (a watcher resumes a stuck deploy by it)."""
        name, version = state.model_name, str(state.version)
        with self.deps.uow() as uow:
            stage = uow.models.get(name, version).model_stage
            live = views_of(uow.deployments.list(name, LIVE_STATUSES))
        routes = self.deps.router.get_routes(name)
        strategy = parse_strategy(state.strategy) if state.strategy else None
        request = DeployRequest(name, version, state.run_id, strategy, state.traffic)
        update = traffic_update(request, stage, live, routes)
        if update is not None:
            return {"plan": update}
        advice = self.deps.memory.advice(name)
        planned = plan_rollout(
            request,
            stage,
            live,
            routes,
            advice.canary_steps,
            self.deps.policy.canary_initial_percent,
            rollout_config(self.deps, advice.rollback_preset),
            self.deps.clock.now(),
        )
        thread = own_thread(config)
        record = self._recorder(state, planned, advice.reason, thread)
        once(self.deps, state.run_id, "plan_deploy", record)
        return {
            "plan": planned,
            "advice": {
                "rollback_preset": advice.rollback_preset,
                "canary_steps": list(advice.canary_steps) if advice.canary_steps else None,
                "reason": advice.reason,
            },
        }

    def _recorder(
        self, state: State, planned: RolloutPlan, why: str | None, thread: str | None
    ) -> Any:
        """The write of a planned deployment: its row (pending, with its thread) and the audit
        event, refused (``QuotaExceededError``, nothing written) when the tenant's quota has
        no room for it: judged here, under the tenant's lock, in the row's own transaction."""

        def act(uow: UnitOfWork) -> dict[str, Any]:
            uow.quotas.admit(state.model_name, resources_of(state))
            model = uow.models.get(state.model_name, str(state.version))
            uow.deployments.add(
                DeploymentRow(
                    deployment_id=planned.deployment_id,
                    model_version_id=model.model_version_id,
                    model_name=state.model_name,
                    model_version=str(state.version),
                    experiment_id=model.experiment_id,
                    target_stage=planned.stage.value,
                    strategy=planned.strategy.value,
                    endpoint_name=f"{state.model_name}-v{state.version}",
                    status=DeploymentStatus.PENDING.value,
                    **resources_of(state).to_columns(),
                    traffic_percentage=0.0,
                    deployed_by=state.requested_by,
                    thread_id=thread,
                )
            )
            uow.audit.append(
                state.requested_by,
                "deploy_planned",
                planned.deployment_id,
                {"strategy": planned.strategy.value, "stage": planned.stage.value, "advice": why},
            )
            return {}

        return act

    def after_plan(self, state: State) -> Literal["package", "update_traffic"]:
        return "update_traffic" if isinstance(deploy_plan(state), TrafficUpdate) else "package"

    # -- package and start ----------------------------------------------------------------

    def package(self, state: State) -> dict[str, Any]:
        """Build (or reuse) the version's package and mark the deployment as deploying."""
        deployment_id = rollout_plan(state).deployment_id
        try:
            tag = self.deps.serving.package(
                state.model_name, str(state.version), state.requested_by
            )
        except Exception as exc:
            return _failed(state, f"packaging failed: {exc}")

        def act(uow: UnitOfWork) -> dict[str, Any]:
            row = uow.deployments.get(deployment_id)
            row.bento_tag = tag
            row.status = change_status(DeploymentStatus(row.status), DeploymentStatus.DEPLOYING)
            return {"bento_tag": tag}

        once(self.deps, state.run_id, "package", act)
        return {}

    def start_endpoint(self, state: State) -> dict[str, Any]:
        """Start the server and wait until ready; a server already up for this run is kept."""
        deployment_id = rollout_plan(state).deployment_id
        with self.deps.uow() as uow:
            row = uow.deployments.get(deployment_id)
        if row.endpoint().started and self.deps.serving.is_alive(row.endpoint()):
            return {}
        try:
            # A kill between the server's start and its record leaves an unrecorded server.
            self.deps.serving.stop_strays(deployment_id)
            endpoint = self.deps.serving.start(deployment_id, str(row.bento_tag), row.resources())
        except Exception as exc:
            return _failed(state, f"the endpoint did not start: {exc}")
        failpoint("deploy.endpoint_started")
        with self.deps.uow() as uow:
            row = uow.deployments.get(deployment_id)
            row.serve_from(endpoint)
            uow.audit.append(
                state.requested_by,
                "endpoint_started",
                deployment_id,
                {"url": endpoint.url, "pid": endpoint.pid, "bento_tag": row.bento_tag},
            )
            uow.commit()
        return {}

    # -- routing ----------------------------------------------------------------------------

    def apply_steps(self, state: State) -> dict[str, Any]:
        """Carry out the strategy's steps up to the first that needs time (the monitor's).

        The rollout the monitor judges opens (and this run marks the deployment) before any
        route names the new deployment: users never reach a deployment nobody judges, and a
        kill after the routes leaves a rollout and a thread behind (``open_rollout_first``)."""
        planned = rollout_plan(state)
        with self.deps.uow() as uow:
            endpoint = uow.deployments.get(planned.deployment_id).endpoint()
        try:
            if not planned.routed:
                self.deps.serving.smoke(endpoint, state.model_name, str(state.version))
                done = {"weight": 0.0, "mirror": 0.0, "completed": True}
                return {"plan": planned.model_copy(update=done)}
            reached = planned.model_copy(update=self._reach(planned))
            open_rollout_first(self.deps, state.run_id, state.model_name, reached)
            self._steps(state, planned, endpoint)
        except Exception as exc:
            return _failed(state, f"{planned.strategy.value} step failed: {exc}")
        failpoint("deploy.routed")
        return {"plan": reached}

    def _options(self, planned: RolloutPlan) -> PlanOptions:
        return PlanOptions(
            initial_percent=planned.initial_percent,
            canary_steps=planned.canary_steps,
            mirror_percent=planned.mirror_percent,
            warm_seconds=self.deps.policy.warm_seconds,
        )

    def _reach(self, planned: RolloutPlan) -> dict[str, Any]:
        """How far ``_steps`` carries the plan (share, mirror share, promoted), known before
        any step runs so the rollout can open first."""
        weight, mirror, completed = 0.0, 0.0, False
        for step in strategy_steps(planned.strategy, self._options(planned)):
            if isinstance(step, SetWeight) and step.percent > 0:
                weight = step.percent
            elif isinstance(step, SetMirror):
                mirror = step.percent
            elif isinstance(step, Promote):
                completed = True
            elif isinstance(step, Pause) or (isinstance(step, Analyze) and step.rule != "smoke"):
                break
        return {"weight": weight, "mirror": mirror, "completed": completed or weight >= 100}

    def _steps(
        self, state: State, planned: RolloutPlan, endpoint: Endpoint
    ) -> tuple[float, float, bool]:
        """The routed steps up to the first pause or health analysis: the share and mirror
        share reached, and whether the plan promoted the new deployment."""
        name, weight, mirror, completed = state.model_name, 0.0, 0.0, False
        for step in strategy_steps(planned.strategy, self._options(planned)):
            if isinstance(step, SetWeight) and step.percent > 0:
                self.deps.router.set_routes(weighted_routes(planned, name, step.percent))
                weight = step.percent
            elif isinstance(step, SetMirror):
                routes = mirrored_routes(planned, name, step.percent)
                if routes is None:
                    raise UnknownModelError(f"{name} has no routing table to mirror")
                self.deps.router.set_routes(routes)
                mirror = step.percent
            elif isinstance(step, Analyze) and step.rule == "smoke":
                self.deps.serving.smoke(endpoint, name, str(state.version))
            elif isinstance(step, Promote):
                completed = True
            elif isinstance(step, Pause | Analyze):
                break
        return weight, mirror, completed

    # -- finish -------------------------------------------------------------------------------

    def finish(self, state: State) -> dict[str, Any]:
        """Mark the deployment active, retire what it replaced, write the manifest, remember.

        What it replaces is marked first and its servers stopped outside the transaction."""
        planned = rollout_plan(state)
        new = planned.deployment_id

        def act(uow: UnitOfWork) -> dict[str, Any]:
            row = uow.deployments.get(new)
            row.status = change_status(DeploymentStatus(row.status), DeploymentStatus.ACTIVE)
            now = self.deps.clock.now()
            unmark(uow, state.run_id, [new])
            row.traffic_percentage = planned.weight or planned.mirror or 0.0
            row.deployment_duration_seconds = round((now - planned.started_at).total_seconds(), 3)
            self._retire_replaced(uow, state, planned)
            audit = {"strategy": row.strategy, "traffic": row.traffic_percentage}
            uow.audit.append(
                state.requested_by, "deployed", new, {**audit, "stage": row.target_stage}
            )
            uow.flush()
            return row.to_manifest().model_dump(mode="json")

        replaced, effect = self._replaced(state, planned)
        manifest = change(self.deps, state.run_id, "finish_deploy", replaced, effect, act)
        self._remember(state, episodes.SUCCEEDED, [])
        active = new if planned.completed and planned.routed else planned.stable
        return {
            "deployment_manifest": manifest,
            "status": "deployed",
            "active_deployment_id": active,
        }

    def _replaced(self, state: State, planned: RolloutPlan) -> tuple[list[str | None], Effect]:
        """The deployments ``_retire_replaced`` changes, and its outside half: the old stable's
        hand-over and the retired mirrors' servers stopped."""
        stable, mirrors = planned.stable, [planned.retire_mirror, planned.replaced_mirror]
        handing = bool(stable and stable != planned.deployment_id and planned.routed)
        over = hand_over_effect(self.deps, str(stable), planned, str(state.version))

        def effect() -> None:
            if handing:
                over()
            stop_servers(self.deps, mirrors)

        return [stable if handing else None, *mirrors], effect

    def _retire_replaced(self, uow: UnitOfWork, state: State, planned: RolloutPlan) -> None:
        """The old stable hands over (or shares, during a canary); a mirror of this version, or
        the mirror a new shadow replaces, is retired."""
        stable, new = planned.stable, planned.deployment_id
        if stable and stable != new and planned.routed:
            hand_over(self.deps, uow, stable, planned, str(state.version), state.requested_by)
        for mirror in (planned.retire_mirror, planned.replaced_mirror):
            if mirror:
                self._retire_mirror(uow, state, mirror)

    def _retire_mirror(self, uow: UnitOfWork, state: State, deployment_id: str) -> None:
        """Stop the shadow deployment of a version that now serves users itself."""
        retire(uow.deployments.get(deployment_id), self.deps.clock.now())
        close_rollouts(
            uow, [deployment_id], RolloutPhase.COMPLETED, "retired: the version serves users"
        )
        uow.audit.append(state.requested_by, "shadow_retired", deployment_id, {})

    # -- failure ------------------------------------------------------------------------------

    def fail(self, state: State) -> dict[str, Any]:
        """Put the previous routing back, mark the deployment failed, stop its server."""
        planned = rollout_plan(state)
        new, previous = planned.deployment_id, planned.previous
        current = self.deps.router.get_routes(state.model_name)
        if previous is not None and current is not None and current != previous:
            self.deps.router.set_routes(previous)

        def effect() -> None:
            stop_servers(self.deps, [new])
            self.deps.serving.stop_strays(new)

        def act(uow: UnitOfWork) -> dict[str, Any]:
            row = uow.deployments.get(new)
            if DeploymentStatus(row.status) is not DeploymentStatus.FAILED:
                row.status = change_status(DeploymentStatus(row.status), DeploymentStatus.FAILED)
            close_rollouts(uow, [new], RolloutPhase.FAILED, "the deploy failed")
            uow.audit.append(state.requested_by, "deploy_failed", new, {"errors": state.errors})
            uow.flush()
            return row.to_manifest().model_dump(mode="json")

        manifest = change(self.deps, state.run_id, "fail_deploy", [new], effect, act)
        self._remember(state, episodes.FAILED, list(state.errors))
        return {"deployment_manifest": manifest, "status": "failed"}

    def _remember(self, state: State, outcome: str, reasons: list[str]) -> None:
        planned = rollout_plan(state)
        canary = planned.strategy is StrategyName.CANARY
        self.deps.memory.record_episode(
            state.model_name,
            episodes.DEPLOYMENT,
            {
                "version": state.version,
                "stage": planned.stage.value,
                "strategy": planned.strategy.value,
                "deployment_id": planned.deployment_id,
                "canary_steps": list(planned.canary_steps) if canary else None,
                "traffic": planned.weight or planned.mirror,
                "requested_by": state.requested_by,
                "outcome": outcome,
                "reasons": reasons,
            },
            episode_id=operation_key(state.run_id, episodes.DEPLOYMENT),
        )


def _failed(state: State, message: str) -> dict[str, Any]:
    return {"status": "failed", "errors": [*state.errors, message.splitlines()[0]]}


def next_or_fail(on_success: NEXT_OR_FAIL) -> Any:
    """A router that goes to ``on_success`` unless the last step failed."""

    def route(state: State) -> NEXT_OR_FAIL:
        return "fail_deploy" if state.status == "failed" else on_success

    route.__name__ = f"to_{on_success}"
    return route
