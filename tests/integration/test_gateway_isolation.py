"""Isolation per upstream (issue 16): a hung canary behind a real gateway, under concurrent
load, costs the stable deployment nothing, opens its breaker, and its users get the stable
answer. Real upstreams (an aiohttp model server, an asyncio server that accepts connections
and never answers), a real gateway in process, a real SQLite state database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.integration.db_helpers import migrated_factory
from tests.upstreams import (
    MODEL,
    Answering,
    Hung,
    RunningGateway,
    answering,
    gateway,
    hung,
    routed,
)

REQUESTS, CONCURRENCY = 300, 24


async def _load(
    url: str, requests: int, concurrency: int, model: str = MODEL
) -> list[tuple[int, str]]:
    """``requests`` predictions, ``concurrency`` at a time: (status, deployment) of each."""
    queue = iter(range(requests))
    answers: list[tuple[int, str]] = []
    async with aiohttp.ClientSession() as client:

        async def user() -> None:
            for _ in queue:
                async with client.post(
                    f"{url}/v1/models/{model}/predict", json={"inputs": [[1, 2, 3, 4]]}
                ) as answer:
                    await answer.read()
                    answers.append((answer.status, answer.headers.get("X-Deployment-Id", "")))

        await asyncio.gather(*(user() for _ in range(concurrency)))
    return answers


async def _settled(running: RunningGateway, canary: str) -> dict[str, Any]:
    """The gateway's stats once every canary call it made has ended (a hedged one runs on
    to its read deadline after its user got the stable answer), within 30 s."""
    async with aiohttp.ClientSession() as client:
        for _ in range(300):
            stats = await running.stats(client)
            if not running.gateway._late:
                return stats
            await asyncio.sleep(0.1)
    raise AssertionError(f"the canary {canary}'s late calls did not end: {stats}")


def test_a_hung_canary_opens_its_breaker_and_no_stable_request_fails(tmp_path: Path) -> None:
    factory = migrated_factory(f"sqlite:///{tmp_path / 'state.db'}")
    stable_server, hung_server = Answering(), Hung()

    async def story() -> tuple[list[tuple[int, str]], list[dict[str, Any]], str, str]:
        async with answering(stable_server) as stable_url, hung(hung_server) as canary_url:
            stable, canary = routed(factory, stable_url, canary_url, 10.0)
            async with gateway(
                factory,
                read_timeout=30.0,  # the stable deployment may be slow: not the canary
                canary_read_timeout=1.0,
                hedge_after=0.1,  # well before the read deadline: the hedge answers the users
                connect_timeout=2.0,  # generous: 2 shared cores under load
                pool_timeout=2.0,
                connections_per_upstream=6,
                breaker_failures=3,
                breaker_cooldown=60.0,
            ) as running:
                # before the breaker opens: the canary's users are hedged on stable
                answers = await _load(running.url, REQUESTS, CONCURRENCY)
                hedged = await _settled(running, canary)
                # its late calls timed out, the breaker opened: its share skips it at once
                answers += await _load(running.url, REQUESTS, CONCURRENCY)
                opened = await _settled(running, canary)
        return answers, [hedged, opened], stable, canary

    answers, (hedged, opened), stable, canary = asyncio.run(story())
    assert [status for status, _ in answers] == [200] * 2 * REQUESTS
    assert {served for _, served in answers} == {stable}  # canary users got the stable answer
    assert stable_server.seen == 2 * REQUESTS  # once per user: the stable call always won
    deployments = {d["deployment_id"]: d["total"] for d in hedged["deployments"]}
    canary_total = deployments[canary]
    # every canary user was answered by the hedge, none waited for the canary's read deadline
    # (a retry): their answers came after about the hedge delay, as the gateway recorded
    assert canary_total["hedged_on_stable"] == canary_total["requests"] > 0
    assert canary_total["retried_on_stable"] == 0
    # ... and each late canary call still counted as the failure it was (it never answered)
    assert canary_total["errors"] == canary_total["requests"]
    assert deployments[stable]["errors"] == 0
    breakers = {b["deployment_id"]: b for b in opened["breakers"]}
    assert breakers[canary]["state"] == "open" and breakers[canary]["opened"] == 1
    assert breakers[canary]["skipped"] > 0  # once open, the canary's share skipped it at once
    after = {d["deployment_id"]: d["total"] for d in opened["deployments"]}
    assert after[canary]["hedged_on_stable"] == canary_total["hedged_on_stable"]
    # the hung canary held at most its own pool at once: the stable pool was its own
    assert 1 <= hung_server.most <= 6
    assert breakers[stable]["state"] == "closed" and breakers[stable]["errors"] == 0
    assert after[stable]["errors"] == 0


def test_a_slow_canary_s_late_answer_counts_as_slow_not_failed(tmp_path: Path) -> None:
    factory = migrated_factory(f"sqlite:///{tmp_path / 'state.db'}")
    stable_server, slow_server = Answering(answer=0), Answering(answer=1, delay=0.6)

    async def story() -> tuple[list[tuple[int, str]], dict[str, Any], str, str]:
        async with answering(stable_server) as stable_url, answering(slow_server) as slow_url:
            stable, canary = routed(factory, stable_url, slow_url, 50.0)
            async with gateway(
                factory, canary_read_timeout=5.0, hedge_after=0.1, read_timeout=30.0
            ) as running:
                answers = await _load(running.url, 40, 8)
                stats = await _settled(running, canary)
        return answers, stats, stable, canary

    answers, stats, stable, canary = asyncio.run(story())
    assert [status for status, _ in answers] == [200] * 40
    assert {served for _, served in answers} == {stable}
    totals = {d["deployment_id"]: d["total"] for d in stats["deployments"]}
    slow = totals[canary]
    assert slow["requests"] == slow_server.seen == slow["hedged_on_stable"] > 0
    # its answers came after its users had the stable one: a slow request, not a failure
    assert slow["errors"] == 0 and slow["retried_on_stable"] == 0
    assert slow["p50_ms"] >= 550  # the latency the monitor judges is the canary's own
    breakers = {b["deployment_id"]: b for b in stats["breakers"]}
    assert breakers[canary]["state"] == "closed"
