"""The gateway's capture sink with a fake store: a full queue drops and counts and never
raises, batches are written off the loop, a failed batch is retried without duplicates, a full
batch wakes the flusher early, retention runs at most once per period, and bodies that are not
strict JSON are kept without their inputs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mlops.gateway.capture import CaptureConfig, CaptureSink, Sampled, parsed, record
from tests.fakes import FakeCaptureStore


def sample(i: int, model: str = "iris", body: bytes = b'{"instances": [[1.0, 2.0]]}') -> Sampled:
    return Sampled(f"r{i}", model, "1", "d1", time.time(), 1.5, 200, body, b'{"predictions": [0]}')


def sink(store: FakeCaptureStore, **knobs: float) -> CaptureSink:
    return CaptureSink(store, "gw-1", CaptureConfig(**knobs))  # type: ignore[arg-type]


def test_a_full_queue_drops_and_counts_and_never_raises() -> None:
    s = sink(FakeCaptureStore(), queue_rows=5, batch_rows=100)
    for i in range(8):
        s.offer(sample(i))
    assert len(s.queue) == 5 and s.dropped == 3 and s.queued == 5


def test_a_flush_writes_every_queued_sample_in_batches() -> None:
    store = FakeCaptureStore()
    s = sink(store, batch_rows=4)
    for i in range(10):
        s.offer(sample(i))
    written = asyncio.run(s.flush())
    assert written == 10 and s.written == 10 and not s.queue
    assert store.calls == 3  # 4 + 4 + 2
    assert store.rows["r3"].gateway == "gw-1" and store.rows["r3"].inputs == {
        "instances": [[1.0, 2.0]]
    }


def test_a_failed_batch_is_counted_kept_and_written_once_by_the_next_flush() -> None:
    store = FakeCaptureStore()
    store.failures = 1
    s = sink(store, batch_rows=100)
    for i in range(3):
        s.offer(sample(i))

    async def story() -> None:
        try:
            await s.flush()
        except RuntimeError:
            pass
        else:
            raise AssertionError("the failed flush was not raised")
        assert s.failed_flushes == 1 and [x.request_id for x in s.queue] == ["r0", "r1", "r2"]
        await s.flush()

    asyncio.run(story())
    assert sorted(store.rows) == ["r0", "r1", "r2"] and s.written == 3 and s.dropped == 0


def test_a_retried_batch_never_duplicates_a_stored_request() -> None:
    store = FakeCaptureStore()
    s = sink(store)
    s.offer(sample(1))
    asyncio.run(s.flush())
    s.offer(sample(1))  # the same request id again (a retried batch, a client's repeat)
    asyncio.run(s.flush())
    assert list(store.rows) == ["r1"] and s.written == 1


def test_a_failed_batch_that_no_longer_fits_is_dropped_and_counted() -> None:
    store = FakeCaptureStore()
    store.failures = 1
    s = sink(store, queue_rows=3, batch_rows=2)
    for i in range(3):
        s.offer(sample(i))

    async def story() -> None:
        batch_failed = asyncio.create_task(s.flush())
        await asyncio.sleep(0)  # the batch of 2 is out; one more sample comes behind it
        s.offer(sample(10))
        with contextlib.suppress(RuntimeError):
            await batch_failed

    asyncio.run(story())
    assert [x.request_id for x in s.queue] == ["r0", "r2", "r10"] and s.dropped == 1


def test_a_full_batch_wakes_the_flusher_before_its_period() -> None:
    store = FakeCaptureStore()
    store.set_percent("iris", 10.0)
    s = sink(store, batch_rows=3, flush_seconds=3600)

    async def story() -> None:
        task = asyncio.create_task(s.run())
        await asyncio.sleep(0)
        for i in range(3):
            s.offer(sample(i))
        for _ in range(200):
            if s.written == 3:
                break
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(story())
    assert s.written == 3 and s.percents == {"iris": 10.0}


def test_percents_come_from_the_store_and_zero_is_off() -> None:
    store = FakeCaptureStore()
    store.set_percent("iris", 25.0)
    store.set_percent("churn", 0.0)
    s = sink(store)
    asyncio.run(s.refresh())
    assert s.percents == {"iris": 25.0}


def test_retention_runs_at_most_once_per_period() -> None:
    store = FakeCaptureStore()
    now = datetime.now(UTC)
    for i, age in enumerate((10, 20, 7200)):
        row = record(sample(i), "gw")
        store.rows[row.request_id] = replace(row, captured_at=now - timedelta(seconds=age))
    s = sink(store, retention_seconds=3600, retention_every=3600)
    assert asyncio.run(s.retain()) == 1
    assert asyncio.run(s.retain()) == 0  # within the period: not again
    assert sorted(store.rows) == ["r0", "r1"]


def test_a_body_that_is_not_strict_json_is_kept_without_inputs() -> None:
    assert parsed(b'{"instances": [[1, 2]]}') == {"instances": [[1, 2]]}
    poisons = (b"not json", b'{"x": NaN}', b"[1e999]", b'{"s": "a\\u0000b"}', b'{"s": "\\udc80"}')
    for bad in (*poisons, b"\xff", b'{"s": "raw\x00"}'):
        assert parsed(bad) is None
    kept = record(sample(1, body=b"{oops"), "gw")
    assert kept.inputs is None and kept.output == {"predictions": [0]} and kept.status == 200


def test_an_idle_sink_whose_percents_are_refreshed_on_change_sleeps_until_a_sample() -> None:
    """With the poll refreshing the percents (a backend with a fingerprint), a quiet sink does
    no rounds; the first sample wakes it and is written within a round."""
    store = FakeCaptureStore()
    s = sink(store, flush_seconds=0.02, retention_every=3600)
    s.refresh_each_round = False
    s.retained_at = time.monotonic()  # retention not due for an hour
    rounds: list[int] = []
    real_cycle = s.cycle

    async def counted() -> None:
        rounds.append(len(s.queue))
        await real_cycle()

    s.cycle = counted  # type: ignore[method-assign]

    async def story() -> None:
        task = asyncio.create_task(s.run())
        await asyncio.sleep(0.2)  # ten rounds' worth of quiet
        assert rounds == []
        s.offer(sample(1))
        for _ in range(300):
            if s.written == 1:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(story())
    assert s.written == 1 and rounds[0] == 1
