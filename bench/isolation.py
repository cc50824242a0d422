"""A hung canary under load (issue 16): what it costs the stable deployment's users and its own.

    PYTHONPATH=src .venv/bin/python bench/isolation.py --rounds 3 --requests 2000

Two arms, alternating rounds, the same process and machine: a real gateway (in process, over a
real SQLite state DB, the default isolation settings) in front of a real aiohttp stable
server at 90%, and a canary at 10% that either answers (baseline) or accepts connections and
never answers (hung). Each round starts a fresh gateway (a breaker starts closed), then
``--concurrency`` users send ``--requests`` predictions. Printed: failed requests, p50/p99 of
every request (client side), the slowest request, how many took longer than the connect
timeout and than the canary read deadline plus the connect (what a hung canary may cost a
user), the stable deployment's own p99 as the gateway timed it, and the breaker's state after
the round. It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.db_helpers import migrated_factory
from tests.upstreams import MODEL, Answering, Hung, answering, gateway, hung, routed

from agents.settings import Settings
from database.models import DeploymentRow
from database.routing import DbRouter
from lifecycle.ports import Routes

CONNECT_TIMEOUT = 1.0  # the default DEPLOYER_GATEWAY_CONNECT_TIMEOUT
CANARY_READ = 3.0  # the default DEPLOYER_GATEWAY_CANARY_READ_TIMEOUT


async def _round(url: str, requests: int, concurrency: int) -> tuple[list[float], int]:
    times: list[float] = []
    failed = 0
    left = iter(range(requests))
    async with aiohttp.ClientSession() as client:

        async def user() -> None:
            nonlocal failed
            for _ in left:
                started = time.perf_counter()
                async with client.post(
                    f"{url}/v1/models/{MODEL}/predict", json={"inputs": [[1, 2, 3, 4]]}
                ) as answer:
                    await answer.read()
                    failed += answer.status != 200
                times.append(time.perf_counter() - started)

        await asyncio.gather(*(user() for _ in range(concurrency)))
    return times, failed


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(rounds: int, requests: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-isolation-") as tmp:
        factory = migrated_factory(f"sqlite:///{Path(tmp) / 'state.db'}")
        figures: dict[str, list[dict[str, float]]] = {"answering": [], "hung": []}
        tuning = Settings().gateway_tuning  # the defaults deployer gateway runs with
        async with (
            answering(Answering()) as stable_url,
            answering(Answering(answer=1)) as good_url,
            hung(Hung()) as hung_url,
        ):
            stable, canary = routed(factory, stable_url, hung_url, 10.0)
            router = DbRouter(factory)
            for index in range(rounds * 2):
                arm = "hung" if index % 2 else "answering"
                with factory() as session, session.begin():
                    row = session.get(DeploymentRow, canary)
                    assert row is not None
                    row.endpoint_url = hung_url if arm == "hung" else good_url
                router.save(Routes(MODEL, {stable: 90.0, canary: 10.0}, None, 0.0, stable), "b")
                async with gateway(factory, **tuning) as running:
                    times, failed = await _round(running.url, requests, concurrency)
                    async with aiohttp.ClientSession() as client:
                        stats = await running.stats(client)
                state = {b["deployment_id"]: b["state"] for b in stats["breakers"]}  # type: ignore[attr-defined]
                own = {d["deployment_id"]: d["total"] for d in stats["deployments"]}  # type: ignore[attr-defined]
                figures[arm].append(
                    {
                        "failed": failed,
                        "p50_ms": _quantile(times, 0.50) * 1000,
                        "p99_ms": _quantile(times, 0.99) * 1000,
                        "max_ms": max(times) * 1000,
                        "over_connect_timeout": sum(t > CONNECT_TIMEOUT for t in times),
                        "over_canary_read": sum(t > CANARY_READ + CONNECT_TIMEOUT for t in times),
                        "breaker_open": state.get(canary) == "open",
                        "stable_p99_ms": own[stable]["p99_ms"],
                    }
                )
    print(
        f"{rounds} rounds per arm, {requests} requests at concurrency {concurrency} "
        "(median over rounds; 2 noisy cores shared with other work)"
    )
    for arm, runs in figures.items():

        def med(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        print(
            f"canary {arm:9s}: failed {sum(r['failed'] for r in runs):.0f}, "
            f"p50 {med('p50_ms'):.2f} ms, p99 {med('p99_ms'):.2f} ms, "
            f"slowest {med('max_ms'):.0f} ms, over the {CONNECT_TIMEOUT:g} s connect timeout "
            f"{med('over_connect_timeout'):.0f}, over canary read + connect "
            f"{med('over_canary_read'):.0f}, the stable deployment's own p99 (gateway-measured) "
            f"{med('stable_p99_ms'):.2f} ms, breaker open after "
            f"{sum(bool(r['breaker_open']) for r in runs)}/{len(runs)} rounds"
        )
    ratio = statistics.median(r["p99_ms"] for r in figures["hung"]) / statistics.median(
        r["p99_ms"] for r in figures["answering"]
    )
    print(f"p99 with a hung canary / with an answering one: {ratio:.2f}x")
    stable_ratio = statistics.median(
        r["stable_p99_ms"] for r in figures["hung"]
    ) / statistics.median(r["stable_p99_ms"] for r in figures["answering"])
    print(f"the stable deployment's own p99, hung canary / answering one: {stable_ratio:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.requests, args.concurrency))
