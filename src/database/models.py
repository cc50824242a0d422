"""The SQLAlchemy 2.0 mapping of the state database.

Row classes live here and nowhere else; the domain (``lifecycle``) knows nothing of them. Each
mutable aggregate carries an optimistic version counter, so two writers racing on the same row
cannot both win: the loser's UPDATE matches no row and becomes a ConflictError.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, object_session

from database.base import NAMING as NAMING
from database.base import Base as Base
from lifecycle.ports import Endpoint
from lifecycle.records import DeploymentManifest, VersionRecord, utcnow
from lifecycle.resources import Resources
from lifecycle.stages import DeploymentStatus, ModelStage
from lifecycle.strategies import StrategyName


class ModelVersionRow(Base):
    """``ml_model_registry``: one row per model version, mirrored from the registry."""

    __tablename__ = "ml_model_registry"
    __table_args__ = (
        UniqueConstraint("model_name", "version"),
        # An index, not a constraint: SQLite adds it without rebuilding the table others
        # reference.
        Index(None, "model_name", "label", unique=True),
    )

    model_version_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(50))
    stage: Mapped[str] = mapped_column(String(20), default=ModelStage.DEVELOPMENT.value)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    success_criteria: Mapped[dict[str, Any]] = mapped_column(default=dict)
    artifact_uri: Mapped[str | None] = mapped_column(Text)
    preprocessing_uri: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(64))
    experiment_id: Mapped[str | None] = mapped_column(String(64))
    parent_version: Mapped[str | None] = mapped_column(String(50))
    bento_tag: Mapped[str | None] = mapped_column(String(300))
    label: Mapped[str | None] = mapped_column(String(30))
    """The semantic version label (``1.2.0``), unique per model (issue 15); None: unlabelled."""
    lineage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Where a retrained version came from: ``trigger``, ``data_since``/``data_until``,
    ``retraining_run_id`` (its ``parent_version`` is the column above); {} for others."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    stage_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": row_version}

    @property
    def model_stage(self) -> ModelStage:
        return ModelStage(self.stage)

    @property
    def criteria(self) -> list[str]:
        """Success criteria as typed at register time, e.g. ``["accuracy>=0.9"]``."""
        return list(self.success_criteria.get("criteria", []))

    @property
    def metric_sources(self) -> dict[str, str]:
        """Where each metric came from (``run``, ``caller`` or ``registry``; kept beside the
        criteria; a row older than provenance has none)."""
        return dict(self.success_criteria.get("metric_sources", {}))


ACTIVE_ONLY = text("status = 'active'")


class DeploymentRow(Base):
    """``ml_deployments``: the seed's schema, plus the endpoint's PID and port for supervision."""

    __tablename__ = "ml_deployments"
    __table_args__ = (
        Index(
            "ix_ml_deployments_active",
            "model_name",
            "status",
            sqlite_where=ACTIVE_ONLY,
            postgresql_where=ACTIVE_ONLY,
        ),
    )

    deployment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_version_id: Mapped[str] = mapped_column(
        ForeignKey("ml_model_registry.model_version_id"), index=True
    )
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(50))
    experiment_id: Mapped[str | None] = mapped_column(String(64))
    target_stage: Mapped[str] = mapped_column(String(20))
    strategy: Mapped[str] = mapped_column(String(20), default=StrategyName.DIRECT.value)
    endpoint_name: Mapped[str] = mapped_column(String(200))
    endpoint_url: Mapped[str | None] = mapped_column(Text)
    endpoint_pid: Mapped[int | None] = mapped_column(Integer)
    endpoint_port: Mapped[int | None] = mapped_column(Integer)
    serving_backend: Mapped[str] = mapped_column(String(20), server_default="local")
    """Where its server runs (``local``/``ray``), whatever ``DEPLOYER_SERVING`` says later."""
    status: Mapped[str] = mapped_column(String(20), default=DeploymentStatus.PENDING.value)
    replicas: Mapped[int] = mapped_column(Integer, default=1)
    cpu_limit: Mapped[str | None] = mapped_column(String(20))
    memory_limit: Mapped[str | None] = mapped_column(String(20))
    autoscaling: Mapped[dict[str, Any]] = mapped_column(default=dict)
    bento_tag: Mapped[str | None] = mapped_column(String(300))
    traffic_percentage: Mapped[float] = mapped_column(default=0.0)
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    deployment_duration_seconds: Mapped[float | None] = mapped_column()
    drained_at: Mapped[datetime | None] = mapped_column()
    rolled_back_at: Mapped[datetime | None] = mapped_column()
    changing_run_id: Mapped[str | None] = mapped_column(String(100))
    """The run changing this deployment's server or service right now (committed before the
    server is touched, cleared with the outcome): the monitor leaves it alone meanwhile. A
    column rather than a status: statuses are the deployment's life (``draining`` already means
    kept warm), a mark is a short lock that names its holder and ages."""
    changing_since: Mapped[datetime | None] = mapped_column()
    """When the mark was set; a mark older than ``AgentPolicy.change_mark_seconds`` is a crashed
    run's, and no longer keeps the monitor away."""
    thread_id: Mapped[str | None] = mapped_column(String(100))
    """The agent thread of the deploy that created this row: a watcher resumes it when the
    deploy is stuck (``deployer watch``), so a killed deploy is never left unjudged."""
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": row_version}

    def endpoint(self) -> Endpoint:
        """The endpoint as the ports know it (an empty URL before the server started)."""
        url, port, backend = self.endpoint_url or "", self.endpoint_port or 0, self.serving_backend
        return Endpoint(self.deployment_id, url, port, self.endpoint_pid, backend or "local")

    def resources(self) -> Resources:
        """What this deployment asks of its serving backend (its resource columns)."""
        return Resources.from_columns(
            self.replicas, self.cpu_limit, self.memory_limit, dict(self.autoscaling or {})
        )

    def serve_from(self, endpoint: Endpoint) -> None:
        """Record the server that now serves this deployment (the inverse of ``endpoint()``)."""
        self.endpoint_url, self.endpoint_pid = endpoint.url, endpoint.pid
        self.endpoint_port, self.serving_backend = endpoint.port, endpoint.backend

    def to_manifest(self) -> DeploymentManifest:
        """The deployment as the pydantic manifest the agent returns."""
        return DeploymentManifest(
            deployment_id=self.deployment_id,
            model_name=self.model_name,
            model_version=self.model_version,
            model_version_id=self.model_version_id,
            model_version_label=label_of(self, self.model_version_id),
            experiment_id=self.experiment_id,
            target_stage=ModelStage(self.target_stage),
            strategy=StrategyName(self.strategy),
            endpoint_name=self.endpoint_name,
            endpoint_url=self.endpoint_url,
            status=DeploymentStatus(self.status),
            replicas=self.replicas,
            cpu_limit=self.cpu_limit,
            memory_limit=self.memory_limit,
            autoscaling=dict(self.autoscaling),
            bento_tag=self.bento_tag,
            traffic_percentage=self.traffic_percentage,
            deployed_by=self.deployed_by,
            deployed_at=self.deployed_at,
            deployment_duration_seconds=self.deployment_duration_seconds,
        )


