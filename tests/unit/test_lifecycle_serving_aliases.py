"""``@champion`` and ``@challenger`` follow the routing table (issue 15): ``aliases_for`` and
``alias_moves``."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from lifecycle.ports import Routes
from lifecycle.serving_aliases import alias_moves, aliases_for

VERSIONS = {"d1": "1", "d2": "2", "d3": "3", "d1b": "1"}


def table(
    weights: Mapping[str, float],
    stable: str | None = None,
    shadow: str | None = None,
    mirror: float = 0.0,
) -> Routes:
    return Routes("iris", weights, shadow, mirror, stable)


@pytest.mark.parametrize(
    ("routes", "champion", "challenger"),
    [
        pytest.param(None, None, None, id="nothing routed: no champion"),
        pytest.param(table({"d1": 100}), "1", None, id="all traffic on one: the champion"),
        pytest.param(
            table({"d1": 90, "d2": 10}, stable="d1"), "1", "2", id="a 10% canary: the challenger"
        ),
        pytest.param(
            table({"d1": 40, "d2": 60}, stable="d1"),
            "1",
            "2",
            id="a canary past half: the stable baseline is still the champion",
        ),
        pytest.param(table({"d1": 40, "d2": 60}), "2", "1", id="no stable named: the larger share"),
        pytest.param(table({"d1": 50, "d2": 50}), "1", "2", id="a tie: the first id, stably"),
        pytest.param(
            table({"d1": 100}, shadow="d2", mirror=100), "1", "2", id="a shadow: the challenger"
        ),
        pytest.param(
            table({"d1": 100}, shadow="d2", mirror=0), "1", None, id="a mirror at 0%: none"
        ),
        pytest.param(table({"d1": 100}, shadow="d2", mirror=0.5), "1", "2", id="a mirror at 0.5%"),
        pytest.param(
            table({"d1": 100}, shadow="d1b", mirror=50),
            "1",
            None,
            id="a shadow of the champion's version is no challenger",
        ),
        pytest.param(table({"d1": 99.5, "d2": 0.5}, stable="d1"), "1", "2", id="a canary at 0.5%"),
        pytest.param(
            table({"d1": 90, "d2": 10}, stable="d1", shadow="d3", mirror=50),
            "1",
            "2",
            id="a canary wins over a shadow",
        ),
        pytest.param(
            table({"d1": 100, "d2": 0}, stable="d1"), "1", None, id="a zero weight serves nobody"
        ),
        pytest.param(
            table({"d1": 80, "d1b": 20}, stable="d1"),
            "1",
            None,
            id="a redeploy of the champion's version is no challenger",
        ),
        pytest.param(
            table({"gone": 100, "d2": 0}), None, None, id="an unknown deployment is ignored"
        ),
        pytest.param(
            table({"d1": 100}, stable="gone"), "1", None, id="an unknown stable: the largest"
        ),
        pytest.param(
            table({"d1": 70, "d2": 20, "d3": 10}, stable="d1"),
            "1",
            "2",
            id="two canaries: the larger share",
        ),
    ],
)
def test_the_serving_aliases_follow_the_routing_table(
    routes: Routes | None, champion: str | None, challenger: str | None
) -> None:
    assert aliases_for(routes, VERSIONS) == {"champion": champion, "challenger": challenger}


@pytest.mark.parametrize(
    ("wanted", "current", "moves"),
    [
        ({"champion": "1", "challenger": None}, {}, {"champion": "1"}),
        ({"champion": "1", "challenger": None}, {"champion": "1"}, {}),
        (
            {"champion": "1", "challenger": None},
            {"champion": "1", "challenger": "2", "production": "2"},
            {"challenger": None},
        ),
        (
            {"champion": "2", "challenger": "1"},
            {"champion": "1"},
            {"champion": "2", "challenger": "1"},
        ),
        ({"production": "3"}, {}, {}),
    ],
)
def test_only_the_aliases_that_differ_move_and_stage_aliases_never(
    wanted: dict[str, str | None], current: dict[str, str], moves: dict[str, str | None]
) -> None:
    assert alias_moves(wanted, current) == moves
