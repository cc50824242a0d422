"""The rollback decision, pure: which deployment a rollback goes back to, what it undoes, whether
the restore is instant, and the one table of the switch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.errors import RollbackFailedError
from lifecycle.ports import Routes
from lifecycle.rollback_plan import RollbackPlan, plan_rollback, rollback_target, switched_routes
from lifecycle.rollout import DeploymentView
from lifecycle.stages import DeploymentStatus, ModelStage

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
M = "fraud"
ACTIVE, DRAINING = DeploymentStatus.ACTIVE, DeploymentStatus.DRAINING
PROD, SHADOW = ModelStage.PRODUCTION, ModelStage.SHADOW


def view(
    dep: str,
    version: str,
    hours_ago: float,
    status: DeploymentStatus = ACTIVE,
    stage: ModelStage = PROD,
    strategy: str = "canary",
) -> DeploymentView:
    return DeploymentView(dep, version, strategy, status, stage, NOW - timedelta(hours=hours_ago))


V1 = view("v1", "1", 3, DRAINING)
V2 = view("v2", "2", 2)
V3_CANARY = view("v3", "3", 1)
V3_SHADOW = view("v3s", "3", 1, stage=SHADOW, strategy="shadow")
SWITCHED = Routes(M, {"v2": 100.0}, stable_deployment_id="v2")
CANARY = Routes(M, {"v2": 90.0, "v3": 10.0}, stable_deployment_id="v2")
MIRROR = Routes(M, {"v2": 100.0}, "v3s", 50.0, "v2")


@pytest.mark.parametrize(
    ("routes", "deployments", "target"),
    [
        pytest.param(SWITCHED, (V1, V2), "v1", id="after a full switch: the one before"),
        pytest.param(CANARY, (V1, V2, V3_CANARY), "v2", id="a canary: its stable deployment"),
        pytest.param(MIRROR, (V1, V2, V3_SHADOW), "v2", id="a shadow: the stable it mirrors"),
        pytest.param(
            SWITCHED,
            (V1, view("x", "9", 2.5, DeploymentStatus.FAILED), V2),
            "v1",
            id="never one that failed",
        ),
        pytest.param(
            SWITCHED,
            (view("v1", "1", 3, DeploymentStatus.ROLLED_BACK), V2),
            "v1",
            id="one rolled back once served",
        ),
        pytest.param(
            SWITCHED,
            (V1, view("st", "5", 2.5, stage=ModelStage.STAGING), V2),
            "v1",
            id="never a staging deployment",
        ),
    ],
)
def test_a_rollback_goes_back_to_the_previous_production_deployment_that_served(
    routes: Routes, deployments: tuple[DeploymentView, ...], target: str
) -> None:
    assert rollback_target(M, routes, deployments).deployment_id == target


def test_undoing_a_shadow_without_a_named_stable_goes_back_to_the_heaviest_deployment() -> None:
    unnamed = Routes(M, {"a": 70.0, "z": 30.0}, "v3s", 50.0)
    deployments = (view("a", "1", 3), view("z", "2", 2), V3_SHADOW)
    assert rollback_target(M, unnamed, deployments).deployment_id == "a"


def test_a_rollback_goes_back_to_the_deployment_asked_for() -> None:
    older = view("v0", "0", 9, DeploymentStatus.ROLLED_BACK)
    assert rollback_target(M, SWITCHED, (older, V1, V2), "v0") == older


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        (
            view("p", "4", 5, DeploymentStatus.PENDING),
            "p is pending: it never served, so it cannot be rolled back to",
        ),
        (
            view("f", "4", 5, DeploymentStatus.FAILED),
            "f is failed: it never served, so it cannot be rolled back to",
        ),
        (
            view("s", "4", 5, stage=SHADOW),
            "s is a shadow deployment: it never served production users, so it cannot be rolled "
            "back to",
        ),
    ],
)
def test_a_deployment_that_never_served_production_users_cannot_be_gone_back_to(
    asked: DeploymentView, message: str
) -> None:
    with pytest.raises(RollbackFailedError) as refused:
        rollback_target(M, SWITCHED, (asked, V2), asked.deployment_id)
    assert str(refused.value) == message


def test_nothing_routed_is_nothing_to_roll_back() -> None:
    with pytest.raises(RollbackFailedError, match="no deployment of fraud is routed"):
        rollback_target(M, None, (V1, V2))


def test_the_only_production_deployment_has_nothing_to_roll_back_to() -> None:
    with pytest.raises(RollbackFailedError, match="no production deployment before v2"):
        rollback_target(M, SWITCHED, (V2,))


def plan(
    routes: Routes, deployments: tuple[DeploymentView, ...], target: DeploymentView, warm: bool
) -> RollbackPlan:
    return plan_rollback(M, routes, deployments, target, warm, "abcdef0123456789", NOW)


def test_a_warm_target_is_restored_as_it_is() -> None:
    planned = plan(SWITCHED, (V1, V2), V1, warm=True)
    assert planned == RollbackPlan(
        undo=("v2",),
        target="v1",
        target_version="1",
        restored="v1",
        warm=True,
        previous=SWITCHED,
        started_at=NOW,
    )


def test_a_cold_target_is_restored_by_a_new_deployment_of_its_version() -> None:
    planned = plan(SWITCHED, (V1, V2), V1, warm=False)
    assert (planned.restored, planned.warm) == ("fraud-v1-abcdef01", False)


def test_every_routed_deployment_but_the_target_is_undone_oldest_first() -> None:
    routes = Routes(M, {"v1": 50.0, "v2": 40.0, "v3": 10.0}, stable_deployment_id="v1")
    planned = plan(routes, (V3_CANARY, V2, V1), V1, warm=True)
    assert planned.undo == ("v2", "v3")


def test_a_mirror_is_kept_when_it_is_not_the_change_being_undone() -> None:
    routes = Routes(M, {"v2": 90.0, "v4": 10.0}, "v3s", 50.0, "v2")
    newest_canary = view("v4", "4", 0.5)
    planned = plan(routes, (V2, V3_SHADOW, newest_canary), V2, warm=True)
    assert planned.undo == ("v4",)


def test_a_mirror_that_is_the_newest_change_is_undone() -> None:
    assert plan(MIRROR, (V2, V3_SHADOW), V2, warm=True).undo == ("v3s",)


def test_a_target_that_already_serves_everything_is_nothing_to_roll_back() -> None:
    with pytest.raises(RollbackFailedError, match="v2 already serves all of fraud"):
        plan(SWITCHED, (V2,), V2, warm=True)


def test_the_switch_sends_everything_to_the_restored_deployment() -> None:
    planned = plan(CANARY, (V1, V2, V3_CANARY), V2, warm=True)
    assert switched_routes(planned, M) == Routes(M, {"v2": 100.0}, stable_deployment_id="v2")


def test_the_switch_keeps_a_mirror_that_is_not_undone() -> None:
    routes = Routes(M, {"v2": 90.0, "v4": 10.0}, "v3s", 50.0, "v2")
    planned = plan(routes, (V2, V3_SHADOW, view("v4", "4", 0.5)), V2, warm=True)
    assert switched_routes(planned, M) == Routes(M, {"v2": 100.0}, "v3s", 50.0, "v2")


def test_the_switch_drops_a_mirror_that_is_undone() -> None:
    planned = plan(MIRROR, (V2, V3_SHADOW), V2, warm=True)
    assert switched_routes(planned, M).shadow_deployment_id is None


def test_a_rollback_plan_survives_a_json_round_trip() -> None:
    planned = plan(CANARY, (V1, V2, V3_CANARY), V2, warm=False).model_copy(
        update={"decided_at": NOW, "switched_at": NOW, "effective_seconds": 0.5}
    )
    assert RollbackPlan.model_validate_json(planned.model_dump_json()) == planned


@pytest.mark.parametrize(
    ("routes", "deployments", "undo", "target"),
    [
        pytest.param(SWITCHED, (V1, V2), "v2", "v1", id="the one serving all: the one before"),
        pytest.param(CANARY, (V1, V2, V3_CANARY), "v3", "v2", id="a canary: its stable"),
        pytest.param(CANARY, (V1, V2, V3_CANARY), "v2", "v1", id="the stable: the one before"),
        pytest.param(MIRROR, (V1, V2, V3_SHADOW), "v3s", "v2", id="a shadow: the stable"),
    ],
)
def test_a_rollback_that_names_the_deployment_to_undo_goes_back_to_what_served_before_it(
    routes: Routes, deployments: tuple[DeploymentView, ...], undo: str, target: str
) -> None:
    assert rollback_target(M, routes, deployments, undo=undo).deployment_id == target


@pytest.mark.parametrize("undo", ["v1", "nope"])
def test_a_deployment_that_takes_no_traffic_cannot_be_undone(undo: str) -> None:
    with pytest.raises(RollbackFailedError) as refused:
        rollback_target(M, SWITCHED, (V1, V2), undo=undo)
    assert str(refused.value) == f"nothing to undo: {undo} takes no traffic of fraud"


def test_going_back_to_the_newest_change_is_refused_and_points_to_undo() -> None:
    with pytest.raises(RollbackFailedError) as refused:
        rollback_target(M, CANARY, (V1, V2, V3_CANARY), "v3")
    assert str(refused.value) == (
        "v3 is the newest change of fraud: rolling back to it would send every user to it; "
        "to take it out of service use --undo v3"
    )


def test_going_back_to_the_only_routed_deployment_is_not_refused_as_the_newest_change() -> None:
    assert rollback_target(M, SWITCHED, (V1, V2), "v2") == V2


def test_undoing_a_canary_goes_back_to_the_stable_deployment_not_a_newer_failed_canary() -> None:
    failed = view("v2x", "2", 1.5, DeploymentStatus.ROLLED_BACK)  # an earlier canary, undone
    canary = Routes(M, {"v1": 90.0, "v3": 10.0}, stable_deployment_id="v1")
    v1, v3 = view("v1", "1", 3), view("v3", "3", 1)
    assert rollback_target(M, canary, (v1, failed, v3)) == v1


def test_a_stable_deployment_newer_than_the_undone_one_is_not_gone_back_to() -> None:
    routes = Routes(M, {"v1": 90.0, "v3": 10.0}, stable_deployment_id="v3")
    older, v1, v3 = view("v0", "0", 5, DRAINING), view("v1", "1", 3), view("v3", "3", 1)
    assert rollback_target(M, routes, (older, v1, v3), undo="v1") == older


def test_after_a_full_switch_a_rolled_back_deployment_is_passed_over_for_one_that_was_not() -> None:
    failed = view("v2x", "2", 1.5, DeploymentStatus.ROLLED_BACK)
    switched = Routes(M, {"v3": 100.0}, stable_deployment_id="v3")
    v1, v3 = view("v1", "1", 3, DRAINING), view("v3", "3", 1)
    assert rollback_target(M, switched, (v1, failed, v3)) == v1


def test_undoing_a_canary_keeps_its_stable_deployment_over_a_newer_one_kept_warm() -> None:
    canary = Routes(M, {"v1": 90.0, "v3": 10.0}, stable_deployment_id="v1")
    v1, warm, v3 = view("v1", "1", 3), view("v2", "2", 2, DRAINING), view("v3", "3", 1)
    assert rollback_target(M, canary, (v1, warm, v3)) == v1