def label_of(row: Base, key: str) -> str | None:
    """The label of version ``key`` as the session holding ``row`` knows it (None when the row
    is detached or the version unlabelled): records and manifests show it beside the number."""
    session = object_session(row)
    version = session.get(ModelVersionRow, key) if session is not None else None
    return version.label if version is not None else None


class VersionRecordRow(Base):
    """``version_records``: every stage change, with the metrics it was made on."""

    __tablename__ = "version_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[str] = mapped_column(
        ForeignKey("ml_model_registry.model_version_id"), index=True
    )
    model_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(50))
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    approval_id: Mapped[str | None] = mapped_column(String(64))

    def to_record(self) -> VersionRecord:
        return VersionRecord(
            model_version_id=self.model_version_id,
            model_name=self.model_name,
            version=self.version,
            label=label_of(self, self.model_version_id),
            from_stage=ModelStage(self.from_stage) if self.from_stage else None,
            to_stage=ModelStage(self.to_stage),
            metrics={k: float(v) for k, v in self.metrics.items()},
            changed_by=self.changed_by,
            changed_at=self.changed_at,
            reason=self.reason,
            approval_id=self.approval_id,
        )


class ApprovalRow(Base):
    """``approvals``: a request for a person to approve a move, and the agent thread to resume."""

    __tablename__ = "approvals"

    approval_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(50))
    target_stage: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20), default="promote")
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    approver: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)
    thread_id: Mapped[str | None] = mapped_column(String(100))
    checkpoint_ns: Mapped[str | None] = mapped_column(String(300))
    """Empty when the deployer graph itself waits; else the upstream graph's subgraph path."""
    run_id: Mapped[str | None] = mapped_column(String(100))
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": row_version}


