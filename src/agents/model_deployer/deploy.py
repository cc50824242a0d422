"""The deploy flow: plan -> package -> start endpoint -> apply the strategy's steps -> finish.

The strategy's steps come from ``lifecycle.strategies.plan``; this flow carries them out up to
the first step that needs time (a pause, a health analysis), which the monitoring tick owns.
A failed step ends in ``fail_deploy``: the previous routing table is put back, the new
deployment is ``failed`` and its server stopped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from agents.model_deployer.deps import DeployerDeps, failpoint
from agents.model_deployer.idempotency import once, operation_key
from agents.model_deployer.rollouts import (
    archive_version,
    close_rollouts,
    marks_of,
    open_rollout,
    rollout_config,
)
from agents.model_deployer.state import State
from database.models import DeploymentRow
from database.protocols import UnitOfWork
from lifecycle.errors import UnknownModelError
from lifecycle.monitor import OPEN_PHASES, RolloutPhase
from lifecycle.ports import Routes
from lifecycle.records import utcnow
from lifecycle.rollback import config_to_dict
from lifecycle.routing import single, split, stable_of
from lifecycle.stages import LIVE_STATUSES, DeploymentStatus, ModelStage, change_status
from lifecycle.strategies import (
    DEFAULT_CANARY_STEPS,
    ROUTED_STAGES,
    Analyze,
    Pause,
    PlanOptions,
    Promote,
    SetMirror,
    SetWeight,
    StrategyName,
    parse_strategy,
    plan,
    strategy_for,
)
from memory import episodes

NEXT_OR_FAIL = Literal["package", "start_endpoint", "apply_steps", "finish_deploy", "fail_deploy"]


def with_shadow_of(routes: Routes, previous: Routes | None, exclude: set[str]) -> Routes:
    """``routes`` keeping the previous table's mirror, unless the mirror is in ``exclude``."""
    if previous is None or previous.shadow_deployment_id in (None, *exclude):
        return routes
    return Routes(
        routes.model_name,
        routes.weights,
        previous.shadow_deployment_id,
        previous.shadow_percent,
        routes.stable_deployment_id,
    )


