"""The deploy flow: the version's stage picks the target and the strategy; the steps run up to
the first that needs time; a failed step leaves the previous routing in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.handlers.operations import outcome
from agents.model_deployer import InputState, build_graph
from lifecycle.errors import DeploymentFailedError, InvalidPlanError
from lifecycle.ports import Endpoint, Routes
from lifecycle.routing import single
from memory import episodes
from tests.agent_fakes import World, make_world
from tests.unit.model_deployer_story import MODEL, REQUESTER, Replacing, Story, run_once


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture
def story(world: World) -> Story:
    return Story.over(world)


@pytest.fixture(scope="module")
def given_replacing(tmp_path_factory: pytest.TempPathFactory) -> Replacing:
    return Story.over(make_world(tmp_path_factory.mktemp("replacing"))).replacing()


@pytest.fixture
def replacing(given_replacing: Replacing, tmp_path: Path) -> Replacing:
    """v1 serves every user directly; v2 is approved for production and still mirrored."""
    return given_replacing.cloned(tmp_path)


def deployed_id(result: dict[str, Any]) -> str:
    return str(result["deployment_manifest"]["deployment_id"])


# -- where a version goes ---------------------------------------------------------------------


def test_the_first_production_deploy_is_direct_at_full_traffic_and_becomes_stable(
    story: Story,
) -> None:
    version = story.in_production(mirrored=False)

    result = story.deploy(version)

    new = deployed_id(result)
    manifest = result["deployment_manifest"]
    assert result["status"] == "deployed" and result["errors"] == []
    assert (manifest["strategy"], manifest["status"], manifest["traffic_percentage"]) == (
        "direct",
        "active",
        100.0,
    )
    assert manifest["endpoint_url"] and manifest["bento_tag"] == f"{MODEL}_v{version}:tag"
    assert story.routes() == single(MODEL, new)
    assert result["active_deployment_id"] == new
    assert new in story.world.serving.running
    episode = story.world.memory.last_episode(MODEL, episodes.DEPLOYMENT)
    assert episode is not None
    assert (episode["strategy"], episode["outcome"]) == ("direct", episodes.SUCCEEDED)


def test_a_staging_version_gets_an_endpoint_of_its_own_and_no_user_traffic(story: Story) -> None:
    version = story.world.register()
    story.promote(version, "staging")

    result = story.deploy(version)

    manifest = result["deployment_manifest"]
    assert result["status"] == "deployed"
    assert (manifest["strategy"], manifest["status"], manifest["traffic_percentage"]) == (
        "direct",
        "active",
        0.0,
    )
    assert manifest["endpoint_url"] and deployed_id(result) in story.world.serving.running
    assert story.routes() is None and story.world.router.history == []
    assert result["active_deployment_id"] is None


@pytest.mark.parametrize("strategy", ["canary", "blue_green", "rolling", "shadow"])
def test_a_staging_version_cannot_take_user_traffic(story: Story, strategy: str) -> None:
    version = story.world.register()
    story.promote(version, "staging")
    before = story.footprint()

    with pytest.raises(InvalidPlanError):
        story.deploy(version, strategy=strategy)

    assert story.footprint() == before


def test_a_shadow_version_is_mirrored_beside_the_stable_deployment(story: Story) -> None:
    _, stable = story.serving()
    version = story.in_shadow()

    result = story.deploy(version, traffic=50)

    mirror = deployed_id(result)
    assert result["deployment_manifest"]["strategy"] == "shadow"
    assert result["deployment_manifest"]["traffic_percentage"] == 50.0
    assert story.routes() == Routes(MODEL, {stable: 100.0}, mirror, 50.0, stable)
    assert result["active_deployment_id"] == stable
    assert story.world.stage_of(MODEL, version) == "shadow"


def test_a_shadow_deploy_needs_a_routed_production_deployment_to_mirror(story: Story) -> None:
    version = story.in_shadow()
    before = story.footprint()

    with pytest.raises(InvalidPlanError, match="nothing to mirror"):
        story.deploy(version)

    assert story.footprint() == before


# -- replacing the stable deployment ----------------------------------------------------------


def test_blue_green_switches_every_user_and_keeps_the_old_deployment_warm(
    replacing: Replacing,
) -> None:
    story, old, version, mirror = replacing

    result = story.deploy(version, strategy="blue_green")

    new = deployed_id(result)
    assert result["status"] == "deployed" and result["active_deployment_id"] == new
    assert story.routes() == single(MODEL, new)
    retired = story.deployment(old)
    assert (retired.status, retired.traffic_percentage) == ("draining", 0.0)
    assert retired.drained_at is not None and old in story.world.serving.running
    assert story.world.stage_of(MODEL, "1") == story.registry_stage("1") == "archived"
    with story.world.uow() as uow:
        archived = uow.version_records.list_for(MODEL, "1")[-1]
    assert (archived.to_stage, archived.reason) == (
        "archived",
        f"replaced in production by v{version}",
    )
    assert story.deployment(mirror).status == "rolled_back"
    assert mirror not in story.world.serving.running


def test_rolling_stops_the_old_server_once_the_new_one_serves(replacing: Replacing) -> None:
    story, old, version, _ = replacing

    result = story.deploy(version, strategy="rolling")

    assert story.routes() == single(MODEL, deployed_id(result))
    assert old in story.world.serving.stopped and old not in story.world.serving.running
    retired = story.deployment(old)
    assert retired.status == "rolled_back" and retired.rolled_back_at is not None
    assert story.world.stage_of(MODEL, "1") == story.registry_stage("1") == "archived"


@pytest.mark.parametrize(("traffic", "first_share"), [(None, 10.0), (5, 5.0), (33.3, 33.3)])
def test_a_canary_starts_at_the_share_asked_for_or_the_policys(
    replacing: Replacing, traffic: float | None, first_share: float
) -> None:
    story, old, version, _ = replacing

    result = story.deploy(version, strategy="canary", traffic=traffic)

    new = deployed_id(result)
    assert result["status"] == "deployed"
    assert story.routes() == Routes(
        MODEL, {old: 100 - first_share, new: first_share}, None, 0.0, old
    )
    assert result["active_deployment_id"] == old
    assert result["deployment_manifest"]["traffic_percentage"] == first_share
    assert story.deployment(old).traffic_percentage == 100 - first_share
    assert story.world.stage_of(MODEL, "1") == "production"


def test_a_production_version_defaults_to_a_canary_when_something_already_serves(
    replacing: Replacing,
) -> None:
    story, _, version, _ = replacing

    result = story.deploy(version)

    assert result["deployment_manifest"]["strategy"] == "canary"
    assert result["advice"] == {"rollback_preset": "balanced", "canary_steps": None, "reason": None}


def test_after_a_rolled_back_production_rollout_the_next_canary_starts_at_one_percent(
    story: Story,
) -> None:
    _, stable = story.serving()
    # The bad version is approved last, so its mirror is the model's mirror and retires with it.
    good, bad = story.in_production(), story.in_production()
    rolled_back = story.deploy(bad, strategy="canary")
    story.rollback(reason="error rate 4% > 1%")

    result = story.deploy(good)

    new = deployed_id(result)
    episode = f"{rolled_back['run_id']}:{episodes.DEPLOYMENT}"
    assert story.routes() == Routes(MODEL, {stable: 99.0, new: 1.0}, None, 0.0, stable)
    assert result["advice"]["rollback_preset"] == "conservative"
    assert result["advice"]["canary_steps"] == [1, 5, 10, 25, 50, 100]
    assert episode in result["advice"]["reason"]
    assert "error rate 4% > 1%" in result["advice"]["reason"]


def test_a_rollback_lesson_survives_the_promotion_of_the_next_version(story: Story) -> None:
    story.serving()
    bad = story.in_production()
    story.deploy(bad, strategy="canary")
    story.rollback(reason="error rate 4% > 1%")
    good = story.in_production()

    result = story.deploy(good)

    assert result["advice"]["rollback_preset"] == "conservative"
    assert result["plan"]["initial_percent"] == 1.0


# -- changing the share of a rollout in flight --------------------------------------------------


def test_a_traffic_change_of_a_running_canary_only_moves_weights(replacing: Replacing) -> None:
    story, old, version, _ = replacing
    canary = deployed_id(story.deploy(version, strategy="canary"))
    started, deployments = list(story.world.serving.started), len(story.deployments())

    result = story.deploy(version, traffic=50)

    assert result["status"] == "traffic_updated"
    assert story.routes() == Routes(MODEL, {old: 50.0, canary: 50.0}, None, 0.0, old)
    assert story.world.serving.started == started
    assert len(story.deployments()) == deployments
    assert story.deployment(canary).traffic_percentage == 50.0
    assert story.deployment(old).traffic_percentage == 50.0
    assert result["active_deployment_id"] == old


def test_a_canary_set_to_full_traffic_completes_and_the_old_deployment_drains(
    replacing: Replacing,
) -> None:
    story, old, version, _ = replacing
    canary = deployed_id(story.deploy(version, strategy="canary"))

    result = story.deploy(version, traffic=100)

    assert story.routes() == single(MODEL, canary)
    assert result["active_deployment_id"] == canary
    assert story.deployment(old).status == "draining"
    assert story.world.stage_of(MODEL, "1") == "archived"


def test_a_traffic_change_of_a_running_shadow_only_moves_the_mirror_share(story: Story) -> None:
    _, stable = story.serving()
    version, mirror = story.shadow_deployed()
    started = list(story.world.serving.started)

    result = story.deploy(version, traffic=20)

    assert result["status"] == "traffic_updated"
    assert story.routes() == Routes(MODEL, {stable: 100.0}, mirror, 20.0, stable)
    assert story.world.serving.started == started


def test_a_traffic_share_for_a_newly_promoted_version_starts_a_canary_not_a_mirror_change(
    replacing: Replacing,
) -> None:
    story, old, version, _ = replacing

    result = story.deploy(version, traffic=5)

    assert result["status"] == "deployed"
    assert result["deployment_manifest"]["strategy"] == "canary"
    assert story.routes() == Routes(MODEL, {old: 95.0, deployed_id(result): 5.0}, None, 0.0, old)


def test_a_new_shadow_retires_the_mirror_it_replaces(story: Story) -> None:
    story.serving()
    _, first = story.shadow_deployed()

    story.shadow_deployed()

    assert first not in story.world.serving.running
    assert story.deployment(first).status == "rolled_back"


# -- failures ---------------------------------------------------------------------------------


def _fail_start(world: World) -> None:
    world.serving.fail_start = True


def _fail_smoke(world: World) -> None:
    world.serving.fail_smoke = True


def _fail_router(world: World) -> None:
    world.router.fail = True


@pytest.mark.parametrize(
    ("fault", "strategy", "error"),
    [
        pytest.param(_fail_start, "canary", "the endpoint did not start", id="start-canary"),
        pytest.param(_fail_start, "blue_green", "the endpoint did not start", id="start-bg"),
        pytest.param(_fail_smoke, "blue_green", "blue_green step failed: smoke", id="smoke-bg"),
        pytest.param(_fail_smoke, "rolling", "rolling step failed: smoke", id="smoke-rolling"),
        pytest.param(_fail_router, "canary", "canary step failed: the gateway", id="router-canary"),
        pytest.param(_fail_router, "direct", "direct step failed: the gateway", id="router-direct"),
    ],
)
def test_a_failed_step_leaves_the_previous_routing_and_fails_the_new_deployment(
    replacing: Replacing, fault: Any, strategy: str, error: str
) -> None:
    story, old, version, _ = replacing
    routes = story.routes()
    fault(story.world)

    result = story.deploy(version, strategy=strategy)

    new = deployed_id(result)
    assert result["status"] == "failed"
    assert len(result["errors"]) == 1 and result["errors"][0].startswith(error)
    assert story.routes() == routes
    assert story.deployment(new).status == result["deployment_manifest"]["status"] == "failed"
    assert new not in story.world.serving.running
    assert story.deployment(old).status == "active" and old in story.world.serving.running
    assert story.world.stage_of(MODEL, "1") == story.world.stage_of(MODEL, version) == "production"
    episode = story.world.memory.last_episode(MODEL, episodes.DEPLOYMENT)
    assert episode is not None
    assert (episode["outcome"], episode["reasons"]) == (episodes.FAILED, result["errors"])
    with story.world.uow() as uow:
        assert uow.audit.list(new)[-1].action == "deploy_failed"


def test_a_server_that_started_but_failed_its_smoke_check_is_stopped(replacing: Replacing) -> None:
    story, _, version, _ = replacing
    story.world.serving.fail_smoke = True

    result = story.deploy(version, strategy="blue_green")

    new = deployed_id(result)
    assert new in story.world.serving.started and new in story.world.serving.stopped


def test_a_failed_first_deploy_leaves_no_routing_table(story: Story) -> None:
    version = story.in_production(mirrored=False)
    story.world.router.fail = True

    result = story.deploy(version)

    assert result["status"] == "failed" and story.routes() is None
    assert deployed_id(result) not in story.world.serving.running


def test_the_graph_reports_a_failed_deploy_and_the_use_case_raises_it(replacing: Replacing) -> None:
    story, _, version, _ = replacing
    story.world.serving.fail_start = True

    result = story.deploy(version)

    assert result["status"] == "failed"
    with pytest.raises(DeploymentFailedError, match="the previous routing is in place"):
        outcome(result)


# -- idempotency ------------------------------------------------------------------------------


def test_finishing_a_deploy_twice_in_one_run_writes_once(story: Story) -> None:
    version = story.in_production(mirrored=False)
    compiled = build_graph(story.world.deps).compile(checkpointer=InMemorySaver())
    request = InputState(action="deploy", model_name=MODEL, version=version, requested_by=REQUESTER)
    done, state = run_once(compiled, request)
    before, operations = story.footprint(), story.operation_count(state.run_id)
    remembered = story.world.memory.episodes(MODEL, episodes.DEPLOYMENT)

    again = compiled.nodes["finish_deploy"].invoke(state)

    assert again["deployment_manifest"] == done["deployment_manifest"]
    assert story.footprint() == before
    assert story.operation_count(state.run_id) == operations
    assert len(story.world.memory.episodes(MODEL, episodes.DEPLOYMENT)) == len(remembered)


class Killed(Exception):
    """The deploy's process dies while it stops the mirror's server."""


def test_a_deploy_killed_while_stopping_the_mirror_leaves_it_marked_and_its_resume_clears_it(
    replacing: Replacing,
) -> None:
    story, _, version, mirror = replacing
    serving, stop = story.world.serving, story.world.serving.stop

    def killed(endpoint: Endpoint) -> None:
        if endpoint.deployment_id == mirror:
            raise Killed
        stop(endpoint)

    serving.stop = killed  # type: ignore[method-assign]
    with pytest.raises(Killed):
        story.agent.run(
            {
                "action": "deploy",
                "model_name": MODEL,
                "version": version,
                "strategy": "canary",
                "traffic": 10,
                "requested_by": REQUESTER,
            },
            thread_id="t-killed",
        )
    assert story.deployment(mirror).changing_run_id is not None
    serving.running.pop(mirror)  # the server went before the kill
    tick = story.agent.tick()
    assert [c for c in tick["monitor"]["checks"] if c["deployment_id"] == mirror] == []
    serving.stop = stop  # type: ignore[method-assign]

    resumed = story.agent.continue_run("t-killed")

    assert resumed["status"] == "deployed", resumed["errors"]
    row = story.deployment(mirror)
    assert (row.status, row.changing_run_id, row.changing_since) == ("rolled_back", None, None)