class AuditEventRow(Base):
    """``audit_events``: append-only; each row's hash covers its content and the previous hash."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    payload_json: Mapped[str | None] = mapped_column(Text)
    """The payload's canonical JSON text, exactly as hashed (None: an event from before 0008)."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """``audit_head``: one row naming the last event, so a removed tail is noticed too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    keyed_from: Mapped[int] = mapped_column(Integer, default=1)
    """The first event whose hash is keyed (an HMAC); the ones before it predate the key."""
    mac: Mapped[str | None] = mapped_column(String(64))
    """The HMAC of the head itself, so a rewritten head (a removed tail) needs the key too."""


class RouteRow(Base):
    """``routes``: one model's routing table, the source of truth every gateway replica serves.

    ``revision`` grows by one with every change, so a gateway rebuilds only what changed.
    """

    __tablename__ = "routes"

    model_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    weights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    shadow_deployment_id: Mapped[str | None] = mapped_column(String(64))
    shadow_percent: Mapped[float] = mapped_column(default=0.0)
    stable_deployment_id: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GatewayStatsRow(Base):
    """``gateway_stats``: what one gateway replica measured for one deployment or shadow.

    ``kind`` is ``deployment`` (requests, errors, latency histograms) or ``shadow`` (output
    comparison). Replicas write their own rows; readers merge them.
    """

    __tablename__ = "gateway_stats"

    gateway_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    model_name: Mapped[str] = mapped_column(String(200))
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentOperationRow(Base):
    """``agent_operations``: side effects the agent has completed, by idempotency key.

    A graph node that writes commits its key with its writes; run again after a crash (a
    resumed thread re-runs the node that was interrupted), it finds the key and returns the
    stored ``result`` instead of acting twice.
    """

    __tablename__ = "agent_operations"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(100), index=True)
    node: Mapped[str] = mapped_column(String(100))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RolloutRow(Base):
    """``rollouts``: what the monitoring tick owns of a deployment after its deploy returned.

    A canary's weights and where it stands, a blue-green (or completed canary) deployment's
    warm period, a shadow's comparison; the rollback config it is held to, the counters read
    when its current step began (a step is judged on its own requests), and a rollback the
    monitor decided but has not finished (``pending``), so a killed watcher's successor ends it.
    """

    __tablename__ = "rollouts"

    deployment_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("ml_deployments.deployment_id"), primary_key=True
    )
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    strategy: Mapped[str] = mapped_column(String(20))
    phase: Mapped[str] = mapped_column(String(20), index=True)
    baseline_deployment_id: Mapped[str | None] = mapped_column(String(64))
    steps: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """``{"weights": [..]}``: the canary's weights, the last one 100."""
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    step_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    pause_seconds: Mapped[float] = mapped_column(default=60.0)
    warm_until: Mapped[datetime | None] = mapped_column()
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    marks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Cumulative counters of the candidate and the baseline when the step began."""
    pending: Mapped[dict[str, Any] | None] = mapped_column()
    last_message: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": row_version}


class HealthCheckRow(Base):
    """``health_checks``: every judgement the monitor made, with the figures it judged on."""

    __tablename__ = "health_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(String(64), index=True)
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    tick_id: Mapped[str] = mapped_column(String(100))


class LeaseRow(Base):
    """``leases``: a named lock with an expiry, so two watchers on one database never tick at
    once (the same on SQLite and PostgreSQL); a holder that dies loses it when it expires."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    fence: Mapped[int] = mapped_column(Integer, default=0)
    """Grows by one with every acquisition: a write carrying an older fence is refused."""


# The access tables share this metadata; importing them here lets every user of
# ``Base.metadata`` (migrations, create_all) see them without knowing the module.
import database.models_access  # noqa: E402, F401
import database.models_quotas as _models_quotas  # noqa: E402, F401
