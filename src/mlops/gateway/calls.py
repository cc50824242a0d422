"""A gateway's calls to model servers: one call (:class:`UpstreamCalls`), and a hedged call
(:func:`hedged`): a non-stable deployment that has not answered within the hedge delay gets
its request sent to the stable deployment too, and the user gets whichever answers first. The
decisions are pure (:mod:`lifecycle.hedging`); this module runs them over asyncio tasks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from lifecycle.hedging import Call, Next, choose
from mlops.gateway.backend import JSON
from mlops.gateway.balancer import Upstream

Answer = tuple[int, bytes, float, str | None]
"""A call's status, body, milliseconds, and its failure (None when it answered below 500)."""

UPSTREAM_HEADERS = CIMultiDictProxy(
    CIMultiDict(
        {
            "Content-Type": JSON,
            "Accept": "*/*",
            "Accept-Encoding": "identity",  # the body is forwarded as it comes: no compression
            "User-Agent": "deployer-gateway",
        }
    )
)
"""Every header an upstream call sends, built once (aiohttp then adds none of its own)."""


class UpstreamCalls:
    """POSTs a body to a deployment's ``/predict``, its URL parsed once per server."""

    def __init__(self) -> None:
        self._urls: dict[str, URL] = {}

    async def call(
        self,
        session: aiohttp.ClientSession,
        upstream: Upstream | None,
        body: bytes,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> Answer:
        """POST ``body`` to one deployment: status, body, milliseconds, and a failure or None
        (``timeout`` over the session's: a non-stable deployment's tighter deadlines)."""
        start = time.perf_counter()
        if upstream is None:
            return 503, b"", 0.0, "the deployment has no server"
        try:
            async with session.post(
                self.predict_url(upstream),
                data=body,
                headers=UPSTREAM_HEADERS,
                timeout=session.timeout if timeout is None else timeout,
            ) as response:
                data = await response.read()
                status = response.status
        except TimeoutError:
            return 504, b"", (time.perf_counter() - start) * 1000, "timed out"
        except aiohttp.ClientError as exc:
            return 502, b"", (time.perf_counter() - start) * 1000, f"unreachable ({exc})"
        ms = (time.perf_counter() - start) * 1000
        return status, data, ms, (f"answered {status}" if status >= 500 else None)

    def predict_url(self, upstream: Upstream) -> URL:
        """The upstream's ``/predict`` URL, parsed once (a dict hit per request after that)."""
        url = self._urls.get(upstream.url)
        if url is None:
            if len(self._urls) > 1024:  # servers come and go; the cache must not grow forever
                self._urls.clear()
            url = self._urls[upstream.url] = URL(upstream.url + "/predict")
        return url


@dataclass(frozen=True, slots=True)
class Hedged:
    """How a hedged call ended: the answer the user gets, whether it is the stable
    deployment's, and why stable was asked (``retried``: the first call had failed;
    ``hedged``: it had not answered within the delay)."""

    answer: Answer
    from_stable: bool
    retried: bool
    hedged: bool


def _state(task: asyncio.Task[Answer] | None) -> Call:
    if task is None:
        return Call.UNASKED
    if not task.done():
        return Call.PENDING
    if task.cancelled() or task.exception() is not None or task.result()[3] is not None:
        return Call.FAILED
    return Call.ANSWERED


async def hedged(
    first: Coroutine[Any, Any, Answer],
    ask_stable: Callable[[], Coroutine[Any, Any, Answer]],
    delay: float,
    late: set[asyncio.Task[Answer]],
) -> Hedged:
    """Run ``first`` (the picked non-stable deployment's call); ask stable when it fails, or
    when it has not answered within ``delay`` seconds; end with the answer
    :func:`lifecycle.hedging.choose` picks. A first call the user no longer waits for runs on
    in ``late`` (it counts its own outcome when it ends: slow, or failed); a stable call the
    user no longer needs is cancelled."""
    first_task = asyncio.ensure_future(first)
    stable_task: asyncio.Task[Answer] | None = None
    retried = due = False
    hedge_at = asyncio.get_running_loop().time() + delay
    try:
        while True:
            step = choose(_state(first_task), _state(stable_task), due)
            if step is Next.ANSWER_FIRST:
                return Hedged(first_task.result(), False, retried, stable_task is not None)
            if step is Next.ANSWER_STABLE:
                assert stable_task is not None  # choose answers stable only once it was asked
                return Hedged(stable_task.result(), True, retried, not retried)
            if step is Next.ASK_STABLE:
                retried = first_task.done()
                stable_task = asyncio.ensure_future(ask_stable())
                continue
            running = [t for t in (first_task, stable_task) if t is not None and not t.done()]
            wait = None if stable_task is not None else hedge_at - asyncio.get_running_loop().time()
            if wait is not None and wait <= 0:
                due = True
                continue
            due = not await _first_of(running, wait) or due
    finally:
        if stable_task is not None and not stable_task.done():
            stable_task.cancel()  # the user has an answer (or is gone): no one needs it
        if not first_task.done():
            late.add(first_task)  # runs on to its own deadline and counts what it was
            first_task.add_done_callback(late.discard)


async def _first_of(tasks: list[asyncio.Task[Answer]], timeout: float | None) -> bool:
    """Wait until one of ``tasks`` ends (True) or ``timeout`` seconds pass (False): one future,
    a done callback per task and one timer (``asyncio.wait`` builds sets and a waiter per call
    besides, every non-stable request)."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    for task in tasks:
        task.add_done_callback(wake)
    timer = None if timeout is None else loop.call_later(timeout, wake)
    try:
        await waiter
    finally:
        if timer is not None:
            timer.cancel()
        for task in tasks:
            task.remove_done_callback(wake)
    return any(task.done() for task in tasks)
