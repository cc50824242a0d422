"""What the gateway's own handler costs per prediction, in one process, against a bare one.

    .venv/bin/python bench/gateway_handler.py [--calls 20000] [--runs 5]

``DataPlane.predict`` runs in a loop on uvloop over a 90/10 table (the one bench/gateway.py
serves: the 10% go through the hedge), its upstream call replaced by a coroutine that yields
once and answers; the bare arm reads the body, awaits the same call and answers, as
bench/forwarder.py does. The difference is our handler's Python (routing, the request id,
figures, breakers, capture's check, the hedge, the answer's headers) with warm caches; in
bench/gateway.py every request runs on caches the other processes left cold, and the same
code costs several times more there. Prints microseconds of CPU per call, median of the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.gateway_state import State, Upstream  # noqa: E402

from lifecycle.ports import Routes  # noqa: E402
from mlops.gateway.backend import GatewayConfig  # noqa: E402
from mlops.gateway.proxy import DataPlane  # noqa: E402

BODY = b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}' * 25
ANSWER = b'{"predictions": [0], "model_name": "iris", "model_version": "1"}'


class _Backend:
    """One model, ``iris``, 90% on ``d1`` and 10% on ``d2``."""

    table = Routes("iris", {"d1": 90.0, "d2": 10.0}, None, 0.0, "d1")

    def load(self, models: Collection[str] | None = None) -> State:
        ups = {d: Upstream(d, "1", f"http://127.0.0.1:1/{d}") for d in self.table.weights}
        return State({"iris": (self.table, 1)}, ups, frozenset({"iris"}))

    def revisions(self) -> Mapping[str, int]:
        return {"iris": 1}

    def save(self, routes: Routes, actor: str) -> tuple[Routes, int]:
        raise NotImplementedError

    def clear(self, model_name: str, actor: str) -> bool:
        raise NotImplementedError

    def store_stats(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Content:
    def is_eof(self) -> bool:
        return True


class _Request:
    """What ``predict`` reads of an aiohttp request."""

    def __init__(self) -> None:
        self.headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
        self.match_info = {"name": "iris"}
        self.content_length = len(BODY)
        self.content = _Content()

    async def read(self) -> bytes:
        return BODY


async def _upstream(*_: Any) -> tuple[int, bytes, float, None]:
    await asyncio.sleep(0)  # one trip through the loop, as a real call has several
    return 200, ANSWER, 1.0, None


async def _bare(request: _Request) -> web.Response:
    body = await request.read()
    status, data, _, _ = await _upstream(body)
    return web.Response(body=data, status=status, content_type="application/json")


async def _measure(calls: int, runs: int) -> dict[str, list[float]]:
    plane = DataPlane(_Backend(), GatewayConfig(gateway_id="bench", token="t" * 32))
    plane._session = object()  # type: ignore[assignment]  # never used: the call is stubbed
    await plane.reload()
    plane._call = _upstream  # type: ignore[assignment]
    request = _Request()
    handlers: dict[str, Callable[[Any], Awaitable[Any]]] = {"bare": _bare, "gateway": plane.predict}
    out: dict[str, list[float]] = {name: [] for name in handlers}
    for _ in range(runs):
        for name, handler in handlers.items():  # alternating, so both see the same moments
            for _ in range(1000):
                await handler(request)
            start = time.process_time()
            for _ in range(calls):
                await handler(request)
            out[name].append((time.process_time() - start) / calls * 1e6)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    figures = uvloop.run(_measure(args.calls, args.runs))
    bare, ours = (statistics.median(figures[k]) for k in ("bare", "gateway"))
    print(f"handler CPU per call, median of {args.runs} runs of {args.calls} (warm caches):")
    print(f"  bare handler     {bare:6.2f} us")
    print(f"  gateway predict  {ours:6.2f} us  ({ours / bare:.2f}x; +{ours - bare:.2f} us)")


if __name__ == "__main__":
    main()
