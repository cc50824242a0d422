"""Deploys a crash left half done: the rollout opens before users reach the new deployment,
the deployment names its thread, and the watcher's healing resumes that thread or, when it
cannot, rolls the deployment back (its users back on the stable deployment, its server
stopped, recorded failed with the reason). The crash is a BaseException raised at the deploy's
failpoint, which the graph does not catch: its checkpoints stop there, as a kill's would."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agents.model_deployer import build_graph as deployer_graph
from agents.model_deployer import deploy as deploy_module
from agents.model_deployer.recovery import heal_stuck_deploys
from agents.supervisor import deployer_spec
from agents.supervisor.agent import SystemAgent
from agents.supervisor.spec import state_types
from database.models import RolloutRow
from lifecycle.handoff import AgentName
from lifecycle.records import utcnow
from lifecycle.routing import single, split
from lifecycle.supervision import RequestAction, RequestSource, SystemRequest
from memory.stores import open_checkpointer
from tests.agent_fakes import make_world
from tests.unit.model_deployer_story import MODEL, Replacing, Story


class Killed(BaseException):
    """The process dying at a failpoint."""


@pytest.fixture(scope="module")
def given_replacing(tmp_path_factory: pytest.TempPathFactory) -> Replacing:
    return Story.over(make_world(tmp_path_factory.mktemp("recovery"))).replacing()


@pytest.fixture
def killed_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The failpoints that kill the run (a test appends the one it wants)."""
    points: list[str] = []

    def failpoint(name: str) -> None:
        if name in points:
            points.remove(name)
            raise Killed(name)

    monkeypatch.setattr(deploy_module, "failpoint", failpoint)
    yield points


@dataclasses.dataclass
class Crashed:
    story: Story
    stable: str
    new: str
    thread: str
    at: datetime

    def heal(self, after_seconds: float = 0.0) -> list[dict[str, Any]]:
        """The watcher's healing with the clock ``after_seconds`` past the crash."""
        self.story.world.clock.moment = self.at + timedelta(seconds=after_seconds)
        return heal_stuck_deploys(self.story.agent, MODEL)

    def rollout(self) -> RolloutRow | None:
        with self.story.world.uow() as uow:
            return uow.rollouts.find(self.new)


def crash(given: Replacing, tmp_path: Path, killed_at: list[str], point: str) -> Crashed:
    """v1 serves every user; a canary of v2 killed at ``point`` (on a copy of ``given``)."""
    return crash_on(given.cloned(tmp_path), killed_at, point)


def crash_on(given: Replacing, killed_at: list[str], point: str) -> Crashed:
    """v1 serves every user; a canary of v2 killed at ``point`` (in ``given`` itself)."""
    story, stable, version, _ = given
    story.world.deps.policy = dataclasses.replace(story.world.deps.policy, stuck_deploy_seconds=120)
    killed_at.append(point)
    thread = f"crash-{point}"
    with pytest.raises(Killed):
        story.agent.run(
            {
                "action": "deploy",
                "model_name": MODEL,
                "version": version,
                "strategy": "canary",
                "traffic": 10,
                "requested_by": "alice",
            },
            thread,
        )
    (new,) = [d.deployment_id for d in story.deployments() if d.status == "deploying"]
    at = max(story.world.clock.moment, utcnow())  # the story's clock ran ahead of the wall's
    return Crashed(story, stable, new, thread, at)


def test_a_routed_canary_has_its_rollout_and_its_thread_the_moment_users_reach_it(
    given_replacing: Replacing, tmp_path: Path, killed_at: list[str]
) -> None:
    crashed = crash(given_replacing, tmp_path, killed_at, "deploy.routed")

    assert crashed.story.routes() == split(MODEL, crashed.stable, crashed.new, 10)
    rollout = crashed.rollout()
    assert rollout is not None
    assert (rollout.phase, rollout.baseline_deployment_id) == ("progressing", crashed.stable)
    row = crashed.story.deployment(crashed.new)
    assert (row.status, row.thread_id) == ("deploying", crashed.thread)


def test_a_stuck_deploy_within_its_deadline_is_left_to_run(
    given_replacing: Replacing, tmp_path: Path, killed_at: list[str]
) -> None:
    crashed = crash(given_replacing, tmp_path, killed_at, "deploy.routed")
    before = crashed.story.footprint()

    assert crashed.heal(after_seconds=60) == []
    assert crashed.story.footprint() == before


@pytest.mark.parametrize("point", ["deploy.endpoint_started", "deploy.routed"])
def test_a_stuck_deploy_past_its_deadline_is_resumed_to_a_judged_canary(
    given_replacing: Replacing, tmp_path: Path, killed_at: list[str], point: str
) -> None:
    crashed = crash(given_replacing, tmp_path, killed_at, point)

    (healed,) = crashed.heal(after_seconds=600)

    assert (healed["deployment_id"], healed["action"]) == (crashed.new, "resume")
    assert healed["outcome"] == "resumed: the deploy ended deployed."
    row = crashed.story.deployment(crashed.new)
    assert (row.status, row.changing_run_id) == ("active", None)
    assert crashed.story.routes() == split(MODEL, crashed.stable, crashed.new, 10)
    rollout = crashed.rollout()
    assert rollout is not None and rollout.phase == "progressing"
    assert crashed.heal(after_seconds=1200) == [], "a healed deploy is not healed again"


