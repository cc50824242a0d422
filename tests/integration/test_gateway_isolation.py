"""Isolation per upstream (issue 16): a hung canary behind a real gateway, under concurrent
load, costs the stable deployment nothing, opens its breaker, and its users get the stable
answer. Real upstreams (an aiohttp model server, an asyncio server that accepts connections
and never answers), a real gateway in process, a real SQLite state database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.integration.db_helpers import migrated_factory
from tests.upstreams import MODEL, Answering, Hung, answering, gateway, hung, routed

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


def test_a_hung_canary_opens_its_breaker_and_no_stable_request_fails(tmp_path: Path) -> None:
    factory = migrated_factory(f"sqlite:///{tmp_path / 'state.db'}")
    stable_server, hung_server = Answering(), Hung()

    async def story() -> tuple[list[tuple[int, str]], dict[str, object], str, str]:
        async with answering(stable_server) as stable_url, hung(hung_server) as canary_url:
            stable, canary = routed(factory, stable_url, canary_url, 10.0)
            async with gateway(
                factory,
                read_timeout=30.0,  # the stable deployment may be slow: not the canary
                canary_read_timeout=0.5,
                connect_timeout=2.0,  # generous: 2 shared cores under load
                pool_timeout=2.0,
                connections_per_upstream=6,
                breaker_failures=3,
                breaker_cooldown=60.0,
            ) as running:
                answers = await _load(running.url, REQUESTS, CONCURRENCY)
                async with aiohttp.ClientSession() as client:
                    stats = await running.stats(client)
        return answers, stats, stable, canary

    answers, stats, stable, canary = asyncio.run(story())
    assert [status for status, _ in answers] == [200] * REQUESTS
    assert {served for _, served in answers} == {stable}  # canary users got the stable answer
    assert stable_server.seen == REQUESTS
    breakers = {b["deployment_id"]: b for b in stats["breakers"]}  # type: ignore[attr-defined]
    assert breakers[canary]["state"] == "open" and breakers[canary]["opened"] == 1
    assert breakers[canary]["skipped"] > 0  # once open, the canary's share skipped it at once
    # the hung canary held at most its own pool at once: the stable pool was its own
    assert 1 <= hung_server.most <= 6
    assert breakers[stable]["state"] == "closed" and breakers[stable]["errors"] == 0
    deployments = {d["deployment_id"]: d for d in stats["deployments"]}  # type: ignore[attr-defined]
    assert deployments[stable]["total"]["errors"] == 0
    canary_total = deployments[canary]["total"]
    assert canary_total["retried_on_stable"] == canary_total["errors"] > 0
