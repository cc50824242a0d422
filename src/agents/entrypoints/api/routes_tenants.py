"""``/v1/tenants``: the teams on the platform (issue 19), as ``deployer tenant``.

Creating and deleting a tenant is a platform admin's (403 for anyone else, a tenant's admin
too); the list shows the tenants the caller holds a role in (all of them to a platform admin).
Deleting ``default`` is 422; a tenant with registered models is 409 and nothing is deleted."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from agents.entrypoints.api.deps import ContainerDep, Viewer
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import json_response
from agents.entrypoints.api.schemas import TENANT_PATTERN, Body, TenantName
from agents.handlers import tenants

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])


class TenantRequest(Body):
    """A tenant to create."""

    name: str = Field(pattern=TENANT_PATTERN, description="The tenant's name.", examples=["team-a"])


@router.get("", responses=error_responses())
async def list_tenants(user: Viewer, c: ContainerDep) -> JSONResponse:
    """The tenants the caller holds a role in, with their models' and people's counts."""
    return json_response(await run_in_threadpool(tenants.list_tenants, c, user.name))


@router.post("", responses=error_responses(404, 409, 502))
async def create_tenant(body: TenantRequest, user: Viewer, c: ContainerDep) -> JSONResponse:
    """Make a tenant (platform admins only; 403 for anyone else). ``changed`` is false when it
    existed already."""
    return json_response(await run_in_threadpool(tenants.create_tenant, c, user.name, body.name))


@router.delete("/{name}", responses=error_responses(404, 409, 502))
async def delete_tenant(name: TenantName, user: Viewer, c: ContainerDep) -> JSONResponse:
    """Delete an empty tenant and its role bindings (platform admins only; 409 while it has
    registered models; 422 for ``default``)."""
    return json_response(await run_in_threadpool(tenants.delete_tenant, c, user.name, name))
