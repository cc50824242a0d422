"""The watch lease on both backends: one holder at a time, renewals, expiry and release."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
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


def test_a_lease_expires_by_the_clock_it_is_given(database_url: str) -> None:
    factory = migrated_factory(database_url)
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def at(seconds: float) -> Callable[[], datetime]:
        return lambda: start + timedelta(seconds=seconds)

    leases.acquire(factory, "monitor", "a", 60, now=at(0))
    refused = leases.acquire(factory, "monitor", "b", 60, now=at(59))
    taken = leases.acquire(factory, "monitor", "b", 60, now=at(60))

    assert (refused.held, refused.holder) == (False, "a")
    assert taken == leases.LeaseState(True, "b", start + timedelta(seconds=120))
    assert leases.current(factory, "monitor", now=at(119)) == taken
    expired = leases.current(factory, "monitor", now=at(120))
    assert expired is not None and not expired.held
