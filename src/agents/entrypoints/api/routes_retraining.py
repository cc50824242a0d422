"""``/v1/models/{name}/retraining`` (a model's retraining policy, as ``deployer retraining``)
and ``/v1/models/{name}/retrain`` (a manual run, as ``deployer retrain``).

Viewers read the policy; deployers set, clear and retrain. A bad policy is a 400 and nothing
is written; a retraining while one of the model's runs is active is a 409. ``POST .../retrain``
answers 202 at once with an operation (issue 19; training takes seconds to minutes), which
``GET /v1/operations/{id}`` follows to the run's status, the new version, its evaluation
against production and the handoffs followed; ``?wait=true`` answers when the run is done. ``GET
.../retraining/runs`` lists the model's runs (viewers).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StrictBool
from starlette.concurrency import run_in_threadpool

from agents.entrypoints.api.deps import ContainerDep, Deployer, Viewer
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import OPERATION_ACCEPTED, Wait, accept, json_response
from agents.entrypoints.api.schemas import Body, ModelName, Reason
from agents.handlers import retraining, retraining_policy
from agents.handlers.operation_runs import Retrain
from agents.queries import retraining as retraining_runs
from lifecycle.durations import WINDOW_PATTERN
from lifecycle.errors import BadInputError, UnknownModelError

router = APIRouter(prefix="/v1/models", tags=["retraining"])

ParamKey = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")]
Window = Annotated[str, Field(pattern=WINDOW_PATTERN, description="30m, 6h, 7d, 1w.")]


class PolicyBody(Body):
    """A retraining policy: the MLflow Project and what triggers it."""

    project: str = Field(min_length=1, max_length=1000)
    """A folder holding an MLproject (on the API's machine), or a git URI."""
    entry_point: str = Field(default="main", pattern=r"^[A-Za-z0-9_.\-]{1,100}$")
    params: dict[ParamKey, Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=dict,
        max_length=50,
        # pydantic states the key pattern as patternProperties; say that other keys are refused
        json_schema_extra={"additionalProperties": False},
    )
    on_drift: int | None = Field(default=None, ge=1, le=10_000)
    on_quality_drop: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)
    schedule: str | None = Field(default=None, max_length=100)
    """A cron expression, UTC."""
    cooldown: Window = "6h"
    window: Window = "7d"
    expensive: StrictBool = False

    def request(self) -> retraining_policy.PolicyRequest:
        return retraining_policy.PolicyRequest(
            project=self.project,
            entry_point=self.entry_point,
            params=tuple(f"{k}={v}" for k, v in self.params.items()),
            on_drift=self.on_drift,
            on_quality_drop=self.on_quality_drop,
            schedule=self.schedule,
            cooldown=self.cooldown,
            window=self.window,
            expensive=self.expensive,
        )


class RetrainBody(Body):
    reason: Reason = ""
    since: Window | None = None
    """The data window (default: the policy's)."""


@router.get("/{name}/retraining", responses=error_responses(404))
async def show(name: ModelName, user: Viewer, c: ContainerDep) -> JSONResponse:
    """The model's retraining policy (404: it has none)."""
    (policy,) = await run_in_threadpool(retraining_policy.show_policies, c, name)
    return json_response(policy)


@router.put("/{name}/retraining", responses=error_responses(404, 409, 502))
async def set_policy(
    name: ModelName, body: PolicyBody, user: Deployer, c: ContainerDep
) -> JSONResponse:
    """Set (or replace) the model's retraining policy (audited as ``retraining_policy_set``)."""
    try:
        result = await run_in_threadpool(
            retraining_policy.set_policy, c, user.name, name, body.request()
        )
    except UnknownModelError:
        raise
    except BadInputError as exc:  # the body fits the document: this home refuses the policy
        raise retraining_policy.PolicyRefusedError(str(exc)) from None
    return json_response(result)


@router.delete("/{name}/retraining", responses=error_responses(404, 409, 502))
async def clear_policy(name: ModelName, user: Deployer, c: ContainerDep) -> JSONResponse:
    """Remove the model's retraining policy (``cleared`` false: it had none)."""
    result = await run_in_threadpool(retraining_policy.clear_policy, c, user.name, name)
    return json_response(result)


@router.post("/{name}/retrain", responses=OPERATION_ACCEPTED | error_responses(404, 409, 502))
async def retrain(
    name: ModelName,
    user: Deployer,
    c: ContainerDep,
    request: Request,
    body: RetrainBody | None = None,
    wait: Wait = False,
) -> JSONResponse:
    """Retrain the model now on recent labelled traffic: 202 at once with the operation that
    runs it (``Location: /v1/operations/{id}``; a model without a policy, or with a run
    already active, is refused at once). With ``wait=true``: 200 when the run is done."""
    given = body or RetrainBody()
    if not wait:
        command = Retrain(model_name=name, reason=given.reason, since=given.since)
        return await accept(request, command, user.name)
    result: dict[str, Any] = await run_in_threadpool(
        retraining.retrain, c, name, user.name, given.reason, given.since
    )
    return json_response(result)


@router.get("/{name}/retraining/runs", responses=error_responses(404))
async def runs(
    name: ModelName,
    user: Viewer,
    c: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    """The model's retraining runs, newest first (as ``deployer retraining runs NAME``)."""
    found = await run_in_threadpool(retraining_runs.runs, c, name, limit)
    return json_response({"model_name": name, "runs": found})
