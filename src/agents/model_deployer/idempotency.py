"""Side effects that happen once per run, however often a resumed graph re-runs their node.

LangGraph re-runs a node that did not finish (a crash, a kill, an interrupt). A node's DB
writes commit together with its idempotency key, ``<run_id>:<node>``; a re-run finds the key and
returns what the first run stored. External effects before the commit (a registry move, a
routing table) must be idempotent themselves: setting the same stage or table twice is harmless.
None runs inside ``act``: a node that stops a server or moves a stage goes through
``changes.change``, which marks what it touches, acts, and then records through ``once``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents.model_deployer.deps import DeployerDeps
from database.models import AgentOperationRow
from database.protocols import UnitOfWork
from database.types import json_safe


def operation_key(run_id: str, node: str) -> str:
    """The idempotency key of ``node``'s side effects in run ``run_id``."""
    return f"{run_id}:{node}"


def once(
    deps: DeployerDeps, run_id: str, node: str, act: Callable[[UnitOfWork], dict[str, Any]]
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


def already_done(deps: DeployerDeps, run_id: str, node: str) -> dict[str, Any] | None:
    """The stored result of ``node`` in this run, or None if it has not completed."""
    with deps.uow() as uow:
        done = uow.operations.find(operation_key(run_id, node))
        return dict(done.result) if done is not None else None
