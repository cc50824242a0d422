"""The ``operations`` rows (issue 19) on SQLite and a real PostgreSQL: a queued or stale
operation is claimed by exactly one worker, a live one by none, and only its owner records it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from database.models_operations import OperationRow
from database.operations import OperationRepository
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import UnknownOperationError
from lifecycle.operations import OperationStatus
from lifecycle.records import utcnow
from tests.integration.db_helpers import migrated_factory

STALE = 30.0


@pytest.fixture
def factory(database_url: str) -> sessionmaker[Session]:
    return migrated_factory(database_url)


def queued(factory: sessionmaker[Session], op_id: str, age_seconds: float = 0.0) -> None:
    row = OperationRow(
        id=op_id,
        kind="deploy",
        subject="iris",
        requested_by="dan",
        thread_id=f"system-{op_id}",
        status=OperationStatus.QUEUED.value,
        command={"kind": "deploy", "model_name": "iris", "version": "1"},
        created_at=utcnow() - timedelta(seconds=age_seconds),
    )
    with SqlAlchemyUnitOfWork(factory) as uow:
        OperationRepository(uow.session).add(row)
        uow.commit()


def claim(factory: sessionmaker[Session], owner: str, seconds_later: float = 0.0) -> list[str]:
    """What ``owner`` claims of what it reads as claimable now (+ ``seconds_later``)."""
    now = utcnow() + timedelta(seconds=seconds_later)
    with SqlAlchemyUnitOfWork(factory) as uow:
        repo = OperationRepository(uow.session)
        won = [row.id for row in repo.claimable(now, STALE) if repo.claim(row, owner, now)]
        uow.commit()
    return won


def read(factory: sessionmaker[Session], op_id: str) -> OperationRow:
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        row = OperationRepository(uow.session).get(op_id)
        uow.session.expunge(row)
        return row


def test_a_queued_operation_is_claimed_once_and_a_second_worker_gets_nothing(
    factory: sessionmaker[Session],
) -> None:
    queued(factory, "op-old", age_seconds=5)
    queued(factory, "op-new")
    assert claim(factory, "api-1") == ["op-old", "op-new"], "oldest first"
    assert claim(factory, "api-2") == [], "running with a fresh heartbeat: nobody else's"
    row = read(factory, "op-old")
    assert (row.status, row.owner, row.attempts) == ("running", "api-1", 1)
    assert row.started_at is not None and row.heartbeat_at is not None


def test_of_two_workers_that_read_the_same_row_exactly_one_wins_it(
    factory: sessionmaker[Session],
) -> None:
    queued(factory, "op-race")
    now = utcnow()
    with SqlAlchemyUnitOfWork(factory) as first_read:
        stale_copy = OperationRepository(first_read.session).get("op-race")
        seen = OperationRow(id=stale_copy.id, attempts=stale_copy.attempts, started_at=None)
    assert claim(factory, "api-1") == ["op-race"]
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert not OperationRepository(uow.session).claim(seen, "api-2", now)
        uow.commit()
    assert read(factory, "op-race").owner == "api-1"


def test_a_running_operation_whose_heartbeat_went_stale_is_taken_up_by_another_worker(
    factory: sessionmaker[Session],
) -> None:
    queued(factory, "op-crash")
    assert claim(factory, "api-dead") == ["op-crash"]
    assert claim(factory, "api-2", seconds_later=STALE - 5) == [], "still beating"
    assert claim(factory, "api-2", seconds_later=STALE + 5) == ["op-crash"]
    row = read(factory, "op-crash")
    assert (row.status, row.owner, row.attempts) == ("running", "api-2", 2)
    with SqlAlchemyUnitOfWork(factory) as uow:
        repo = OperationRepository(uow.session)
        assert not repo.beat("op-crash", "api-dead", utcnow(), "model_deployer/x", 3)
        lost = repo.finish("op-crash", "api-dead", OperationStatus.FAILED, utcnow())
        assert not lost, "the dead worker's late word changes nothing"
        assert repo.beat("op-crash", "api-2", utcnow(), "model_deployer/route", 4)
        done = {"deployment_manifest": {"deployment_id": "d1"}}
        assert repo.finish("op-crash", "api-2", OperationStatus.SUCCEEDED, utcnow(), done)
        uow.commit()
    row = read(factory, "op-crash")
    progress = (row.status, row.current_node, row.steps_done)
    assert progress == ("succeeded", "model_deployer/route", 4)
    assert row.result == {"deployment_manifest": {"deployment_id": "d1"}}
    assert row.finished_at is not None
    assert claim(factory, "api-3", seconds_later=10 * STALE) == [], "finished: nobody's"


def test_an_unknown_operation_is_a_typed_404_error(factory: sessionmaker[Session]) -> None:
    refused = pytest.raises(UnknownOperationError, match="no operation with id 'op-none'")
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow, refused:
        OperationRepository(uow.session).get("op-none")
