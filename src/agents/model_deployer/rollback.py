"""The rollback flow: choose what to undo and what to restore -> warm it -> switch -> record.

The switch is one routing-table write: every gateway serves the restored deployment within a
second, and retries any request that still reaches an undone one on the restored (stable) one.
A deployment kept warm (active or draining, process alive) is restored instantly; otherwise its
version is started again first.
"""

from __future__ import annotations

import time
from typing import Any

from agents.model_deployer.deps import DeployerDeps, failpoint
from agents.model_deployer.idempotency import once, operation_key
from agents.model_deployer.rollouts import close_rollouts
from agents.model_deployer.state import State
from database.models import DeploymentRow
from database.protocols import UnitOfWork
from database.services import record_stage_change
from lifecycle.errors import RollbackFailedError
from lifecycle.monitor import RolloutPhase
from lifecycle.ports import Routes
from lifecycle.records import utcnow
from lifecycle.routing import single
from lifecycle.stages import (
    LIVE_STATUSES,
    SERVED_STATUSES,
    DeploymentStatus,
    ModelStage,
    change_status,
)
from memory import episodes


class RollbackNodes:
    """The nodes of the rollback flow, over the ports in ``deps``."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps

    def plan(self, state: State) -> dict[str, Any]:
        """Pick the deployments to undo and the one to restore; refuse if there is none."""
        name = state.model_name
        routes = self.deps.router.get_routes(name)
        with self.deps.uow() as uow:
            rows = {d.deployment_id: d for d in uow.deployments.list(name)}
        if routes is None:
            raise RollbackFailedError(f"nothing to roll back: no deployment of {name} is routed")
        routed = [rows[d] for d in _named(routes) if d in rows]
        target = self._target(state, routes, routed, rows)
        newest = max(routed, key=lambda d: (d.deployed_at, d.deployment_id))
        # A mirror serves no user: it is undone only when it is the change being undone.
        kept = {routes.shadow_deployment_id} - {newest.deployment_id, None}
        by_age = sorted(routed, key=lambda d: (d.deployed_at, d.deployment_id))
        undo = [
            d.deployment_id
            for d in by_age
            if d.deployment_id != target.deployment_id and d.deployment_id not in kept
        ]
        if not undo:
            raise RollbackFailedError(
                f"nothing to roll back: {target.deployment_id} already serves all of {name}"
            )
        warm = DeploymentStatus(target.status) in (
            DeploymentStatus.ACTIVE,
            DeploymentStatus.DRAINING,
        ) and self.deps.serving.is_alive(target.endpoint())
        restored = (
            target.deployment_id if warm else f"{name}-v{target.model_version}-{state.run_id[:8]}"
        )
        return {
            "rollback": {
                "undo": undo,
                "target": target.deployment_id,
                "target_version": target.model_version,
                "restored": restored,
                "warm": warm,
                "previous": routes.to_json(),
                "started_at": utcnow().isoformat(),
            }
        }

    def _target(
        self,
        state: State,
        routes: Routes,
        routed: list[DeploymentRow],
        rows: dict[str, DeploymentRow],
    ) -> DeploymentRow:
        if state.deployment_id:
            target = rows[state.deployment_id]
            if DeploymentStatus(target.status) not in SERVED_STATUSES:
                raise RollbackFailedError(
                    f"{target.deployment_id} is {target.status}: it never served, so it cannot "
                    "be rolled back to"
                )
            if target.target_stage != ModelStage.PRODUCTION.value:
                raise RollbackFailedError(
                    f"{target.deployment_id} is a {target.target_stage} deployment: it never "
                    "served production users, so it cannot be rolled back to"
                )
            return target
        newest = max(routed, key=lambda d: (d.deployed_at, d.deployment_id))
        if newest.deployment_id == routes.shadow_deployment_id:
            # Undoing a shadow stops the mirror; the stable deployment keeps serving.
            return rows[
                routes.stable_deployment_id or max(routes.weights, key=routes.weights.__getitem__)
            ]
        earlier = [
            d
            for d in rows.values()
            if d.deployed_at < newest.deployed_at
            and d.target_stage == ModelStage.PRODUCTION.value
            and DeploymentStatus(d.status) in SERVED_STATUSES
        ]
        if not earlier:
            raise RollbackFailedError(
                f"nothing to roll back to: {state.model_name} has no production deployment "
                f"before {newest.deployment_id}"
            )
        return max(earlier, key=lambda d: (d.deployed_at, d.deployment_id))

    def restore_endpoint(self, state: State) -> dict[str, Any]:
        """Start the restored version again unless its deployment is still warm."""
        plan = _plan(state)
        if plan["warm"]:
            return {}
        restored = plan["restored"]

        def act(uow: UnitOfWork) -> dict[str, Any]:
            if _exists(uow, state.model_name, restored):
                return {}
            target = uow.deployments.get(plan["target"])
            uow.deployments.add(
                DeploymentRow(
                    deployment_id=restored,
                    model_version_id=target.model_version_id,
                    model_name=target.model_name,
                    model_version=target.model_version,
                    experiment_id=target.experiment_id,
                    target_stage=ModelStage.PRODUCTION.value,
                    strategy=target.strategy,
                    endpoint_name=target.endpoint_name,
                    status=DeploymentStatus.DEPLOYING.value,
                    replicas=target.replicas,
                    autoscaling={},
                    bento_tag=target.bento_tag,
                    traffic_percentage=0.0,
                    deployed_by=state.requested_by,
                )
            )
            return {}

        once(self.deps, state.run_id, "restore_record", act)
        with self.deps.uow() as uow:
            row = uow.deployments.get(restored)
        if row.endpoint_pid is not None and self.deps.serving.is_alive(row.endpoint()):
            return {}
        try:
            self.deps.serving.stop_strays(restored)
            tag = row.bento_tag or self.deps.serving.package(
                state.model_name, row.model_version, state.requested_by
            )
            endpoint = self.deps.serving.start(restored, tag, row.replicas)
        except Exception as exc:
            self._mark(restored, DeploymentStatus.FAILED, state.requested_by)
            raise RollbackFailedError(
                f"could not start v{row.model_version} again to roll back to: {exc}".splitlines()[0]
            ) from exc
        with self.deps.uow() as uow:
            fresh = uow.deployments.get(restored)
            fresh.serve_from(endpoint)
            uow.commit()
        return {}

    def _mark(self, deployment_id: str, status: DeploymentStatus, actor: str) -> None:
        with self.deps.uow() as uow:
            row = uow.deployments.get(deployment_id)
            row.status = change_status(DeploymentStatus(row.status), status)
            uow.audit.append(actor, f"deployment_{status.value}", deployment_id, {})
            uow.commit()

    def switch(self, state: State) -> dict[str, Any]:
        """One routing-table write: all traffic to the restored deployment."""
        plan = _plan(state)
        previous = Routes.from_json(plan["previous"])
        routes = single(state.model_name, plan["restored"])
        if previous.shadow_deployment_id and previous.shadow_deployment_id not in plan["undo"]:
            routes = Routes(
                routes.model_name,
                routes.weights,
                previous.shadow_deployment_id,
                previous.shadow_percent,
                routes.stable_deployment_id,
            )
        self.deps.router.set_routes(routes)
        failpoint("rollback.switched")
        # A confirming router knows when every running gateway served the table.
        effective = getattr(self.deps.router, "last_effective_seconds", None)
        return {
            "rollback": {
                **plan,
                "switched_at": utcnow().isoformat(),
                "effective_seconds": round(effective, 4) if effective is not None else None,
            }
        }

    def record(self, state: State) -> dict[str, Any]:
        """Statuses, stages (undone versions to development, the restored one to production),
        the audit event and memory; then stop the undone servers."""
        plan = _plan(state)
        time.sleep(self.deps.policy.drain_seconds)

        def act(uow: UnitOfWork) -> dict[str, Any]:
            undone_versions: set[str] = set()
            for deployment_id in plan["undo"]:
                row = uow.deployments.get(deployment_id)
                self.deps.serving.stop(row.endpoint())
                if DeploymentStatus(row.status) in LIVE_STATUSES:
                    row.status = change_status(
                        DeploymentStatus(row.status), DeploymentStatus.ROLLED_BACK
                    )
                row.rolled_back_at, row.traffic_percentage = utcnow(), 0.0
                undone_versions.add(row.model_version)
            restored = uow.deployments.get(plan["restored"])
            if DeploymentStatus(restored.status) is not DeploymentStatus.ACTIVE:
                restored.status = change_status(
                    DeploymentStatus(restored.status), DeploymentStatus.ACTIVE
                )
            restored.traffic_percentage, restored.drained_at = 100.0, None
            records = self._stages(uow, state, undone_versions - {plan["target_version"]}, plan)
            close_rollouts(
                uow, plan["undo"], RolloutPhase.ROLLED_BACK, state.reason or "rolled back"
            )
            uow.audit.append(
                state.requested_by,
                "rolled_back",
                state.model_name,
                {
                    "undone": plan["undo"],
                    "restored": plan["restored"],
                    "reason": state.reason,
                    "decided_at": plan.get("decided_at"),
                    "switched_at": plan.get("switched_at"),
                    "effective_seconds": plan.get("effective_seconds"),
                },
            )
            return {"version_record": records[-1] if records else None}

        done = once(self.deps, state.run_id, "record_rollback", act)
        self.deps.memory.record_episode(
            state.model_name,
            episodes.ROLLBACK,
            {
                "deployment_id": plan["undo"][-1],
                "undone": plan["undo"],
                "restored_deployment_id": plan["restored"],
                "version": plan["target_version"],
                "requested_by": state.requested_by,
                "outcome": episodes.SUCCEEDED,
                "reasons": [state.reason or "rolled back by hand"],
            },
            episode_id=operation_key(state.run_id, episodes.ROLLBACK),
        )
        return {
            "rollback_successful": True,
            "active_deployment_id": plan["restored"],
            "version_record": done["version_record"],
            "status": "rolled_back",
        }

    def _stages(
        self, uow: UnitOfWork, state: State, undone: set[str], plan: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Undone versions go back to development; the restored version serves in production."""
        records = []
        for version in sorted(undone):
            row = uow.models.get(state.model_name, version)
            if row.model_stage in (ModelStage.PRODUCTION, ModelStage.SHADOW):
                self.deps.registry.set_stage(state.model_name, version, ModelStage.DEVELOPMENT)
                record = record_stage_change(
                    uow,
                    state.model_name,
                    version,
                    ModelStage.DEVELOPMENT,
                    state.requested_by,
                    reason=f"rolled back: {state.reason}".rstrip(": "),
                )
                records.append(record.model_dump(mode="json"))
        target = uow.models.get(state.model_name, plan["target_version"])
        # Always (idempotent): a newer version approved for production took the registry's
        # `production` alias, and moving that version back above just dropped it.
        self.deps.registry.set_stage(
            state.model_name, plan["target_version"], ModelStage.PRODUCTION
        )
        if target.model_stage is not ModelStage.PRODUCTION:
            record = record_stage_change(
                uow,
                state.model_name,
                plan["target_version"],
                ModelStage.PRODUCTION,
                state.requested_by,
                reason=f"restored by a rollback: {state.reason}".rstrip(": "),
                rollback=True,
            )
            records.append(record.model_dump(mode="json"))
        return records


def _named(routes: Routes) -> list[str]:
    named = list(routes.weights)
    if routes.shadow_deployment_id:
        named.append(routes.shadow_deployment_id)
    return named


def _exists(uow: UnitOfWork, model_name: str, deployment_id: str) -> bool:
    return any(d.deployment_id == deployment_id for d in uow.deployments.list(model_name))


def _plan(state: State) -> dict[str, Any]:
    if state.rollback is None:
        raise RuntimeError("the rollback flow ran a step before planning")
    return state.rollback
