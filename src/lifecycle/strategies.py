"""Deployment strategies as pure plans: each yields the steps the agent carries out in order.

Steps are a tagged union in the manner of Argo Rollouts (``setWeight``, ``pause``, ``analysis``).
Weights are percentages of the model's traffic that go to the *new* deployment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from lifecycle.errors import InvalidPlanError
from lifecycle.stages import ModelStage


class StrategyName(StrEnum):
    """How a new deployment takes traffic from the old one."""

    DIRECT = "direct"  # 100% at once
    ROLLING = "rolling"  # start new, swap, stop old
    BLUE_GREEN = "blue_green"  # green at 0%, smoke-checked, then one switch; blue kept warm
    CANARY = "canary"  # a small share first, then steps with analysis between them
    SHADOW = "shadow"  # mirror a share of production traffic; serves no user


@dataclass(frozen=True, slots=True)
class SetWeight:
    """Route ``percent`` of the model's traffic to the new deployment."""

    percent: float


@dataclass(frozen=True, slots=True)
class SetMirror:
    """Mirror ``percent`` of the model's traffic to the new deployment, off the response path."""

    percent: float


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait ``seconds`` (None: until a person approves) before the next step."""

    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Analyze:
    """Judge the new deployment's health with the named rule before going on."""

    rule: str = "rollback_config"


@dataclass(frozen=True, slots=True)
class Promote:
    """The rollout is complete: the new deployment is the stable one."""


@dataclass(frozen=True, slots=True)
class Rollback:
    """Return all traffic to the stable deployment."""


Step = SetWeight | SetMirror | Pause | Analyze | Promote | Rollback

DEFAULT_CANARY_STEPS: tuple[float, ...] = (10.0, 25.0, 50.0, 100.0)
SLOW_CANARY_STEPS: tuple[float, ...] = (5.0, 10.0, 25.0, 50.0, 75.0, 100.0)


def clamp_percent(value: float) -> float:
    """Clamp a traffic share to [0, 100]; NaN is refused rather than silently routed."""
    if value != value:  # NaN is the only float not equal to itself
        raise InvalidPlanError("a traffic percentage cannot be NaN")
    return min(100.0, max(0.0, float(value)))


def split(new_percent: float) -> tuple[float, float]:
    """Return (stable, new) weights that always sum to exactly 100."""
    new = clamp_percent(new_percent)
    return 100.0 - new, new


def canary_steps(initial: float, steps: Sequence[float] = DEFAULT_CANARY_STEPS) -> list[float]:
    """The canary's weights: ``initial`` first, then every later step above it, ending at 100."""
    first = clamp_percent(initial)
    if first <= 0.0:
        raise InvalidPlanError("a canary must start above 0% of traffic")
    later = sorted({clamp_percent(s) for s in steps if clamp_percent(s) > first})
    weights = [first, *later]
    if weights[-1] != 100.0:
        weights.append(100.0)
    return weights


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Knobs a caller may turn; each strategy reads the ones that concern it."""

    initial_percent: float = 10.0
    canary_steps: tuple[float, ...] = DEFAULT_CANARY_STEPS
    step_pause_seconds: float = 60.0
    mirror_percent: float = 100.0
    warm_seconds: float = 300.0


def plan(strategy: StrategyName, options: PlanOptions | None = None) -> list[Step]:
    """The ordered steps that carry out ``strategy``."""
    o = options or PlanOptions()
    if strategy is StrategyName.DIRECT:
        return [SetWeight(100.0), Promote()]
    if strategy is StrategyName.ROLLING:
        return [Analyze("smoke"), SetWeight(100.0), Promote()]
    if strategy is StrategyName.BLUE_GREEN:
        return [
            SetWeight(0.0),
            Analyze("smoke"),
            SetWeight(100.0),
            Pause(o.warm_seconds),
            Promote(),
        ]
    if strategy is StrategyName.SHADOW:
        mirror = clamp_percent(o.mirror_percent)
        if mirror <= 0.0:
            raise InvalidPlanError("a shadow deployment must mirror more than 0% of traffic")
        return [SetMirror(mirror), Analyze("shadow")]
    steps: list[Step] = []
    for weight in canary_steps(o.initial_percent, o.canary_steps):
        steps.append(SetWeight(weight))
        if weight < 100.0:
            steps += [Pause(o.step_pause_seconds), Analyze("rollback_config")]
    steps.append(Promote())
    return steps


def parse_strategy(value: str) -> StrategyName:
    """Read a strategy name as a person types it (``blue-green`` works too)."""
    try:
        return StrategyName(value.strip().lower().replace("-", "_"))
    except ValueError:
        names = ", ".join(s.value for s in StrategyName)
        raise InvalidPlanError(f"unknown strategy {value!r}; expected one of: {names}") from None


ROUTED_STAGES = frozenset({ModelStage.PRODUCTION, ModelStage.SHADOW})
"""Stages whose deployments take (or mirror) users' traffic; others get their own URL only."""


def strategy_for(
    stage: ModelStage, requested: StrategyName | None, has_stable: bool
) -> StrategyName:
    """The strategy a deployment of a version in ``stage`` uses: the target follows the stage.

    A shadow version is mirrored; a development or staging version gets an endpoint of its own
    (direct, no user traffic); a production version defaults to a canary when something already
    serves users, else to direct. Combinations that cannot work are refused with the reason.
    """
    if stage is ModelStage.ARCHIVED:
        raise InvalidPlanError("an archived version is not deployed; a rollback restores one")
    if stage is ModelStage.SHADOW:
        if requested not in (None, StrategyName.SHADOW):
            raise InvalidPlanError(
                f"a version in shadow is deployed with the shadow strategy, not {requested}; "
                "promote it to production first"
            )
        if not has_stable:
            raise InvalidPlanError("nothing to mirror: no production deployment takes traffic")
        return StrategyName.SHADOW
    if stage not in ROUTED_STAGES:
        if requested not in (None, StrategyName.DIRECT):
            raise InvalidPlanError(
                f"a version in {stage.value} gets its own endpoint (direct) and no user traffic; "
                f"{requested} needs a production version"
            )
        return StrategyName.DIRECT
    if requested is StrategyName.SHADOW:
        raise InvalidPlanError("a production version serves users; shadow is for shadow versions")
    if requested is StrategyName.CANARY and not has_stable:
        raise InvalidPlanError("a canary needs a stable deployment to compare with; use direct")
    if requested is not None:
        return requested
    return StrategyName.CANARY if has_stable else StrategyName.DIRECT
