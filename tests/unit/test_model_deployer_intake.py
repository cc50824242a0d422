"""The intake node: a request the caller got wrong is refused with a typed error, before any
side effect; a good one is normalised and routed to the first node of its action."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph.state import CompiledStateGraph

from agents.model_deployer import State
from agents.model_deployer.intake import IntakeNode, route_action
from lifecycle.errors import (
    BadInputError,
    InvalidDeploymentActionError,
    InvalidPlanError,
    InvalidPromotionPathError,
    UnknownModelError,
)
from tests.agent_fakes import World, make_world
from tests.unit.model_deployer_story import MODEL, Story

GOOD: dict[str, dict[str, Any]] = {
    "promote": {"target_stage": "staging", "version": "1"},
    "deploy": {"version": "1"},
    "rollback": {},
}


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = make_world(tmp_path)
    world.register()
    return world


@pytest.fixture
def story(world: World) -> Story:
    return Story.over(world)


def request(action: str, /, **changes: Any) -> dict[str, Any]:
    """A valid request for ``action`` with ``changes`` applied."""
    base = {"action": action, "model_name": MODEL, "requested_by": "alice", **GOOD[action]}
    return {**base, **changes}


def invoke(graph: CompiledStateGraph[Any, Any, Any, Any], req: dict[str, Any]) -> Any:
    return graph.invoke(req, {"configurable": {"thread_id": uuid.uuid4().hex}})


BAD_REQUESTS = [
    pytest.param(
        request("promote", action="monitor", model_name="churn"),
        UnknownModelError,
        id="monitor-of-an-unknown-model",
    ),
    pytest.param(request("promote", action="explode"), InvalidDeploymentActionError, id="unknown"),
    pytest.param(request("promote", action=""), InvalidDeploymentActionError, id="no-action"),
    pytest.param(request("promote", model_name="churn"), UnknownModelError, id="unknown-model"),
    pytest.param(request("deploy", model_name=""), UnknownModelError, id="no-model"),
    pytest.param(request("promote", version="7"), UnknownModelError, id="unknown-version"),
    pytest.param(request("promote", version="two"), BadInputError, id="version-not-a-number"),
    pytest.param(request("deploy", version="1.5"), BadInputError, id="version-with-a-dot"),
    pytest.param(request("deploy", version=None), BadInputError, id="deploy-without-version"),
    pytest.param(request("promote", requested_by=""), BadInputError, id="nobody-asks"),
    pytest.param(request("rollback", requested_by="   "), BadInputError, id="blank-requester"),
    pytest.param(
        request("promote", target_stage="heaven"), InvalidPromotionPathError, id="unknown-stage"
    ),
    pytest.param(request("promote", target_stage=None), InvalidPromotionPathError, id="no-stage"),
    pytest.param(request("deploy", traffic=0), BadInputError, id="traffic-zero"),
    pytest.param(request("deploy", traffic=-5), BadInputError, id="traffic-negative"),
    pytest.param(request("deploy", traffic=100.5), BadInputError, id="traffic-above-100"),
    pytest.param(request("deploy", traffic=float("nan")), BadInputError, id="traffic-nan"),
    pytest.param(request("deploy", traffic=float("inf")), BadInputError, id="traffic-infinite"),
    pytest.param(request("deploy", replicas=0), BadInputError, id="no-replicas"),
    pytest.param(request("deploy", strategy="yolo"), InvalidPlanError, id="unknown-strategy"),
    pytest.param(
        request("rollback", deployment_id="no-such-deployment"),
        UnknownModelError,
        id="unknown-deployment",
    ),
    pytest.param(request("deploy", request_id="r" * 65), BadInputError, id="request-id-too-long"),
    pytest.param(request("deploy", request_id="r1\n"), BadInputError, id="request-id-newline"),
]


@pytest.mark.parametrize(("req", "error"), BAD_REQUESTS)
def test_a_bad_request_is_refused_with_a_typed_error_and_writes_nothing(
    story: Story, req: dict[str, Any], error: type[Exception]
) -> None:
    before = story.footprint()

    with pytest.raises(error):
        invoke(story.agent.graph, req)

    assert story.footprint() == before


def test_a_bad_input_error_exits_with_code_2() -> None:
    for error in (InvalidDeploymentActionError, UnknownModelError, InvalidPlanError):
        assert error("x").exit_code == 2


def test_an_unknown_action_names_every_action_the_graph_carries_out(world: World) -> None:
    with pytest.raises(InvalidDeploymentActionError, match="promote, deploy, rollback, monitor"):
        IntakeNode(world.deps)(State(**request("promote", action="watch")))


def test_a_monitor_tick_without_a_model_covers_every_model(world: World) -> None:
    update = IntakeNode(world.deps)(State(action="monitor", requested_by="cron"))
    assert update["action"] == "monitor"


def test_a_rollback_naming_another_models_deployment_is_refused(story: Story) -> None:
    story.world.register("churn")
    churn = {"model_name": "churn", "version": "1", "requested_by": "alice"}
    story.agent.run({**churn, "action": "promote", "target_stage": "staging"})
    deployed = story.agent.run({**churn, "action": "deploy"})
    other = deployed["deployment_manifest"]["deployment_id"]
    before = story.footprint()

    with pytest.raises(BadInputError, match="serves churn"):
        story.rollback(deployment_id=other)

    assert story.footprint() == before


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ({"action": " PROMOTE ", "version": "v1"}, {"action": "promote", "version": "1"}),
        ({"target_stage": "Staging"}, {"target_stage": "staging"}),
        (
            {"action": "deploy", "strategy": "Blue-Green", "target_stage": None},
            {"action": "deploy", "strategy": "blue_green"},
        ),
        ({"request_id": "req-42"}, {"run_id": "req-42"}),
    ],
)
def test_intake_normalises_what_a_person_types(
    world: World, given: dict[str, Any], normalised: dict[str, Any]
) -> None:
    update = IntakeNode(world.deps)(State(**{**request("promote"), **given}))

    assert {key: update[key] for key in normalised} == normalised


def test_each_run_gets_a_fresh_run_id_and_clean_outputs(world: World) -> None:
    stale = State(
        **request("promote"), status="failed", errors=["old"], run_id="old", plan={"x": 1}
    )
    first, second = IntakeNode(world.deps)(stale), IntakeNode(world.deps)(stale)

    assert first["run_id"] != second["run_id"] != "old"
    assert first["status"] == "" and first["errors"] == [] and first["plan"] is None


@pytest.mark.parametrize(
    ("action", "first_node"),
    [
        ("promote", "check_promotion"),
        ("deploy", "plan_deploy"),
        ("rollback", "plan_rollback"),
        ("monitor", "check_health"),
    ],
)
def test_each_action_routes_to_the_first_node_of_its_flow(action: str, first_node: str) -> None:
    assert route_action(State(action=action)) == first_node


def test_the_router_raises_on_an_action_intake_did_not_vet() -> None:
    with pytest.raises(InvalidDeploymentActionError):
        route_action(State(action="watch"))
