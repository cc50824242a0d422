"""Load generator for bench/gateway.py, run in its own process so its CPU is not the proxy's.

    python bench/loadgen.py URL --requests 5000 --concurrency 16 --body-file body.json

Prints one JSON line: p50/p95/p99 in ms, requests per second, and failures. Given several
URLs (``--requests`` each), every user sends its requests to them in turn, one after the other
(in a new random order each turn), so the arms share the machine's moments alike; the line is
then one such dict per URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time

import aiohttp


async def run(url: str, requests: int, concurrency: int, body: bytes) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    counter = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        # Warm the connections so the first requests do not pay for the handshakes.
        for _ in range(min(concurrency * 2, 50)):
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}):
                pass

        async def worker() -> None:
            nonlocal failures
            for _ in counter:
                start = time.perf_counter()
                try:
                    async with session.post(
                        url, data=body, headers={"Content-Type": "application/json"}
                    ) as response:
                        await response.read()
                        if response.status != 200:
                            failures += 1
                except aiohttp.ClientError:
                    failures += 1
                latencies.append((time.perf_counter() - start) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "p50_ms": statistics.median(latencies),
        "p95_ms": cuts[94],
        "p99_ms": cuts[98],
        "rps": len(latencies) / elapsed,
        "failures": failures,
        "requests": len(latencies),
    }


async def interleaved(
    urls: list[str], requests: int, concurrency: int, body: bytes
) -> dict[str, dict[str, float]]:
    """``requests`` to each URL, every user cycling over them one request at a time."""
    latencies: dict[str, list[float]] = {u: [] for u in urls}
    failures = dict.fromkeys(urls, 0)
    counter = iter(range(requests))
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency * len(urls))
    async with aiohttp.ClientSession(connector=connector) as session:
        for url in urls:  # warm every arm's connections
            for _ in range(min(concurrency * 2, 50)):
                async with session.post(url, data=body, headers=headers):
                    pass

        async def worker(seed: int) -> None:
            # Each cycle visits the arms in a new random order: in a fixed order each arm would
            # always follow the same one (the proxy after the bare forwarder always ran on the
            # caches its process left), and that read as a steady few percent of CPU per request
            # between two copies of the same gateway.
            draw = random.Random(seed)
            order = list(urls)
            for _ in counter:
                draw.shuffle(order)
                for url in order:
                    start = time.perf_counter()
                    try:
                        async with session.post(url, data=body, headers=headers) as response:
                            await response.read()
                            failures[url] += response.status != 200
                    except aiohttp.ClientError:
                        failures[url] += 1
                    latencies[url].append((time.perf_counter() - start) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker(seed) for seed in range(concurrency)))
        elapsed = time.perf_counter() - started
    out = {}
    for url, values in latencies.items():
        cuts = statistics.quantiles(values, n=100)
        out[url] = {
            "p50_ms": statistics.median(values),
            "p95_ms": cuts[94],
            "p99_ms": cuts[98],
            "rps": len(values) / elapsed,  # of the arm within the interleaved run
            "failures": failures[url],
            "requests": len(values),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="+")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--body-file", required=True)
    args = parser.parse_args()
    with open(args.body_file, "rb") as handle:
        body = handle.read()
    if len(args.url) > 1:
        both = asyncio.run(interleaved(args.url, args.requests, args.concurrency, body))
        sys.stdout.write(json.dumps(both) + "\n")
        return
    result = asyncio.run(run(args.url[0], args.requests, args.concurrency, body))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
