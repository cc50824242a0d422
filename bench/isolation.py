"""A hung canary under load (issue 16): what it costs the stable deployment's users and its own.

    PYTHONPATH=src .venv/bin/python bench/isolation.py --rounds 3 --requests 2000

Three arms, alternating rounds, the same process and machine: a real gateway (in process, over
a real SQLite state DB, the default isolation settings) in front of a real aiohttp stable
server at 90%, and a canary at 10% that either answers (``answering``), or accepts connections
and never answers (``hung``: the default hedge after the connect timeout), or hangs with the
hedge off (``hung-nohedge``: the hedge delay past the canary read deadline, what users had
before the hedge). Each round starts a fresh gateway (a breaker starts closed), then
``--concurrency`` users send ``--requests`` predictions, each with its own routing key: the
keys the table sends to the canary are its users (the same weighted rendezvous score the
gateway computes). Printed: failed requests, p50/p99 of every request (client side), the
canary users' p50/p99/slowest against the hedge delay, how many took longer than the canary
read deadline plus the connect (what a hung canary cost a user before the hedge), the stable
deployment's own p99 as the gateway timed it, and the breaker's state after the round. It
asserts nothing.
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
from mlops.gateway.balancer import key_score

CONNECT_TIMEOUT = 1.0  # the default DEPLOYER_GATEWAY_CONNECT_TIMEOUT
CANARY_READ = 3.0  # the default DEPLOYER_GATEWAY_CANARY_READ_TIMEOUT
HEDGE_AFTER = CONNECT_TIMEOUT  # the default DEPLOYER_GATEWAY_HEDGE_AFTER (unset)
ARMS = {"answering": None, "hung": None, "hung-nohedge": 60.0}  # arm -> hedge_after


async def _round(url: str, requests: int, concurrency: int) -> tuple[list[tuple[str, float]], int]:
    """(routing key, seconds) of every request, and how many failed."""
    times: list[tuple[str, float]] = []
    failed = 0
    left = iter(range(requests))
    async with aiohttp.ClientSession() as client:

        async def user() -> None:
            nonlocal failed
            for index in left:
                key = f"user-{index}"
                started = time.perf_counter()
                async with client.post(
                    f"{url}/v1/models/{MODEL}/predict",
                    json={"inputs": [[1, 2, 3, 4]]},
                    headers={"X-Routing-Key": key},
                ) as answer:
                    await answer.read()
                    failed += answer.status != 200
                times.append((key, time.perf_counter() - started))

        await asyncio.gather(*(user() for _ in range(concurrency)))
    return times, failed


def _canary_user(key: str, stable: str, canary: str) -> bool:
    """Whether the table (stable 90, canary 10) sends this key to the canary."""
    return key_score(key, canary, 10.0) > key_score(key, stable, 90.0)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(rounds: int, requests: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-isolation-") as tmp:
        factory = migrated_factory(f"sqlite:///{Path(tmp) / 'state.db'}")
        figures: dict[str, list[dict[str, float]]] = {arm: [] for arm in ARMS}
        tuning = Settings().gateway_tuning  # the defaults deployer gateway runs with
        async with (
            answering(Answering()) as stable_url,
            answering(Answering(answer=1)) as good_url,
            hung(Hung()) as hung_url,
        ):
            stable, canary = routed(factory, stable_url, hung_url, 10.0)
            router = DbRouter(factory)
            for index in range(rounds * len(ARMS)):
                arm = list(ARMS)[index % len(ARMS)]
                with factory() as session, session.begin():
                    row = session.get(DeploymentRow, canary)
                    assert row is not None
                    row.endpoint_url = hung_url if arm.startswith("hung") else good_url
                router.save(Routes(MODEL, {stable: 90.0, canary: 10.0}, None, 0.0, stable), "b")
                knobs = {**tuning, "hedge_after": ARMS[arm]}
                async with gateway(factory, **knobs) as running:
                    timed, failed = await _round(running.url, requests, concurrency)
                    async with aiohttp.ClientSession() as client:
                        stats = await running.stats(client)
                times = [t for _, t in timed]
                canary_users = [t for key, t in timed if _canary_user(key, stable, canary)]
                state = {b["deployment_id"]: b["state"] for b in stats["breakers"]}  # type: ignore[attr-defined]
                own = {d["deployment_id"]: d["total"] for d in stats["deployments"]}  # type: ignore[attr-defined]
                figures[arm].append(
                    {
                        "failed": failed,
                        "p50_ms": _quantile(times, 0.50) * 1000,
                        "p99_ms": _quantile(times, 0.99) * 1000,
                        "canary_users": len(canary_users),
                        "canary_p50_ms": _quantile(canary_users, 0.50) * 1000,
                        "canary_p99_ms": _quantile(canary_users, 0.99) * 1000,
                        "canary_max_ms": max(canary_users) * 1000,
                        "over_canary_read": sum(t > CANARY_READ + CONNECT_TIMEOUT for t in times),
                        "hedged": own[canary]["hedged_on_stable"],
                        "breaker_open": state.get(canary) == "open",
                        "stable_p99_ms": own[stable]["p99_ms"],
                    }
                )
    print(
        f"{rounds} rounds per arm, {requests} requests at concurrency {concurrency} "
        "(median over rounds; 2 noisy cores shared with other work); hedge delay "
        f"{HEDGE_AFTER * 1000:.0f} ms (the connect timeout), canary read deadline "
        f"{CANARY_READ * 1000:.0f} ms"
    )
    for arm, runs in figures.items():

        def med(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        print(
            f"canary {arm:12s}: failed {sum(r['failed'] for r in runs):.0f}, "
            f"all users p50 {med('p50_ms'):.2f} ms p99 {med('p99_ms'):.2f} ms; "
            f"canary users ({med('canary_users'):.0f}/round) p50 {med('canary_p50_ms'):.0f} ms "
            f"p99 {med('canary_p99_ms'):.0f} ms slowest {med('canary_max_ms'):.0f} ms "
            f"= {med('canary_p99_ms') / (HEDGE_AFTER * 1000):.2f}x the hedge delay (p99); "
            f"hedged {med('hedged'):.0f}, over canary read + connect "
            f"{med('over_canary_read'):.0f}; stable's own p99 (gateway-measured) "
            f"{med('stable_p99_ms'):.2f} ms; breaker open after "
            f"{sum(bool(r['breaker_open']) for r in runs)}/{len(runs)} rounds"
        )

    def ratio(arm: str, key: str) -> float:
        base = statistics.median(r[key] for r in figures["answering"])
        return statistics.median(r[key] for r in figures[arm]) / base

    for arm in ("hung", "hung-nohedge"):
        print(
            f"{arm}: all users' p99 / with an answering canary {ratio(arm, 'p99_ms'):.2f}x; "
            f"the stable deployment's own p99 / answering {ratio(arm, 'stable_p99_ms'):.2f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.requests, args.concurrency))
