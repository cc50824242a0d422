"""Long-running operations (issue 19): what the API's worker does with an accepted request.

A deploy, promote, rollback or retrain asked over the API is answered ``202 Accepted`` with an
operation id; the work runs on its durable thread (the system graph's; a retrain: its run's) in
a worker the API process owns. Pure: the repository stores the rows, the handler acts on these
verdicts.

- ``queued`` -> ``running`` when a worker claims it; ``running`` -> ``succeeded`` / ``failed``
  / ``waiting_approval`` when the graph returns; ``waiting_approval`` -> ``succeeded`` /
  ``failed`` when the approval's answer finished the thread.
- A running operation whose heartbeat is older than the stale time lost its worker (the API
  process died): another worker claims it again and resumes the thread from its checkpoint,
  ``MAX_ATTEMPTS`` times at most; after that it fails (``take_up``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from lifecycle.redaction import redact_text


class OperationStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING_APPROVAL = "waiting_approval"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class OperationKind(StrEnum):
    DEPLOY = "deploy"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    RETRAIN = "retrain"


CLAIMABLE = frozenset({OperationStatus.QUEUED, OperationStatus.RUNNING})
"""Statuses a worker may claim from (a running one only once its heartbeat is stale)."""
FINISHED = frozenset({OperationStatus.SUCCEEDED, OperationStatus.FAILED})
MAX_ATTEMPTS = 3
"""How often an operation is started or taken up again before it is failed."""


class TakeUp(StrEnum):
    WAIT = "wait"
    """Not for this worker now: finished, waiting for a person, or running with a fresh beat."""
    RUN = "run"
    """Start it (queued) or resume its thread from its checkpoint (stale)."""
    FAIL = "fail"
    """Taken up too often: fail it (its thread is left as the crash left it)."""


def take_up(
    status: str,
    heartbeat_at: datetime | None,
    attempts: int,
    now: datetime,
    stale_seconds: float,
    max_attempts: int = MAX_ATTEMPTS,
) -> TakeUp:
    """What a worker does with an operation it read (before it claims it)."""
    if status == OperationStatus.QUEUED:
        return TakeUp.RUN if attempts < max_attempts else TakeUp.FAIL
    if status != OperationStatus.RUNNING:
        return TakeUp.WAIT
    if heartbeat_at is not None and now - heartbeat_at <= timedelta(seconds=stale_seconds):
        return TakeUp.WAIT
    return TakeUp.RUN if attempts < max_attempts else TakeUp.FAIL


def ended_as(result: Mapping[str, Any]) -> OperationStatus:
    """The status a run's result leaves its operation in (a failed run raises instead)."""
    if result.get("status") == "awaiting_approval":
        return OperationStatus.WAITING_APPROVAL
    return OperationStatus.SUCCEEDED


def concluded(
    kind: str, result: Mapping[str, Any]
) -> tuple[OperationStatus, dict[str, Any] | None]:
    """The status (and typed error) a finished run leaves its operation in. A retraining run
    ends with its own status rather than an exception: one that ``failed`` fails its operation
    (its result is kept beside the error); every other end (handed over, not better) succeeded."""
    if kind != OperationKind.RETRAIN or result.get("status") != "failed":
        return ended_as(result), None
    said = "; ".join(str(e) for e in result.get("errors") or ()) or "the retraining run failed"
    return OperationStatus.FAILED, typed_error("RetrainingFailedError", said, 1)


def typed_error(type_name: str, message: str, exit_code: int) -> dict[str, Any]:
    """The ``error`` of a failed operation: the error class's name, one line (any URI in it
    redacted, as the API's error envelope does), its exit code."""
    lines = message.strip().splitlines()
    first = redact_text(lines[0]) if lines else type_name
    return {"type": type_name, "message": first, "exit_code": exit_code}


def abandoned(attempts: int) -> dict[str, Any]:
    """The error of an operation taken up ``attempts`` times without an end."""
    return typed_error(
        "DeploymentFailedError",
        f"the operation was started {attempts} times and never finished (its worker died "
        "each time); resume its thread with `deployer resume` once the cause is fixed",
        1,
    )


def operation_thread(operation_id: str) -> str:
    """The caller's thread id an operation runs on (the system thread is ``system-`` + it)."""
    return operation_id


def node_path(checkpoint_ns: str, node: str) -> str:
    """Where a running node is, as an operation shows it: ``model_deployer/start_endpoint``
    for a node of the deployer's graph run inside the system graph's ``model_deployer`` node,
    ``supervisor`` for a node of the system graph itself. ``checkpoint_ns`` is LangGraph's
    namespace of the node's task (``model_deployer:<id>|start_endpoint:<id>``)."""
    names = [part.split(":", 1)[0] for part in checkpoint_ns.split("|") if part]
    if not names or names[-1] != node:
        names.append(node)
    return "/".join(name for name in names if name)


def location(operation_id: str) -> str:
    """Where the API shows an operation."""
    return f"/v1/operations/{operation_id}"
