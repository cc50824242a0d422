"""How the ops API answers: JSON of the use cases' results, with the status a run calls for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from agents.bootstrap import Container
from agents.commands import AgentCommand
from agents.handlers import operations
from lifecycle.jsonable import jsonable

AWAITING_APPROVAL = 202
"""A run paused for an approval was accepted, not finished (the CLI exits 4)."""

ACCEPTED: dict[int | str, dict[str, Any]] = {
    AWAITING_APPROVAL: {"description": "Accepted: the run waits for an approver (approval_id)"}
}
"""The OpenAPI entry of a route whose run can pause for an approval."""


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
