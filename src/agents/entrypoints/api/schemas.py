"""Request bodies and path parameters of the ops API (pydantic 2). Unknown fields are refused
(422), so a body can never name the actor: the token does. A body and its path become one typed
command (``agents.commands``) with ``to_command``.

The constraints are the handlers' own rules written into the OpenAPI document (a model name's
pattern, a version's, a criterion's), so what the document admits the handlers accept: a
schema-valid request is never answered 422."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from agents.commands import Approve, Deploy, Promote, Register, Reject, Rollback
from agents.entrypoints.api import deps
from lifecycle import names, tenants
from lifecycle.approval import Decision
from lifecycle.resource_asks import ResizeAsk
from lifecycle.resources import MAX_REPLICAS
from lifecycle.stages import ModelStage
from lifecycle.strategies import StrategyName

Reason = Annotated[str, Field(default="", max_length=1000, description="Why, in a sentence.")]
Traffic = Annotated[
    float,
    Field(gt=0, le=100, description="Canary share, or shadow mirror share, in percent."),
]
BARE_NAME_PATTERN = rf"^{names.MODEL_NAME_PATTERN}$"
"""A model's name inside its tenant (``lifecycle.names``): a letter, then letters, digits,
``_ . -``; a path segment (``/v1/models/{name}`` is the default tenant's model)."""
MODEL_NAME_PATTERN = rf"^{tenants.QUALIFIED_NAME_PATTERN}$"
"""A (qualified) model name in a body or a query: ``[tenant/]name`` (``team-a/fraud``;
``iris`` is the default tenant's), ``lifecycle.tenants.parse_model_name``'s rule."""
TENANT_PATTERN = rf"^{tenants.TENANT_PATTERN}$"
"""A tenant's name (``lifecycle.tenants.check_tenant``)."""
VERSION_PATTERN = (
    r"^([vV]?[0-9]{1,9}|[vV]?(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})"
    r"|[lL][aA][tT][eE][sS][tT])$"
)
"""``lifecycle.version_labels.parse_version_ref``'s rule: a number (``2``, ``v2``), a label
(``1.2.0``, ``v1.2.0``) or ``latest``."""
LABEL_PATTERN = r"^[vV]?(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$"
"""``lifecycle.version_labels.parse_label``'s rule: ``1.2.0`` or ``v1.2.0``."""
_CRITERION_NUMBER = r"[0-9]{1,18}(\.[0-9]{1,18})?(e[0-9]{1,2}|e-[0-9]{1,3})?"
CRITERION_PATTERN = (
    r"^ *[A-Za-z_][A-Za-z0-9_.\-]{0,99} *(>=|<=|==|>|<) *"
    rf"(-?{_CRITERION_NUMBER}|production( *[+-] *{_CRITERION_NUMBER})?) *$"
)
"""``lifecycle.gates.parse_criterion``'s rule (``accuracy>=0.9``, ``accuracy>=production-0.02``),
bounded so that every number it admits is finite (``1e999`` is infinite, which the gates
refuse)."""
METRIC_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$"
"""A metric's name, as a criterion names it."""
REGISTRY_URI_PATTERN = r"^(runs|models):/[^\s]{1,500}$"
"""Over HTTP a folder on the server is not something a caller should be able to name."""
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,199}$"
"""Deployment, approval and thread ids: what the agent makes them of."""
CPU_PATTERN = r"^([0-9]{1,2}(\.[0-9]{1,6})?|[0-9]{1,5}m)$"
"""``lifecycle.resources.parse_cpu``'s forms (``0.5``, ``2``, ``500m``). Resources are text, as
on the command line (Kubernetes' forms), judged with the model known, as ``deployer deploy``
judges them (``lifecycle.resource_asks.check_asked``): what the server's backend
(``DEPLOYER_SERVING``) cannot honour is 409 ``UnhonouredResourcesError`` (a local server: any
CPU, memory or autoscaling, whatever the figure), so a schema-valid body is never 422 there; on
a Ray server a figure the pattern admits but the range refuses (``0`` CPUs, autoscale ``4:1``)
is 422 ``InvalidResourcesError``. Nothing is written either way."""
MEMORY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,6})?(k|M|G|T|Ki|Mi|Gi|Ti)?$"
"""``lifecycle.resources.parse_memory``'s forms (``512Mi``, ``1Gi``, ``256M``, bytes)."""
AUTOSCALE_PATTERN = r"^[0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,4}(\.[0-9]{1,3})?)?$"
"""``lifecycle.resources.Autoscale.parse``'s forms (``1:4``, ``1:4:2.5``)."""

