"""A deploy's resources (issue 17): read once by the intake, written to the deployment's row and
manifest, handed to the serving backend, and kept by a rollback that starts the version again."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from agents.commands import Deploy
from agents.supervisor.intake import request_from_command
from lifecycle.ports import Endpoint
from lifecycle.resources import Autoscale, InvalidResourcesError, Resources
from lifecycle.supervision import RequestSource, first_handoff
from tests.agent_fakes import FakeServing, World, make_world
from tests.unit.model_deployer_story import MODEL, Story

ASKED = {"replicas": 2, "cpu": "500m", "memory": "512Mi", "autoscale": "1:4"}
RESOURCES = Resources(2, 0.5, 512 * 1024**2, Autoscale(1, 4))
COLUMNS = {
    "replicas": 2,
    "cpu_limit": "0.5",
    "memory_limit": "512Mi",
    "autoscaling": {"min_replicas": 1, "max_replicas": 4, "target_ongoing_requests": 2.0},
}


class LimitsServing(FakeServing):
    """A backend that honours limits and autoscaling (as Ray Serve does); it keeps what each
    deployment was started with."""

    def __init__(self, world: World) -> None:
        super().__init__(world.registry)
        self.asked: dict[str, Resources] = {}

    def start(self, deployment_id: str, bento_tag: str, resources: Resources) -> Endpoint:
        self.asked[deployment_id] = resources
        return super().start(deployment_id, bento_tag, Resources(resources.replicas))


@pytest.fixture
def world(tmp_path: Path) -> World:
    plain = make_world(tmp_path)
    serving = LimitsServing(plain)
    return dataclasses.replace(
        plain, serving=serving, deps=dataclasses.replace(plain.deps, serving=serving)
    )


@pytest.fixture
def story(world: World) -> Story:
    return Story.over(world)


def columns(story: Story, deployment_id: str) -> dict[str, Any]:
    row = story.deployment(deployment_id)
    return {key: getattr(row, key) for key in COLUMNS}


def test_a_deploy_writes_what_it_asked_for_to_its_row_and_manifest_and_starts_with_it(
    story: Story, world: World
) -> None:
    version = story.in_production(mirrored=False)

    result = story.deploy(version, **ASKED)

    assert result["status"] == "deployed", result["errors"]
    manifest = result["deployment_manifest"]
    assert {key: manifest[key] for key in COLUMNS} == COLUMNS
    assert columns(story, manifest["deployment_id"]) == COLUMNS
    assert isinstance(world.serving, LimitsServing)
    assert world.serving.asked[manifest["deployment_id"]] == RESOURCES


def test_the_intake_keeps_the_canonical_text_of_each_figure(story: Story) -> None:
    version = story.in_production(mirrored=False)

    result = story.deploy(version, cpu="1500m", memory="1024Mi", autoscale="2:8:1.50", replicas=3)

    assert (result["cpu"], result["memory"], result["autoscale"]) == ("1.5", "1Gi", "2:8:1.5")
    row = story.deployment(result["deployment_manifest"]["deployment_id"])
    assert (row.cpu_limit, row.memory_limit, row.replicas) == ("1.5", "1Gi", 3)


@pytest.mark.parametrize(
    ("asked", "words"),
    [
        ({"cpu": "lots"}, "cpu must"),
        ({"memory": "12XB"}, "memory must"),
        ({"autoscale": "4:1"}, "autoscale needs"),
        ({"replicas": 0}, "replicas must"),
        ({"replicas": 9, "autoscale": "1:4"}, "must lie within"),
    ],
)
def test_a_malformed_figure_is_refused_by_the_intake_and_nothing_is_written(
    story: Story, asked: dict[str, Any], words: str
) -> None:
    version = story.in_production(mirrored=False)
    audited = story.audit_count()

    with pytest.raises(InvalidResourcesError, match=words):
        story.deploy(version, **asked)

    assert story.deployments() == [] and story.audit_count() == audited
    assert story.routes() is None


def test_a_rollback_that_starts_the_old_version_again_gives_it_its_own_resources(
    story: Story, world: World
) -> None:
    first = story.in_production(mirrored=False)
    stable = story.deploy(first, **ASKED)["deployment_manifest"]["deployment_id"]
    second, _ = story.shadow_deployed()
    world.clock.advance(hours=25)
    assert story.answer(story.promote(second, "production"))["status"] == "promoted"
    story.deploy(second, strategy="rolling")  # stops the old server: nothing warm to go back to

    result = story.rollback()

    restored = result["active_deployment_id"]
    assert restored not in (None, stable) and result["rollback"]["warm"] is False
    assert isinstance(world.serving, LimitsServing)
    assert world.serving.asked[restored] == RESOURCES
    assert columns(story, restored) == COLUMNS


def test_the_system_request_carries_the_figures_as_asked_to_the_deployer() -> None:
    command = Deploy(model_name=MODEL, version="2", cpu="0.5", memory="512Mi", autoscale="1:4")

    handoff = first_handoff(request_from_command(command, RequestSource.CLI, "alice"))

    asked = {k: handoff.request[k] for k in ("replicas", "cpu", "memory", "autoscale")}
    assert asked == {"replicas": 1, "cpu": "0.5", "memory": "512Mi", "autoscale": "1:4"}
    plain = first_handoff(request_from_command(Deploy(model_name=MODEL, version="2"), "cli"))
    assert not {"cpu", "memory", "autoscale"} & set(plain.request)


def test_a_dead_stable_server_restarted_by_the_monitor_gets_its_own_resources_again(
    story: Story, world: World
) -> None:
    first = story.in_production(mirrored=False)
    stable = story.deploy(first, **ASKED)["deployment_manifest"]["deployment_id"]
    assert isinstance(world.serving, LimitsServing)
    del world.serving.asked[stable]
    world.serving.running.pop(stable)  # the server died

    result = story.agent.run({"action": "monitor", "requested_by": "cron"})

    [check] = result["monitor"]["checks"]
    assert (check["deployment_id"], check["action"]) == (stable, "restart")
    assert world.serving.asked[stable] == RESOURCES
