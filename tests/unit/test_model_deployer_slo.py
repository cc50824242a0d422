"""Service levels on every tick: a routed deployment no rollout owns is judged against its
model's objectives; a breach inside the guard window rolls back to the still-warm deployment it
replaced, after it only the command is proposed; few requests are inconclusive; and a warm
rollout's deployment is judged once, by the rollout, with its breaches among the gates."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from agents.model_deployer.monitor import MONITOR_ACTOR
from agents.queries.status import slo_proposals
from database.models import AuditEventRow
from lifecycle.routing import single
from lifecycle.slo import Objectives
from tests.agent_fakes import make_world
from tests.unit.model_deployer_story import MODEL, Replacing, Story


@pytest.fixture(scope="module")
def given_replacing(tmp_path_factory: pytest.TempPathFactory) -> Replacing:
    return Story.over(make_world(tmp_path_factory.mktemp("slo"))).replacing()


@dataclasses.dataclass
class Released:
    story: Story
    old: str
    new: str

    def traffic(self, requests: int, errors: int = 0, ms: float = 5.0) -> None:
        self.story.world.metrics.count(self.new, requests, errors, ms)

    def tick(self) -> dict[str, Any]:
        result = self.story.agent.run({"action": "monitor", "requested_by": "cron"})
        return result

    def check(self, result: dict[str, Any], dep: str | None = None) -> dict[str, Any]:
        found = [c for c in result["monitor"]["checks"] if c["deployment_id"] == (dep or self.new)]
        assert len(found) == 1, result["monitor"]["checks"]
        return found[0]

    def events(self, action: str) -> list[AuditEventRow]:
        with self.story.world.uow() as uow:
            return [e for e in uow.audit.list() if e.action == action]


def released(given: Replacing, tmp_path: Path, strategy: str, **extra: Any) -> Released:
    story, stable, version, _ = given.cloned(tmp_path)
    story.world.deps.policy = dataclasses.replace(
        story.world.deps.policy,
        slo=Objectives(error_rate=0.05, latency_factor=None, min_requests=20),
        slo_guard_seconds=3600,
        slo_window_seconds=60,
        warm_seconds=30,
        canary_step_seconds=0,
    )
    deployed = story.deploy(version, strategy=strategy, **extra)
    assert deployed["status"] == "deployed", deployed["errors"]
    return Released(story, stable, deployed["deployment_manifest"]["deployment_id"])


@pytest.fixture
def direct(given_replacing: Replacing, tmp_path: Path) -> Released:
    """v2 replaced v1 directly; v1 drains, kept warm."""
    return released(given_replacing, tmp_path, "direct")


def test_a_healthy_production_deployment_is_judged_and_left_alone(direct: Released) -> None:
    direct.traffic(100)

    check = direct.check(direct.tick())

    assert (check["action"], check["status"]) == ("observe", "passed")
    assert check["metrics"]["slo"]["window"]["requests"] == 100
    assert direct.story.routes() == single(MODEL, direct.new)
    assert direct.events("slo_breach") == []


def test_a_breach_inside_the_guard_window_rolls_back_to_the_warm_deployment(
    direct: Released,
) -> None:
    direct.traffic(100, errors=30)

    check = direct.check(direct.tick())

    assert (check["action"], check["target"]) == ("rollback", direct.old)
    assert check["outcome"].startswith(f"rolled back to {direct.old}")
    assert direct.story.routes() == single(MODEL, direct.old)
    [breach] = direct.events("slo_breach")
    assert breach.subject == direct.new and breach.actor == MONITOR_ACTOR
    assert breach.payload["objective"] == "error_rate"
    assert breach.payload["observed"] == pytest.approx(0.3) and breach.payload["limit"] == 0.05
    assert breach.payload["model"] == MODEL and breach.payload["summary"]
    assert direct.events("rolled_back") and direct.events("slo_rollback_proposed") == []


def test_a_breach_after_the_guard_window_only_proposes_the_rollback(direct: Released) -> None:
    direct.traffic(100)
    direct.tick()
    direct.story.world.clock.advance(hours=2)
    direct.traffic(100, errors=40)

    check = direct.check(direct.tick())
    again = direct.check(direct.tick())

    assert (check["action"], check["status"]) == ("observe", "failed")
    command = f"deployer rollback {MODEL} --to {direct.old} --reason 'SLO breach'"
    assert command in check["message"] and command in again["message"]
    assert direct.story.routes() == single(MODEL, direct.new)
    [proposed] = direct.events("slo_rollback_proposed")  # said once while the breach lasts
    assert proposed.payload["command"] == command
    assert len(direct.events("slo_breach")) == 1
    with direct.story.world.uow() as uow:  # what `deployer status` shows
        [shown] = slo_proposals(uow, MODEL)
    assert (shown["deployment_id"], shown["command"]) == (direct.new, command)


def test_a_breach_that_ends_is_said_once_too(direct: Released) -> None:
    direct.traffic(100)
    direct.tick()
    direct.story.world.clock.advance(hours=2)
    direct.traffic(100, errors=40)
    direct.tick()
    direct.story.world.clock.advance(seconds=120)
    direct.traffic(1000)

    assert direct.check(direct.tick())["status"] == "passed"
    direct.story.world.clock.advance(seconds=120)
    direct.traffic(1000)
    direct.tick()

    [recovered] = direct.events("slo_recovered")
    assert recovered.subject == direct.new and recovered.payload["model"] == MODEL


def test_too_few_requests_are_inconclusive_never_ok(direct: Released) -> None:
    direct.traffic(5, errors=5)

    check = direct.check(direct.tick())

    assert (check["action"], check["status"]) == ("observe", "inconclusive")
    assert direct.events("slo_breach") == []
    assert direct.story.routes() == single(MODEL, direct.new)


def test_a_model_s_own_objectives_override_the_defaults(direct: Released) -> None:
    with direct.story.world.uow() as uow:
        uow.slo.set_objectives(MODEL, {"error_rate": 0.5}, "alice", direct.story.world.clock.now())
        uow.commit()
    direct.traffic(100, errors=30)

    check = direct.check(direct.tick())

    assert (check["action"], check["status"]) == ("observe", "passed")
    assert check["metrics"]["slo"]["objectives"]["error_rate"] == 0.5


def test_a_warm_rollout_s_deployment_is_judged_once_by_the_rollout(
    given_replacing: Replacing, tmp_path: Path
) -> None:
    warm = released(given_replacing, tmp_path, "blue_green")
    warm.traffic(100, errors=30)
    # the rollout's own error-rate gate is far off: only the SLO can fail it
    warm.story.world.deps.policy = dataclasses.replace(
        warm.story.world.deps.policy, rollback_overrides={"error_rate_threshold": 0.9}
    )

    result = warm.tick()

    check = warm.check(result)  # one judgement of the new deployment
    assert check["action"] == "rollback" and check["target"] == warm.old
    assert check["metrics"]["slo"]["status"] == "failed"
    assert warm.story.routes() == single(MODEL, warm.old)
    assert len(warm.events("slo_breach")) == 1


def test_the_guard_window_keeps_the_replaced_deployment_warm_at_least_that_long(
    given_replacing: Replacing, tmp_path: Path
) -> None:
    warm = released(given_replacing, tmp_path, "blue_green")
    with warm.story.world.uow() as uow:
        rollout = uow.rollouts.find(warm.new)
        assert rollout is not None and rollout.warm_until is not None
        kept = (rollout.warm_until - rollout.step_started_at).total_seconds()
    assert kept == 3600
