"""``GET /v1/models/{name}/drift``: the serving version judged for drift now (viewers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from agents.entrypoints.api.deps import ContainerDep, Viewer
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import json_response
from agents.entrypoints.api.schemas import ModelName
from agents.queries.drift import drift_report, parse_window
from lifecycle.durations import WINDOW_PATTERN

router = APIRouter(tags=["drift"])


@router.get("/v1/models/{name}/drift", responses=error_responses(404, 409))
async def drift(
    name: ModelName,
    user: Viewer,
    c: ContainerDep,
    window: Annotated[
        str, Query(pattern=WINDOW_PATTERN, description="30m, 1h, 1d or seconds.")
    ] = "1h",
) -> JSONResponse:
    """Each column's test statistic, Holm-corrected p-value, PSI and verdict, and the model's
    verdict, over the window's captured predictions against the serving version's reference
    (``deployer drift NAME --json``). 404: no such model; 409: it has no live deployment, or
    its serving version no reference. Nothing is written."""
    seconds = parse_window(window)
    return json_response(await run_in_threadpool(drift_report, c, name, seconds))
