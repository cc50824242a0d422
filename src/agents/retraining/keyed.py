"""A retraining run's steps happen once, however often a resumed graph re-runs a node: a
step's DB writes commit with the key ``<run id>:retrain.<node>`` (``agents.keyed_steps``, the
deployer's nodes' too), and a re-run returns what the first stored. External effects (an MLflow
Project run, a registry version) happen before the keyed commit and are looked up by the key
first, so a resumed run repeats only what never finished.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents import keyed_steps
from agents.retraining.deps import RetrainingDeps
from database.protocols import UnitOfWork


def step_node(node: str) -> str:
    """The node name a retraining step is recorded under (``agent_operations.node``)."""
    return f"retrain.{node}"


def once(
    deps: RetrainingDeps, run_id: str, node: str, act: Callable[[UnitOfWork], dict[str, Any]]
) -> dict[str, Any]:
    """Run ``act(uow)`` and commit its writes with the step's key, unless the key is there;
    the run's heartbeat (``progress_at``) moves in the same commit."""

    def with_heartbeat(uow: UnitOfWork) -> dict[str, Any]:
        result = act(uow)
        uow.retraining.mark_progress(run_id, deps.clock.now())  # the run's heartbeat
        return result

    return keyed_steps.once(deps, run_id, step_node(node), with_heartbeat)


def done(deps: RetrainingDeps, run_id: str, node: str) -> dict[str, Any] | None:
    """The stored result of the step, or None when it has not completed."""
    return keyed_steps.already_done(deps, run_id, step_node(node))
