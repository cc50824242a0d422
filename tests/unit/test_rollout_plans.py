"""The deploy decision, pure: which strategy, first share, canary steps and mirror share a new
rollout gets, which mirror it retires, when a request only changes a share in flight, and the
routing tables each step writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.errors import InvalidPlanError
from lifecycle.monitor import RolloutPhase
from lifecycle.ports import Routes
from lifecycle.rollback import configure
from lifecycle.rollout import (
    DeploymentView,
    DeployRequest,
    RolloutPlan,
    TrafficUpdate,
    canary_restart_weights,
    mirrored_routes,
    monitored_phase,
    plan_rollout,
    remaining_steps,
    traffic_update,
    updated_routes,
    weighted_routes,
)
from lifecycle.stages import DeploymentStatus, ModelStage
from lifecycle.strategies import DEFAULT_CANARY_STEPS, StrategyName

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CONFIG = configure("balanced")
M = "fraud"


def view(
    dep: str,
    version: str,
    strategy: str = "direct",
    stage: ModelStage = ModelStage.PRODUCTION,
    status: DeploymentStatus = DeploymentStatus.ACTIVE,
) -> DeploymentView:
    return DeploymentView(dep, version, strategy, status, stage, NOW - timedelta(hours=1))


def ask(
    version: str = "2", strategy: StrategyName | None = None, traffic: float | None = None
) -> DeployRequest:
    return DeployRequest(M, version, "abcdef0123456789", strategy, traffic)


def rollout(
    request: DeployRequest,
    stage: ModelStage = ModelStage.PRODUCTION,
    live: tuple[DeploymentView, ...] = (),
    routes: Routes | None = None,
    advised: tuple[float, ...] | None = None,
) -> RolloutPlan:
    return plan_rollout(request, stage, live, routes, advised, 10.0, CONFIG, NOW)


STABLE = Routes(M, {"v1": 100.0}, stable_deployment_id="v1")
LIVE_V1 = (view("v1", "1"),)


# -- a new rollout ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "routes", "asked", "strategy", "routed"),
    [
        (ModelStage.PRODUCTION, None, None, StrategyName.DIRECT, True),
        (ModelStage.PRODUCTION, STABLE, None, StrategyName.CANARY, True),
        (ModelStage.PRODUCTION, STABLE, StrategyName.BLUE_GREEN, StrategyName.BLUE_GREEN, True),
        (ModelStage.SHADOW, STABLE, None, StrategyName.SHADOW, True),
        (ModelStage.STAGING, STABLE, None, StrategyName.DIRECT, False),
        (ModelStage.DEVELOPMENT, None, None, StrategyName.DIRECT, False),
    ],
)
def test_the_strategy_follows_the_stage_and_whether_something_serves(
    stage: ModelStage,
    routes: Routes | None,
    asked: StrategyName | None,
    strategy: StrategyName,
    routed: bool,
) -> None:
    planned = rollout(ask(strategy=asked), stage, LIVE_V1 if routes else (), routes)
    assert (planned.strategy, planned.routed, planned.stage) == (strategy, routed, stage)


def test_a_canary_without_a_stable_deployment_is_refused() -> None:
    with pytest.raises(InvalidPlanError):
        rollout(ask(strategy=StrategyName.CANARY))


def test_a_new_deployment_is_named_after_the_version_and_the_run() -> None:
    assert rollout(ask()).deployment_id == "fraud-v2-abcdef01"


@pytest.mark.parametrize(
    ("traffic", "advised", "initial", "steps"),
    [
        (None, None, 10.0, DEFAULT_CANARY_STEPS),
        (None, (1.0, 5.0, 100.0), 1.0, (1.0, 5.0, 100.0)),
        (30.0, (1.0, 5.0, 100.0), 30.0, (1.0, 5.0, 100.0)),
        (30.0, None, 30.0, DEFAULT_CANARY_STEPS),
    ],
)
def test_the_first_share_is_the_callers_else_memorys_first_step_else_the_policys(
    traffic: float | None,
    advised: tuple[float, ...] | None,
    initial: float,
    steps: tuple[float, ...],
) -> None:
    planned = rollout(ask(traffic=traffic), live=LIVE_V1, routes=STABLE, advised=advised)
    assert (planned.initial_percent, planned.canary_steps) == (initial, steps)


@pytest.mark.parametrize(("traffic", "mirror"), [(None, 100.0), (25.0, 25.0)])
def test_a_shadow_mirrors_the_callers_share_else_everything(
    traffic: float | None, mirror: float
) -> None:
    planned = rollout(ask(traffic=traffic), ModelStage.SHADOW, LIVE_V1, STABLE)
    assert planned.mirror_percent == mirror


def test_the_plan_names_the_stable_deployment_its_version_and_the_table_before() -> None:
    planned = rollout(ask(), live=LIVE_V1, routes=STABLE)
    assert (planned.stable, planned.stable_version, planned.previous) == ("v1", "1", STABLE)
    assert (planned.weight, planned.mirror, planned.completed) == (None, None, False)
    assert (planned.started_at, planned.rollback_config) == (NOW, CONFIG)


def test_with_nothing_routed_there_is_no_stable_deployment() -> None:
    planned = rollout(ask())
    assert (planned.stable, planned.stable_version, planned.previous) == (None, None, None)


MIRRORED = Routes(M, {"v1": 100.0}, "v2-shadow", 100.0, "v1")


def test_the_mirror_of_this_very_version_is_retired_once_it_serves_users() -> None:
    live = (view("v1", "1"), view("v2-shadow", "2", "shadow", ModelStage.SHADOW))
    assert rollout(ask("2"), live=live, routes=MIRRORED).retire_mirror == "v2-shadow"


def test_the_mirror_of_another_version_is_kept() -> None:
    live = (view("v1", "1"), view("v2-shadow", "2", "shadow", ModelStage.SHADOW))
    assert rollout(ask("3"), live=live, routes=MIRRORED).retire_mirror is None


def test_a_new_shadow_retires_no_mirror_but_replaces_the_old_one() -> None:
    live = (view("v1", "1"), view("v2-shadow", "2", "shadow", ModelStage.SHADOW))
    planned = rollout(ask("3"), ModelStage.SHADOW, live, MIRRORED)
    assert (planned.retire_mirror, planned.replaced_mirror) == (None, "v2-shadow")


def test_a_new_rollout_that_is_not_a_shadow_replaces_no_mirror() -> None:
    live = (view("v1", "1"), view("v2-shadow", "2", "shadow", ModelStage.SHADOW))
    assert rollout(ask("3"), live=live, routes=MIRRORED).replaced_mirror is None


# -- a share change of a rollout in flight -----------------------------------------------------

CANARY_ROUTES = Routes(M, {"v1": 90.0, "v2": 10.0}, stable_deployment_id="v1")
CANARY_LIVE = (view("v1", "1"), view("v2", "2", "canary"))


@pytest.mark.parametrize(("percent", "completed"), [(50.0, False), (99.9, False), (100.0, True)])
def test_a_share_for_a_canary_in_flight_changes_its_share_and_100_completes_it(
    percent: float, completed: bool
) -> None:
    update = traffic_update(ask(traffic=percent), ModelStage.PRODUCTION, CANARY_LIVE, CANARY_ROUTES)
    assert update == TrafficUpdate(
        deployment_id="v2",
        strategy=StrategyName.CANARY,
        traffic=percent,
        previous=CANARY_ROUTES,
        stable="v1",
        completed=completed,
    )


def test_a_shadows_new_mirror_share_never_completes_it() -> None:
    live = (view("v1", "1"), view("v2-shadow", "2", "shadow", ModelStage.SHADOW))
    update = traffic_update(ask(traffic=100.0), ModelStage.SHADOW, live, MIRRORED)
    assert update is not None
    assert (update.deployment_id, update.strategy, update.completed) == (
        "v2-shadow",
        StrategyName.SHADOW,
        False,
    )


@pytest.mark.parametrize(
    ("request_", "stage", "live", "routes"),
    [
        pytest.param(ask(), ModelStage.PRODUCTION, CANARY_LIVE, CANARY_ROUTES, id="no share"),
        pytest.param(ask(traffic=50.0), ModelStage.PRODUCTION, CANARY_LIVE, None, id="no table"),
        pytest.param(
            ask("3", traffic=50.0),
            ModelStage.PRODUCTION,
            CANARY_LIVE,
            CANARY_ROUTES,
            id="another version",
        ),
        pytest.param(
            ask(traffic=50.0, strategy=StrategyName.BLUE_GREEN),
            ModelStage.PRODUCTION,
            CANARY_LIVE,
            CANARY_ROUTES,
            id="another strategy asked",
        ),
        pytest.param(
            ask(traffic=50.0),
            ModelStage.PRODUCTION,
            (view("v1", "1"), view("v2", "2", "blue_green")),
            CANARY_ROUTES,
            id="a strategy without a share",
        ),
        pytest.param(
            ask(traffic=50.0),
            ModelStage.PRODUCTION,
            (view("v1", "1"), view("v2-shadow", "2", "shadow", ModelStage.SHADOW)),
            MIRRORED,
            id="the mirror of a version since promoted",
        ),
        pytest.param(
            ask(traffic=50.0),
            ModelStage.PRODUCTION,
            (view("v1", "1"), view("v2", "2", "canary")),
            STABLE,
            id="not in the table",
        ),
    ],
)
def test_a_share_is_a_new_rollout_unless_that_versions_canary_or_shadow_is_in_flight(
    request_: DeployRequest, stage: ModelStage, live: tuple[DeploymentView, ...], routes: Routes
) -> None:
    assert traffic_update(request_, stage, live, routes) is None


# -- the tables the steps write --------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "weights", "stable"),
    [
        (10.0, {"v1": 90.0, "fraud-v2-abcdef01": 10.0}, "v1"),
        (100.0, {"fraud-v2-abcdef01": 100.0}, "fraud-v2-abcdef01"),
    ],
)
def test_a_weight_step_splits_with_the_stable_deployment_until_100(
    percent: float, weights: dict[str, float], stable: str
) -> None:
    planned = rollout(ask(), live=LIVE_V1, routes=STABLE)
    routes = weighted_routes(planned, M, percent)
    assert (dict(routes.weights), routes.stable_deployment_id) == (weights, stable)


def test_a_weight_step_splits_with_the_heaviest_deployment_when_no_stable_is_named() -> None:
    unnamed = Routes(M, {"v0": 30.0, "v1": 70.0})
    planned = rollout(ask(), live=(view("v0", "0"), *LIVE_V1), routes=unnamed)
    assert weighted_routes(planned, M, 10.0) == Routes(
        M, {"v1": 90.0, "fraud-v2-abcdef01": 10.0}, stable_deployment_id="v1"
    )


def test_a_weight_step_without_a_table_sends_everything_to_the_new_deployment() -> None:
    routes = weighted_routes(rollout(ask()), M, 10.0)
    assert dict(routes.weights) == {"fraud-v2-abcdef01": 100.0}


def test_a_weight_step_keeps_another_versions_mirror_and_drops_a_retired_one() -> None:
    other = (view("v1", "1"), view("v2-shadow", "2", "shadow", ModelStage.SHADOW))
    kept = weighted_routes(rollout(ask("3"), live=other, routes=MIRRORED), M, 10.0)
    dropped = weighted_routes(rollout(ask("2"), live=other, routes=MIRRORED), M, 10.0)
    assert (kept.shadow_deployment_id, kept.shadow_percent) == ("v2-shadow", 100.0)
    assert (dropped.shadow_deployment_id, dropped.shadow_percent) == (None, 0.0)


def test_a_mirror_step_mirrors_the_new_deployment_beside_the_same_weights() -> None:
    planned = rollout(ask(traffic=20.0), ModelStage.SHADOW, LIVE_V1, STABLE)
    assert mirrored_routes(planned, M, 20.0) == Routes(
        M, {"v1": 100.0}, "fraud-v2-abcdef01", 20.0, "v1"
    )


def test_a_mirror_step_without_a_table_has_nothing_to_mirror() -> None:
    planned = rollout(ask()).model_copy(update={"strategy": StrategyName.SHADOW})
    assert mirrored_routes(planned, M, 100.0) is None


def test_a_canarys_new_share_splits_with_the_stable_and_keeps_a_mirror() -> None:
    previous = Routes(M, {"v1": 90.0, "v2": 10.0}, "v9", 5.0, "v1")
    update = TrafficUpdate(
        deployment_id="v2",
        strategy=StrategyName.CANARY,
        traffic=40.0,
        previous=previous,
        stable="v1",
        completed=False,
    )
    assert updated_routes(update, M) == Routes(M, {"v1": 60.0, "v2": 40.0}, "v9", 5.0, "v1")


def test_a_new_share_for_the_stable_deployment_itself_sends_everything_to_it() -> None:
    previous = Routes(M, {"v2": 100.0}, stable_deployment_id="v2")
    update = TrafficUpdate(
        deployment_id="v2",
        strategy=StrategyName.CANARY,
        traffic=40.0,
        previous=previous,
        stable="v2",
        completed=False,
    )
    assert updated_routes(update, M) == Routes(M, {"v2": 100.0}, stable_deployment_id="v2")


def test_a_shadows_new_share_only_moves_the_mirror() -> None:
    update = TrafficUpdate(
        deployment_id="v2-shadow",
        strategy=StrategyName.SHADOW,
        traffic=30.0,
        previous=MIRRORED,
        stable="v1",
        completed=False,
    )
    assert updated_routes(update, M) == Routes(M, {"v1": 100.0}, "v2-shadow", 30.0, "v1")


@pytest.mark.parametrize(
    ("weights", "percent", "after"),
    [
        ((10.0, 25.0, 50.0, 100.0), 30.0, [30.0, 50.0, 100.0]),
        ((10.0, 25.0, 50.0, 100.0), 50.0, [50.0, 100.0]),
        ((10.0, 25.0), 5.0, [5.0, 10.0, 25.0, 100.0]),
    ],
)
def test_a_share_set_by_hand_restarts_the_canary_at_it_then_the_later_steps_to_100(
    weights: tuple[float, ...], percent: float, after: list[float]
) -> None:
    assert canary_restart_weights(weights, percent) == after


def test_a_plan_survives_a_json_round_trip() -> None:
    planned = rollout(ask(), live=LIVE_V1, routes=MIRRORED)
    assert RolloutPlan.model_validate_json(planned.model_dump_json()) == planned


# -- what the monitor takes over -------------------------------------------------------------


def finished(
    strategy: StrategyName,
    completed: bool,
    stable: str | None = "v1",
    routed: bool = True,
    weight: float | None = None,
) -> RolloutPlan:
    base = rollout(ask(), live=LIVE_V1, routes=STABLE)
    return base.model_copy(
        update={
            "strategy": strategy,
            "completed": completed,
            "stable": stable,
            "routed": routed,
            "weight": weight,
        }
    )


@pytest.mark.parametrize(
    ("plan", "phase"),
    [
        pytest.param(finished(StrategyName.SHADOW, False), RolloutPhase.SHADOW, id="shadow"),
        pytest.param(finished(StrategyName.CANARY, False), RolloutPhase.PROGRESSING, id="canary"),
        pytest.param(finished(StrategyName.CANARY, True), RolloutPhase.WARM, id="canary at 100"),
        pytest.param(finished(StrategyName.BLUE_GREEN, True), RolloutPhase.WARM, id="blue-green"),
        pytest.param(finished(StrategyName.BLUE_GREEN, True, None), None, id="nothing replaced"),
        pytest.param(finished(StrategyName.CANARY, True, None), None, id="canary, no stable"),
        pytest.param(finished(StrategyName.ROLLING, True), None, id="rolling"),
        pytest.param(finished(StrategyName.DIRECT, True), None, id="direct"),
        pytest.param(finished(StrategyName.SHADOW, False, routed=False), None, id="unrouted"),
    ],
)
def test_the_monitor_watches_shadows_canaries_and_warm_switches_only(
    plan: RolloutPlan, phase: RolloutPhase | None
) -> None:
    assert monitored_phase(plan) == phase


@pytest.mark.parametrize(
    ("weight", "weights", "index"),
    [
        (None, [10.0, 25.0, 50.0, 100.0], 0),
        (10.0, [10.0, 25.0, 50.0, 100.0], 0),
        (25.0, [10.0, 25.0, 50.0, 100.0], 1),
        (30.0, [30.0, 50.0, 100.0], 0),
        (100.0, [10.0, 25.0, 50.0, 100.0], 3),
    ],
)
def test_the_monitor_goes_on_from_the_share_the_deploy_reached(
    weight: float | None, weights: list[float], index: int
) -> None:
    plan = finished(StrategyName.CANARY, False, weight=weight)
    assert remaining_steps(plan) == (weights, index)


def test_the_monitor_goes_on_with_the_plans_own_canary_steps() -> None:
    plan = finished(StrategyName.CANARY, False, weight=20.0).model_copy(
        update={"initial_percent": 5.0, "canary_steps": (20.0, 60.0)}
    )
    assert remaining_steps(plan) == ([5.0, 20.0, 60.0, 100.0], 1)
