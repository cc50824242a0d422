"""Code that runs in spawned child processes for the concurrency tests."""

from __future__ import annotations

from typing import Any

from database.engine import make_engine
from database.services import record_stage_change
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import ModelDeployerError
from lifecycle.stages import ModelStage
from tests.audit_keys import keyed_factory


def promote_after_barrier(url: str, actor: str, barrier: Any, results: Any) -> None:
    """Read the version, wait for the rival to have read it too, then try to promote it."""
    engine = make_engine(url)
    factory = keyed_factory(engine)
    try:
        with SqlAlchemyUnitOfWork(factory) as uow:
            row = uow.models.get("fraud_detector", "2")
            # End the read so SQLite's write lock is not held across the barrier; the ORM
            # object keeps the version it read, which is what the optimistic check compares.
            uow.commit()
            barrier.wait(timeout=30)
            assert row.stage == "staging"
            record_stage_change(uow, "fraud_detector", "2", ModelStage.SHADOW, actor)
            uow.commit()
        results.put((actor, "won"))
    except ModelDeployerError as exc:
        results.put((actor, f"{type(exc).__name__}: {exc}"))
    except Exception as exc:  # report anything else to the parent instead of dying silently
        results.put((actor, f"unexpected {type(exc).__name__}: {exc}"))
    finally:
        engine.dispose()


def append_audit_events(url: str, actor: str, count: int, barrier: Any) -> None:
    """Append ``count`` audit events, each in its own transaction, racing the other process."""
    engine = make_engine(url)
    factory = keyed_factory(engine)
    barrier.wait(timeout=30)
    for i in range(count):
        with SqlAlchemyUnitOfWork(factory) as uow:
            uow.audit.append(actor, "ping", "race", {"i": i})
            uow.commit()
    engine.dispose()


def take_lease_after_barrier(url: str, holder: str, barrier: Any, results: Any) -> None:
    """Try to take the ``monitor`` lease at the same instant as another process."""
    from database import leases

    engine = make_engine(url)
    factory = keyed_factory(engine)
    barrier.wait(timeout=30)
    state = leases.acquire(factory, "monitor", holder, 60)
    results.put((holder, state.held))
    engine.dispose()
