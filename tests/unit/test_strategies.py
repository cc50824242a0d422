"""Strategy plans and weight arithmetic, as rules."""

from __future__ import annotations

import math

import pytest

from lifecycle.errors import InvalidPlanError
from lifecycle.strategies import (
    Analyze,
    Pause,
    PlanOptions,
    Promote,
    SetMirror,
    SetWeight,
    Step,
    StrategyName,
    canary_steps,
    clamp_percent,
    parse_strategy,
    plan,
    split,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(-5.0, 0.0), (0.0, 0.0), (12.5, 12.5), (100.0, 100.0), (150.0, 100.0), (math.inf, 100.0)],
    ids=[
        "a negative weight is clamped to zero",
        "zero stays zero",
        "a fraction of a percent is kept",
        "a full share stays full",
        "more than everything is clamped to everything",
        "infinity is clamped to everything",
    ],
)
def test_weights_are_clamped_to_zero_and_a_hundred(value: float, expected: float) -> None:
    assert clamp_percent(value) == expected


def test_a_nan_weight_is_refused_not_routed() -> None:
    with pytest.raises(InvalidPlanError):
        clamp_percent(math.nan)


@pytest.mark.parametrize("new", [-1.0, 0.0, 0.1, 33.3, 50.0, 99.9, 100.0, 250.0])
def test_a_split_always_sums_to_exactly_a_hundred(new: float) -> None:
    stable, canary = split(new)
    assert stable + canary == 100.0
    assert 0.0 <= canary <= 100.0


CANARY_CASES = {
    "the default schedule starts at the initial weight and ends at a hundred": (
        10.0,
        (10.0, 25.0, 50.0, 100.0),
        [10.0, 25.0, 50.0, 100.0],
    ),
    "steps at or below the initial weight are dropped": (
        30.0,
        (10.0, 25.0, 50.0),
        [30.0, 50.0, 100.0],
    ),
    "a schedule that stops short still ends at a hundred": (5.0, (20.0,), [5.0, 20.0, 100.0]),
    "unsorted and repeated steps are sorted once": (
        5.0,
        (50.0, 20.0, 50.0),
        [5.0, 20.0, 50.0, 100.0],
    ),
    "steps above a hundred are clamped": (10.0, (150.0,), [10.0, 100.0]),
}


@pytest.mark.parametrize(
    ("initial", "steps", "expected"), CANARY_CASES.values(), ids=CANARY_CASES.keys()
)
def test_canary_schedules(initial: float, steps: tuple[float, ...], expected: list[float]) -> None:
    assert canary_steps(initial, steps) == expected


def test_a_canary_must_start_above_zero() -> None:
    with pytest.raises(InvalidPlanError):
        canary_steps(0.0)


PLANS: dict[str, tuple[StrategyName, list[Step]]] = {
    "direct sends everything at once": (StrategyName.DIRECT, [SetWeight(100.0), Promote()]),
    "rolling smoke-checks then swaps": (
        StrategyName.ROLLING,
        [Analyze("smoke"), SetWeight(100.0), Promote()],
    ),
    "blue-green starts green at zero and switches in one step, keeping blue warm": (
        StrategyName.BLUE_GREEN,
        [SetWeight(0.0), Analyze("smoke"), SetWeight(100.0), Pause(300.0), Promote()],
    ),
    "shadow mirrors and serves nobody": (
        StrategyName.SHADOW,
        [SetMirror(100.0), Analyze("shadow")],
    ),
}


@pytest.mark.parametrize(("strategy", "expected"), PLANS.values(), ids=PLANS.keys())
def test_plans(strategy: StrategyName, expected: list[Step]) -> None:
    assert plan(strategy) == expected


def test_a_canary_pauses_and_analyses_after_every_step_short_of_full() -> None:
    steps = plan(StrategyName.CANARY, PlanOptions(initial_percent=20.0, canary_steps=(50.0,)))
    assert steps == [
        SetWeight(20.0),
        Pause(60.0),
        Analyze("rollback_config"),
        SetWeight(50.0),
        Pause(60.0),
        Analyze("rollback_config"),
        SetWeight(100.0),
        Promote(),
    ]


@pytest.mark.parametrize("strategy", list(StrategyName))
def test_every_plan_ends_in_promote_and_never_sets_a_weight_outside_bounds(
    strategy: StrategyName,
) -> None:
    steps = plan(strategy)
    weights = [s.percent for s in steps if isinstance(s, SetWeight | SetMirror)]
    assert all(0.0 <= w <= 100.0 for w in weights)
    if strategy is not StrategyName.SHADOW:
        assert steps[-1] == Promote()
        assert weights[-1] == 100.0


def test_a_shadow_that_mirrors_nothing_is_refused() -> None:
    with pytest.raises(InvalidPlanError):
        plan(StrategyName.SHADOW, PlanOptions(mirror_percent=0.0))


@pytest.mark.parametrize(
    ("text", "name"),
    [("blue-green", StrategyName.BLUE_GREEN), ("Canary", StrategyName.CANARY)],
    ids=["dashes read as underscores", "case does not matter"],
)
def test_strategy_names_are_read_forgivingly(text: str, name: StrategyName) -> None:
    assert parse_strategy(text) is name


def test_an_unknown_strategy_is_bad_input() -> None:
    with pytest.raises(InvalidPlanError, match="expected one of"):
        parse_strategy("yolo")
