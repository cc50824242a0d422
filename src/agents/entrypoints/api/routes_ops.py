"""Approvals, runs, status, the audit check and the health probe."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from agents.bootstrap import Container
from agents.entrypoints.api.deps import Approver, ContainerDep, Deployer, Viewer
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import ACCEPTED, json_response, run_response
from agents.entrypoints.api.schemas import (
    ID_PATTERN,
    ApprovalId,
    DecisionRequest,
    ModelName,
    ThreadId,
)
from agents.handlers import operation_runs, operations
from agents.queries.audit import verify_audit
from agents.queries.checks import health_checks
from agents.queries.status import home_status
from lifecycle.approval import Decision
from lifecycle.errors import PermissionDeniedError
from lifecycle.tenants import Grants

router = APIRouter(tags=["operations"])

Comment = Annotated[DecisionRequest | None, Body()]
CHANGE = error_responses(404, 409, 502)


@router.get("/healthz", tags=["health"], responses=error_responses(413, 500, common=False))
async def healthz() -> dict[str, bool]:
    """Liveness: the process answers. Needs no token and touches nothing."""
    return {"ok": True}


@router.get("/v1/whoami", responses=error_responses())
async def whoami(user: Viewer) -> dict[str, Any]:
    """Who the bearer token stands for, their highest role and their roles per tenant (``*``:
    the platform) (``deployer whoami`` in remote mode)."""
    return {"user": user.name, "role": user.role_label, "grants": user.scopes()}


@router.get("/v1/approvals", responses=error_responses())
async def approvals(
    user: Viewer, c: ContainerDep, every: Annotated[bool, Query(alias="all")] = False
) -> JSONResponse:
    """Approvals waiting for a decision, oldest first (``?all=true``: decided ones too)."""
    rows = await run_in_threadpool(operations.list_approvals, c, every)
    return json_response({"approvals": user.grants.visible(rows, lambda r: r["model_name"])})


@router.post("/v1/approvals/{approval_id}/approve", responses=ACCEPTED | CHANGE)
async def approve(
    approval_id: ApprovalId, user: Approver, c: ContainerDep, body: Comment = None
) -> JSONResponse:
    """Approve someone else's promotion and finish it. Needs the approver role: 403 for your
    own request (four eyes) and for a lower role; 409 when it was already decided."""
    return await _decide(c, approval_id, user.name, Decision.APPROVE, body)


@router.post("/v1/approvals/{approval_id}/reject", responses=ACCEPTED | CHANGE)
async def reject(
    approval_id: ApprovalId, user: Deployer, c: ContainerDep, body: Comment = None
) -> JSONResponse:
    """Reject a promotion: an approver, or its requester withdrawing it (403 for others)."""
    return await _decide(c, approval_id, user.name, Decision.REJECT, body)


async def _decide(
    c: Container,
    approval_id: str,
    actor: str,
    decision: Decision,
    body: DecisionRequest | None,
) -> JSONResponse:
    """Answer an approval through ``operations.decide``, which enforces who may answer."""
    command = (body or DecisionRequest()).to_command(approval_id, decision)
    return run_response(await run_in_threadpool(operation_runs.answer, c, command, actor))


@router.post("/v1/runs/{thread_id}/resume", responses=ACCEPTED | CHANGE)
async def resume(thread_id: ThreadId, user: Deployer, c: ContainerDep) -> JSONResponse:
    """Take up a run a crash cut short (as ``deployer resume``); finished steps are kept."""
    return run_response(await run_in_threadpool(operations.resume_run, c, thread_id))


@router.get("/v1/status", responses=error_responses())
async def status(user: Viewer, c: ContainerDep) -> JSONResponse:
    """Every model's versions by stage, its deployments, routing shares and health: the models
    of the tenants the caller holds a role in."""
    result = await run_in_threadpool(home_status, c, None, user.grants.sees)
    if not user.grants.is_platform_admin:  # a failed watch of every model ("*") is theirs
        failures = result.get("monitor_failures", [])
        result["monitor_failures"] = [f for f in failures if f["scope"] != "*"]
        result["monitor_failures"] = user.grants.visible(
            result["monitor_failures"], lambda f: f["scope"]
        )
    return json_response(result)


@router.get("/v1/status/{name}", responses=error_responses(404))
async def model_status(name: ModelName, user: Viewer, c: ContainerDep) -> JSONResponse:
    """One model's status (404 when it is not registered)."""
    return json_response(await run_in_threadpool(home_status, c, name))


@router.get("/v1/checks", responses=error_responses(404))
async def checks(
    user: Viewer,
    c: ContainerDep,
    deployment_id: Annotated[str, Query(pattern=f"{ID_PATTERN}|^$")] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> JSONResponse:
    """The monitor's latest judgements of every model (or of one deployment), oldest first,
    as ``deployer checks`` without a model name: those of the caller's tenants' models."""
    result = await run_in_threadpool(health_checks, c, "", deployment_id, limit)
    return json_response(cut_checks(result, user.grants))


@router.get("/v1/audit/verify", tags=["audit"], responses=error_responses())
async def audit_verify(user: Viewer, c: ContainerDep) -> JSONResponse:
    """Walk the audit log's hash chain: ``{"ok", "checked", "first_bad_id", "problem"}``.
    Platform admins only (403 for anyone else): the chain holds every tenant's events.

    A broken chain is a finding, not a failed request: 200 with ``ok`` false."""
    if not user.grants.is_platform_admin:
        raise PermissionDeniedError(
            f"{user.name} is not a platform admin; the audit chain holds every tenant's events"
        )
    return json_response(await run_in_threadpool(verify_audit, c))


def cut_checks(result: dict[str, Any], grants: Grants) -> dict[str, Any]:
    """``health_checks``' answer with only the checks of models ``grants`` may read."""
    checks = result.get("checks")
    if isinstance(checks, list):
        result = {**result, "checks": grants.visible(checks, lambda r: str(r.get("model_name")))}
    return result
