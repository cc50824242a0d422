"""A retraining run's steps happen once, however often a resumed graph re-runs a node: a
step's DB writes commit with the key ``<run id>:retrain.<node>`` (``agent_operations``), and a
re-run returns what the first stored. External effects (an MLflow Project run, a registry
version) happen before the keyed commit and are looked up by the key first, so a resumed run
repeats only what never finished.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents.retraining.deps import RetrainingDeps
from database.models import AgentOperationRow
from database.protocols import UnitOfWork
from database.types import json_safe


def step_key(run_id: str, node: str) -> str:
    return f"{run_id}:retrain.{node}"


def once(
    deps: RetrainingDeps, run_id: str, node: str, act: Callable[[UnitOfWork], dict[str, Any]]
) -> dict[str, Any]:
    """Run ``act(uow)`` and commit its writes with the step's key, unless the key is there;
    the run's heartbeat (``progress_at``) moves in the same commit."""
    key = step_key(run_id, node)
    with deps.uow() as uow:
        done = uow.operations.find(key)
        if done is not None:
            return dict(done.result)
        result = act(uow)
        uow.retraining.mark_progress(run_id, deps.clock.now())  # the run's heartbeat
        uow.operations.add(
            AgentOperationRow(
                key=key, run_id=run_id, node=f"retrain.{node}", result=json_safe(result)
            )
        )
        uow.commit()
    return result


def done(deps: RetrainingDeps, run_id: str, node: str) -> dict[str, Any] | None:
    """The stored result of the step, or None when it has not completed."""
    with deps.uow() as uow:
        found = uow.operations.find(step_key(run_id, node))
        return dict(found.result) if found is not None else None
