"""Outlier ejection (issue 16): a canary failing one request in five behind a real gateway is
ejected by the gateway as soon as its errors are surely (at 99%) over its rollout's threshold (the
monitor's own test), users keep getting the stable answer, and the monitor, a real tick in
process over the figures the gateway flushed, still decides and records the rollback.

Real parts: the agent's graph over the real SQLite and PostgreSQL state databases, the real
router and metrics source (``DbRouter``, ``DbMetricsSource``), real aiohttp model servers, a
real gateway; the package builder and process starter are the fakes (the servers are this
test's own)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path

import aiohttp
import pytest

from database.routing import DbMetricsSource, DbRouter
from tests.agent_fakes import World, make_world
from tests.integration.test_gateway_isolation import _load
from tests.unit.model_deployer_story import MODEL, Story
from tests.upstreams import Answering, answering, gateway


def _over(world: World, **deps: object) -> World:
    return dataclasses.replace(world, deps=dataclasses.replace(world.deps, **deps))  # type: ignore[arg-type]


def _point_at(world: World, urls: dict[str, str]) -> None:
    """The deployments' recorded servers are these real ones (the fake started none)."""
    with world.uow() as uow:
        for deployment_id, url in urls.items():
            uow.deployments.get(deployment_id).endpoint_url = url
            endpoint = world.serving.running[deployment_id]
            world.serving.running[deployment_id] = dataclasses.replace(endpoint, url=url)
        uow.commit()


def test_a_failing_canary_is_ejected_and_the_monitor_records_the_rollback(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(tmp_path, url=database_url)
    world = _over(world, router=DbRouter(world.factory))
    replacing = Story.over(world).replacing()
    # from the canary on, the figures are the gateway's, through the state database
    world = _over(world, metrics=DbMetricsSource(world.factory))
    story = Story.over(world)
    deployed = story.deploy(replacing.version, strategy="canary", traffic=20)
    assert deployed["status"] == "deployed", deployed["errors"]
    canary = deployed["deployment_manifest"]["deployment_id"]
    stable = replacing.stable
    with world.uow() as uow:
        rollout = uow.rollouts.find(canary)
        assert rollout is not None and rollout.phase == "progressing"
        threshold = rollout.config["error_rate_threshold"]
    stable_server, canary_server = Answering(answer=0), Answering(answer=1, fail_every=5)

    async def traffic() -> dict[str, object]:
        async with answering(stable_server) as stable_url, answering(canary_server) as bad_url:
            _point_at(world, {stable: stable_url, canary: bad_url})
            async with gateway(world.factory, breaker_failures=1000) as running:
                answers = await _load(running.url, 400, 8, MODEL)
                assert [status for status, _ in answers] == [200] * 400
                async with aiohttp.ClientSession() as client:
                    stats = await running.stats(client)
                # the ejection was reported at once, not at the next flush (a minute away here)
                urgent = running.gateway._urgent_flush
                assert urgent is not None
                await urgent
                assert running.gateway.flushed_at is not None
        return stats

    with caplog.at_level(logging.WARNING, logger="deployer.gateway"):
        stats = asyncio.run(traffic())
    breakers = {b["deployment_id"]: b for b in stats["breakers"]}  # type: ignore[attr-defined]
    ejected = breakers[canary]
    assert ejected["ejected"] is True and ejected["state"] == "closed"  # ejection, not breaker
    # sure at the rollout's early-fail confidence (99%), long before its minimum of requests
    assert f"over {threshold:.2%} at 99% confidence" in ejected["ejected_reason"]
    assert ejected["skipped"] > 0 and canary_server.seen == ejected["requests"] < 80
    assert f"deployment {canary} of {MODEL} ejected: " in caplog.text

    tick = story.agent.tick()

    [check] = [c for c in tick["monitor"]["checks"] if c["deployment_id"] == canary]
    assert check["action"] == "rollback", check
    row = story.deployment(canary)
    assert (row.status, row.traffic_percentage) == ("rolled_back", 0.0)
    with world.uow() as uow:
        actions = [e.action for e in uow.audit.list()]
    assert actions[-1] == "rolled_back", actions
    # the monitor judged the very figures the gateway ejected on, by the same test (a canary
    # call in flight when the gateway ejected ends after it: the monitor saw it too)
    assert check["metrics"]["candidate"]["errors"] == ejected["errors"]
    assert check["metrics"]["candidate"]["requests"] == ejected["requests"]
    reason = ejected["ejected_reason"].removeprefix("ejected: ")
    assert reason.split(": ", 1)[1] == check["message"].split(": ", 1)[1]