ModelName = deps.ModelName
"""A model route's ``{name}``: a dependency that qualifies it by the ``{tenant}`` segment of the
tenant twin and checks the caller's role in that tenant (``deps.model_name``)."""
TenantName = Annotated[
    str, Path(pattern=TENANT_PATTERN, description="A tenant's name.", examples=["team-a"])
]
Version = Annotated[
    str,
    Path(
        pattern=VERSION_PATTERN,
        description="A number (2, v2), a label (1.2.0, v1.2.0) or latest.",
        examples=["2", "1.2.0", "latest"],
    ),
]
DeploymentId = Annotated[str, Path(pattern=ID_PATTERN, description="A deployment's id.")]
ApprovalId = Annotated[str, Path(pattern=ID_PATTERN, description="An approval's id.")]
ThreadId = Annotated[str, Path(pattern=ID_PATTERN, description="A run's thread id.")]
OperationId = Annotated[str, Path(pattern=ID_PATTERN, description="An operation's id (`op-...`).")]


class Body(BaseModel):
    """Every request body: no unknown fields; numbers are accepted where text is expected
    (``"version": 2`` reads as ``"2"``)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class RegisterRequest(Body):
    """Register a new version of a model (stage development)."""

    model_uri: str = Field(
        pattern=REGISTRY_URI_PATTERN,
        description="runs:/RUN_ID/PATH or models:/NAME/VERSION in the registry (never a folder).",
    )
    metrics: dict[Annotated[str, Field(pattern=METRIC_PATTERN)], float] = Field(
        default_factory=dict,
        max_length=100,
        description="Adds to the run's.",
        # pydantic writes the key rule as patternProperties; without this, the document would
        # admit any other key with any value.
        json_schema_extra={"additionalProperties": False},
    )
    criteria: list[Annotated[str, Field(pattern=CRITERION_PATTERN)]] = Field(
        default_factory=list,
        max_length=50,
        description='Success criteria: "K>=V", or relative to production "K>=production-0.02".',
    )
    label: str | None = Field(
        default=None,
        pattern=LABEL_PATTERN,
        description="Semantic version label, e.g. 1.2.0 (unique per model; 409 when taken).",
    )

    def to_command(self, model_name: str) -> Register:
        return Register(
            model_name=model_name,
            model_uri=self.model_uri,
            metrics=self.metrics,
            criteria=tuple(self.criteria),
            label=self.label,
        )


class LabelRequest(Body):
    """Give a registered version a semantic label (deployers)."""

    label: str = Field(pattern=LABEL_PATTERN, description="e.g. 1.2.0 (unique per model).")
    force: StrictBool = Field(default=False, description="Change the label of a labelled version.")


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

    model_name: str = Field(pattern=MODEL_NAME_PATTERN)
    version: str = Field(
        pattern=VERSION_PATTERN, description="A number (2, v2), a label (1.2.0, v1.2.0) or latest."
    )
    strategy: StrategyName | None = Field(
        default=None, description="Default: chosen by the version's stage."
    )
    traffic: Traffic | None = None
    replicas: int = Field(
        default=1,
        ge=1,
        le=MAX_REPLICAS,
        description="Replicas (a local endpoint: its server's workers, at most 16).",
    )
    cpu: str | None = Field(
        default=None,
        pattern=CPU_PATTERN,
        description="CPUs per replica, e.g. 0.5 or 500m (a Ray deployment only).",
        examples=["0.5"],
    )
    memory: str | None = Field(
        default=None,
        pattern=MEMORY_PATTERN,
        description="Memory per replica, e.g. 512Mi or 1Gi (a Ray deployment only).",
        examples=["512Mi"],
    )
    autoscale: str | None = Field(
        default=None,
        pattern=AUTOSCALE_PATTERN,
        description="MIN:MAX[:TARGET_ONGOING] replicas (a Ray deployment only).",
        examples=["1:4"],
    )
    reason: Reason = ""

    def to_command(self) -> Deploy:
        return Deploy(
            model_name=self.model_name,
            version=self.version,
            strategy=self.strategy,
            traffic=self.traffic,
            replicas=self.replicas,
            cpu=self.cpu,
            memory=self.memory,
            autoscale=self.autoscale,
            reason=self.reason,
        )


RESIZE_FIELDS = ("replicas", "cpu", "memory", "autoscale")


class TrafficUpdate(Body):
    """Change a running deployment: the share of a canary (or the mirror share of a shadow),
    and/or its replicas and resources in place (``lifecycle.resource_asks.resized`` judges
    them on the deployment's own backend: a local endpoint refuses any change, 409). At least
    one of them; a figure not given keeps its value."""

    model_config = ConfigDict(
        json_schema_extra={  # at least one of them, given and not null
            "anyOf": [
                {"required": [f], "properties": {f: {"not": {"type": "null"}}}}
                for f in ("traffic", *RESIZE_FIELDS)
            ]
        }
    )

    traffic: Traffic | None = None
    replicas: int | None = Field(default=None, ge=1, le=MAX_REPLICAS, description="Replicas.")
    cpu: str | None = Field(default=None, pattern=CPU_PATTERN, description="CPUs per replica.")
    memory: str | None = Field(
        default=None, pattern=MEMORY_PATTERN, description="Memory per replica."
    )
    autoscale: str | None = Field(
        default=None, pattern=AUTOSCALE_PATTERN, description="MIN:MAX[:TARGET_ONGOING]."
    )
    reason: Reason = ""

    @model_validator(mode="after")
    def _asks_something(self) -> TrafficUpdate:
        if self.traffic is None and self.resize().empty:
            raise ValueError(f"give traffic or one of {', '.join(RESIZE_FIELDS)}")
        return self

    def resize(self) -> ResizeAsk:
        return ResizeAsk(self.replicas, self.cpu, self.memory, self.autoscale)


class DecisionRequest(Body):
    """An approver's answer (the decision is in the path: approve or reject)."""

    comment: str = Field(default="", max_length=1000)

    def to_command(self, approval_id: str, decision: Decision) -> Approve | Reject:
        answer = Approve if decision is Decision.APPROVE else Reject
        return answer(approval_id=approval_id, comment=self.comment)


class RollbackRequest(Body):
    """Switch a model back to its previous production deployment (or to the one named), or take
    the one named out of service; never both (the schema says so: ``not`` both as strings)."""

    model_config = ConfigDict(
        json_schema_extra={
            "not": {
                "required": ["to_deployment_id", "current_deployment_id"],
                "properties": {
                    "to_deployment_id": {"type": "string"},
                    "current_deployment_id": {"type": "string"},
                },
            }
        }
    )

    to_deployment_id: str | None = Field(default=None, pattern=ID_PATTERN)
    """The deployment to go back to."""
    current_deployment_id: str | None = Field(default=None, pattern=ID_PATTERN)
    """The deployment to take out of service (seed 004's name); not with ``to_deployment_id``."""
    reason: Reason = ""

    def to_command(self, model_name: str) -> Rollback:
        return Rollback(
            model_name=model_name,
            to_deployment_id=self.to_deployment_id,
            undo_deployment_id=self.current_deployment_id,
            reason=self.reason,
        )
