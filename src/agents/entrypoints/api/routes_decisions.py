"""``/v1/models/{name}/decisions``: the monitor agent's decisions, as ``deployer decisions``.

Viewers read them; the agent writes them (``deployer watch``), nobody else.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from agents.entrypoints.api.deps import ContainerDep, Viewer
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import json_response
from agents.entrypoints.api.schemas import ModelName
from agents.queries.decisions import decisions

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("/{name}/decisions", responses=error_responses(404))
async def list_decisions(
    name: ModelName,
    user: Viewer,
    c: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> JSONResponse:
    """The model's latest monitor decisions, newest first, with reasons and handoffs."""
    return json_response(await run_in_threadpool(decisions, c, name, limit))
