"""Taking a deployment out of service, written once for every flow that does it.

Each routine comes in two halves, run by :func:`agents.model_deployer.changes.change` on either
side of the outside world: the effect (the server stopped, the registry's stage moved), run
after the deployments are marked, and the record, written inside the caller's unit of work.
``retire`` records a deployment as ended (rolled back, or failed) with no traffic; the deploy
flow retires a replaced stable or a version's own mirror with it, the monitor a warm deployment
whose period is over or a failing shadow, the rollback flow what it undoes. ``replace_stable``
keeps a replaced deployment warm for an instant rollback (or retires it) and archives its
version; ``replace_effect`` is its outside half.
"""

from __future__ import annotations

from agents.model_deployer.changes import Effect
from agents.model_deployer.deps import DeployerDeps
from agents.model_deployer.rollouts import archive_in_registry, archive_version
from database.models import DeploymentRow
from database.protocols import UnitOfWork
from database.services import retire
from lifecycle.rollout import RolloutPlan, TrafficUpdate
from lifecycle.stages import DeploymentStatus, change_status
from lifecycle.strategies import StrategyName


def replace_stable(
    deps: DeployerDeps,
    uow: UnitOfWork,
    old: DeploymentRow,
    new_version: str,
    actor: str,
    *,
    keep_warm: bool = True,
) -> None:
    """``old`` was replaced: it leaves routing and drains, kept warm for an instant rollback
    (or, ``keep_warm=False``, is retired at once); its version, when another replaced it, is
    archived."""
    now = deps.clock.now()
    if keep_warm:
        old.traffic_percentage, old.drained_at = 0.0, now
        if DeploymentStatus(old.status) is DeploymentStatus.ACTIVE:
            old.status = change_status(DeploymentStatus(old.status), DeploymentStatus.DRAINING)
    else:
        retire(old, now)
    if old.model_version != new_version:
        archive_version(
            uow,
            old.model_name,
            old.model_version,
            actor,
            f"replaced in production by v{new_version}",
        )


def replace_effect(
    deps: DeployerDeps, old_id: str, new_version: str, *, keep_warm: bool = True
) -> Effect:
    """The outside half of ``replace_stable``: a deployment not kept warm has its server
    stopped; a replaced production version leaves the registry's production alias."""

    def effect() -> None:
        with deps.uow() as uow:
            old = uow.deployments.get(old_id)
            endpoint, name, version = old.endpoint(), old.model_name, old.model_version
        if not keep_warm:
            deps.serving.stop(endpoint)
        if version != new_version:
            archive_in_registry(deps, name, version)

    return effect


def hand_over(
    deps: DeployerDeps,
    uow: UnitOfWork,
    stable: str,
    plan: RolloutPlan | TrafficUpdate,
    new_version: str,
    actor: str,
) -> None:
    """The old stable deployment after a deploy step: once the new one has taken everything it
    is replaced (kept warm, or retired at once for a rolling switch); during a canary it keeps
    the rest of the traffic."""
    old = uow.deployments.get(stable)
    if plan.completed:
        keep_warm = plan.strategy is not StrategyName.ROLLING
        replace_stable(deps, uow, old, new_version, actor, keep_warm=keep_warm)
    elif plan.strategy is StrategyName.CANARY:
        share = plan.traffic if isinstance(plan, TrafficUpdate) else plan.weight or 0.0
        old.traffic_percentage = 100.0 - share


def hand_over_effect(
    deps: DeployerDeps, stable: str, plan: RolloutPlan | TrafficUpdate, new_version: str
) -> Effect:
    """The outside half of ``hand_over`` (nothing until the new deployment takes everything)."""
    if not plan.completed:
        return lambda: None
    keep_warm = plan.strategy is not StrategyName.ROLLING
    return replace_effect(deps, stable, new_version, keep_warm=keep_warm)
