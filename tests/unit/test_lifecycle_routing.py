"""Routing tables pinned exactly: which tables are refused and with which sentence, the bounds
that are still accepted, the exact tables of a split and a gradual switch, and how a new table
keeps or stops the previous one's mirror."""

from __future__ import annotations

import pytest

from lifecycle.errors import InvalidRouteError
from lifecycle.ports import Routes
from lifecycle.routing import (
    gradual,
    single,
    split,
    validate_routes,
    with_shadow_of,
    without_mirror,
)

KNOWN = {"a": "iris", "b": "iris", "c": "iris", "x": "wine"}
INF, NAN = float("inf"), float("nan")

REFUSED = {
    "no model name": (Routes("", {"a": 100}), "a routing table needs a model name"),
    "no deployment": (Routes("iris", {}), "the routing table of iris names no deployment"),
    "a weight that is text": (
        Routes("iris", {"a": "100"}),  # type: ignore[dict-item]
        "the weight of a is not a number: '100'",
    ),
    "a weight that is a bool": (
        Routes("iris", {"a": True}),
        "the weight of a is not a number: True",
    ),
    "a weight over 100": (
        Routes("iris", {"a": 101, "b": -1}),
        "the weight of a must be between 0 and 100, not 101",
    ),
    "a negative weight": (
        Routes("iris", {"a": -0.5, "b": 100.5}),
        "the weight of a must be between 0 and 100, not -0.5",
    ),
    "an infinite weight": (
        Routes("iris", {"a": INF}),
        "the weight of a must be between 0 and 100, not inf",
    ),
    "a weight that is not a number": (
        Routes("iris", {"a": NAN}),
        "the weight of a must be between 0 and 100, not nan",
    ),
    "weights short of 100": (
        Routes("iris", {"a": 90, "b": 5}),
        "the weights of iris sum to 95, not 100: {'a': 90, 'b': 5}",
    ),
    "weights a little short of 100": (
        Routes("iris", {"a": 99.99999}),
        "the weights of iris sum to 100, not 100: {'a': 99.99999}",
    ),
    "weights a little over 100": (
        Routes("iris", {"a": 60, "b": 40.00001}),
        "the weights of iris sum to 100, not 100: {'a': 60, 'b': 40.00001}",
    ),
    "an unknown deployment": (Routes("iris", {"a": 50, "zz": 50}), "unknown deployment 'zz'"),
    "another model's deployment": (
        Routes("iris", {"a": 50, "x": 50}),
        "deployment x serves wine, not iris",
    ),
    "an unknown shadow": (
        Routes("iris", {"a": 100}, shadow_deployment_id="zz", shadow_percent=5),
        "unknown deployment 'zz'",
    ),
    "another model's shadow": (
        Routes("iris", {"a": 100}, shadow_deployment_id="x", shadow_percent=5),
        "deployment x serves wine, not iris",
    ),
    "an unknown stable deployment": (
        Routes("iris", {"a": 100}, stable_deployment_id="zz"),
        "unknown deployment 'zz'",
    ),
    "another model's stable deployment": (
        Routes("iris", {"a": 100}, stable_deployment_id="x"),
        "deployment x serves wine, not iris",
    ),
    "a shadow share over 100": (
        Routes("iris", {"a": 100}, shadow_deployment_id="b", shadow_percent=100.5),
        "the shadow percentage must be between 0 and 100, not 100.5",
    ),
    "a negative shadow share": (
        Routes("iris", {"a": 100}, shadow_deployment_id="b", shadow_percent=-1),
        "the shadow percentage must be between 0 and 100, not -1",
    ),
    "a shadow share that is not a number": (
        Routes("iris", {"a": 100}, shadow_deployment_id="b", shadow_percent=NAN),
        "the shadow percentage must be between 0 and 100, not nan",
    ),
    "an infinite shadow share": (
        Routes("iris", {"a": 100}, shadow_deployment_id="b", shadow_percent=INF),
        "the shadow percentage must be between 0 and 100, not inf",
    ),
    "a shadow share without a shadow": (
        Routes("iris", {"a": 100}, shadow_percent=0.001),
        "a shadow percentage was given without a shadow deployment",
    ),
    "a live shadow": (
        Routes("iris", {"a": 99.5, "b": 0.5}, shadow_deployment_id="b", shadow_percent=10),
        "deployment b cannot both take live traffic and be the shadow",
    ),
    "a stable deployment without traffic": (
        Routes("iris", {"a": 100, "b": 0}, stable_deployment_id="b"),
        "the stable deployment b takes no traffic",
    ),
}


