"""A retraining run cut short while active (its process died) on SQLite and PostgreSQL, over
the fake project runner: each keyed step moves the run's heartbeat; the watcher's worker
resumes a stale run from its checkpoint (nothing trained twice), fails one resumed often
enough (audited ``retraining_stalled``, the model freed), and leaves a run with recent
progress alone; ``deployer retraining resume`` takes one up by hand (``--force`` when it may
still be running)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import select

from agents.handlers.retraining import resume_by_hand, take_up_stalled
from agents.retraining import build_graph
from agents.retraining.agent import RetrainingAgent
from agents.settings import Settings
from database.models import AuditEventRow
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.alerts import alert_for
from lifecycle.errors import ConflictError, PermissionDeniedError
from lifecycle.records import utcnow
from lifecycle.retraining import Trigger
from tests.retraining_fakes import RetrainingWorld, make_retraining_world

RUN = "rt-cut-short"


@dataclass
class WorldHome:
    """The parts of ``Services`` the retraining handlers use, over a retraining world whose
    agent keeps its checkpoints in ``saver`` (as ``Container.open_retraining`` does in the DB)."""

    world: RetrainingWorld
    settings: Settings
    saver: InMemorySaver

    def uow(self) -> SqlAlchemyUnitOfWork:
        return self.world.uow()

    def reader(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.world.factory, read_only=True)

    @contextmanager
    def open_retraining(self, actor: str | None = None) -> Iterator[RetrainingAgent]:
        yield RetrainingAgent(self.world.deps, checkpointer=self.saver)


@pytest.fixture
def home(tmp_path: Path, database_url: str) -> WorldHome:
    world = make_retraining_world(tmp_path, url=database_url)
    world.capture(120)
    settings = Settings(
        DEPLOYER_HOME=str(tmp_path / "home"),
        DEPLOYER_DATABASE_URL=database_url,
        DEPLOYER_RETRAINING_STALE_SECONDS="3600",
        DEPLOYER_RETRAINING_RESUME_ATTEMPTS="2",
    )
    return WorldHome(world, settings, InMemorySaver())


def cut_short(home: WorldHome, quiet: timedelta) -> dict[str, Any]:
    """A run the monitor opened, trained and registered, then its process died before the
    evaluation; its last progress ``quiet`` ago. The run row as it was left."""
    world = home.world
    with world.uow() as uow:
        uow.retraining.open_run(RUN, "iris", Trigger.DRIFT, "monitor", world.clock.now(), "drift")
        uow.commit()
    graph = build_graph(world.deps).compile(checkpointer=home.saver, interrupt_before=["evaluate"])
    request = {"model_name": "iris", "retraining_run_id": RUN, "trigger": "drift"}
    graph.invoke({**request, "requested_by": "monitor"}, {"configurable": {"thread_id": RUN}})
    with world.uow() as uow:
        row = uow.retraining.run(RUN)
        assert row is not None
        left = {"status": row.status, "progress_at": row.progress_at}
        row.progress_at = utcnow() - quiet
        uow.commit()
    return left


def run_row(home: WorldHome) -> Any:
    with home.reader() as uow:
        row = uow.retraining.run(RUN)
        assert row is not None
        uow.session.expunge(row)
        return row


def actions(home: WorldHome) -> list[str]:
    with home.reader() as uow:
        return list(uow.session.scalars(select(AuditEventRow.action).order_by(AuditEventRow.id)))


def test_a_stale_run_is_resumed_from_its_checkpoint_and_trains_nothing_again(
    home: WorldHome,
) -> None:
    left = cut_short(home, timedelta(hours=2))
    assert left["status"] == "running"
    assert left["progress_at"] == home.world.clock.now()  # the register step's heartbeat
    assert len(home.world.runner.trained) == 1
    [result] = take_up_stalled(home, follow=False)  # type: ignore[arg-type]
    assert result["status"] == "handed_over" and result["new_version"] == "2"
    assert len(home.world.runner.trained) == 1  # resumed at the evaluation
    assert sorted(home.world.registry.versions["iris"]) == ["1", "2"]
    row = run_row(home)
    assert (row.status, row.resume_attempts, row.active_model) == ("handed_over", 1, None)
    done = actions(home)
    assert done.count("retraining_resumed") == 1
    assert done.index("retraining_resumed") < done.index("retraining_handed_over")
    assert take_up_stalled(home, follow=False) == []  # type: ignore[arg-type]


def test_a_run_resumed_often_enough_is_failed_alerted_and_frees_the_model(
    home: WorldHome,
) -> None:
    cut_short(home, timedelta(hours=2))
    with home.uow() as uow:
        row = uow.retraining.run(RUN)
        assert row is not None
        row.resume_attempts = 2
        uow.commit()
    [result] = take_up_stalled(home, follow=False)  # type: ignore[arg-type]
    assert result["status"] == "failed" and "after 2 resumes" in result["errors"][0]
    row = run_row(home)
    assert (row.status, row.active_model) == ("failed", None)
    assert row.error.startswith("stalled: no progress for")
    with home.reader() as uow:
        [event] = [e for e in uow.audit.list("iris") if e.action == "retraining_stalled"]
        alert = alert_for(event.action, event.subject, event.payload, event.actor)
    assert alert is not None and alert.severity.label == "warning"
    assert alert.summary.startswith(f"iris's retraining run {RUN} failed: stalled")
    with home.uow() as uow:  # the model's one active slot is free again
        uow.retraining.open_run("rt-next", "iris", Trigger.MANUAL, "ann", utcnow())
        uow.commit()


def test_recent_progress_is_left_alone_and_by_hand_it_needs_force(home: WorldHome) -> None:
    from tests.access_fixtures import grant_roles

    cut_short(home, timedelta(minutes=5))
    assert take_up_stalled(home, follow=False) == []  # type: ignore[arg-type]
    grant_roles(home, {"ann": "deployer"})  # type: ignore[arg-type]
    with pytest.raises(PermissionDeniedError):
        resume_by_hand(home, RUN, "eve", follow=False)  # type: ignore[arg-type]
    with pytest.raises(ConflictError, match=r"may still be running.*--force"):
        resume_by_hand(home, RUN, "ann", follow=False)  # type: ignore[arg-type]
    assert run_row(home).resume_attempts == 0  # refused: nothing changed
    result = resume_by_hand(home, RUN, "ann", force=True, follow=False)  # type: ignore[arg-type]
    assert result["status"] == "handed_over"
    assert len(home.world.runner.trained) == 1
    with pytest.raises(ConflictError, match="it is handed_over, not running"):
        resume_by_hand(home, RUN, "ann", force=True, follow=False)  # type: ignore[arg-type]


def test_two_workers_never_both_claim_one_resume(home: WorldHome) -> None:
    cut_short(home, timedelta(hours=2))
    with home.uow() as uow:
        assert uow.retraining.claim_resume(RUN, 0, utcnow())
        uow.commit()
    with home.uow() as uow:
        assert not uow.retraining.claim_resume(RUN, 0, utcnow())
        uow.commit()
    assert run_row(home).resume_attempts == 1
