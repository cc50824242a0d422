"""``/v1/deployments``: deploy, read, list, change a share, stop.

Each handler is ``async`` and runs the blocking use case in a worker thread, so a deploy that
waits seconds for a server does not hold up other requests.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from agents.bootstrap import Container
from agents.entrypoints.api import deployments
from agents.entrypoints.api.auth import ApiUser
from agents.entrypoints.api.deps import ContainerDep, Deployer, Viewer
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import (
    ACCEPTED,
    OPERATION_ACCEPTED,
    Wait,
    accept,
    json_response,
)
from agents.entrypoints.api.schemas import (
    MODEL_NAME_PATTERN,
    DeploymentId,
    DeployRequest,
    TrafficUpdate,
)
from agents.handlers import operations
from lifecycle.approval import Role

router = APIRouter(prefix="/v1/deployments", tags=["deployments"])


CHANGE = error_responses(404, 409, 502)


@router.post(
    "",
    status_code=201,
    responses={200: {"description": "Only the share of a running canary or shadow changed"}}
    | OPERATION_ACCEPTED
    | CHANGE,
)
async def deploy(
    body: DeployRequest, user: Deployer, c: ContainerDep, request: Request, wait: Wait = False
) -> JSONResponse:
    """Deploy a version (as ``deployer deploy``): 202 at once with the operation that runs it
    (``Location: /v1/operations/{id}``); an unknown model or version, or resources the backend
    cannot honour, are refused at once. With ``wait=true``: 201 with the run's result and
    manifest when it ends (200 when only a running canary's or shadow's share changed)."""
    user.grants.check(Role.DEPLOYER, body.model_name, "deploying")  # before the model's lookup
    command = body.to_command()
    if not wait:
        return await accept(request, command, user.name)
    result: dict[str, Any] = await run_in_threadpool(
        operations.execute, c, command, user.name, "api"
    )
    manifest = result.get("deployment_manifest") or {}
    if result.get("status") == "traffic_updated" or not manifest.get("deployment_id"):
        return json_response(result)
    location = f"{router.prefix}/{manifest['deployment_id']}"
    return json_response(result, 201, headers={"Location": location})


@router.get("", responses=error_responses(404))
async def list_deployments(
    user: Viewer,
    c: ContainerDep,
    model_name: Annotated[str | None, Query(pattern=MODEL_NAME_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """Deployments of the caller's tenants' models, newest first, one page at a time (``total``
    counts them all)."""
    if model_name is not None:
        user.grants.check(Role.VIEWER, model_name, "reading deployments")
    page = await run_in_threadpool(
        deployments.list_deployments, c, model_name, limit, offset, user.grants.sees
    )
    return json_response(page)


@router.get("/{deployment_id}", responses=error_responses(404))
async def get_deployment(
    deployment_id: DeploymentId, user: Viewer, c: ContainerDep
) -> JSONResponse:
    """One deployment: its manifest, routing share, process and health."""
    await _check(c, user, Role.VIEWER, deployment_id)
    return json_response(await run_in_threadpool(deployments.deployment_detail, c, deployment_id))


@router.patch("/{deployment_id}", responses=ACCEPTED | CHANGE)
async def update_deployment(
    deployment_id: DeploymentId, body: TrafficUpdate, user: Deployer, c: ContainerDep
) -> JSONResponse:
    """Change a running deployment: the share of a canary (or the mirror share of a shadow:
    409 for any other), and/or its ``replicas``, ``cpu``, ``memory``, ``autoscale`` in place on
    its own backend (figures not given are kept; a local endpoint refuses any change, 409: its
    workers are fixed when its server starts; ``resize`` says before and after). Recorded on
    the deployment, in its manifest and as the audit event ``deployment_resized``."""
    await _check(c, user, Role.DEPLOYER, deployment_id)
    result = await run_in_threadpool(
        deployments.update_deployment,
        c,
        deployment_id,
        user.name,
        body.traffic,
        body.resize(),
        body.reason,
    )
    return json_response(result)


@router.delete("/{deployment_id}", responses=CHANGE)
async def stop_deployment(
    deployment_id: DeploymentId, user: Deployer, c: ContainerDep
) -> JSONResponse:
    """Delete a deployment: its traffic is routed away first (a canary's share goes back to
    the stable deployment, a shadow's mirror stops), then its server stops and it reads
    ``service_status: deleted`` (native ``rolled_back``); 409 while it alone serves users."""
    await _check(c, user, Role.DEPLOYER, deployment_id)
    return json_response(
        await run_in_threadpool(deployments.stop_deployment, c, deployment_id, user.name)
    )


async def _check(c: Container, user: ApiUser, needed: Role, deployment_id: str) -> None:
    """A deployment found by id is the caller's to read or change only with ``needed`` in its
    model's tenant (403)."""
    model = await run_in_threadpool(deployments.model_of, c, deployment_id)
    user.grants.check(needed, model, f"deployment {deployment_id}")
