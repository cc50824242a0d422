"""One place for each thing: the routing table's JSON codec, shadow comparisons that add up,
and the deployment status groups every module reads."""

from __future__ import annotations

import json

import pytest

from lifecycle.metrics import ShadowStats
from lifecycle.ports import Routes
from lifecycle.stages import LIVE_STATUSES, SERVED_STATUSES, WARM_STATUSES, DeploymentStatus

TABLES = [
    Routes("m", {"a": 100.0}),
    Routes("m", {"a": 90.0, "b": 10.0}, stable_deployment_id="a"),
    Routes("m", {"a": 100.0}, "s", 25.0, "a"),
]


@pytest.mark.parametrize("routes", TABLES)
def test_a_routing_table_survives_a_json_round_trip(routes: Routes) -> None:
    assert Routes.from_json(json.loads(json.dumps(routes.to_json()))) == routes


def test_a_routing_table_is_written_as_the_five_fields_the_gateway_reads() -> None:
    assert Routes("m", {"a": 60.0, "b": 40.0}, "s", 5.0, "a").to_json() == {
        "model_name": "m",
        "weights": {"a": 60.0, "b": 40.0},
        "shadow_deployment_id": "s",
        "shadow_percent": 5.0,
        "stable_deployment_id": "a",
    }


def test_a_table_is_printed_name_first_then_weights_stable_and_mirror() -> None:
    routes = Routes("m", {"a": 100.0}, None, 0.0, "a")
    assert list(routes.to_json()) == [
        "model_name",
        "weights",
        "stable_deployment_id",
        "shadow_deployment_id",
        "shadow_percent",
    ]
    assert routes.table_json() == {k: v for k, v in routes.to_json().items() if k != "model_name"}


def test_a_table_read_from_json_has_float_weights_and_no_mirror_when_none_is_named() -> None:
    routes = Routes.from_json({"model_name": "m", "weights": {"a": 100}, "shadow_percent": None})
    assert routes == Routes("m", {"a": 100.0}, None, 0.0, None)
    assert isinstance(routes.weights["a"], float) and isinstance(routes.shadow_percent, float)


def test_shadow_comparisons_add_up_field_by_field() -> None:
    total = ShadowStats(10, 9, 1) + ShadowStats(5, 4, 2)
    assert total == ShadowStats(compared=15, agreed=13, shadow_errors=3)
    assert total.agreement == 13 / 15


def test_the_total_of_no_comparison_is_nothing_compared() -> None:
    assert ShadowStats.total([]) == ShadowStats(0, 0, 0)
    assert ShadowStats.total([]).agreement is None


def test_the_total_of_several_gateways_is_their_sum() -> None:
    stats = [ShadowStats(1, 1, 0), ShadowStats(2, 1, 1), ShadowStats(3, 3, 0)]
    assert ShadowStats.total(stats) == ShadowStats(6, 5, 1)


@pytest.mark.parametrize(
    ("figures", "stats"),
    [
        pytest.param(
            {"compared": "7", "agreed": 6, "shadow_errors": 2, "model_name": "m"},
            ShadowStats(7, 6, 2),
            id="each counter by its name, text read as a number",
        ),
        pytest.param({"agreed": 6, "shadow_errors": 2}, ShadowStats(0, 6, 2), id="no compared"),
        pytest.param({"compared": 7, "shadow_errors": 2}, ShadowStats(7, 0, 2), id="no agreed"),
        pytest.param({"compared": 7, "agreed": 6}, ShadowStats(7, 6, 0), id="no shadow_errors"),
        pytest.param({"model_name": "m"}, ShadowStats(0, 0, 0), id="no counter at all"),
    ],
)
def test_a_gateways_figures_give_its_counters_and_missing_ones_count_as_zero(
    figures: dict[str, object], stats: ShadowStats
) -> None:
    assert ShadowStats.from_figures(figures) == stats


@pytest.mark.parametrize(
    ("status", "live", "served", "warm"),
    [
        (DeploymentStatus.PENDING, True, False, False),
        (DeploymentStatus.DEPLOYING, True, False, False),
        (DeploymentStatus.ACTIVE, True, True, True),
        (DeploymentStatus.DRAINING, True, True, True),
        (DeploymentStatus.ROLLED_BACK, False, True, False),
        (DeploymentStatus.FAILED, False, False, False),
    ],
)
def test_status_groups(status: DeploymentStatus, live: bool, served: bool, warm: bool) -> None:
    assert (status in LIVE_STATUSES, status in SERVED_STATUSES, status in WARM_STATUSES) == (
        live,
        served,
        warm,
    )
