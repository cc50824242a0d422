"""``@champion`` and ``@challenger`` follow the routing table through the graph (issue 15):
every flow that may change routes ends in ``move_aliases``; a registry that refuses the move
fails nothing, and the next tick puts the aliases right."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lifecycle.version_labels import UnknownVersionError
from tests.agent_fakes import make_world
from tests.unit.model_deployer_story import MODEL, Replacing, Story


@pytest.fixture(scope="module")
def given_replacing(tmp_path_factory: pytest.TempPathFactory) -> Replacing:
    return Story.over(make_world(tmp_path_factory.mktemp("aliases"))).replacing()


@pytest.fixture
def replacing(given_replacing: Replacing, tmp_path: Path) -> Replacing:
    """v1 serves every user; v2 is approved for production and mirrored."""
    cloned = given_replacing.cloned(tmp_path)
    world = cloned.story.world
    world.deps.policy = dataclasses.replace(
        world.deps.policy,
        rollback_overrides={"min_requests": 50},
        canary_step_seconds=30,
        warm_seconds=60,
    )
    return cloned


def aliases(story: Story) -> dict[str, str]:
    return dict(story.world.registry.aliases(MODEL))


def tick(story: Story, canary: str, stable: str, requests: int = 100, errors: int = 0) -> None:
    story.world.metrics.count(canary, requests, errors, 5.0)
    story.world.metrics.count(stable, requests * 9, 0, 5.0)
    story.world.clock.advance(seconds=31)
    story.agent.run({"action": "monitor", "requested_by": "cron"})


def canary_of(replacing: Replacing) -> tuple[Story, str, str]:
    story, stable, version = replacing.story, replacing.stable, replacing.version
    deployed = story.deploy(version, strategy="canary", traffic=10)
    assert deployed["status"] == "deployed", deployed["errors"]
    return story, stable, deployed["deployment_manifest"]["deployment_id"]


def test_during_a_canary_production_names_the_approved_version_and_champion_the_stable(
    replacing: Replacing,
) -> None:
    story, _, _ = canary_of(replacing)
    assert aliases(story) == {"production": "2", "champion": "1", "challenger": "2"}


def test_a_completed_canary_makes_its_version_the_champion(replacing: Replacing) -> None:
    story, stable, new = canary_of(replacing)
    for _ in range(3):
        tick(story, new, stable)
    assert aliases(story) == {"production": "2", "champion": "2"}


def test_a_rolled_back_canary_leaves_the_stable_version_the_champion(
    replacing: Replacing,
) -> None:
    story, stable, new = canary_of(replacing)
    tick(story, new, stable, requests=40, errors=8)
    assert story.deployment(new).status == "rolled_back"
    assert aliases(story)["champion"] == "1" and "challenger" not in aliases(story)


def test_a_registry_refusing_the_move_fails_no_rollout_and_the_next_tick_moves_them(
    replacing: Replacing,
) -> None:
    registry = replacing.story.world.registry
    registry.move_aliases(MODEL, {"champion": None, "challenger": None})
    registry.fail_on.add("move_aliases")
    story, _, new = canary_of(replacing)  # asserts the deploy finished
    assert aliases(story) == {"production": "2"}
    story.world.registry.fail_on.clear()
    story.world.metrics.count(new, 10, 0, 5.0)
    story.agent.run({"action": "monitor", "requested_by": "cron"})
    assert aliases(story) == {"production": "2", "champion": "1", "challenger": "2"}


def test_an_upstream_request_names_a_version_by_label_or_latest(tmp_path: Path) -> None:
    """The graph's intake resolves what an upstream agent sends (``version="1.2.0"``); the run
    carries the number, and a label the model does not have is refused before anything."""
    story = Story.over(make_world(tmp_path))
    first, second = story.world.register(), story.world.register()
    with story.world.uow() as uow:
        uow.models.get(MODEL, second).label = "1.2.0"
        uow.commit()
    by_label = story.promote("v1.2.0", "staging")
    assert (by_label["status"], by_label["version"]) == ("promoted", second)
    assert story.promote("latest", "shadow")["version"] == second
    assert story.world.registry.get_version(MODEL, first).stage.value == "development"
    with pytest.raises(
        UnknownVersionError, match=r"no version labelled 1\.3\.0 \(its labels: 1\.2\.0\)"
    ):
        story.promote("1.3.0", "staging")
