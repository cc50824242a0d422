"""The shapes of the repositories and of the unit of work, as ``typing.Protocol``.

Services such as ``record_stage_change`` are written against these, so unit tests can hand them
in-memory fakes while integration tests use the SQLAlchemy classes, which match structurally.
Repositories return the mapped row classes (plain objects until a session holds them); the
rows offer ``to_record()`` / ``to_manifest()`` for the pydantic domain records.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy import Row

from database.audit import AuditVerification
from database.models import (
    AgentOperationRow,
    ApprovalRow,
    AuditEventRow,
    DeploymentRow,
    HealthCheckRow,
    ModelVersionRow,
    RolloutRow,
    VersionRecordRow,
)
from database.models_access import ApiTokenRow, RoleBindingRow, TenantRow
from database.quotas import QuotaRepository
from database.retraining import RetrainingRepository
from database.slo import SloRepository
from database.tick_reads import DeploymentFacts
from lifecycle.approval import Role
from lifecycle.stages import DeploymentStatus, ModelStage
from lifecycle.tenants import DEFAULT_TENANT, Grants


class ModelVersions(Protocol):
    """``ml_model_registry``: one row per model version."""

    def add(self, row: ModelVersionRow) -> ModelVersionRow: ...

    def find(self, model_name: str, version: str) -> ModelVersionRow | None: ...

    def get(self, model_name: str, version: str) -> ModelVersionRow: ...

    def list(
        self, model_name: str | None = None, stage: ModelStage | None = None
    ) -> Sequence[ModelVersionRow]: ...

    def latest_in(self, stage: ModelStage) -> dict[str, str]: ...

    def list_model_names(self) -> builtins.list[str]: ...


class Deployments(Protocol):
    """``ml_deployments``."""

    def add(self, row: DeploymentRow) -> DeploymentRow: ...

    def get(self, deployment_id: str) -> DeploymentRow: ...

    def get_many(self, deployment_ids: Iterable[str]) -> dict[str, DeploymentRow]: ...

    def versions(self, deployment_ids: Iterable[str]) -> dict[str, str]: ...

    def change_marks(
        self, deployment_ids: Iterable[str]
    ) -> dict[str, tuple[str | None, datetime | None]]: ...

    def list(
        self,
        model_name: str | None = None,
        statuses: Iterable[DeploymentStatus] | None = None,
        status: DeploymentStatus | None = None,
    ) -> Sequence[DeploymentRow]: ...

    def facts(self, model_name: str | None = None) -> builtins.list[DeploymentFacts]: ...

    def model_names(self, statuses: Iterable[DeploymentStatus]) -> builtins.list[str]: ...


class VersionRecords(Protocol):
    """``version_records``: the history of stage changes."""

    def add(self, row: VersionRecordRow) -> VersionRecordRow: ...

    def list_for(
        self, model_name: str, version: str | None = None
    ) -> Sequence[VersionRecordRow]: ...


class Approvals(Protocol):
    """``approvals``."""

    def add(self, row: ApprovalRow) -> ApprovalRow: ...

    def get(self, approval_id: str) -> ApprovalRow: ...

    def decide(
        self, approval_id: str, state: str, approver: str, comment: str, now: datetime
    ) -> bool:
        """Compare-and-set from pending; False when it was no longer pending."""
        ...

    def list(self, state: str | None = "pending") -> Sequence[ApprovalRow]: ...


class Access(Protocol):
    """``tenants``, ``access_bindings`` and ``access_tokens``: tenants, roles per tenant and
    hashed API tokens."""

    def bindings(self, user: str | None = None) -> Sequence[RoleBindingRow]: ...

    def grants_of(self, user: str) -> Grants: ...

    def roles_of(self, user: str, tenant: str = DEFAULT_TENANT) -> frozenset[Role]: ...

    def highest_role(self, user: str, tenant: str = DEFAULT_TENANT) -> Role | None: ...

    def holders(self, at_least: Role, tenant: str = DEFAULT_TENANT) -> frozenset[str]: ...

    def grant(self, user: str, role: Role, by: str, tenant: str | None = None) -> bool: ...

    def revoke(self, user: str, role: Role, tenant: str | None = None) -> bool: ...

    def revoke_tenant(self, tenant: str) -> int: ...

    def tenants(self) -> Sequence[TenantRow]: ...

    def tenant(self, name: str) -> TenantRow | None: ...

    def add_tenant(self, name: str, by: str) -> bool: ...

    def remove_tenant(self, name: str) -> bool: ...

    def add_token(self, owner: str, by: str) -> tuple[ApiTokenRow, str]: ...

    def tokens(self, owner: str | None = None) -> Sequence[ApiTokenRow]: ...

    def get_token(self, token_id: str) -> ApiTokenRow: ...

    def revoke_token(self, token_id: str, now: datetime | None = None) -> ApiTokenRow: ...

    def owner_of(self, token: str) -> str | None: ...


class Operations(Protocol):
    """``agent_operations``: completed side effects by idempotency key."""

    def find(self, key: str) -> AgentOperationRow | None: ...

    def add(self, row: AgentOperationRow) -> AgentOperationRow: ...


class Rollouts(Protocol):
    """``rollouts``: what the monitor owns of each canary, blue-green and shadow deployment."""

    def add(self, row: RolloutRow) -> RolloutRow: ...

    def find(self, deployment_id: str) -> RolloutRow | None: ...

    def find_many(self, deployment_ids: Iterable[str]) -> dict[str, RolloutRow]: ...

    def last_messages(self, deployment_ids: Iterable[str]) -> dict[str, str]: ...

    def set_messages(self, messages: Mapping[str, str]) -> None: ...

    def in_phases(
        self, phases: Iterable[str], model_name: str | None = None
    ) -> Sequence[RolloutRow]: ...

    def read_in_phases(
        self, phases: Iterable[str], model_name: str | None = None
    ) -> Sequence[Row[Any]]: ...


class HealthChecks(Protocol):
    """``health_checks``: the monitor's judgements."""

    def add(self, row: HealthCheckRow) -> HealthCheckRow: ...

    def add_many(self, rows: Iterable[Mapping[str, Any]]) -> None: ...

    def list(
        self, deployment_id: str | None = None, model_name: str | None = None, limit: int = 100
    ) -> builtins.list[HealthCheckRow]: ...

    def count_since(self, deployment_id: str, after: datetime) -> int: ...


class AuditTrail(Protocol):
    """``audit_events``: append-only, hash-chained."""

    def append(
        self, actor: str, action: str, subject: str, payload: dict[str, Any] | None = None
    ) -> AuditEventRow: ...

    def list(self, subject: str | None = None) -> Sequence[AuditEventRow]: ...

    def verify(self) -> AuditVerification: ...


class UnitOfWork(Protocol):
    """One transaction over every repository; leaving it without ``commit()`` rolls back."""

    what: str
    """What a ConflictError names, e.g. ``"fraud_detector v2"``."""

    @property
    def models(self) -> ModelVersions: ...

    @property
    def deployments(self) -> Deployments: ...

    @property
    def version_records(self) -> VersionRecords: ...

    @property
    def approvals(self) -> Approvals: ...

    @property
    def audit(self) -> AuditTrail: ...

    @property
    def operations(self) -> Operations: ...

    @property
    def rollouts(self) -> Rollouts: ...

    @property
    def health_checks(self) -> HealthChecks: ...

    @property
    def access(self) -> Access: ...

    @property
    def slo(self) -> SloRepository: ...

    @property
    def retraining(self) -> RetrainingRepository: ...

    @property
    def quotas(self) -> QuotaRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def flush(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
