"""The rollback decision, pure: what a rollback undoes, what it restores, and how fast.

:func:`rollback_target` picks the deployment to go back to (the one asked for, else the stable
one behind a shadow being undone, else the previous production deployment that served users);
:func:`plan_rollback` lists what is undone and whether the target is restored by one routing
write (still warm) or needs its server started again. Refusals are ``RollbackFailedError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from lifecycle.errors import RollbackFailedError
from lifecycle.names import make_deployment_id
from lifecycle.ports import Routes
from lifecycle.records import Instant
from lifecycle.rollout import DeploymentView
from lifecycle.routing import single
from lifecycle.stages import SERVED_STATUSES, DeploymentStatus, ModelStage


class RollbackPlan(BaseModel):
    """What a rollback undoes and restores; the switch and the decision add their times."""

    model_config = ConfigDict(frozen=True)

    undo: tuple[str, ...]
    """The deployments taken out of service, oldest first."""
    target: str
    """The deployment gone back to."""
    target_version: str
    restored: str
    """The deployment that serves afterwards: the target itself when warm, else a new one."""
    warm: bool
    """True: restoring is one routing write; False: the target's version is started again."""
    previous: Routes
    started_at: Instant
    decided_at: Instant | None = None
    """When the monitor decided the rollback (None: asked for by someone)."""
    switched_at: Instant | None = None
    effective_seconds: float | None = None
    """How long until every running gateway served the restored table (None: not measured)."""


def _age(d: DeploymentView) -> tuple[datetime, str]:
    return (d.deployed_at, d.deployment_id)


def _named(routes: Routes) -> list[str]:
    named = list(routes.weights)
    if routes.shadow_deployment_id:
        named.append(routes.shadow_deployment_id)
    return named


def _routed(routes: Routes, deployments: Sequence[DeploymentView]) -> list[DeploymentView]:
    by_id = {d.deployment_id: d for d in deployments}
    return [by_id[d] for d in _named(routes) if d in by_id]


def rollback_target(
    model_name: str,
    routes: Routes | None,
    deployments: Sequence[DeploymentView],
    requested: str | None = None,
    undo: str | None = None,
) -> DeploymentView:
    """The deployment a rollback of ``model_name`` goes back to, or RollbackFailedError.

    Two ways to ask, never both (the intake refuses that): ``requested`` names the deployment to
    go back to (``deployer rollback --to``); ``undo`` names the deployment to take out of
    service (``--undo``, seed 004's ``current_deployment_id``), and the rollback goes back to
    what served before it: the table's stable deployment when it is older (a canary beside it),
    else the newest earlier production deployment that served, one never rolled back itself
    first. Neither: undo the newest routed change. Going "back" to the newest
    routed change is refused: it would send every user to what is being rolled back."""
    if routes is None:
        raise RollbackFailedError(f"nothing to roll back: no deployment of {model_name} is routed")
    by_id = {d.deployment_id: d for d in deployments}
    routed = _routed(routes, deployments)
    if requested:
        if len(routed) > 1 and requested == max(routed, key=_age).deployment_id:
            raise RollbackFailedError(
                f"{requested} is the newest change of {model_name}: rolling back to it would send "
                f"every user to it; to take it out of service use --undo {requested}"
            )
        return _requested_target(by_id[requested])
    newest = max(routed, key=_age)
    if undo is not None:
        if undo not in _named(routes) or undo not in by_id:
            raise RollbackFailedError(f"nothing to undo: {undo} takes no traffic of {model_name}")
        newest = by_id[undo]
    if newest.deployment_id == routes.shadow_deployment_id:
        # Undoing a shadow stops the mirror; the stable deployment keeps serving.
        stable = routes.stable_deployment_id or max(routes.weights, key=routes.weights.__getitem__)
        return by_id[stable]
    kept_on = by_id.get(routes.stable_deployment_id or "")
    if kept_on is not None and kept_on.deployed_at < newest.deployed_at:
        return kept_on  # undoing a change beside the stable one (a canary): it serves on
    earlier = [
        d
        for d in deployments
        if d.deployed_at < newest.deployed_at
        and d.stage is ModelStage.PRODUCTION
        and d.status in SERVED_STATUSES
    ]
    if not earlier:
        raise RollbackFailedError(
            f"nothing to roll back to: {model_name} has no production deployment "
            f"before {newest.deployment_id}"
        )
    # One that was itself rolled back (a failed canary) only when no other served before.
    kept = [d for d in earlier if d.status is not DeploymentStatus.ROLLED_BACK]
    return max(kept or earlier, key=_age)


def _requested_target(target: DeploymentView) -> DeploymentView:
    if target.status not in SERVED_STATUSES:
        raise RollbackFailedError(
            f"{target.deployment_id} is {target.status.value}: it never served, so it cannot "
            "be rolled back to"
        )
    if target.stage is not ModelStage.PRODUCTION:
        raise RollbackFailedError(
            f"{target.deployment_id} is a {target.stage.value} deployment: it never "
            "served production users, so it cannot be rolled back to"
        )
    return target


def plan_rollback(
    model_name: str,
    routes: Routes,
    deployments: Sequence[DeploymentView],
    target: DeploymentView,
    target_warm: bool,
    run_id: str,
    now: datetime,
) -> RollbackPlan:
    """Undo every routed deployment but the target, oldest first; a mirror serves no user, so
    it is undone only when it is the newest change. ``target_warm``: the target is active or
    draining and its server answers, so it is restored as it is."""
    routed = _routed(routes, deployments)
    newest = max(routed, key=_age)
    kept = {routes.shadow_deployment_id} - {newest.deployment_id, None}
    undo = tuple(
        d.deployment_id
        for d in sorted(routed, key=_age)
        if d.deployment_id != target.deployment_id and d.deployment_id not in kept
    )
    if not undo:
        raise RollbackFailedError(
            f"nothing to roll back: {target.deployment_id} already serves all of {model_name}"
        )
    fresh = make_deployment_id(model_name, target.version, run_id)
    restored = target.deployment_id if target_warm else fresh
    return RollbackPlan(
        undo=undo,
        target=target.deployment_id,
        target_version=target.version,
        restored=restored,
        warm=target_warm,
        previous=routes,
        started_at=now,
    )


def switched_routes(plan: RollbackPlan, model_name: str) -> Routes:
    """The one table of the switch: everything to the restored deployment, keeping a mirror
    that is not undone."""
    routes = single(model_name, plan.restored)
    mirror = plan.previous.shadow_deployment_id
    if mirror and mirror not in plan.undo:
        return Routes(
            routes.model_name,
            routes.weights,
            mirror,
            plan.previous.shadow_percent,
            routes.stable_deployment_id,
        )
    return routes
