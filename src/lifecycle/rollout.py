"""The deploy decision, pure: a new rollout's plan, or a share change of one already in flight.

The deploy flow's first node reads the live deployments, the routing table, the version's stage
and memory's advice, and hands them to :func:`traffic_update` (a canary or shadow of this version
already in flight gets a new share) or else to :func:`plan_rollout` (strategy, first share,
canary steps, mirror share, which mirror to retire). Both return frozen, JSON-safe values the
graph keeps in its state; the routing tables each step writes are computed here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from lifecycle.monitor import RolloutPhase
from lifecycle.names import make_deployment_id
from lifecycle.ports import Routes
from lifecycle.records import Instant
from lifecycle.rollback import RollbackConfig
from lifecycle.routing import single, split, stable_of, with_shadow_of
from lifecycle.stages import DeploymentStatus, ModelStage
from lifecycle.strategies import (
    DEFAULT_CANARY_STEPS,
    ROUTED_STAGES,
    StrategyName,
    canary_steps,
    strategy_for,
)

IN_FLIGHT_STRATEGIES = (StrategyName.CANARY, StrategyName.SHADOW)
"""Strategies whose share a later deploy request may change without a new deployment."""


@dataclass(frozen=True, slots=True)
class DeploymentView:
    """One deployment as the decisions read it (never the ORM row)."""

    deployment_id: str
    version: str
    strategy: str
    status: DeploymentStatus
    stage: ModelStage
    """The stage its version was in when it was deployed (``target_stage``)."""
    deployed_at: datetime


@dataclass(frozen=True, slots=True)
class DeployRequest:
    """What the caller asked of a deploy, as intake normalised it."""

    model_name: str
    version: str
    run_id: str
    strategy: StrategyName | None = None
    traffic: float | None = None
    """The canary's share or the shadow's mirror share, in percent (None: the plan's own)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, protected_namespaces=())


class RolloutPlan(_Frozen):
    """A new deployment and how its traffic is brought in; ``weight``, ``mirror`` and
    ``completed`` say how far the deploy flow carried it (None and False until its steps ran)."""

    kind: Literal["rollout"] = "rollout"
    deployment_id: str
    strategy: StrategyName
    stage: ModelStage
    routed: bool
    """Whether the deployment takes or mirrors users' traffic (production and shadow)."""
    initial_percent: float
    canary_steps: tuple[float, ...]
    mirror_percent: float
    previous: Routes | None
    """The routing table before this deploy (put back if it fails)."""
    stable: str | None
    stable_version: str | None
    retire_mirror: str | None
    """The mirror of this very version, retired once the version serves users itself."""
    rollback_config: RollbackConfig
    started_at: Instant
    weight: float | None = None
    mirror: float | None = None
    completed: bool = False

    @property
    def replaced_mirror(self) -> str | None:
        """The mirror a new shadow deployment takes over from (None: nothing to retire)."""
        old = self.previous.shadow_deployment_id if self.previous is not None else None
        if self.strategy is not StrategyName.SHADOW or old in (None, self.deployment_id):
            return None
        return old


class TrafficUpdate(_Frozen):
    """A new share for a canary (or a new mirror share for a shadow) already in flight."""

    kind: Literal["traffic"] = "traffic"
    deployment_id: str
    strategy: StrategyName
    traffic: float
    previous: Routes
    stable: str
    completed: bool
    """A canary set to 100% has taken over (a shadow never completes this way)."""


def traffic_update(
    request: DeployRequest,
    stage: ModelStage,
    live: Sequence[DeploymentView],
    routes: Routes | None,
) -> TrafficUpdate | None:
    """The share change a request means, when a canary or shadow of its version is in flight.

    Only a routed deployment of this version, deployed at the version's current stage, with a
    strategy that can take a share (and the one asked for, if any) qualifies: the mirror of a
    version since promoted is not the rollout in flight, so a share for it starts a canary.
    """
    if request.traffic is None or routes is None:
        return None
    for d in live:
        in_table = (
            d.deployment_id in routes.weights or d.deployment_id == routes.shadow_deployment_id
        )
        same = request.strategy in (None, d.strategy)
        current = d.stage is stage
        kind = d.strategy in IN_FLIGHT_STRATEGIES
        if d.version == request.version and current and in_table and kind and same:
            strategy = StrategyName(d.strategy)
            percent = float(request.traffic)
            return TrafficUpdate(
                deployment_id=d.deployment_id,
                strategy=strategy,
                traffic=percent,
                previous=routes,
                stable=stable_of(routes),
                completed=strategy is not StrategyName.SHADOW and percent >= 100,
            )
    return None


def plan_rollout(
    request: DeployRequest,
    stage: ModelStage,
    live: Sequence[DeploymentView],
    routes: Routes | None,
    advised_steps: Sequence[float] | None,
    default_initial_percent: float,
    rollback_config: RollbackConfig,
    now: datetime,
) -> RolloutPlan:
    """The plan of a new deployment of ``request.version`` (raises InvalidPlanError).

    The first share is the caller's, else memory's first canary step, else the policy's; the
    canary steps are memory's, else the defaults; a shadow mirrors the caller's share, else all.
    """
    stable = stable_of(routes) if routes is not None else None
    strategy = strategy_for(stage, request.strategy, has_stable=stable is not None)
    initial = request.traffic or (
        float(advised_steps[0]) if advised_steps else default_initial_percent
    )
    mirror = routes.shadow_deployment_id if routes is not None else None
    mirrors_this_version = any(
        d.deployment_id == mirror and d.version == request.version for d in live
    )
    return RolloutPlan(
        deployment_id=make_deployment_id(request.model_name, request.version, request.run_id),
        strategy=strategy,
        stage=stage,
        routed=stage in ROUTED_STAGES,
        initial_percent=initial,
        canary_steps=tuple(float(s) for s in (advised_steps or DEFAULT_CANARY_STEPS)),
        mirror_percent=request.traffic or 100.0,
        previous=routes,
        stable=stable,
        stable_version=next((d.version for d in live if d.deployment_id == stable), None),
        retire_mirror=mirror
        if mirrors_this_version and strategy is not StrategyName.SHADOW
        else None,
        rollback_config=rollback_config,
        started_at=now,
    )


def weighted_routes(plan: RolloutPlan, model_name: str, percent: float) -> Routes:
    """The table of a ``SetWeight(percent)`` step: a split with the stable deployment (all to
    the new one at 100% or with nothing to split with), keeping a mirror that stays."""
    new, previous = plan.deployment_id, plan.previous
    stable = previous.stable_deployment_id or stable_of(previous) if previous else None
    table = split(model_name, stable, new, percent) if stable else None
    routes = table if table is not None and percent < 100 else single(model_name, new)
    return with_shadow_of(routes, previous, {new, plan.retire_mirror or new})


def mirrored_routes(plan: RolloutPlan, model_name: str, percent: float) -> Routes | None:
    """The table of a ``SetMirror(percent)`` step (None: there is no table to mirror)."""
    previous = plan.previous
    if previous is None:
        return None
    return Routes(
        model_name, previous.weights, plan.deployment_id, percent, previous.stable_deployment_id
    )


def updated_routes(update: TrafficUpdate, model_name: str) -> Routes:
    """The table a share change writes: a shadow's new mirror share, or the canary's split."""
    dep, percent, previous = update.deployment_id, update.traffic, update.previous
    if update.strategy is StrategyName.SHADOW:
        return Routes(model_name, previous.weights, dep, percent, previous.stable_deployment_id)
    stable = previous.stable_deployment_id or stable_of(previous)
    table = split(model_name, stable, dep, percent) if stable != dep else None
    return with_shadow_of(table or single(model_name, dep), previous, {dep})


def canary_restart_weights(weights: Sequence[float], percent: float) -> list[float]:
    """A canary's remaining weights after a share set by hand: that share, then the later
    steps above it, ending at 100."""
    return sorted({percent, *(float(w) for w in weights if w > percent), 100.0})


def monitored_phase(plan: RolloutPlan) -> RolloutPhase | None:
    """The phase the monitor takes a finished deploy over in: a shadow is watched, a canary not
    at 100% goes on step by step, a switch with a stable deployment behind it stays warm; the
    rest (direct, rolling, unrouted, nothing replaced) leaves nothing to watch (None)."""
    strategy = plan.strategy
    if not plan.routed:
        return None
    if strategy is StrategyName.SHADOW:
        return RolloutPhase.SHADOW
    if strategy is StrategyName.CANARY and not plan.completed:
        return RolloutPhase.PROGRESSING
    if strategy in (StrategyName.CANARY, StrategyName.BLUE_GREEN) and plan.stable:
        return RolloutPhase.WARM
    return None


def remaining_steps(plan: RolloutPlan) -> tuple[list[float], int]:
    """The canary's weights as the monitor goes on with them, and the index of the share the
    deploy reached (a share that is not a step starts the weights, before the later steps)."""
    weights = canary_steps(plan.initial_percent, plan.canary_steps)
    weight = plan.weight
    if weight and weight not in weights:
        weights = sorted({float(weight), *(w for w in weights if w > weight)})
    return weights, weights.index(weight) if weight in weights else 0
