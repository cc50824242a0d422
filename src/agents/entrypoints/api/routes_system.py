"""``POST /v1/requests``: a typed request to the system graph (the supervisor routes it to the
agent that owns it); the answer is the system's typed result: every agent run (``results``:
agent, status, errors, key outputs, handoffs), ``status``, ``errors``, the system thread."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from agents.commands import Promote, Rollback, Tick
from agents.entrypoints.api.deps import ContainerDep, Deployer
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import ACCEPTED, run_response
from agents.entrypoints.api.schemas import (
    MODEL_NAME_PATTERN,
    VERSION_PATTERN,
    DeployRequest,
    Reason,
    RollbackRequest,
)
from agents.entrypoints.api.schemas import (
    Body as RequestBody,
)
from agents.handlers import operations
from lifecycle.approval import Role
from lifecycle.stages import ModelStage

router = APIRouter(tags=["system"])


class PromoteAsk(RequestBody):
    """Move a version one stage on (production: 202 while an approver has to answer)."""

    action: Literal["promote"]
    model_name: str = Field(pattern=MODEL_NAME_PATTERN)
    version: str = Field(pattern=VERSION_PATTERN, description="2 or v2.")
    to_stage: ModelStage
    reason: Reason = ""

    def to_command(self) -> Promote:
        return Promote(
            model_name=self.model_name,
            version=self.version,
            target_stage=self.to_stage,
            reason=self.reason,
        )


class DeployAsk(DeployRequest):
    """Deploy a version; the target follows its stage."""

    action: Literal["deploy"]


class RollbackAsk(RollbackRequest):
    """Roll a model back (see ``POST /v1/models/{name}/rollback``)."""

    action: Literal["rollback"]
    model_name: str = Field(pattern=MODEL_NAME_PATTERN)

    def to_command(self, model_name: str | None = None) -> Rollback:
        return super().to_command(model_name or self.model_name)


class MonitorAsk(RequestBody):
    """One health tick over the open rollouts (of one model, or every model)."""

    action: Literal["monitor"]
    model_name: str | None = Field(default=None, pattern=MODEL_NAME_PATTERN)

    def to_command(self) -> Tick:
        return Tick(model_name=self.model_name)


SystemAsk = Annotated[
    PromoteAsk | DeployAsk | RollbackAsk | MonitorAsk, Field(discriminator="action")
]


@router.post("/v1/requests", responses=ACCEPTED | error_responses(404, 409, 502))
async def system_request(
    body: Annotated[SystemAsk, Body()], user: Deployer, c: ContainerDep
) -> JSONResponse:
    """Send one request to the system graph, which routes it to the agent that owns it; the
    system's typed result (``results`` says which agent ran and how it ended). 202 while the
    run waits for an approver (``interrupts`` names the approval)."""
    if body.model_name is not None:  # the model's tenant, before anything reads the model
        needed = Role.VIEWER if isinstance(body, MonitorAsk) else Role.DEPLOYER
        user.grants.check(needed, body.model_name, body.action)
    command = body.to_command()
    result = await run_in_threadpool(operations.request_system, c, command, user.name, "api")
    return run_response(result)
