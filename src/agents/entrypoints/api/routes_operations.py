"""``/v1/operations/{id}``: a long-running request's progress (issue 19).

A deploy, promote or rollback asked without ``wait=true`` answers 202 with an operation; its
work runs in the API process's worker on its durable thread, and this route shows where it is:
the graph's current node and steps done, the manifest when it finished, the typed error when it
failed, or the approval it waits for.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from agents.entrypoints.api.deps import ContainerDep, Viewer
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import json_response
from agents.entrypoints.api.schemas import OperationId
from agents.handlers import operation_runs
from lifecycle.approval import Role

router = APIRouter(prefix="/v1/operations", tags=["operations"])


@router.get("/{operation_id}", responses=error_responses(404))
async def get_operation(operation_id: OperationId, user: Viewer, c: ContainerDep) -> JSONResponse:
    """One operation: ``status`` (queued, running, waiting_approval, succeeded, failed),
    ``current_node``, ``steps_done``, ``manifest``, ``waiting_for``, ``error``. Another
    tenant's operation is 403."""
    doc = await run_in_threadpool(operation_runs.show, c, operation_id)
    user.grants.check(Role.VIEWER, str(doc["subject"]), f"operation {operation_id}")
    return json_response(doc)
