"""Prediction capture in the gateway: the capture store port, and the sink that writes sampled
requests to it off the response path.

The hot path (``DataPlane.predict``) costs, per request: one dict lookup for the model's
percent (absent = off) and, when it is on, one ``random.random()``; a sampled request appends
one small tuple of the bytes already in hand to a bounded deque. Nothing is parsed there.
A background task (:meth:`CaptureSink.run`) wakes every ``flush_seconds`` or as soon as
``batch_rows`` are queued, and hands a batch to a thread that parses the JSON and writes it
through the :class:`CaptureStore`, so the event loop never waits on the database. A full queue
drops the request's capture and counts it (``dropped``); it never blocks or fails a request.
A failed write is counted and its batch goes back to the queue's front (as much as fits): the
store is idempotent on ``request_id``, so a retried batch never duplicates a row. Every row is
made storable before the store sees it (inputs and output strict JSON or None, ids bounded by
the rules that made them), so a failing batch means the store is unreachable, not a poisoned row
that would block the queue.

Retention (age and rows per model) runs here too, at most once per ``retention_every``
seconds per gateway: the gateways are what write captured rows, so they bound them, with or
without a watcher; the deletes are indexed and two gateways deleting the same rows is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from lifecycle.capture import PredictionRecord

log = logging.getLogger("deployer.gateway.capture")


class CaptureStore(Protocol):
    """Where captured predictions go (the state database in production, ``database.capture``)."""

    def percents(self) -> Mapping[str, float]:
        """Each model's capture percent; a model that is absent is not captured."""
        ...

    def store(self, rows: Sequence[PredictionRecord]) -> int:
        """Write ``rows``; a row whose ``request_id`` is stored already is skipped (idempotent:
        a retried batch never duplicates). Returns how many rows were new."""
        ...

    def apply_retention(self, now: datetime, max_age_seconds: float, max_rows: int) -> int:
        """Delete rows captured before ``now - max_age_seconds``, and each model's rows beyond
        its ``max_rows`` newest; return how many went."""
        ...


class Sampled(NamedTuple):
    """What the hot path keeps of a sampled request: the bytes in hand, nothing parsed."""

    request_id: str
    model_name: str
    version: str
    deployment_id: str
    at: float
    latency_ms: float
    status: int
    body: bytes
    output: bytes


def parsed(data: bytes) -> Any:
    """``data`` as strict JSON a database column takes (no NaN/inf, no NUL character, valid
    UTF-8), else None: a body the model refused is still captured, without its inputs."""
    try:
        value = json.loads(data)
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
        text.encode("utf-8")
    except (ValueError, TypeError, UnicodeError, RecursionError):
        return None
    return None if "\\u0000" in text else value


def record(item: Sampled, gateway: str) -> PredictionRecord:
    """A queued sample as the store writes it (parsing happens here, in the flush thread)."""
    return PredictionRecord(
        request_id=item.request_id,
        model_name=item.model_name,
        version=item.version,
        deployment_id=item.deployment_id,
        captured_at=datetime.fromtimestamp(item.at, UTC),
        latency_ms=round(item.latency_ms, 3),
        status=item.status,
        inputs=parsed(item.body),
        output=parsed(item.output) if item.output else None,
        gateway=gateway[:100],
    )


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    """The sink's knobs: queue bound, batch size, flush period, retention."""

    queue_rows: int = 10_000
    batch_rows: int = 500
    flush_seconds: float = 0.5
    retention_seconds: float = 7 * 24 * 3600.0
    max_rows: int = 100_000
    retention_every: float = 60.0


class CaptureSink:
    """The bounded queue between the hot path and the capture store, and its flusher."""

    def __init__(self, store: CaptureStore, gateway: str, config: CaptureConfig) -> None:
        self.store = store
        self.gateway = gateway
        self.config = config
        self.percents: Mapping[str, float] = {}
        self.queue: deque[Sampled] = deque()
        self.queued = 0
        self.dropped = 0
        self.written = 0
        self.failed_flushes = 0
        self.retained_at = -math.inf  # never: the first retain runs at once, whatever the uptime
        self.refresh_each_round = True
        """Read the percents every round. A gateway whose backend has a fingerprint turns it
        off and calls :meth:`refresh` when the capture settings changed (``gateway.tables``)."""
        self._wake = asyncio.Event()
        self._idle = False

    def offer(self, item: Sampled) -> None:
        """Queue one sample; when the queue is full, drop it and count the drop."""
        queue = self.queue
        if len(queue) >= self.config.queue_rows:
            self.dropped += 1
            return
        queue.append(item)
        self.queued += 1
        if len(queue) >= self.config.batch_rows or self._idle:
            self._idle = False
            self._wake.set()

    def _write(self, batch: list[Sampled]) -> int:
        return self.store.store([record(item, self.gateway) for item in batch])

    async def flush(self) -> int:
        """Write what is queued, batch by batch; return the rows written. A failed batch is
        counted, put back at the front (as much as the bound allows; the rest counted as
        dropped) and raised, so the next flush retries it."""
        written = 0
        while self.queue:
            size = min(self.config.batch_rows, len(self.queue))
            batch = [self.queue.popleft() for _ in range(size)]
            try:
                new = await asyncio.to_thread(self._write, batch)
            except Exception:
                self.failed_flushes += 1
                room = self.config.queue_rows - len(self.queue)
                kept = batch[:room] if room > 0 else []
                self.dropped += len(batch) - len(kept)
                self.queue.extendleft(reversed(kept))
                raise
            self.written += new
            written += new
        return written

    async def refresh(self) -> None:
        """Read each model's percent (a change applies within one flush period)."""
        self.percents = dict(await asyncio.to_thread(self.store.percents))

    async def retain(self) -> int:
        """Apply retention when ``retention_every`` has passed since the last time."""
        if time.monotonic() - self.retained_at < self.config.retention_every:
            return 0
        self.retained_at = time.monotonic()
        config = self.config
        return await asyncio.to_thread(
            self.store.apply_retention,
            datetime.now(UTC),
            config.retention_seconds,
            config.max_rows,
        )

    async def cycle(self) -> None:
        """One round of the background task: percents (unless refreshed on change), writes,
        retention."""
        if self.refresh_each_round:
            await self.refresh()
        await self.flush()
        await self.retain()

    async def run(self) -> None:
        """Until cancelled: a round every ``flush_seconds``, or sooner when a batch is full. A
        failed round is logged and the next one retries (the queue keeps the batch). With
        nothing queued and nothing to refresh, it sleeps until the first sample (which then
        waits one ``flush_seconds`` for others to join its batch) or the next retention."""
        while True:
            config = self.config
            idle = not self.queue and not self.refresh_each_round
            self._idle = idle
            timeout = config.flush_seconds
            if idle:
                retention_due = self.retained_at + config.retention_every - time.monotonic()
                timeout = max(timeout, retention_due)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            self._idle = False
            if idle and 0 < len(self.queue) < config.batch_rows:
                continue  # the first sample after a quiet spell: a round's wait for its batch
            try:
                await self.cycle()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("prediction capture round failed (will retry): %s", exc)

    def figures(self) -> dict[str, Any]:
        """The sink's counters and the percents it applies (``/healthz``)."""
        return {
            "percents": dict(self.percents),
            "queued": self.queued,
            "waiting": len(self.queue),
            "written": self.written,
            "dropped": self.dropped,
            "failed_flushes": self.failed_flushes,
        }
