"""``/v1/quotas``: per-tenant quotas (issue 19 item 3), as ``deployer quota show`` (viewers read)
and ``set``/``clear`` (platform admins; audited ``quota_set``/``quota_cleared``). A deploy over its
tenant's quota is refused 409 (``QuotaExceededError``) with what is used, what it needs and what is
allowed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from agents.entrypoints.api.auth import ApiUser
from agents.entrypoints.api.deps import ContainerDep, Viewer, require
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import json_response
from agents.entrypoints.api.schemas import Body
from agents.handlers import quotas
from lifecycle.approval import Role
from lifecycle.quotas import MAX_COUNT
from lifecycle.tenants import TENANT_PATTERN

router = APIRouter(prefix="/v1/quotas", tags=["quotas"])

Admin = Annotated[ApiUser, Depends(require(Role.ADMIN))]
Tenant = Annotated[
    str,
    Path(
        pattern=rf"^{TENANT_PATTERN}$",
        description="A tenant (`default` holds the bare model names).",
    ),
]
QUOTA_CPU_PATTERN = r"^([0-9]{1,5}(\.[0-9]{1,3})?|[0-9]{1,8}m)$"
"""CPUs, below 100,000 (``4``, ``0.5``, ``500m``)."""
QUOTA_MEMORY_PATTERN = r"^([0-9]{1,4}(\.[0-9]{1,3})?(k|M|G|T|Ki|Mi|Gi|Ti)?|[0-9]{1,15})$"
"""A size below 16Pi (``8Gi``, ``512Mi``, or bytes)."""
Count = Annotated[int | None, Field(default=None, ge=0, le=MAX_COUNT)]


class QuotaRequest(Body):
    """The tenant's limits, replacing any it had; an omitted (or null) figure is unlimited."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=False)
    """As the schema says: text is text (``"memory": 0`` is refused), counts are numbers."""

    deployments: Count = None
    replicas: Count = None
    """Over every live deployment; an autoscaled one counts its maximum."""
    cpu: str | None = Field(
        default=None, pattern=QUOTA_CPU_PATTERN, strict=True, description="e.g. 4, 500m."
    )
    memory: str | None = Field(
        default=None, pattern=QUOTA_MEMORY_PATTERN, strict=True, description="e.g. 8Gi."
    )
    capture_rows: Count = None

    @field_validator("deployments", "replicas", "capture_rows", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if isinstance(value, bool | str):  # JSON's integers only (4 or 4.0), as the schema says
            raise ValueError("a count must be a whole number")
        return value


@router.get("", responses=error_responses())
async def list_quotas(user: Viewer, c: ContainerDep) -> JSONResponse:
    """Every tenant with a quota: used and allowed per figure (``{"quotas": [...]}``)."""
    return json_response(
        {"quotas": await run_in_threadpool(quotas.show_quota, c, None, user.grants)}
    )


@router.get("/{tenant}", responses=error_responses(404))
async def get_quota(tenant: Tenant, user: Viewer, c: ContainerDep) -> JSONResponse:
    """The tenant's figures: used and allowed (`null`: unlimited) for deployments, replicas,
    CPU and memory (reserved on Ray), and captured rows."""
    result = await run_in_threadpool(quotas.show_quota, c, tenant, user.grants)
    return json_response(result[0])


@router.put("/{tenant}", responses=error_responses(404, 409, 502))
async def put_quota(
    tenant: Tenant, body: QuotaRequest, user: Admin, c: ContainerDep
) -> JSONResponse:
    """Set the tenant's limits (platform admins). What runs already keeps running: a quota below
    it refuses only what would grow it."""
    figures = (body.deployments, body.replicas, body.cpu, body.memory, body.capture_rows)
    result = await run_in_threadpool(quotas.set_quota, c, user.name, tenant, *figures)
    return json_response(result)


@router.delete("/{tenant}", responses=error_responses(404, 409, 502))
async def delete_quota(tenant: Tenant, user: Admin, c: ContainerDep) -> JSONResponse:
    """Lift every limit of the tenant (platform admins)."""
    return json_response(await run_in_threadpool(quotas.clear_quota, c, user.name, tenant))
