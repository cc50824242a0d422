"""Strategies pinned exactly: which strategy a stage gets and why a combination is refused,
the canary's schedule at its edges, and each plan with the options it reads."""

from __future__ import annotations

import math

import pytest

from lifecycle.errors import InvalidPlanError
from lifecycle.stages import ModelStage
from lifecycle.strategies import (
    Analyze,
    Pause,
    PlanOptions,
    Promote,
    SetMirror,
    SetWeight,
    StrategyName,
    canary_steps,
    clamp_percent,
    parse_strategy,
    plan,
    split,
    strategy_for,
)

S = StrategyName
CHOSEN = {
    "a shadow version is mirrored": (ModelStage.SHADOW, None, True, S.SHADOW),
    "a shadow version may ask for shadow": (ModelStage.SHADOW, S.SHADOW, True, S.SHADOW),
    "a development version gets its own endpoint": (ModelStage.DEVELOPMENT, None, True, S.DIRECT),
    "a staging version may ask for direct": (ModelStage.STAGING, S.DIRECT, False, S.DIRECT),
    "production with something serving defaults to a canary": (
        ModelStage.PRODUCTION,
        None,
        True,
        S.CANARY,
    ),
    "the first production deploy defaults to direct": (
        ModelStage.PRODUCTION,
        None,
        False,
        S.DIRECT,
    ),
    "production may ask for blue-green": (ModelStage.PRODUCTION, S.BLUE_GREEN, True, S.BLUE_GREEN),
    "production may ask for rolling with nothing serving": (
        ModelStage.PRODUCTION,
        S.ROLLING,
        False,
        S.ROLLING,
    ),
    "production may ask for a canary when something serves": (
        ModelStage.PRODUCTION,
        S.CANARY,
        True,
        S.CANARY,
    ),
    "production may ask for direct when something serves": (
        ModelStage.PRODUCTION,
        S.DIRECT,
        True,
        S.DIRECT,
    ),
}


@pytest.mark.parametrize(
    ("stage", "requested", "has_stable", "strategy"), CHOSEN.values(), ids=CHOSEN.keys()
)
def test_the_strategy_follows_the_stage(
    stage: ModelStage, requested: S | None, has_stable: bool, strategy: S
) -> None:
    assert strategy_for(stage, requested, has_stable) is strategy


REFUSED = {
    "an archived version": (
        ModelStage.ARCHIVED,
        None,
        True,
        "an archived version is not deployed; a rollback restores one",
    ),
    "a shadow version as a canary": (
        ModelStage.SHADOW,
        S.CANARY,
        True,
        "a version in shadow is deployed with the shadow strategy, not canary; "
        "promote it to production first",
    ),
    "a shadow version as direct": (
        ModelStage.SHADOW,
        S.DIRECT,
        True,
        "a version in shadow is deployed with the shadow strategy, not direct; "
        "promote it to production first",
    ),
    "a shadow with nothing to mirror": (
        ModelStage.SHADOW,
        None,
        False,
        "nothing to mirror: no production deployment takes traffic",
    ),
    "a staging version as a canary": (
        ModelStage.STAGING,
        S.CANARY,
        True,
        "a version in staging gets its own endpoint (direct) and no user traffic; "
        "canary needs a production version",
    ),
    "a development version as a shadow": (
        ModelStage.DEVELOPMENT,
        S.SHADOW,
        True,
        "a version in development gets its own endpoint (direct) and no user traffic; "
        "shadow needs a production version",
    ),
    "a production version as a shadow": (
        ModelStage.PRODUCTION,
        S.SHADOW,
        True,
        "a production version serves users; shadow is for shadow versions",
    ),
    "a canary with nothing to compare with": (
        ModelStage.PRODUCTION,
        S.CANARY,
        False,
        "a canary needs a stable deployment to compare with; use direct",
    ),
}


@pytest.mark.parametrize(
    ("stage", "requested", "has_stable", "message"), REFUSED.values(), ids=REFUSED.keys()
)
def test_a_strategy_that_cannot_work_is_refused_with_the_reason(
    stage: ModelStage, requested: S | None, has_stable: bool, message: str
) -> None:
    with pytest.raises(InvalidPlanError) as raised:
        strategy_for(stage, requested, has_stable)
    assert str(raised.value) == message


