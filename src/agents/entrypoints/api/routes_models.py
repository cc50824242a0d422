"""``/v1/models/{name}/...``: register, promote, roll back, history (as the CLI's commands)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from agents.entrypoints.api.deps import ContainerDep, Deployer, Viewer
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import (
    OPERATION_ACCEPTED,
    Wait,
    accept,
    execute,
    json_response,
)
from agents.entrypoints.api.schemas import (
    ID_PATTERN,
    LabelRequest,
    ModelName,
    PromoteRequest,
    RegisterRequest,
    RollbackRequest,
    Version,
)
from agents.handlers import labels, registration
from agents.queries.checks import health_checks
from agents.queries.history import model_history

router = APIRouter(prefix="/v1/models", tags=["models"])
CHANGE = error_responses(404, 409, 502)


@router.post("/{name}/versions", status_code=201, responses=CHANGE)
async def register(
    name: ModelName, body: RegisterRequest, user: Deployer, c: ContainerDep
) -> JSONResponse:
    """Register a new version from the MLflow registry (stage development), as ``deployer
    register``; only ``runs:/`` and ``models:/`` URIs, never a folder on the server."""
    command = body.to_command(name)
    result = await run_in_threadpool(registration.register, c, command, user.name)
    return json_response(result, 201)


@router.post("/{name}/versions/{version}/promote", responses=OPERATION_ACCEPTED | CHANGE)
async def promote(
    name: ModelName,
    version: Version,
    body: PromoteRequest,
    user: Deployer,
    c: ContainerDep,
    request: Request,
    wait: Wait = False,
) -> JSONResponse:
    """Move a version one stage on: 202 at once with the operation that runs it (an unknown
    model or version is refused at once). With ``wait=true``, as before: to production the
    gates run (409 with ``unmet`` when they refuse), then 202 with ``approval_id`` while an
    approver has to answer."""
    command = body.to_command(name, version)
    if not wait:
        return await accept(request, command, user.name)
    return await execute(c, command, user.name)


@router.post("/{name}/versions/{version}/label", responses=error_responses(403, 404, 409, 502))
async def label(
    name: ModelName, version: Version, body: LabelRequest, user: Deployer, c: ContainerDep
) -> JSONResponse:
    """Give a version a semantic label (as ``deployer label``): 409 when another version of the
    model carries it, or the version has another label and ``force`` is not set."""
    result = await run_in_threadpool(
        labels.label, c, name, version, body.label, user.name, body.force
    )
    return json_response(result)


@router.post("/{name}/rollback", responses=OPERATION_ACCEPTED | CHANGE)
async def rollback(
    name: ModelName,
    user: Deployer,
    c: ContainerDep,
    request: Request,
    body: Annotated[RollbackRequest | None, Body()] = None,
    wait: Wait = False,
) -> JSONResponse:
    """Switch all traffic back to the previous production deployment (or the one named): 202
    at once with the operation that runs it. With ``wait=true``: the result when it ended;
    409 when there is nothing to go back to."""
    command = (body or RollbackRequest()).to_command(name)
    if not wait:
        return await accept(request, command, user.name)
    return await execute(c, command, user.name)


@router.get("/{name}/history", responses=error_responses(404))
async def history(
    name: ModelName,
    user: Viewer,
    c: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    """The model's timeline, newest first, and what memory advises for its next rollout."""
    return json_response(await run_in_threadpool(model_history, c, name, limit))


@router.get("/{name}/checks", responses=error_responses(404))
async def checks(
    name: ModelName,
    user: Viewer,
    c: ContainerDep,
    deployment_id: Annotated[str, Query(pattern=f"{ID_PATTERN}|^$")] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> JSONResponse:
    """The monitor's latest judgements of the model (or of one of its deployments), oldest
    first: status, action, figures, verdicts and message, as ``deployer checks``."""
    result = await run_in_threadpool(health_checks, c, name, deployment_id, limit)
    return json_response(result)
