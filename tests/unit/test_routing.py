"""Routing tables: what the admin API and the agent accept, and how traffic is shared."""

from __future__ import annotations

from collections import Counter

import pytest

from lifecycle.errors import InvalidRouteError
from lifecycle.ports import Routes
from lifecycle.routing import gradual, single, split, stable_of, validate_routes
from mlops.gateway.balancer import CompiledRoute, Upstream

KNOWN = {"a": "iris", "b": "iris", "c": "iris", "x": "wine"}


@pytest.mark.parametrize(
    "routes",
    [
        pytest.param(Routes("iris", {"a": 90, "b": 5}), id="weights-must-sum-to-100"),
        pytest.param(Routes("iris", {"a": 110, "b": -10}), id="a-weight-cannot-be-negative"),
        pytest.param(Routes("iris", {}), id="a-table-names-at-least-one-deployment"),
        pytest.param(Routes("iris", {"a": 50, "zz": 50}), id="an-unknown-deployment-is-refused"),
        pytest.param(Routes("iris", {"a": 50, "x": 50}), id="another-models-deployment-is-refused"),
        pytest.param(Routes("iris", {"a": float("nan")}), id="nan-is-not-a-weight"),
        pytest.param(
            Routes("iris", {"a": 100}, shadow_deployment_id="b", shadow_percent=101),
            id="shadow-percent-is-at-most-100",
        ),
        pytest.param(
            Routes("iris", {"a": 100}, shadow_percent=10),
            id="a-shadow-percent-needs-a-shadow",
        ),
        pytest.param(
            Routes("iris", {"a": 50, "b": 50}, shadow_deployment_id="b", shadow_percent=10),
            id="a-live-deployment-cannot-also-be-the-shadow",
        ),
        pytest.param(
            Routes("iris", {"a": 100, "b": 0}, stable_deployment_id="b"),
            id="the-stable-deployment-must-take-traffic",
        ),
        pytest.param(
            Routes("iris", {"a": 100}, shadow_deployment_id="zz", shadow_percent=5),
            id="an-unknown-shadow-is-refused",
        ),
    ],
)
def test_invalid_tables_are_refused(routes: Routes) -> None:
    with pytest.raises(InvalidRouteError):
        validate_routes(routes, KNOWN)


def test_a_valid_table_drops_zero_weights_and_keeps_the_rest() -> None:
    clean = validate_routes(Routes("iris", {"a": 100, "b": 0}, "c", 25), KNOWN)
    assert clean.weights == {"a": 100.0}
    assert clean.shadow_deployment_id == "c"
    assert clean.shadow_percent == 25


def test_weights_within_float_slack_of_100_pass() -> None:
    assert validate_routes(Routes("iris", {"a": 33.3333333, "b": 66.6666667}), KNOWN)


@pytest.mark.parametrize(
    ("routes", "stable"),
    [
        pytest.param(Routes("iris", {"a": 90, "b": 10}), "a", id="the-heaviest-is-stable"),
        pytest.param(
            Routes("iris", {"a": 10, "b": 90}, stable_deployment_id="a"),
            "a",
            id="a-named-stable-wins-over-weight",
        ),
        pytest.param(Routes("iris", {"a": 50, "b": 50}), "a", id="ties-go-to-the-first-named"),
    ],
)
def test_stable_deployment(routes: Routes, stable: str) -> None:
    assert stable_of(routes) == stable


def test_split_keeps_stable_as_the_retry_target_until_the_candidate_has_everything() -> None:
    assert split("iris", "a", "b", 30) == Routes("iris", {"a": 70, "b": 30}, None, 0.0, "a")
    assert split("iris", "a", "b", 100) == single("iris", "b")
    assert split("iris", "a", "b", 250) == single("iris", "b")


def test_a_gradual_switch_steps_to_100() -> None:
    steps = [r.weights["b"] for r in gradual("iris", "a", "b", 30)]
    assert steps == [30, 60, 90, 100]


@pytest.mark.parametrize("step", [0, -5, 101, float("nan")])
def test_a_gradual_switch_needs_a_sane_step(step: float) -> None:
    with pytest.raises(InvalidRouteError):
        list(gradual("iris", "a", "b", step))


def compiled(
    weights: dict[str, float], shadow: str | None = None, percent: float = 0
) -> CompiledRoute:
    routes = Routes("iris", weights, shadow, percent)
    ups = {d: Upstream(d, f"http://{d}", "1") for d in [*weights, shadow] if d}
    return CompiledRoute(routes, ups)


@pytest.mark.parametrize(
    "weights",
    [
        pytest.param({"a": 80, "b": 20}, id="80-20"),
        pytest.param({"a": 33, "b": 33, "c": 34}, id="three-ways"),
        pytest.param({"a": 99, "b": 1}, id="one-percent-canary"),
    ],
)
def test_keyless_requests_get_their_weight_exactly_in_every_100(weights: dict[str, float]) -> None:
    route = compiled(weights)
    for _ in range(20):
        counts = Counter(route.pick() for _ in range(100))
        assert counts == Counter({d: int(w) for d, w in weights.items()})


def test_a_routing_key_always_lands_on_the_same_deployment() -> None:
    route = compiled({"a": 50, "b": 50})
    for key in (f"user-{i}" for i in range(200)):
        first = route.pick(key)
        assert all(route.pick(key) == first for _ in range(5))


def test_keys_spread_by_weight() -> None:
    route = compiled({"a": 80, "b": 20})
    share = sum(route.pick(f"k{i}") == "b" for i in range(10_000)) / 10_000
    assert share == pytest.approx(0.20, abs=0.02)  # binomial sd 0.004: 5 sd of slack


def test_a_weight_change_moves_only_the_keys_it_must() -> None:
    keys = [f"k{i}" for i in range(10_000)]
    before = compiled({"a": 90, "b": 10})
    after = compiled({"a": 80, "b": 20})
    moved = [(before.pick(k), after.pick(k)) for k in keys if before.pick(k) != after.pick(k)]
    assert {m for m in moved} == {("a", "b")}  # nothing moves away from the deployment that grew
    assert len(moved) / len(keys) == pytest.approx(0.10, abs=0.02)  # the minimum is 10%


def test_adding_a_third_deployment_takes_keys_from_both_and_moves_none_between_them() -> None:
    keys = [f"k{i}" for i in range(5_000)]
    before = compiled({"a": 50, "b": 50})
    after = compiled({"a": 40, "b": 40, "c": 20})
    for key in keys:
        old, new = before.pick(key), after.pick(key)
        assert new == old or new == "c"


@pytest.mark.parametrize("percent", [0, 1, 12.5, 50, 100])
def test_the_mirror_share_is_exact(percent: float) -> None:
    route = compiled({"a": 100}, "b", percent)
    mirrored = sum(route.mirror() is not None for _ in range(1000))
    assert mirrored == int(1000 * percent / 100)