def test_a_nan_share_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidPlanError) as raised:
        clamp_percent(math.nan)
    assert str(raised.value) == "a traffic percentage cannot be NaN"
    assert type(clamp_percent(5)) is float
    assert split(30.0) == (70.0, 30.0)


CANARY = {
    "a tiny first share is kept": (0.01, (50.0,), [0.01, 50.0, 100.0]),
    "a step equal to the first is dropped": (25.0, (25.0, 50.0), [25.0, 50.0, 100.0]),
    "a first share of everything is one step": (100.0, (10.0, 50.0), [100.0]),
    "a first share over everything is clamped": (150.0, (), [100.0]),
    "no later steps go straight to everything": (10.0, (), [10.0, 100.0]),
    "negative steps are dropped": (10.0, (-5.0, 20.0), [10.0, 20.0, 100.0]),
}


@pytest.mark.parametrize(("initial", "steps", "weights"), CANARY.values(), ids=CANARY.keys())
def test_a_canarys_schedule_at_its_edges(
    initial: float, steps: tuple[float, ...], weights: list[float]
) -> None:
    assert canary_steps(initial, steps) == weights


def test_the_default_canary_schedule() -> None:
    assert canary_steps(10.0) == [10.0, 25.0, 50.0, 100.0]
    assert canary_steps(5.0) == [5.0, 10.0, 25.0, 50.0, 100.0]


@pytest.mark.parametrize("initial", [0.0, -1.0])
def test_a_canary_that_starts_at_nothing_is_refused_with_the_reason(initial: float) -> None:
    with pytest.raises(InvalidPlanError) as raised:
        canary_steps(initial)
    assert str(raised.value) == "a canary must start above 0% of traffic"


def test_plans_read_the_options_that_concern_them() -> None:
    options = PlanOptions(
        initial_percent=40.0,
        canary_steps=(70.0,),
        step_pause_seconds=5.0,
        mirror_percent=150.0,
        warm_seconds=9.0,
    )
    assert plan(S.CANARY, options) == [
        SetWeight(40.0),
        Pause(5.0),
        Analyze("rollback_config"),
        SetWeight(70.0),
        Pause(5.0),
        Analyze("rollback_config"),
        SetWeight(100.0),
        Promote(),
    ]
    assert plan(S.SHADOW, options) == [SetMirror(100.0), Analyze("shadow")]
    assert plan(S.BLUE_GREEN, options)[3] == Pause(9.0)
    assert plan(S.DIRECT, options) == [SetWeight(100.0), Promote()]


def test_the_default_plan_options() -> None:
    assert PlanOptions() == PlanOptions(10.0, (10.0, 25.0, 50.0, 100.0), 60.0, 100.0, 300.0)
    assert plan(S.CANARY) == plan(S.CANARY, PlanOptions())
    assert Pause().seconds is None
    assert Analyze().rule == "rollback_config"


def test_a_canary_of_one_full_step_only_sets_it_and_promotes() -> None:
    assert plan(S.CANARY, PlanOptions(initial_percent=100.0)) == [SetWeight(100.0), Promote()]


@pytest.mark.parametrize("mirror", [0.0, -3.0])
def test_a_shadow_that_mirrors_nothing_is_refused_with_the_reason(mirror: float) -> None:
    with pytest.raises(InvalidPlanError) as raised:
        plan(S.SHADOW, PlanOptions(mirror_percent=mirror))
    assert str(raised.value) == "a shadow deployment must mirror more than 0% of traffic"


def test_a_small_mirror_share_is_kept() -> None:
    assert plan(S.SHADOW, PlanOptions(mirror_percent=0.5)) == [SetMirror(0.5), Analyze("shadow")]


@pytest.mark.parametrize(
    ("text", "name"),
    [(" Blue-Green ", S.BLUE_GREEN), ("blue_green", S.BLUE_GREEN), ("ROLLING", S.ROLLING)],
)
def test_strategy_names_are_read_as_people_type_them(text: str, name: S) -> None:
    assert parse_strategy(text) is name


def test_an_unknown_strategy_lists_the_known_ones() -> None:
    with pytest.raises(InvalidPlanError) as raised:
        parse_strategy("yolo")
    assert str(raised.value) == (
        "unknown strategy 'yolo'; expected one of: direct, rolling, blue_green, canary, shadow"
    )