def test_a_stuck_deploy_whose_thread_cannot_be_resumed_is_rolled_back_with_the_reason(
    given_replacing: Replacing, tmp_path: Path, killed_at: list[str]
) -> None:
    crashed = crash(given_replacing, tmp_path, killed_at, "deploy.routed")
    with crashed.story.world.uow() as uow:
        uow.deployments.get(crashed.new).thread_id = None  # e.g. an upstream agent's thread
        uow.commit()

    (healed,) = crashed.heal(after_seconds=600)

    assert healed["action"] == "rollback"
    assert healed["message"].endswith("; its thread cannot be resumed")
    assert crashed.story.routes() == single(MODEL, crashed.stable)
    row = crashed.story.deployment(crashed.new)
    assert (row.status, row.traffic_percentage, row.changing_run_id) == ("failed", 0.0, None)
    assert crashed.new not in crashed.story.world.serving.running
    rollout = crashed.rollout()
    assert rollout is not None and rollout.phase == "failed"
    with crashed.story.world.uow() as uow:
        (check,) = [c for c in uow.health_checks.list(crashed.new) if c.action == "rollback"]
        events = [e.action for e in uow.audit.list(crashed.new)]
    assert check.message.startswith("deploying with no progress for ")
    assert "stuck_deploy_rollback" in events
    assert crashed.heal(after_seconds=1200) == []


def test_a_resume_that_breaks_is_followed_by_a_rollback_with_both_reasons(
    given_replacing: Replacing,
    tmp_path: Path,
    killed_at: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crashed = crash(given_replacing, tmp_path, killed_at, "deploy.routed")

    def broken(thread_id: str) -> dict[str, Any]:
        raise RuntimeError("the checkpoint store is unreachable")

    monkeypatch.setattr(crashed.story.agent, "continue_run", broken)

    (healed,) = crashed.heal(after_seconds=600)

    assert healed["action"] == "rollback"
    assert healed["message"].endswith("; its resume did not finish it")
    assert healed["outcome"] == (
        "resumed, but it broke: the checkpoint store is unreachable; "
        f"rolled back: its users went back to {crashed.stable}; its server stopped"
    )
    assert crashed.story.routes() == single(MODEL, crashed.stable)
    assert crashed.story.deployment(crashed.new).status == "failed"


@pytest.mark.parametrize("point", ["deploy.endpoint_started", "deploy.routed"])
def test_a_deploy_the_system_graph_started_is_resumed_on_its_system_thread(
    given_replacing: Replacing, tmp_path: Path, killed_at: list[str], point: str
) -> None:
    """Every request goes through the supervisor, so a deployment names the SYSTEM thread:
    the watcher's healing takes it up through the system graph (the deployer inside it
    resumes from its own checkpoint), not through the deployer's threads, where it would
    find nothing to resume and roll a healthy canary back."""
    story, stable, version, _ = given_replacing.cloned(tmp_path)
    story.world.deps.policy = dataclasses.replace(story.world.deps.policy, stuck_deploy_seconds=120)
    agents = {AgentName.DEPLOYER: deployer_spec(deployer_graph(story.world.deps).compile())}
    url = f"sqlite:///{tmp_path / 'system-checkpoints.db'}"
    with open_checkpointer(url, state_types(agents.values())) as saver:
        system = SystemAgent(agents, saver)
        killed_at.append(point)
        asked = {"version": version, "strategy": "canary", "traffic": 10}
        with pytest.raises(Killed):
            system.run(
                SystemRequest(
                    source=RequestSource.CLI,
                    action=RequestAction.DEPLOY,
                    model_name=MODEL,
                    requested_by="alice",
                    args=asked,
                ),
                "system-crashed",
            )
        (new,) = [d.deployment_id for d in story.deployments() if d.status == "deploying"]
        assert story.deployment(new).thread_id == "system-crashed"
        assert system.deploy_thread("system-crashed")[0], "a deploy cut short can be taken up"
        story.world.clock.moment = max(story.world.clock.moment, utcnow()) + timedelta(minutes=10)

        (healed,) = heal_stuck_deploys(story.agent, MODEL, system)

        assert (healed["deployment_id"], healed["action"]) == (new, "resume")
        assert healed["outcome"] == "resumed: the deploy ended deployed."
        assert story.deployment(new).status == "active"
        assert story.routes() == split(MODEL, stable, new, 10)
        assert not system.deploy_thread("system-crashed")[0], "a finished deploy is not again"
        assert heal_stuck_deploys(story.agent, MODEL, system) == []
