"""The monitoring tick: every open rollout is judged on its current step's requests, the
judgement is recorded, and the tick advances, completes, retires or rolls back."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from agents.model_deployer import rollback as rollback_module
from agents.model_deployer.changes import mark
from agents.model_deployer.monitor import MONITOR_ACTOR
from database.models import HealthCheckRow, RolloutRow
from lifecycle.ports import Endpoint
from lifecycle.routing import single, split
from memory import episodes
from tests.agent_fakes import make_world
from tests.unit.model_deployer_story import MODEL, Replacing, Story


@pytest.fixture(scope="module")
def given_replacing(tmp_path_factory: pytest.TempPathFactory) -> Replacing:
    return Story.over(make_world(tmp_path_factory.mktemp("monitor"))).replacing()


@pytest.fixture
def canary(given_replacing: Replacing, tmp_path: Path) -> Canary:
    """v1 serves 90%, v2 takes 10% as the first step of a canary held to a small minimum."""
    story, stable, version, _ = given_replacing.cloned(tmp_path)
    world = story.world
    world.deps.policy = dataclasses.replace(
        world.deps.policy,
        rollback_overrides={"min_requests": 50, "latency_multiplier": 2.0},
        canary_step_seconds=30,
        warm_seconds=60,
    )
    deployed = story.deploy(version, strategy="canary", traffic=10)
    assert deployed["status"] == "deployed", deployed["errors"]
    return Canary(story, stable, deployed["deployment_manifest"]["deployment_id"], version)


@dataclasses.dataclass
class Canary:
    story: Story
    stable: str
    new: str
    version: str

    def traffic(
        self, canary: int, errors: int = 0, ms: float = 5.0, stable_ms: float = 5.0
    ) -> None:
        """Requests the gateway counted since the last call: ``canary`` to the canary, nine
        times as many to the stable deployment."""
        self.story.world.metrics.count(self.new, canary, errors, ms)
        self.story.world.metrics.count(self.stable, canary * 9, 0, stable_ms)

    def tick(self) -> dict[str, Any]:
        return self.story.agent.run({"action": "monitor", "requested_by": "cron"})

    def check(self, result: dict[str, Any]) -> dict[str, Any]:
        [check] = [c for c in result["monitor"]["checks"] if c["deployment_id"] == self.new]
        return check

    def rollout(self) -> RolloutRow:
        with self.story.world.uow() as uow:
            row = uow.rollouts.find(self.new)
            assert row is not None
            return row

    def health(self) -> list[HealthCheckRow]:
        with self.story.world.uow() as uow:
            return uow.health_checks.list(self.new)


def test_a_canary_deploy_hands_its_remaining_steps_to_the_monitor(canary: Canary) -> None:
    rollout = canary.rollout()
    assert (rollout.phase, rollout.step_index) == ("progressing", 0)
    assert rollout.steps["weights"] == [10.0, 25.0, 50.0, 100.0]
    assert rollout.baseline_deployment_id == canary.stable
    assert rollout.config["min_requests"] == 50 and rollout.config["preset"] == "balanced"


def test_a_failing_canary_is_rolled_back_at_once_with_every_reason(canary: Canary) -> None:
    canary.traffic(40, errors=8)  # 20% errors: more than 1% of the 50 needed, already certain

    check = canary.check(canary.tick())

    assert (check["action"], check["status"]) == ("rollback", "failed")
    assert "8 errors in 40 requests" in check["message"]
    assert check["outcome"].startswith(f"rolled back to {canary.stable}")
    assert canary.story.routes() == single(MODEL, canary.stable)
    assert canary.story.deployment(canary.new).status == "rolled_back"
    assert canary.new not in canary.story.world.serving.running
    assert canary.rollout().phase == "rolled_back" and canary.rollout().pending is None
    assert canary.story.world.stage_of(MODEL, canary.version) == "development"
    [row] = canary.health()
    assert (row.status, row.action) == ("failed", "rollback")
    assert row.metrics["candidate"]["errors"] == 8
    episode = canary.story.world.memory.last_episode(MODEL, episodes.ROLLBACK)
    assert episode is not None and episode["requested_by"] == MONITOR_ACTOR
    assert "automatic" in episode["reasons"][0] and "8 errors" in episode["reasons"][0]


def test_a_canary_whose_p95_exceeds_the_multiplier_is_rolled_back(canary: Canary) -> None:
    canary.traffic(60, ms=20.0, stable_ms=5.0)  # 4x the baseline, the bound is 2x

    check = canary.check(canary.tick())

    assert check["action"] == "rollback"
    assert "p95" in check["message"] and "2x the baseline" in check["message"]
    assert canary.story.routes() == single(MODEL, canary.stable)


def test_too_little_traffic_is_inconclusive_and_never_advances(canary: Canary) -> None:
    canary.traffic(20)
    canary.story.world.clock.advance(seconds=600)  # the pause is long over

    check = canary.check(canary.tick())

    assert (check["action"], check["status"]) == ("wait", "inconclusive")
    assert "only 20 of the 50 requests" in check["message"]
    assert canary.rollout().step_index == 0
    assert canary.story.routes() == split(MODEL, canary.stable, canary.new, 10.0)
    assert [r.status for r in canary.health()] == ["inconclusive"]


def test_a_healthy_step_waits_out_its_pause_before_the_next(canary: Canary) -> None:
    canary.traffic(100)

    check = canary.check(canary.tick())

    assert (check["action"], check["status"]) == ("wait", "passed")
    assert "30 s of its pause left" in check["message"]
    assert canary.rollout().step_index == 0


def test_a_passing_canary_walks_every_step_completes_and_retires_the_old_after_warming(
    canary: Canary,
) -> None:
    seen = []
    for _ in range(3):
        canary.traffic(100)
        canary.story.world.clock.advance(seconds=31)
        check = canary.check(canary.tick())
        seen.append((check["action"], check["next_percent"]))
        assert canary.story.routes() is not None
    assert seen == [("advance", 25.0), ("advance", 50.0), ("complete", 100.0)]
    assert canary.story.routes() == single(MODEL, canary.new)
    assert canary.rollout().phase == "warm"
    assert canary.story.deployment(canary.stable).status == "draining"
    assert canary.stable in canary.story.world.serving.running  # warm for an instant rollback

    canary.traffic(100)
    canary.story.world.clock.advance(seconds=61)
    check = canary.check(canary.tick())

    assert check["action"] == "retire"
    assert canary.rollout().phase == "completed"
    assert canary.stable not in canary.story.world.serving.running
    assert canary.story.deployment(canary.stable).status == "rolled_back"
    assert canary.story.deployment(canary.new).traffic_percentage == 100.0
    assert [r.action for r in canary.health()] == ["advance", "advance", "complete", "retire"]
    assert canary.story.world.stage_of(MODEL, canary.version) == "production"


def test_a_warm_old_deployment_without_traffic_is_retired_on_its_last_step_s_figures(
    canary: Canary,
) -> None:
    """Once the canary takes all traffic the old deployment gets none: the warm phase judges
    the new one's requests since the switch against the old one's last step, not against the
    nothing it has served since (which held it warm for ever: "no p95 for the baseline")."""
    for _ in range(3):
        canary.traffic(100)
        canary.story.world.clock.advance(seconds=31)
        canary.tick()
    assert canary.rollout().phase == "warm"
    canary.story.world.metrics.count(canary.new, 100, 0, 5.0)  # all users, the old one none
    canary.story.world.clock.advance(seconds=61)

    check = canary.check(canary.tick())

    assert (check["action"], canary.rollout().phase) == ("retire", "completed"), check["message"]
    assert check["metrics"]["candidate"]["requests"] == 100
    assert check["metrics"]["baseline"]["requests"] == 900  # its last step's


def test_each_step_is_judged_only_on_its_own_requests(canary: Canary) -> None:
    canary.traffic(100)
    canary.story.world.clock.advance(seconds=31)
    assert canary.check(canary.tick())["action"] == "advance"
    canary.traffic(10)  # the 100 requests of step 1 do not count for step 2
    canary.story.world.clock.advance(seconds=31)

    check = canary.check(canary.tick())

    assert (check["action"], check["status"]) == ("wait", "inconclusive")
    assert check["metrics"]["candidate"]["requests"] == 10


def test_a_canary_whose_server_died_is_rolled_back_on_the_next_tick(canary: Canary) -> None:
    canary.story.world.serving.running.pop(canary.new)

    check = canary.check(canary.tick())

    assert check["action"] == "rollback" and "process is gone" in check["message"]
    assert canary.story.routes() == single(MODEL, canary.stable)
    assert canary.story.deployment(canary.new).status == "rolled_back"


def test_a_canary_a_run_is_changing_is_left_alone_until_the_mark_is_stale(canary: Canary) -> None:
    world = canary.story.world
    mark(world.deps, "deploy-in-flight", [canary.new])  # committed before it stops the server
    world.serving.running.pop(canary.new)

    left = canary.tick()

    assert [c for c in left["monitor"]["checks"] if c["deployment_id"] == canary.new] == []
    assert canary.story.deployment(canary.new).status == "active"
    world.clock.advance(seconds=world.deps.policy.change_mark_seconds)  # its run crashed

    check = canary.check(canary.tick())

    assert check["action"] == "rollback" and "process is gone" in check["message"]
    assert canary.story.deployment(canary.new).status == "rolled_back"


def test_a_tick_cut_short_while_rolling_back_leaves_marks_the_next_tick_finishes_under(
    canary: Canary,
) -> None:
    world = canary.story.world
    stop = world.serving.stop

    def cut_short(endpoint: Endpoint) -> None:
        raise RuntimeError("the watcher was killed")

    world.serving.stop = cut_short  # type: ignore[method-assign]
    canary.traffic(40, errors=8)
    first = canary.check(canary.tick())
    assert first["outcome"].startswith("could not rollback")
    assert canary.story.deployment(canary.new).changing_run_id.startswith("monitor:")
    world.serving.stop = stop  # type: ignore[method-assign]

    check = canary.check(canary.tick())

    assert check["action"] == "rollback" and "finishing the rollback" in check["message"]
    row = canary.story.deployment(canary.new)
    assert (row.status, row.changing_run_id) == ("rolled_back", None)
    assert canary.story.deployment(canary.stable).changing_run_id is None


def test_a_marked_stable_deployment_is_not_restarted_under_its_run(canary: Canary) -> None:
    canary.traffic(40, errors=8)
    canary.tick()  # back to v1 alone, which no rollout owns
    mark(canary.story.world.deps, "rollback-in-flight", [canary.stable])
    canary.story.world.serving.running.pop(canary.stable)

    assert canary.tick()["monitor"]["checks"] == []
    assert canary.stable not in canary.story.world.serving.running


def test_a_dead_stable_server_with_no_rollout_is_restarted_and_remembered(
    canary: Canary,
) -> None:
    canary.traffic(40, errors=8)
    canary.tick()  # back to v1 alone, which no rollout owns
    old = canary.story.world.serving.running.pop(canary.stable)

    result = canary.tick()

    [check] = result["monitor"]["checks"]
    assert (check["deployment_id"], check["action"]) == (canary.stable, "restart")
    restarted = canary.story.world.serving.running[canary.stable]
    assert restarted.port != old.port
    assert canary.story.deployment(canary.stable).endpoint_port == restarted.port
    episode = canary.story.world.memory.last_episode(MODEL, episodes.HEALTH)
    assert episode is not None and episode["action"] == "restart"


def test_a_rollback_a_killed_tick_decided_is_finished_by_the_next(canary: Canary) -> None:
    with canary.story.world.uow() as uow:
        row = uow.rollouts.find(canary.new)
        assert row is not None
        row.pending = {"run_id": "tick-1-killed", "reasons": ["error rate 20%"], "target": None}
        uow.commit()

    check = canary.check(canary.tick())

    assert check["action"] == "rollback" and "finishing the rollback" in check["message"]
    assert canary.story.routes() == single(MODEL, canary.stable)
    assert canary.rollout().phase == "rolled_back"


def test_a_decided_rollback_stores_its_plan_before_anything_is_undone(canary: Canary) -> None:
    canary.traffic(40, errors=8)
    canary.story.world.router.fail = True  # the switch cannot happen

    check = canary.check(canary.tick())

    assert check["outcome"].startswith("could not rollback: the gateway admin API")
    pending = canary.rollout().pending
    assert pending is not None and pending["plan"]["undo"] == [canary.new]
    assert pending["plan"]["restored"] == canary.stable
    assert pending["plan"]["decided_at"] == pending["decided_at"]
    assert canary.story.routes() == split(MODEL, canary.stable, canary.new, 10.0)


def test_the_next_tick_carries_out_the_stored_plan_through_the_rollback_flow(
    canary: Canary,
) -> None:
    canary.traffic(40, errors=8)
    canary.story.world.router.fail = True
    canary.tick()
    stored = canary.rollout().pending
    assert stored is not None
    canary.story.world.router.fail = False

    check = canary.check(canary.tick())

    assert check["outcome"].startswith(f"rolled back to {canary.stable}: automatic: ")
    assert canary.story.routes() == single(MODEL, canary.stable)
    assert (canary.rollout().phase, canary.rollout().pending) == ("rolled_back", None)
    with canary.story.world.uow() as uow:
        [event] = [e for e in uow.audit.list() if e.action == "rolled_back"]
    assert event.payload["decided_at"] == stored["decided_at"]
    assert event.payload["undone"] == [canary.new] and event.actor == MONITOR_ACTOR


def test_a_decided_rollback_is_planned_warm_on_the_gateways_figures_without_a_probe(
    canary: Canary, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary.traffic(40, errors=8)  # the stable answered 360 requests in the gateways' window
    probed: list[Endpoint] = []
    monkeypatch.setattr(canary.story.world.serving, "is_alive", probed.append)
    canary.story.world.router.fail = True  # the switch cannot happen: the decision stays stored

    canary.tick()

    pending = canary.rollout().pending
    assert pending is not None and pending["plan"]["warm"] is True
    assert pending["plan"]["restored"] == canary.stable == pending["plan"]["target"]
    assert pending["plan"]["decided_at"] == pending["decided_at"]
    assert probed == [], "the stable's own server was not asked: the gateways saw it answer"


def test_a_target_the_figures_cannot_vouch_for_is_asked_before_it_is_restored(
    canary: Canary, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary.story.world.metrics.count(canary.new, 40, 8)  # no figures of the stable at all
    probed: list[str] = []

    def is_alive(endpoint: Endpoint) -> bool:
        probed.append(endpoint.deployment_id)
        return False  # its server does not answer: started again

    monkeypatch.setattr(canary.story.world.serving, "is_alive", is_alive)
    canary.story.world.router.fail = True

    canary.tick()

    pending = canary.rollout().pending
    assert pending is not None and probed == [canary.stable]
    assert pending["plan"]["warm"] is False and pending["plan"]["restored"] != canary.stable


def test_a_watcher_killed_after_the_switch_leaves_the_next_tick_the_same_plan(
    canary: Canary, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Killed(BaseException):
        """The process dying at the failpoint."""

    def failpoint(name: str) -> None:
        if name == "rollback.switched":
            raise Killed(name)

    monkeypatch.setattr(rollback_module, "failpoint", failpoint)
    canary.traffic(40, errors=8)
    with pytest.raises(Killed):
        canary.tick()
    stored = canary.rollout().pending
    assert stored is not None and canary.story.routes() == single(MODEL, canary.stable)
    monkeypatch.undo()

    check = canary.check(canary.tick())

    assert check["outcome"].startswith(f"rolled back to {canary.stable}: automatic: ")
    assert (canary.rollout().phase, canary.rollout().pending) == ("rolled_back", None)
    with canary.story.world.uow() as uow:
        [event] = [e for e in uow.audit.list() if e.action == "rolled_back"]
    assert event.payload["decided_at"] == stored["decided_at"] == stored["plan"]["decided_at"]
    assert event.payload["restored"] == stored["plan"]["restored"] == canary.stable


def test_a_tick_with_nothing_to_watch_changes_nothing(canary: Canary) -> None:
    canary.story.rollback()  # v1 alone, alive: only its service levels are judged
    before = canary.story.footprint()

    result = canary.tick()

    assert result["status"] == "monitored"
    assert [(c["deployment_id"], c["action"]) for c in result["monitor"]["checks"]] == [
        (canary.stable, "observe")
    ]
    after = canary.story.footprint()
    assert after["deployments"] == before["deployments"]


def test_a_shadow_is_observed_and_its_agreement_recorded(
    given_replacing: Replacing, tmp_path: Path
) -> None:
    story, _, _, mirror = given_replacing.cloned(tmp_path)

    result = story.agent.run({"action": "monitor", "requested_by": "cron"})

    [check] = [c for c in result["monitor"]["checks"] if c["deployment_id"] == mirror]
    assert (check["action"], check["status"]) == ("observe", "passed")
    assert check["metrics"]["agreement"] == pytest.approx(199 / 200)
    gates = check["metrics"]["promotion_gates"]  # kept for the monitor agent, not acted on
    assert [g["gate"] for g in gates] == ["shadow_latency", "shadow_errors"]


def test_a_routed_deployment_still_being_deployed_is_left_to_its_deploy(canary: Canary) -> None:
    canary.traffic(40, errors=8)
    canary.tick()  # back to v1 alone, which no rollout owns
    with canary.story.world.uow() as uow:
        uow.deployments.get(canary.stable).status = "deploying"  # as a deploy in flight has it
        uow.commit()
    canary.story.world.serving.running.pop(canary.stable)

    result = canary.tick()

    assert result["monitor"]["checks"] == []
    assert canary.stable not in canary.story.world.serving.running


def test_a_slow_but_running_server_is_not_taken_for_dead(canary: Canary) -> None:
    serving = canary.story.world.serving
    serving.is_alive = lambda endpoint: False  # type: ignore[method-assign]  # readyz times out

    check = canary.check(canary.tick())

    assert check["action"] == "wait", check["message"]
    assert canary.new in serving.running


def test_a_canary_whose_gateway_stopped_reporting_is_rolled_back_after_the_stale_ticks(
    canary: Canary,
) -> None:
    """No data is not a pass: with the defaults (3 ticks, 30 s), the third tick 30 s after the
    last report rolls the canary back through the rollback flow, with that reason."""
    canary.traffic(20)
    canary.story.world.metrics.stop_reporting()
    actions = []
    for _ in range(3):
        canary.story.world.clock.advance(seconds=10)
        actions.append(canary.check(canary.tick())["action"])
    assert actions == ["wait", "wait", "rollback"]
    [*_, last] = canary.health()
    assert last.message == "figures stale: no gateway report for 3 ticks (30 s)"
    assert canary.story.routes() == single(MODEL, canary.stable)
    assert canary.story.deployment(canary.new).status == "rolled_back"
    assert canary.rollout().phase == "rolled_back"
    with canary.story.world.uow() as uow:  # the alerts' outbox says it once
        [stale] = [e for e in uow.audit.list() if e.action == "stale_figures"]
    assert stale.subject == canary.new and stale.payload["model"] == MODEL
    assert stale.payload["summary"].startswith(f"{MODEL} {canary.new}: figures stale")


def test_quick_ticks_between_two_reports_are_not_silence(canary: Canary) -> None:
    canary.traffic(20)
    canary.story.world.metrics.stop_reporting()
    for _ in range(6):
        canary.story.world.clock.advance(seconds=1)
        assert canary.check(canary.tick())["action"] == "wait"
    assert canary.story.routes() == split(MODEL, canary.stable, canary.new, 10.0)


def test_a_canary_its_gateway_keeps_reporting_waits_however_long_it_lacks_requests(
    canary: Canary,
) -> None:
    for _ in range(4):
        canary.story.world.clock.advance(seconds=600)
        assert canary.check(canary.tick())["action"] == "wait"
