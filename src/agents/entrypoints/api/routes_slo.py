"""``/v1/models/{name}/slo``: a model's service-level objectives, as ``deployer slo``.

Viewers read them; deployers change them (a field given as null turns that bound off; fields
left out keep their values). A bad value is a 400 and nothing is written.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from agents.entrypoints.api.deps import ContainerDep, Deployer, Viewer
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import json_response
from agents.entrypoints.api.schemas import Body, ModelName
from agents.handlers import slo

router = APIRouter(prefix="/v1/models", tags=["models"])


class SloRequest(Body):
    """Objectives to set; null turns a bound off (not ``min_requests``)."""

    model_config = ConfigDict(extra="forbid", strict=True)  # a "0.1" or a true is not a number

    error_rate: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    """Errors per request at most."""
    p95_ms: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    p99_ms: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    latency_factor: float | None = Field(default=None, ge=1, allow_inf_nan=False)
    """p95 and p99 at most this many times the deployment's own baseline."""
    min_requests: int = Field(default=20, ge=1, le=1_000_000_000)
    """Fewer requests in the window is inconclusive (never null; only a field given is set)."""

    @field_validator("min_requests", mode="before")
    @classmethod
    def _whole(cls, value: object) -> object:
        """JSON's 2148.0 is the integer 2148 (JSON Schema says so); 2.5 is not."""
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def changes(self) -> dict[str, float | int | None]:
        """The fields the body gave, null ones included."""
        return {k: getattr(self, k) for k in sorted(self.model_fields_set)}


@router.get("/{name}/slo", responses=error_responses(404))
async def show(name: ModelName, user: Viewer, c: ContainerDep) -> JSONResponse:
    """The objectives the model is held to (its own over the defaults) and the last SLO status
    of each of its judged deployments."""
    return json_response(await run_in_threadpool(slo.show, c, name))


@router.put("/{name}/slo", responses=error_responses(404, 409, 502))
async def set_objectives(
    name: ModelName, body: SloRequest, user: Deployer, c: ContainerDep
) -> JSONResponse:
    """Set some of the model's objectives (audited as ``slo_set``)."""
    result = await run_in_threadpool(slo.set_objectives, c, user.name, name, body.changes())
    return json_response(result)
