"""Request bodies of the ops API (pydantic 2). Unknown fields are refused (422), so a body can
never name the actor: the token does. A body and its path become one typed command
(``agents.commands``) with ``to_command``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.commands import Approve, Deploy, Promote, Register, Reject, Rollback
from lifecycle.approval import Decision
from lifecycle.stages import ModelStage
from lifecycle.strategies import StrategyName

Reason = Annotated[str, Field(default="", max_length=1000, description="Why, in a sentence.")]
Traffic = Annotated[
    float,
    Field(gt=0, le=100, description="Canary share, or shadow mirror share, in percent."),
]
REGISTRY_SCHEMES = ("runs:/", "models:/")


class Body(BaseModel):
    """Every request body: no unknown fields; numbers are accepted where text is expected
    (``"version": 2`` reads as ``"2"``)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class RegisterRequest(Body):
    """Register a new version of a model (stage development)."""

    model_uri: str = Field(
        min_length=1, description="runs:/RUN_ID/PATH or models:/NAME/VERSION in the registry."
    )
    metrics: dict[str, float] = Field(default_factory=dict, description="Adds to the run's.")
    criteria: list[str] = Field(default_factory=list, description='Success criteria "K>=V".')

    @field_validator("model_uri")
    @classmethod
    def _registry_uri(cls, value: str) -> str:
        # Over HTTP a folder on the server is not something a caller should be able to name.
        if not value.startswith(REGISTRY_SCHEMES):
            raise ValueError("over the API a model_uri must be a runs:/ or models:/ URI")
        return value

    def to_command(self, model_name: str) -> Register:
        return Register(
            model_name=model_name,
            model_uri=self.model_uri,
            metrics=self.metrics,
            criteria=tuple(self.criteria),
        )


class PromoteRequest(Body):
    """Move a version one stage on (production waits for an approval: 202)."""

    to_stage: ModelStage
    reason: Reason = ""

    def to_command(self, model_name: str, version: str) -> Promote:
        return Promote(
            model_name=model_name, version=version, target_stage=self.to_stage, reason=self.reason
        )


class DeployRequest(Body):
    """Deploy a version; the target follows its stage."""

    model_name: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=20, description="2 or v2.")
    strategy: StrategyName | None = Field(
        default=None, description="Default: chosen by the version's stage."
    )
    traffic: Traffic | None = None
    replicas: int = Field(default=1, ge=1, le=16)
    reason: Reason = ""

    def to_command(self) -> Deploy:
        return Deploy(
            model_name=self.model_name,
            version=self.version,
            strategy=self.strategy,
            traffic=self.traffic,
            replicas=self.replicas,
            reason=self.reason,
        )


class TrafficUpdate(Body):
    """Change the share of a canary (or the mirror share of a shadow) already running."""

    traffic: Traffic
    reason: Reason = ""


class DecisionRequest(Body):
    """An approver's answer (the decision is in the path: approve or reject)."""

    comment: str = Field(default="", max_length=1000)

    def to_command(self, approval_id: str, decision: Decision) -> Approve | Reject:
        answer = Approve if decision is Decision.APPROVE else Reject
        return answer(approval_id=approval_id, comment=self.comment)


class RollbackRequest(Body):
    """Switch a model back to its previous production deployment (or to the one named)."""

    to_deployment_id: str | None = Field(default=None, min_length=1, max_length=64)
    """The deployment to go back to."""
    current_deployment_id: str | None = Field(default=None, min_length=1, max_length=64)
    """The deployment to take out of service (seed 004's name); not with ``to_deployment_id``."""
    reason: Reason = ""

    def to_command(self, model_name: str) -> Rollback:
        return Rollback(
            model_name=model_name,
            to_deployment_id=self.to_deployment_id,
            undo_deployment_id=self.current_deployment_id,
            reason=self.reason,
        )
