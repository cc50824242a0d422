"""The graph's state: a narrow input (what a caller asks) extended by the full state.

Values are plain JSON types (records as ``model_dump(mode="json")`` dicts) or frozen pydantic
models (the deploy plan, the rollback plan, the monitor's report), which LangGraph's serializer
checkpoints and restores as they are, so runs round-trip through SQLite and PostgreSQL, and
LangGraph Studio shows them as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter

from lifecycle.gates import VerdictStatus
from lifecycle.monitor import MonitorAction
from lifecycle.records import Instant
from lifecycle.resource_asks import asked_resources
from lifecycle.resources import Resources
from lifecycle.rollback_plan import RollbackPlan
from lifecycle.rollout import RolloutPlan, TrafficUpdate

DeployPlan = Annotated[RolloutPlan | TrafficUpdate, Field(discriminator="kind")]
"""The deploy flow's plan: a new rollout, or a new share for one in flight."""

DEPLOY_PLAN: TypeAdapter[RolloutPlan | TrafficUpdate] = TypeAdapter(DeployPlan)


class HealthCheck(BaseModel):
    """One tick's judgement of one deployment, the figures it was made on, and what came of it."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    deployment_id: str
    model_name: str
    version: str
    strategy: str
    target: str | None
    """The rollout's baseline (the stable deployment), if it has one."""
    action: MonitorAction
    status: VerdictStatus
    next_percent: float | None
    reasons: tuple[str, ...]
    message: str
    metrics: dict[str, JsonValue]
    """The figures and verdicts, as the ``health_checks`` row stores them."""
    outcome: str | None = None
    """What carrying the action out did (None until ``act_on_health`` ran)."""


class MonitorReport(BaseModel):
    """One monitoring tick: every judgement it made."""

    model_config = ConfigDict(frozen=True)

    tick_id: str
    checked_at: Instant
    checks: tuple[HealthCheck, ...] = ()


@dataclass(kw_only=True)
class InputState:
    """What a caller (an upstream agent, the CLI, a chat command, a schedule) asks for."""

    action: str = ""
    """What to do: ``promote``, ``deploy``, ``rollback`` or ``monitor`` (one health tick)."""

    model_name: str = ""
    """The registered model, e.g. ``fraud_detector`` (``monitor``: empty means every model)."""

    model_names: list[str] = field(default_factory=list)
    """Monitor only: the models a tick over several judges (``deployer watch``: the ones whose
    locks it holds); empty means ``model_name``'s, or every model."""

    version: str | None = None
    """The model version (``2`` or ``v2``); a rollback needs none."""

    target_stage: str | None = None
    """Promote only: the stage to move the version to (one step forward)."""

    strategy: str | None = None
    """Deploy only: direct, rolling, blue_green, canary or shadow (default: by the stage)."""

    traffic: float | None = None
    """Deploy only: the canary's share or the shadow's mirror share, in percent."""

    replicas: int = 1
    """Deploy only: replicas of the new endpoint (a local endpoint's server workers)."""

    cpu: str | None = None
    """Deploy only: CPUs per replica (``0.5``, ``500m``); the intake keeps the canonical text."""

    memory: str | None = None
    """Deploy only: memory per replica (``512Mi``, ``1Gi``)."""

    autoscale: str | None = None
    """Deploy only: ``MIN:MAX[:TARGET_ONGOING]`` replicas (with it ``replicas`` is the start)."""

    deployment_id: str | None = None
    """Rollback only: the deployment to go back to (default: the previous production one)."""

    current_deployment_id: str | None = None
    """Rollback only: the deployment to take out of service (seed 004's name); the rollback goes
    back to what served before it. Never together with ``deployment_id``."""

    reason: str = ""
    """Why, in a sentence; kept in the version record, the audit log and memory."""

    requested_by: str = ""
    """Who asks; an approver must be someone else."""

    request_id: str | None = None
    """Optional idempotency key of the whole request; by default each run gets a fresh one."""


@dataclass(kw_only=True)
class State(InputState):
    """Everything the graph knows while it works, and what it returns."""

    version_record: dict[str, Any] | None = None
    """Out: the ``VersionRecord`` of a promotion (or of the restore a rollback made)."""

    deployment_manifest: dict[str, Any] | None = None
    """Out: the ``DeploymentManifest`` of a deploy."""

    rollback_successful: bool | None = None
    """Out: whether a rollback put the previous deployment back in service."""

    active_deployment_id: str | None = None
    """Out: the deployment serving the model's users (the stable one) after this run."""

    errors: list[str] = field(default_factory=list)
    """Out: what went wrong, one readable line each (a failed deploy step, a refused approval)."""

    status: str = ""
    """Out: promoted, awaiting_approval, rejected, deployed, traffic_updated, failed or
    rolled_back."""

    run_id: str = ""
    """The id of this run, from which every idempotency key and new deployment id derive."""

    from_stage: str | None = None
    """Promote: the stage the version was in when the run began."""

    verdicts: list[dict[str, Any]] = field(default_factory=list)
    """Promote: the gates' verdicts (gate, status, message) that the decision was made on."""

    approval_id: str | None = None
    """Promote: the pending approval this run waits on."""

    approval: dict[str, Any] | None = None
    """Promote: the decision given (decision, approver, comment)."""

    advice: dict[str, Any] | None = None
    """Deploy: what memory advised (rollback preset, canary steps) and why."""

    plan: DeployPlan | None = None
    """Deploy: the resolved rollout (deployment id, strategy, stage, traffic, previous routes)
    or the share change of one in flight."""

    rollback: RollbackPlan | None = None
    """Rollback: what is undone and what is restored."""

    monitor: MonitorReport | None = None
    """Monitor: the tick's checks (deployment, verdicts, figures, action, outcome)."""


def deploy_plan(state: State) -> RolloutPlan | TrafficUpdate:
    """The deploy flow's plan (a checkpoint read without its classes gives it back as JSON)."""
    if state.plan is None:
        raise RuntimeError("the deploy flow ran a step before planning")
    if isinstance(state.plan, dict):
        return DEPLOY_PLAN.validate_python(state.plan)
    return state.plan


def rollout_plan(state: State) -> RolloutPlan:
    """The plan of a new rollout (the deploy flow's steps after ``plan_deploy``)."""
    plan = deploy_plan(state)
    if not isinstance(plan, RolloutPlan):
        raise RuntimeError("a share change has no rollout steps")
    return plan


def traffic_plan(state: State) -> TrafficUpdate:
    """The share change ``update_traffic`` carries out."""
    plan = deploy_plan(state)
    if not isinstance(plan, TrafficUpdate):
        raise RuntimeError("a new rollout is not a share change")
    return plan


def resources_of(state: InputState) -> Resources:
    """What a deploy asks of its serving backend (the ``ml_deployments`` resource columns)."""
    return asked_resources(state.replicas, state.cpu, state.memory, state.autoscale)
