"""The rollback flow: one routing-table switch back to the previous production deployment,
instant when it is still warm; undone versions go back to development; memory learns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.model_deployer import InputState, build_graph
from agents.model_deployer.rollback import RollbackNodes
from lifecycle.errors import BadInputError, RollbackFailedError
from lifecycle.ports import Routes
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


def test_a_canary_is_rolled_back_to_the_stable_deployment(replacing: Replacing) -> None:
    story, stable, version, _ = replacing
    canary = story.deploy(version, strategy="canary")["deployment_manifest"]["deployment_id"]
    started = list(story.world.serving.started)

    result = story.rollback(reason="error rate 4% > 1%")

    assert (result["status"], result["rollback_successful"]) == ("rolled_back", True)
    assert result["active_deployment_id"] == stable
    assert story.routes() == single(MODEL, stable)
    undone = story.deployment(canary)
    assert (undone.status, undone.traffic_percentage) == ("rolled_back", 0.0)
    assert undone.rolled_back_at is not None
    assert canary in story.world.serving.stopped and canary not in story.world.serving.running
    assert story.world.serving.started == started
    restored = story.deployment(stable)
    assert (restored.status, restored.traffic_percentage) == ("active", 100.0)
    assert story.world.stage_of(MODEL, version) == story.registry_stage(version) == "development"
    assert story.world.stage_of(MODEL, "1") == story.registry_stage("1") == "production"
    record = result["version_record"]
    assert (record["version"], record["to_stage"], record["reason"]) == (
        version,
        "development",
        "rolled back: error rate 4% > 1%",
    )


def test_after_a_full_switch_the_warm_old_deployment_is_restored_instantly(
    replacing: Replacing,
) -> None:
    story, stable, version, _ = replacing
    switched = story.deploy(version, strategy="direct")["deployment_manifest"]["deployment_id"]
    assert story.deployment(stable).status == "draining"
    started = list(story.world.serving.started)

    result = story.rollback(reason="wrong answers")

    assert result["active_deployment_id"] == stable
    assert result["rollback"]["warm"] is True
    assert story.world.serving.started == started
    assert story.routes() == single(MODEL, stable)
    restored = story.deployment(stable)
    assert (restored.status, restored.traffic_percentage, restored.drained_at) == (
        "active",
        100.0,
        None,
    )
    assert story.deployment(switched).status == "rolled_back"
    assert story.world.stage_of(MODEL, "1") == story.registry_stage("1") == "production"
    assert story.world.stage_of(MODEL, version) == story.registry_stage(version) == "development"
    with story.world.uow() as uow:
        restore = uow.version_records.list_for(MODEL, "1")[-1]
        actions = [e.action for e in uow.audit.list()]
    assert (restore.from_stage, restore.to_stage) == ("archived", "production")
    assert "stage_restored" in actions and actions[-1] == "rolled_back"


def _stopped_by_rolling(story: Story, version: str, stable: str) -> None:
    story.deploy(version, strategy="rolling")


def _died_while_draining(story: Story, version: str, stable: str) -> None:
    story.deploy(version, strategy="blue_green")
    del story.world.serving.running[stable]


@pytest.mark.parametrize("gone", [_stopped_by_rolling, _died_while_draining])
def test_when_the_old_server_is_gone_its_version_is_started_again_then_switched_to(
    replacing: Replacing, gone: Callable[[Story, str, str], None]
) -> None:
    story, stable, version, _ = replacing
    gone(story, version, stable)

    result = story.rollback()

    restored = result["active_deployment_id"]
    assert restored not in (None, stable) and result["rollback"]["warm"] is False
    assert story.world.serving.started[-1] == restored
    assert story.routes() == single(MODEL, restored)
    row = story.deployment(restored)
    assert (row.model_version, row.status, row.traffic_percentage) == ("1", "active", 100.0)
    assert row.endpoint_url is not None
    assert story.world.stage_of(MODEL, "1") == story.registry_stage("1") == "production"


def test_a_failed_restart_of_the_old_version_is_a_failed_rollback(replacing: Replacing) -> None:
    story, _, version, _ = replacing
    switched = story.deploy(version, strategy="rolling")["deployment_manifest"]["deployment_id"]
    story.world.serving.fail_start = True

    with pytest.raises(RollbackFailedError, match="could not start v1 again"):
        story.rollback()

    assert story.routes() == single(MODEL, switched)
    assert story.world.stage_of(MODEL, version) == "production"


def test_rolling_back_a_shadow_stops_only_the_mirror(story: Story) -> None:
    _, stable = story.serving()
    _, mirror = story.shadow_deployed()
    started = list(story.world.serving.started)

    result = story.rollback(reason="disagrees too often")

    assert result["active_deployment_id"] == stable
    assert story.routes() == single(MODEL, stable)
    assert story.world.serving.stopped == [mirror]
    assert story.world.serving.started == started
    assert story.deployment(mirror).status == "rolled_back"
    assert story.deployment(stable).status == "active" and stable in story.world.serving.running


def test_rolling_back_a_canary_keeps_another_versions_mirror(replacing: Replacing) -> None:
    story, stable, version, _ = replacing
    mirrored, mirror = story.shadow_deployed()
    story.deploy(version, strategy="canary")  # newer than the mirror: it is what is undone

    story.rollback(reason="error rate 4% > 1%")

    assert story.routes() == Routes(MODEL, {stable: 100.0}, mirror, 100.0, stable)
    assert mirror in story.world.serving.running
    assert story.world.stage_of(MODEL, mirrored) == "shadow"


def test_with_nothing_routed_there_is_nothing_to_roll_back(story: Story) -> None:
    version = story.world.register()
    story.promote(version, "staging")
    story.deploy(version)
    before = story.footprint()

    with pytest.raises(RollbackFailedError, match="nothing to roll back"):
        story.rollback()

    assert story.footprint() == before


def test_the_only_production_deployment_has_nothing_to_roll_back_to(story: Story) -> None:
    story.serving()
    before = story.footprint()

    with pytest.raises(RollbackFailedError, match="nothing to roll back"):
        story.rollback()

    assert story.footprint() == before


def test_a_deployment_that_never_served_cannot_be_rolled_back_to(replacing: Replacing) -> None:
    story, _, version, _ = replacing
    story.world.serving.fail_start = True
    failed = story.deploy(version)["deployment_manifest"]["deployment_id"]
    story.world.serving.fail_start = False
    before = story.footprint()

    with pytest.raises(RollbackFailedError, match="never served"):
        story.rollback(deployment_id=failed)

    assert story.footprint() == before


def test_a_staging_deployment_cannot_be_rolled_back_to_and_nothing_changes(story: Story) -> None:
    story.serving()
    version = story.world.register()
    story.promote(version, "staging")
    staging = story.deploy(version)["deployment_manifest"]["deployment_id"]
    before = story.footprint()

    with pytest.raises(RollbackFailedError, match="never served"):
        story.rollback(deployment_id=staging)

    assert story.footprint() == before


def test_a_rollback_makes_the_next_advice_conservative_and_names_the_episode(
    replacing: Replacing,
) -> None:
    story, _, version, _ = replacing
    canary = story.deploy(version, strategy="canary")

    story.rollback(reason="p99 doubled")

    advice = story.world.memory.advice(MODEL)
    assert advice.rollback_preset == "conservative"
    assert advice.canary_steps is not None and advice.canary_steps[0] == 1
    assert advice.reason is not None
    assert f"{canary['run_id']}:{episodes.DEPLOYMENT}" in advice.reason
    assert "p99 doubled" in advice.reason
    remembered = story.world.memory.last_episode(MODEL, episodes.ROLLBACK)
    assert remembered is not None and remembered["outcome"] == episodes.SUCCEEDED


def test_recording_a_rollback_twice_in_one_run_writes_once(replacing: Replacing) -> None:
    story, _, version, _ = replacing
    story.deploy(version, strategy="canary")
    compiled = build_graph(story.world.deps).compile(checkpointer=InMemorySaver())
    request = InputState(action="rollback", model_name=MODEL, requested_by=REQUESTER)
    done, state = run_once(compiled, request)
    before, operations = story.footprint(), story.operation_count(state.run_id)

    again = RollbackNodes(story.world.deps).record(state)

    assert again["version_record"] == done["version_record"]
    assert story.footprint() == before
    assert story.operation_count(state.run_id) == operations
    assert len(story.world.memory.episodes(MODEL, episodes.ROLLBACK)) == 1


def test_a_seed_request_naming_the_deployment_to_undo_takes_that_canary_out_of_service(
    replacing: Replacing,
) -> None:
    """Seed 004's rollback names the deployment to undo (``current_deployment_id``); it must
    never send users to it."""
    story, stable, version, _ = replacing
    canary = story.deploy(version, strategy="canary")["deployment_manifest"]["deployment_id"]

    result = story.rollback(current_deployment_id=canary, reason="seed 004 contract")

    assert (result["status"], result["active_deployment_id"]) == ("rolled_back", stable)
    assert story.routes() == single(MODEL, stable)
    assert story.deployment(canary).status == "rolled_back"


def test_going_back_to_the_canary_being_rolled_back_is_refused_and_nothing_changes(
    replacing: Replacing,
) -> None:
    story, _, version, _ = replacing
    canary = story.deploy(version, strategy="canary")["deployment_manifest"]["deployment_id"]
    routes, before = story.routes(), story.footprint()

    with pytest.raises(RollbackFailedError, match=f"use --undo {canary}"):
        story.rollback(deployment_id=canary)

    assert (story.routes(), story.footprint()) == (routes, before)


def test_a_rollback_naming_both_the_target_and_the_deployment_to_undo_is_refused(
    replacing: Replacing,
) -> None:
    story, stable, version, _ = replacing
    canary = story.deploy(version, strategy="canary")["deployment_manifest"]["deployment_id"]
    routes, before = story.routes(), story.footprint()

    with pytest.raises(BadInputError, match="not both"):
        story.rollback(deployment_id=stable, current_deployment_id=canary)

    assert (story.routes(), story.footprint()) == (routes, before)
