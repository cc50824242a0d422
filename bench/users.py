"""Steady user traffic through the gateway, from its own process, until SIGTERM or --seconds.

    python bench/users.py URL --rate 40 --out answers.json [--seconds 30] [--body JSON]

Sends ``rate`` requests a second (at most ``concurrency`` in flight), and on exit writes one JSON
document to ``--out``: how many were sent, how many failed (anything but 200, or no answer), and
every answer as ``[seconds since the epoch, status, deployment_id]``, so a caller can tell which
deployment served each request and when. The fault drills and ``bench/rollback.py`` use it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp

DEFAULT_BODY = '{"instances": [[6.1, 2.8, 4.7, 1.2]]}'


async def run(
    url: str, rate: float, seconds: float | None, concurrency: int, body: bytes
) -> dict[str, Any]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    answers: list[tuple[float, int, str | None]] = []
    slots = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=30)

    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one() -> None:
            async with slots:
                try:
                    async with session.post(
                        url, data=body, headers={"Content-Type": "application/json"}
                    ) as response:
                        data = await response.json(content_type=None)
                        deployment = data.get("deployment_id") if isinstance(data, dict) else None
                        answers.append((time.time(), response.status, deployment))
                except Exception:  # no answer is a failure users would see
                    answers.append((time.time(), 0, None))

        started = time.monotonic()
        pending: set[asyncio.Task[None]] = set()
        sent = 0
        while not stop.is_set():
            if seconds is not None and time.monotonic() - started >= seconds:
                break
            task = asyncio.create_task(one())
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
            next_at = started + sent / rate
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))
        if pending:
            await asyncio.wait(pending, timeout=30)
    failed = sum(1 for _, status, _ in answers if status != 200)
    return {"sent": sent, "answered": len(answers), "failed": failed, "answers": answers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the gateway's predict URL")
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--body", default=DEFAULT_BODY)
    parser.add_argument("--out", required=True, help="where to write the JSON summary")
    args = parser.parse_args()
    result = asyncio.run(
        run(args.url, args.rate, args.seconds, args.concurrency, args.body.encode())
    )
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
