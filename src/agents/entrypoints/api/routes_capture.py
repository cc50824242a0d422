"""``/v1/models/{name}/capture``: a model's prediction capture, as ``deployer capture status``
(viewers read) and ``enable``/``disable`` (deployers change; audited ``capture_set``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field, field_validator
from starlette.concurrency import run_in_threadpool

from agents.entrypoints.api.deps import ContainerDep, Deployer, Viewer
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import json_response
from agents.entrypoints.api.schemas import Body, ModelName
from agents.handlers.capture import capture_status, set_capture_percent

router = APIRouter(prefix="/v1/models", tags=["capture"])


class CaptureRequest(Body):
    """The share of the model's requests the gateways capture (0 turns capture off)."""

    percent: float = Field(ge=0, le=100, allow_inf_nan=False, description="0 to 100.")

    @field_validator("percent", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("the percent must be a number from 0 to 100")
        return value


@router.get("/{name}/capture", responses=error_responses(404))
async def get_capture(name: ModelName, user: Viewer, c: ContainerDep) -> JSONResponse:
    """The model's capture percent and its captured predictions (count, oldest, newest)."""
    result = await run_in_threadpool(capture_status, c, name)
    return json_response(result["models"][0])


@router.put("/{name}/capture", responses=error_responses(404, 409, 502))
async def put_capture(
    name: ModelName, body: CaptureRequest, user: Deployer, c: ContainerDep
) -> JSONResponse:
    """Set the model's capture percent; running gateways apply it within half a second."""
    result = await run_in_threadpool(set_capture_percent, c, name, body.percent, user.name)
    return json_response(result)
