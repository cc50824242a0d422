"""Two actors on one model at once: the agent's real graph over fakes for serving, on the real
SQLite and PostgreSQL state databases, with the interleaving forced by a hook.

Reported on PostgreSQL: with ``deployer watch --interval 1`` running, a canary deploy of a
version whose shadow deployment was running failed with ``ConflictError``: the deploy stopped
the shadow's server, the watcher's tick saw the process gone and rolled the shadow back, and
both wrote the same rows. A deployment being changed is marked before its server is touched,
and the monitor leaves it alone.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from agents.model_deployer import ModelDeployerAgent
from lifecycle.ports import Endpoint
from tests.agent_fakes import make_world
from tests.unit.model_deployer_story import Story

TICK_WAIT_SECONDS = 20.0
"""How long the stop waits for the watcher's tick (a tick blocked behind the deploy's open
transaction, as before the fix, would otherwise wait for the lock forever)."""


def test_a_tick_while_a_deploy_stops_the_shadow_leaves_the_shadow_to_the_deploy(
    database_url: str, tmp_path: Path
) -> None:
    world = make_world(tmp_path, url=database_url)
    story, _, version, mirror = Story.over(world).replacing()
    watcher = ModelDeployerAgent(world.deps)  # another actor: `deployer watch`'s tick
    ticks: list[Any] = []
    stop = world.serving.stop

    def stop_then_tick(endpoint: Endpoint) -> None:
        """The shadow's server goes, and the watcher ticks before the deploy goes on."""
        stop(endpoint)
        if endpoint.deployment_id != mirror or ticks:
            return

        def tick() -> None:
            try:
                ticks.append(watcher.tick())
            except Exception as exc:  # the tick's failure is the test's finding
                ticks.append(exc)

        thread = threading.Thread(target=tick, daemon=True)
        thread.start()
        thread.join(TICK_WAIT_SECONDS)
        if thread.is_alive():
            ticks.append("the tick waited on the deploy's transaction")

    world.serving.stop = stop_then_tick  # type: ignore[method-assign]

    deployed = story.deploy(version, strategy="canary", traffic=10)

    assert deployed["status"] == "deployed", deployed["errors"]
    [tick] = ticks
    assert isinstance(tick, dict), tick
    assert [c for c in tick["monitor"]["checks"] if c["deployment_id"] == mirror] == []
    row = story.deployment(mirror)
    assert (row.status, row.traffic_percentage) == ("rolled_back", 0.0)
    assert row.changing_run_id is None
    with world.uow() as uow:
        actions = [e.action for e in uow.audit.list()]
        rollout = uow.rollouts.find(mirror)
    assert "shadow_stopped" not in actions and "shadow_retired" in actions
    assert rollout is not None and rollout.phase == "completed"
    after = watcher.tick()
    assert [c for c in after["monitor"]["checks"] if c["deployment_id"] == mirror] == []
