"""Retraining policies and runs on SQLite and a real PostgreSQL: one active run per model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from database.retraining import RetrainingInProgressError
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import ConflictError
from lifecycle.records import utcnow
from lifecycle.retraining import RetrainingPolicy, RunStatus, Trigger
from tests.integration.db_helpers import migrated_factory


@pytest.fixture
def factory(database_url: str) -> sessionmaker[Session]:
    return migrated_factory(database_url)


def open_run(factory: sessionmaker[Session], run_id: str, model: str = "iris") -> None:
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.retraining.open_run(run_id, model, Trigger.DRIFT, "watcher", utcnow(), "2 drifted")
        uow.commit()


def test_a_policy_round_trips_and_can_be_cleared(factory: sessionmaker[Session]) -> None:
    policy = RetrainingPolicy(
        model_name="iris",
        project="/srv/iris",
        params={"max_iter": 200},
        drift_features=2,
        schedule="0 3 * * 1",
        expensive=True,
    )
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.retraining.set_policy(policy, "alice", utcnow())
        uow.commit()
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        assert uow.retraining.policy("iris") == policy
        assert uow.retraining.policy("other") is None
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.retraining.clear_policy("iris")
        uow.commit()
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        assert uow.retraining.policies() == []


def test_a_second_active_run_of_a_model_is_a_conflict_and_writes_nothing(
    factory: sessionmaker[Session],
) -> None:
    open_run(factory, "rt-1")
    with pytest.raises(RetrainingInProgressError, match="rt-1"):
        open_run(factory, "rt-2")
    assert issubclass(RetrainingInProgressError, ConflictError)
    open_run(factory, "rt-3", model="other")
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        assert [row.id for row in uow.retraining.runs("iris")] == ["rt-1"]
        assert uow.retraining.active_run("other") is not None


def test_a_finished_run_frees_its_model(factory: sessionmaker[Session]) -> None:
    open_run(factory, "rt-1")
    with SqlAlchemyUnitOfWork(factory) as uow:
        row = uow.retraining.run("rt-1")
        assert row is not None
        uow.retraining.set_status(row, RunStatus.RUNNING, utcnow())
        uow.retraining.set_status(row, RunStatus.FAILED, utcnow() + timedelta(seconds=1), "boom")
        uow.commit()
    open_run(factory, "rt-2")
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        first = uow.retraining.run("rt-1")
        assert first is not None and first.status == "failed" and first.error == "boom"
        assert first.started_at is not None and first.finished_at is not None
        assert first.active_model is None
        last = uow.retraining.last_run("iris")
        assert last is not None and last.id == "rt-2"


def test_the_database_refuses_two_active_runs_even_past_the_check(
    factory: sessionmaker[Session],
) -> None:
    """Two processes may both see no active run; the unique active_model still decides."""
    open_run(factory, "rt-1")
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.retraining.active_run = lambda model_name: None  # type: ignore[method-assign]
        with pytest.raises(RetrainingInProgressError, match="another run"):
            uow.retraining.open_run("rt-2", "iris", Trigger.MANUAL, "bob", utcnow())
        uow.commit()
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        assert [row.id for row in uow.retraining.runs("iris")] == ["rt-1"]


def test_an_expensive_run_waits_on_a_pending_retrain_approval(
    factory: sessionmaker[Session],
) -> None:
    open_run(factory, "rt-0a1b2c3d4e5f")
    with SqlAlchemyUnitOfWork(factory) as uow:
        row = uow.retraining.run("rt-0a1b2c3d4e5f")
        assert row is not None
        approval = uow.retraining.await_approval(row, "watcher", utcnow(), version="3")
        uow.commit()
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        stored = uow.approvals.get(approval.approval_id)
        assert (stored.action, stored.state, stored.run_id) == (
            "retrain",
            "pending",
            "rt-0a1b2c3d4e5f",
        )
        run = uow.retraining.run("rt-0a1b2c3d4e5f")
        assert run is not None and run.status == "awaiting_approval"
        assert run.approval_id == approval.approval_id and run.active_model == "iris"
