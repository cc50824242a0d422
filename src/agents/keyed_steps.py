"""Side effects that happen once per run, however often a resumed graph re-runs their node.

LangGraph re-runs a node that did not finish (a crash, a kill, an interrupt). A node's DB
writes commit together with its idempotency key, ``<run_id>:<node>`` (``agent_operations``); a
re-run finds the key and returns what the first run stored. External effects before the commit
(a registry move, a routing table, an MLflow Project run) must be idempotent themselves or be
looked up by the key first, so a resumed run repeats only what never finished. None runs inside
``act``: a deployer node that stops a server or moves a stage goes through
``model_deployer.changes.change``, which marks what it touches, acts, and then records through
``once``. The deployer's nodes and the retraining agent's steps (``retraining.keyed``) share it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from database.models import AgentOperationRow
from database.protocols import UnitOfWork
from database.types import json_safe


class KeyedDeps(Protocol):
    """What ``once`` needs of an agent's deps: its units of work."""

    @property
    def uow(self) -> Callable[[], UnitOfWork]: ...


def operation_key(run_id: str, node: str) -> str:
    """The idempotency key of ``node``'s side effects in run ``run_id``."""
    return f"{run_id}:{node}"


def once(
    deps: KeyedDeps, run_id: str, node: str, act: Callable[[UnitOfWork], dict[str, Any]]
) -> dict[str, Any]:
    """Run ``act(uow)`` and commit its writes with the key, unless the key is already there.

    Returns ``act``'s result, or the stored result of the run that committed first.
    """
    key = operation_key(run_id, node)
    with deps.uow() as uow:
        done = uow.operations.find(key)
        if done is not None:
            return dict(done.result)
        result = act(uow)
        uow.operations.add(
            AgentOperationRow(key=key, run_id=run_id, node=node, result=json_safe(result))
        )
        uow.commit()
    return result


def already_done(deps: KeyedDeps, run_id: str, node: str) -> dict[str, Any] | None:
    """The stored result of ``node`` in this run, or None if it has not completed."""
    with deps.uow() as uow:
        done = uow.operations.find(operation_key(run_id, node))
        return dict(done.result) if done is not None else None
