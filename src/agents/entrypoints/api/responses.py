"""How the ops API answers: JSON of the use cases' results, with the status a run calls for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from agents.bootstrap import Container
from agents.commands import AgentCommand
from agents.handlers import operation_runs, operations
from lifecycle.jsonable import jsonable

Wait = Annotated[
    bool,
    Query(
        description="true: answer when the run ends or pauses, as before operations (scripts); "
        "false (default): 202 at once with the operation to follow"
    ),
]

AWAITING_APPROVAL = 202
"""A run paused for an approval was accepted, not finished (the CLI exits 4)."""

ACCEPTED: dict[int | str, dict[str, Any]] = {
    AWAITING_APPROVAL: {"description": "Accepted: the run waits for an approver (approval_id)"}
}
"""The OpenAPI entry of a route whose run can pause for an approval."""

OPERATION_ACCEPTED: dict[int | str, dict[str, Any]] = {
    AWAITING_APPROVAL: {
        "description": "Accepted: without `wait`, the operation to follow (its `Location`); "
        "with `wait=true`, a run that waits for an approver (approval_id)"
    }
}
"""The OpenAPI entry of a route that answers with an operation unless asked to wait."""


def json_response(
    result: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """``result`` as JSON (datetimes as ISO 8601, enums by value)."""
    return JSONResponse(jsonable(result), status_code=status, headers=headers)


def run_response(result: dict[str, Any]) -> JSONResponse:
    """A run's result: 202 while it waits for an approval, else 200."""
    waiting = result.get("status") == "awaiting_approval"
    return json_response(result, AWAITING_APPROVAL if waiting else 200)


async def execute(c: Container, command: AgentCommand, actor: str) -> JSONResponse:
    """Run one typed command (off the event loop) and answer as :func:`run_response` does."""
    return run_response(await run_in_threadpool(operations.execute, c, command, actor, "api"))


async def accept(request: Request, command: operation_runs.LongCommand, actor: str) -> JSONResponse:
    """Accept a long-running command as an operation: 202 with it and its ``Location``; the
    API's worker runs it (``handlers.operation_worker``). Bad input is refused now."""
    c: Container = request.app.state.container
    doc = await run_in_threadpool(operation_runs.submit, c, command, actor)
    worker = getattr(request.app.state, "operation_worker", None)
    if worker is not None:
        worker.wake()
    return json_response(doc, AWAITING_APPROVAL, headers={"Location": doc["location"]})
