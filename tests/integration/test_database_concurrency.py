"""Two OS processes racing on the same version or the same audit log, on both backends."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy.orm import Session, sessionmaker

from database.uow import SqlAlchemyUnitOfWork
from lifecycle.stages import ModelStage
from tests.integration.concurrent_workers import append_audit_events, promote_after_barrier
from tests.integration.db_helpers import add_version, migrated_factory

# Engines must not cross a fork, so children are spawned fresh.
SPAWN = multiprocessing.get_context("spawn")


CONFLICT_LINE = (
    "fraud_detector v2 was changed by someone else at the same time; nothing was written"
    " \N{EM DASH} re-read and try again"
)


@pytest.fixture
def factory(database_url: str) -> sessionmaker[Session]:
    return migrated_factory(database_url)


def test_a_second_concurrent_promotion_gets_a_conflict_and_writes_nothing(
    database_url: str, factory: sessionmaker[Session]
) -> None:
    add_version(factory, stage=ModelStage.STAGING)
    barrier, results = SPAWN.Barrier(2), SPAWN.Queue()
    workers = [
        SPAWN.Process(target=promote_after_barrier, args=(database_url, actor, barrier, results))
        for actor in ("alice", "bob")
    ]
    for w in workers:
        w.start()
    outcomes = dict(results.get(timeout=60) for _ in workers)
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    winner = next(actor for actor, outcome in outcomes.items() if outcome == "won")
    [loser_outcome] = [outcome for actor, outcome in outcomes.items() if actor != winner]
    assert loser_outcome == f"ConflictError: {CONFLICT_LINE}", outcomes
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.models.get("fraud_detector", "2").stage == "shadow"
        records = uow.version_records.list_for("fraud_detector")
        assert [(r.to_stage, r.changed_by) for r in records] == [("shadow", winner)]
        events = uow.audit.list("fraud_detector/2")
        assert [(e.action, e.actor) for e in events] == [("stage_changed", winner)]
        assert uow.audit.verify().ok


def test_concurrent_audit_appends_never_fork_the_chain(
    database_url: str, factory: sessionmaker[Session]
) -> None:
    barrier = SPAWN.Barrier(2)
    workers = [
        SPAWN.Process(target=append_audit_events, args=(database_url, actor, 25, barrier))
        for actor in ("alice", "bob")
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    with SqlAlchemyUnitOfWork(factory) as uow:
        verification = uow.audit.verify()
        assert verification.ok, verification
        assert verification.checked == 50
        assert {e.actor for e in uow.audit.list()} == {"alice", "bob"}