class DeployNodes:
    """The nodes of the deploy flow, over the ports in ``deps``."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps

    # -- plan ---------------------------------------------------------------------------

    def plan(self, state: State) -> dict[str, Any]:
        """Resolve the strategy from the version's stage, ask memory, record the deployment."""
        name, version = state.model_name, str(state.version)
        with self.deps.uow() as uow:
            stage = uow.models.get(name, version).model_stage
            live = list(uow.deployments.list(name, LIVE_STATUSES))
        routes = self.deps.router.get_routes(name)
        update = self._traffic_update(state, live, routes, stage)
        if update is not None:
            return {"plan": update}
        stable = stable_of(routes) if routes is not None else None
        requested = parse_strategy(state.strategy) if state.strategy else None
        strategy = strategy_for(stage, requested, has_stable=stable is not None)
        advice = self.deps.memory.advice(name)
        steps = advice.canary_steps or DEFAULT_CANARY_STEPS
        initial = state.traffic or (
            float(advice.canary_steps[0])
            if advice.canary_steps
            else self.deps.policy.canary_initial_percent
        )
        deployment_id = f"{name}-v{version}-{state.run_id[:8]}"
        stable_version = next((d.model_version for d in live if d.deployment_id == stable), None)
        mirror = routes.shadow_deployment_id if routes is not None else None
        # A mirror of this very version has done its job once the version serves users.
        retire_mirror = (
            mirror
            if any(d.deployment_id == mirror and d.model_version == version for d in live)
            and strategy is not StrategyName.SHADOW
            else None
        )
        planned = {
            "kind": "rollout",
            "deployment_id": deployment_id,
            "strategy": strategy.value,
            "stage": stage.value,
            "routed": stage in ROUTED_STAGES,
            "initial_percent": initial,
            "canary_steps": [float(s) for s in steps],
            "mirror_percent": state.traffic or 100.0,
            "previous": routes.to_json() if routes is not None else None,
            "stable": stable,
            "stable_version": stable_version,
            "retire_mirror": retire_mirror,
            "rollback_config": config_to_dict(rollout_config(self.deps, advice.rollback_preset)),
            "started_at": utcnow().isoformat(),
        }

        def act(uow: UnitOfWork) -> dict[str, Any]:
            model = uow.models.get(name, version)
            uow.deployments.add(
                DeploymentRow(
                    deployment_id=deployment_id,
                    model_version_id=model.model_version_id,
                    model_name=name,
                    model_version=version,
                    experiment_id=model.experiment_id,
                    target_stage=stage.value,
                    strategy=strategy.value,
                    endpoint_name=f"{name}-v{version}",
                    status=DeploymentStatus.PENDING.value,
                    replicas=state.replicas,
                    autoscaling={},
                    traffic_percentage=0.0,
                    deployed_by=state.requested_by,
                )
            )
            uow.audit.append(
                state.requested_by,
                "deploy_planned",
                deployment_id,
                {"strategy": strategy.value, "stage": stage.value, "advice": advice.reason},
            )
            return {}

        once(self.deps, state.run_id, "plan_deploy", act)
        return {
            "plan": planned,
            "advice": {
                "rollback_preset": advice.rollback_preset,
                "canary_steps": list(advice.canary_steps) if advice.canary_steps else None,
                "reason": advice.reason,
            },
        }

    def _traffic_update(
        self, state: State, live: list[DeploymentRow], routes: Routes | None, stage: ModelStage
    ) -> dict[str, Any] | None:
        """A plan that only changes the share of a canary or shadow already in flight."""
        if state.traffic is None or routes is None:
            return None
        for d in live:
            in_table = d.deployment_id in routes.weights or (
                d.deployment_id == routes.shadow_deployment_id
            )
            kind = d.strategy in (StrategyName.CANARY.value, StrategyName.SHADOW.value)
            same = state.strategy in (None, d.strategy)
            # The mirror of a version since promoted is not the rollout in flight: a share for
            # that version starts its canary.
            current = d.target_stage == stage.value
            if d.model_version == state.version and current and in_table and kind and same:
                return {
                    "kind": "traffic",
                    "deployment_id": d.deployment_id,
                    "strategy": d.strategy,
                    "traffic": float(state.traffic),
                    "previous": routes.to_json(),
                    "stable": stable_of(routes),
                }
        return None

    def after_plan(self, state: State) -> Literal["package", "update_traffic"]:
        return "update_traffic" if (state.plan or {}).get("kind") == "traffic" else "package"

    # -- package and start ----------------------------------------------------------------

    def package(self, state: State) -> dict[str, Any]:
        """Build (or reuse) the version's package and mark the deployment as deploying."""
        deployment_id = _plan(state)["deployment_id"]
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
        deployment_id = _plan(state)["deployment_id"]
        with self.deps.uow() as uow:
            row = uow.deployments.get(deployment_id)
        if row.endpoint_pid is not None and self.deps.serving.is_alive(row.endpoint()):
            return {}
        try:
            # A kill between the server's start and its record leaves an unrecorded server.
            self.deps.serving.stop_strays(deployment_id)
            endpoint = self.deps.serving.start(deployment_id, str(row.bento_tag), row.replicas)
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
        """Carry out the strategy's steps up to the first that needs time (the monitor's)."""
        planned = _plan(state)
        new = planned["deployment_id"]
        previous = Routes.from_json(planned["previous"]) if planned["previous"] else None
        with self.deps.uow() as uow:
            endpoint = uow.deployments.get(new).endpoint()
        options = PlanOptions(
            initial_percent=planned["initial_percent"],
            canary_steps=tuple(planned["canary_steps"]),
            mirror_percent=planned["mirror_percent"],
            warm_seconds=self.deps.policy.warm_seconds,
        )
        weight, mirror, completed = 0.0, 0.0, False
        try:
            if not planned["routed"]:
                self.deps.serving.smoke(endpoint, state.model_name, str(state.version))
                return {"plan": {**planned, "weight": 0.0, "mirror": 0.0, "completed": True}}
            for step in plan(StrategyName(planned["strategy"]), options):
                if isinstance(step, SetWeight) and step.percent > 0:
                    self.deps.router.set_routes(self._weighted(state, previous, step.percent))
                    weight = step.percent
                elif isinstance(step, SetMirror):
                    self.deps.router.set_routes(self._mirrored(state, previous, step.percent))
                    mirror = step.percent
                elif isinstance(step, Analyze) and step.rule == "smoke":
                    self.deps.serving.smoke(endpoint, state.model_name, str(state.version))
                elif isinstance(step, Promote):
                    completed = True
                elif isinstance(step, Pause | Analyze):
                    break
        except Exception as exc:
            return _failed(state, f"{planned['strategy']} step failed: {exc}")
        failpoint("deploy.routed")
        return {
            "plan": {
                **planned,
                "weight": weight,
                "mirror": mirror,
                "completed": completed or weight >= 100,
            }
        }

    def _weighted(self, state: State, previous: Routes | None, percent: float) -> Routes:
        new = _plan(state)["deployment_id"]
        stable = previous.stable_deployment_id or stable_of(previous) if previous else None
        table = split(state.model_name, stable, new, percent) if stable else None
        routes = table if table is not None and percent < 100 else single(state.model_name, new)
        return with_shadow_of(routes, previous, {new, _plan(state).get("retire_mirror") or new})

    def _mirrored(self, state: State, previous: Routes | None, percent: float) -> Routes:
        if previous is None:
            raise UnknownModelError(f"{state.model_name} has no routing table to mirror")
        return Routes(
            state.model_name,
            previous.weights,
            _plan(state)["deployment_id"],
            percent,
            previous.stable_deployment_id,
        )

    # -- finish -------------------------------------------------------------------------------

    def finish(self, state: State) -> dict[str, Any]:
        """Mark the deployment active, retire what it replaced, write the manifest, remember."""
        planned = _plan(state)
        new = planned["deployment_id"]
        started = datetime.fromisoformat(planned["started_at"])
        marks = marks_of(self.deps, new, planned["stable"]) if planned["routed"] else {}

        def act(uow: UnitOfWork) -> dict[str, Any]:
            row = uow.deployments.get(new)
            row.status = change_status(DeploymentStatus(row.status), DeploymentStatus.ACTIVE)
            open_rollout(uow, self.deps, state.model_name, planned, marks, self.deps.clock.now())
            row.traffic_percentage = planned["weight"] or planned["mirror"]
            row.deployment_duration_seconds = round((utcnow() - started).total_seconds(), 3)
            stable = planned["stable"]
            if stable and stable != new and planned["routed"]:
                self._retire_or_share(uow, state, stable, planned)
            if planned.get("retire_mirror"):
                self._retire_mirror(uow, state, planned["retire_mirror"])
            replaced = (planned["previous"] or {}).get("shadow_deployment_id")
            if planned["strategy"] == StrategyName.SHADOW.value and replaced not in (None, new):
                self._retire_mirror(uow, state, replaced)
            uow.audit.append(
                state.requested_by,
                "deployed",
                new,
                {
                    "strategy": row.strategy,
                    "traffic": row.traffic_percentage,
                    "stage": row.target_stage,
                },
            )
            uow.flush()
            return row.to_manifest().model_dump(mode="json")

        manifest = once(self.deps, state.run_id, "finish_deploy", act)
        self._remember(state, episodes.SUCCEEDED, [])
        active = new if planned.get("completed") and planned["routed"] else planned["stable"]
        return {
            "deployment_manifest": manifest,
            "status": "deployed",
            "active_deployment_id": active,
        }

    def _retire_or_share(
        self, uow: UnitOfWork, state: State, stable: str, planned: dict[str, Any]
    ) -> None:
        """After a full switch the old stable drains (or stops, for rolling) and its version is
        archived; during a canary it keeps the rest of the traffic."""
        old = uow.deployments.get(stable)
        if not planned["completed"]:
            if planned["strategy"] == StrategyName.CANARY.value:
                old.traffic_percentage = 100.0 - planned["weight"]
            return
        old.traffic_percentage = 0.0
        if planned["strategy"] == StrategyName.ROLLING.value:
            self.deps.serving.stop(old.endpoint())
            old.status = change_status(DeploymentStatus(old.status), DeploymentStatus.ROLLED_BACK)
            old.rolled_back_at = utcnow()
        else:
            old.status = change_status(DeploymentStatus(old.status), DeploymentStatus.DRAINING)
            old.drained_at = utcnow()
        if old.model_version != state.version:
            archive_version(
                self.deps,
                uow,
                state.model_name,
                old.model_version,
                state.requested_by,
                f"replaced in production by v{state.version}",
            )

    def _retire_mirror(self, uow: UnitOfWork, state: State, deployment_id: str) -> None:
        """Stop the shadow deployment of a version that now serves users itself."""
        row = uow.deployments.get(deployment_id)
        self.deps.serving.stop(row.endpoint())
        if DeploymentStatus(row.status) in LIVE_STATUSES:
            row.status = change_status(DeploymentStatus(row.status), DeploymentStatus.ROLLED_BACK)
        row.rolled_back_at, row.traffic_percentage = utcnow(), 0.0
        close_rollouts(
            uow, [deployment_id], RolloutPhase.COMPLETED, "retired: the version serves users"
        )
        uow.audit.append(state.requested_by, "shadow_retired", deployment_id, {})

    # -- manual traffic change ----------------------------------------------------------------

    def update_traffic(self, state: State) -> dict[str, Any]:
        """Set a canary's share (or a shadow's mirror share) by hand; 100% completes a canary."""
        planned = _plan(state)
        dep, percent = planned["deployment_id"], planned["traffic"]
        previous = Routes.from_json(planned["previous"])
        if planned["strategy"] == StrategyName.SHADOW.value:
            routes = Routes(
                state.model_name, previous.weights, dep, percent, previous.stable_deployment_id
            )
        else:
            stable = previous.stable_deployment_id or stable_of(previous)
            table = split(state.model_name, stable, dep, percent) if stable != dep else None
            routes = with_shadow_of(table or single(state.model_name, dep), previous, {dep})
        self.deps.router.set_routes(routes)
        completed = planned["strategy"] != StrategyName.SHADOW.value and percent >= 100
        full = {**planned, "weight": percent, "mirror": 0.0, "completed": completed, "routed": True}
        marks = marks_of(self.deps, dep, full["stable"])

        def act(uow: UnitOfWork) -> dict[str, Any]:
            row = uow.deployments.get(dep)
            row.traffic_percentage = percent
            self._reset_rollout(uow, dep, percent, completed, marks)
            stable = full["stable"]
            if stable and stable != dep:
                self._retire_or_share(uow, state, stable, full)
            uow.audit.append(state.requested_by, "traffic_set", dep, {"percent": percent})
            uow.flush()
            return row.to_manifest().model_dump(mode="json")

        manifest = once(self.deps, state.run_id, "update_traffic", act)
        return {
            "plan": full,
            "deployment_manifest": manifest,
            "status": "traffic_updated",
            "active_deployment_id": dep if completed else full["stable"],
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
            rollout.warm_until = now + timedelta(seconds=self.deps.policy.warm_seconds)
            return
        weights = [float(w) for w in rollout.steps.get("weights", [])]
        rollout.steps = {"weights": sorted({percent, *(w for w in weights if w > percent), 100.0})}
        rollout.step_index = 0

    # -- failure ------------------------------------------------------------------------------

    def fail(self, state: State) -> dict[str, Any]:
        """Put the previous routing back, mark the deployment failed, stop its server."""
        planned = _plan(state)
        new = planned["deployment_id"]
        previous = planned.get("previous")
        current = self.deps.router.get_routes(state.model_name)
        if previous and current is not None and current.to_json() != previous:
            self.deps.router.set_routes(Routes.from_json(previous))

        def act(uow: UnitOfWork) -> dict[str, Any]:
            row = uow.deployments.get(new)
            self.deps.serving.stop(row.endpoint())
            self.deps.serving.stop_strays(new)
            if DeploymentStatus(row.status) is not DeploymentStatus.FAILED:
                row.status = change_status(DeploymentStatus(row.status), DeploymentStatus.FAILED)
            uow.audit.append(state.requested_by, "deploy_failed", new, {"errors": state.errors})
            uow.flush()
            return row.to_manifest().model_dump(mode="json")

        manifest = once(self.deps, state.run_id, "fail_deploy", act)
        self._remember(state, episodes.FAILED, list(state.errors))
        return {"deployment_manifest": manifest, "status": "failed"}

    def _remember(self, state: State, outcome: str, reasons: list[str]) -> None:
        planned = _plan(state)
        steps = planned.get("canary_steps") if planned["strategy"] == "canary" else None
        self.deps.memory.record_episode(
            state.model_name,
            episodes.DEPLOYMENT,
            {
                "version": state.version,
                "stage": planned["stage"],
                "strategy": planned["strategy"],
                "deployment_id": planned["deployment_id"],
                "canary_steps": steps,
                "traffic": planned.get("weight") or planned.get("mirror"),
                "requested_by": state.requested_by,
                "outcome": outcome,
                "reasons": reasons,
            },
            episode_id=operation_key(state.run_id, episodes.DEPLOYMENT),
        )


def _plan(state: State) -> dict[str, Any]:
    if state.plan is None:
        raise RuntimeError("the deploy flow ran a step before planning")
    return state.plan


def _failed(state: State, message: str) -> dict[str, Any]:
    return {"status": "failed", "errors": [*state.errors, message.splitlines()[0]]}


def next_or_fail(on_success: NEXT_OR_FAIL) -> Any:
    """A router that goes to ``on_success`` unless the last step failed."""

    def route(state: State) -> NEXT_OR_FAIL:
        return "fail_deploy" if state.status == "failed" else on_success

    route.__name__ = f"to_{on_success}"
    return route
