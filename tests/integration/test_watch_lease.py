"""The watch lease on both backends: one holder at a time, renewals, expiry and release."""

from __future__ import annotations

import multiprocessing
import time
from datetime import timedelta

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


def test_the_fence_grows_with_every_acquisition_and_a_renewal_keeps_it(database_url: str) -> None:
    factory = migrated_factory(database_url)
    first = leases.acquire(factory, "monitor", "a", 60)
    renewed = leases.acquire(factory, "monitor", "a", 60)
    leases.release(factory, "monitor", "a")
    second = leases.acquire(factory, "monitor", "b", 60)
    leases.release(factory, "monitor", "b")
    third = leases.acquire(factory, "monitor", "a", 60)

    assert [first.fence, renewed.fence, second.fence, third.fence] == [1, 1, 2, 3]


def test_expiry_is_judged_by_the_database_clock(database_url: str) -> None:
    factory = migrated_factory(database_url)
    taken = leases.acquire(factory, "monitor", "a", 60)
    with factory() as session:
        now = leases.db_now(session)

    assert now < taken.expires_at <= now + timedelta(seconds=60)