@pytest.mark.parametrize(("routes", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_a_table_the_gateway_cannot_serve_is_refused_with_the_reason(
    routes: Routes, message: str
) -> None:
    with pytest.raises(InvalidRouteError) as raised:
        validate_routes(routes, KNOWN)
    assert str(raised.value) == message


ACCEPTED = {
    "all on one": (Routes("iris", {"a": 100}), Routes("iris", {"a": 100.0})),
    "zero weights are dropped": (
        Routes("iris", {"a": 100, "b": 0}, stable_deployment_id="a"),
        Routes("iris", {"a": 100.0}, stable_deployment_id="a"),
    ),
    "a share under one percent is kept": (
        Routes("iris", {"a": 99.5, "b": 0.5}),
        Routes("iris", {"a": 99.5, "b": 0.5}),
    ),
    "a split with float slack": (
        Routes("iris", {"a": 60, "b": 40.0000001}),
        Routes("iris", {"a": 60.0, "b": 40.0000001}),
    ),
    "a shadow at its full share, listed at zero weight": (
        Routes("iris", {"a": 100, "c": 0}, shadow_deployment_id="c", shadow_percent=100),
        Routes("iris", {"a": 100.0}, shadow_deployment_id="c", shadow_percent=100.0),
    ),
    "a shadow mirroring nothing yet": (
        Routes("iris", {"a": 100}, shadow_deployment_id="c", shadow_percent=0),
        Routes("iris", {"a": 100.0}, shadow_deployment_id="c", shadow_percent=0.0),
    ),
    "no shadow and no share": (
        Routes("iris", {"a": 100}, shadow_percent=0),
        Routes("iris", {"a": 100.0}, shadow_percent=0.0),
    ),
}


@pytest.mark.parametrize(("routes", "clean"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_a_valid_table_comes_back_clean(routes: Routes, clean: Routes) -> None:
    result = validate_routes(routes, KNOWN)
    assert result == clean
    assert all(type(w) is float for w in result.weights.values())
    assert type(result.shadow_percent) is float


def test_all_traffic_to_one_deployment_makes_it_the_stable_one() -> None:
    assert single("iris", "b") == Routes("iris", {"b": 100.0}, None, 0.0, "b")


SPLITS = {
    "a share goes to the candidate, the rest stays stable": (
        30,
        Routes("iris", {"a": 70.0, "b": 30.0}, None, 0.0, "a"),
    ),
    "a negative share is nothing": (-5, Routes("iris", {"a": 100.0, "b": 0.0}, None, 0.0, "a")),
    "just under everything keeps the stable one": (
        99.5,
        Routes("iris", {"a": 0.5, "b": 99.5}, None, 0.0, "a"),
    ),
    "everything makes the candidate stable": (100, Routes("iris", {"b": 100.0}, None, 0.0, "b")),
}


@pytest.mark.parametrize(("percent", "routes"), SPLITS.values(), ids=SPLITS.keys())
def test_a_split(percent: float, routes: Routes) -> None:
    assert split("iris", "a", "b", percent) == routes


def test_a_gradual_switch_gives_each_table_in_turn() -> None:
    assert list(gradual("iris", "a", "b", 40)) == [
        split("iris", "a", "b", 40),
        split("iris", "a", "b", 80),
        single("iris", "b"),
    ]


def test_a_gradual_switch_of_one_step_is_one_table() -> None:
    assert list(gradual("iris", "a", "b", 100)) == [single("iris", "b")]


def test_a_gradual_switch_of_a_tiny_step_ends_at_100() -> None:
    tables = list(gradual("iris", "a", "b", 0.5))
    assert len(tables) == 200
    assert tables[0] == split("iris", "a", "b", 0.5)


@pytest.mark.parametrize(
    ("step", "shown"),
    [(0, "0"), (-5, "-5"), (100.01, "100.01"), (NAN, "nan"), (INF, "inf")],
)
def test_a_gradual_switch_refuses_a_step_outside_0_to_100(step: float, shown: str) -> None:
    with pytest.raises(InvalidRouteError) as raised:
        next(gradual("iris", "a", "b", step))
    assert str(raised.value) == f"a switch step must be in (0, 100], not {shown}"


NEW = Routes("iris", {"a": 60.0, "b": 40.0}, stable_deployment_id="a")
MIRRORING = Routes("iris", {"a": 100.0}, "m", 25.0, "a")

KEPT_MIRRORS = {
    "no previous table: the new table as it is": (None, set(), NEW),
    "a previous table without a mirror: the new table as it is": (
        Routes("iris", {"a": 100.0}, stable_deployment_id="a"),
        set(),
        NEW,
    ),
    "a mirror not excluded is kept with its share": (
        MIRRORING,
        {"b"},
        Routes("iris", {"a": 60.0, "b": 40.0}, "m", 25.0, "a"),
    ),
    "an excluded mirror is dropped": (MIRRORING, {"b", "m"}, NEW),
}


@pytest.mark.parametrize(
    ("previous", "exclude", "routes"), KEPT_MIRRORS.values(), ids=KEPT_MIRRORS.keys()
)
def test_a_new_table_keeps_the_previous_mirror_unless_it_is_excluded(
    previous: Routes | None, exclude: set[str], routes: Routes
) -> None:
    kept = with_shadow_of(NEW, previous, exclude)
    assert kept == routes
    assert (kept.model_name, dict(kept.weights), kept.stable_deployment_id) == (
        "iris",
        {"a": 60.0, "b": 40.0},
        "a",
    )


def test_a_mirror_kept_for_a_table_without_a_named_stable_leaves_it_unnamed() -> None:
    unnamed = Routes("iris", {"a": 60.0, "b": 40.0})
    assert with_shadow_of(unnamed, MIRRORING, set()) == Routes(
        "iris", {"a": 60.0, "b": 40.0}, "m", 25.0, None
    )


def test_stopping_the_mirror_keeps_the_weights_and_the_stable_deployment() -> None:
    stopped = without_mirror(Routes("iris", {"a": 70.0, "b": 30.0}, "m", 25.0, "b"))
    assert stopped == Routes("iris", {"a": 70.0, "b": 30.0}, None, 0.0, "b")
    assert (stopped.shadow_deployment_id, stopped.shadow_percent) == (None, 0.0)
