"""The watch lease on both backends: one holder at a time, renewals, expiry and release."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from database import leases
from tests.integration.concurrent_workers import take_lease_after_barrier
from tests.integration.db_helpers import migrated_factory

SPAWN = multiprocessing.get_context("spawn")


def test_two_processes_asking_at_the_same_instant_get_one_lease(database_url: str) -> None:
    migrated_factory(database_url)
    barrier, results = SPAWN.Barrier(2), SPAWN.Queue()
    workers = [
        SPAWN.Process(target=take_lease_after_barrier, args=(database_url, who, barrier, results))
        for who in ("watcher-a", "watcher-b")
    ]
    for w in workers:
        w.start()
    outcomes = dict(results.get(timeout=60) for _ in workers)
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    assert sorted(outcomes.values()) == [False, True], outcomes


def test_a_held_lease_is_renewed_by_its_holder_and_refused_to_others(database_url: str) -> None:
    factory: sessionmaker[Session] = migrated_factory(database_url)
    first = leases.acquire(factory, "monitor", "a", 60)
    renewed = leases.acquire(factory, "monitor", "a", 60)
    refused = leases.acquire(factory, "monitor", "b", 60)

    assert first.held and renewed.held and renewed.expires_at >= first.expires_at
    assert (refused.held, refused.holder) == (False, "a")


def test_an_expired_lease_passes_to_the_next_asker(database_url: str) -> None:
    factory = migrated_factory(database_url)
    leases.acquire(factory, "monitor", "dead-watcher", 0.2)
    time.sleep(0.3)

    taken = leases.acquire(factory, "monitor", "b", 60)

    assert (taken.held, taken.holder) == (True, "b")


def test_a_released_lease_is_free_at_once_and_only_its_holder_can_release_it(
    database_url: str,
) -> None:
    factory = migrated_factory(database_url)
    leases.acquire(factory, "monitor", "a", 60)
    leases.release(factory, "monitor", "b")
    assert not leases.acquire(factory, "monitor", "b", 60).held

    leases.release(factory, "monitor", "a")

    assert leases.current(factory, "monitor") is None
    assert leases.acquire(factory, "monitor", "b", 60).held


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


def test_expiry_is_judged_by_the_clock_the_caller_gives(database_url: str) -> None:
    factory = migrated_factory(database_url)
    clock = _Clock(datetime(2030, 1, 1, tzinfo=UTC))
    leases.acquire(factory, "monitor", "a", 60, clock=clock)
    assert not leases.acquire(factory, "monitor", "b", 60, clock=clock).held

    clock.at += timedelta(seconds=61)

    assert leases.current(factory, "monitor", clock) == leases.LeaseState(
        False, "a", datetime(2030, 1, 1, 0, 1, tzinfo=UTC)
    )
    assert leases.acquire(factory, "monitor", "b", 60, clock=clock).held


def test_a_lease_expires_by_the_clock_it_is_given(database_url: str) -> None:
    factory = migrated_factory(database_url)
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def at(seconds: float) -> _Clock:
        return _Clock(start + timedelta(seconds=seconds))

    leases.acquire(factory, "monitor", "a", 60, clock=at(0))
    refused = leases.acquire(factory, "monitor", "b", 60, clock=at(59))
    taken = leases.acquire(factory, "monitor", "b", 60, clock=at(60))

    assert (refused.held, refused.holder) == (False, "a")
    assert taken == leases.LeaseState(True, "b", start + timedelta(seconds=120))
    assert leases.current(factory, "monitor", clock=at(119)) == taken
    expired = leases.current(factory, "monitor", clock=at(120))
    assert expired is not None and not expired.held
