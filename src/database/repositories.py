"""Repositories: collection-like access to each aggregate, over one SQLAlchemy session.

They add and read; they never commit. The unit of work owns the transaction.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from database import tick_reads
from database.among import among, chunks
from database.audit import AuditVerification, append_event, verify_audit_chain
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
from database.tick_reads import OPEN_ROLLOUT, DeploymentFacts
from lifecycle.errors import UnknownModelError
from lifecycle.records import model_version_id, utcnow
from lifecycle.stages import DeploymentStatus, ModelStage


class ModelVersionRepository:
    """``ml_model_registry`` rows: one per model version."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: ModelVersionRow) -> ModelVersionRow:
        """Stage a new version row for insertion at the next flush."""
        self.session.add(row)
        return row

    def find(self, model_name: str, version: str) -> ModelVersionRow | None:
        """The row, or None when that version is not recorded."""
        return self.session.get(ModelVersionRow, model_version_id(model_name, version))

    def get(self, model_name: str, version: str) -> ModelVersionRow:
        """The row, or UnknownModelError naming what was asked for."""
        row = self.find(model_name, version)
        if row is None:
            if not self.list(model_name):
                raise UnknownModelError(f"no model named {model_name!r} is registered")
            raise UnknownModelError(f"{model_name} has no version {version!r}")
        return row

    def list(
        self, model_name: str | None = None, stage: ModelStage | None = None
    ) -> Sequence[ModelVersionRow]:
        """Versions, optionally of one model and in one stage, by name then version number."""
        query = select(ModelVersionRow)
        if model_name is not None:
            query = query.where(ModelVersionRow.model_name == model_name)
        if stage is not None:
            query = query.where(ModelVersionRow.stage == stage.value)
        rows = self.session.scalars(query).all()
        return sorted(rows, key=lambda r: (r.model_name, _version_key(r.version)))

    def latest_in(self, stage: ModelStage) -> dict[str, str]:
        """Each model's latest version in ``stage`` (``list(None, stage)``'s last of each
        model), read as two columns: a tick over every model needs no row objects."""
        query = select(ModelVersionRow.model_name, ModelVersionRow.version)
        rows = self.session.execute(query.where(ModelVersionRow.stage == stage.value)).all()
        return {n: v for n, v in sorted(rows, key=lambda r: (r[0], _version_key(r[1])))}

    def list_model_names(self) -> builtins.list[str]:
        """Every model name with at least one version, sorted."""
        query = select(ModelVersionRow.model_name).distinct().order_by(ModelVersionRow.model_name)
        return list(self.session.scalars(query))


def _version_key(version: str) -> tuple[int, str]:
    # Registry versions are numbers as text: "10" sorts after "9".
    return (int(version), "") if version.isdigit() else (0, version)


class DeploymentRepository:
    """``ml_deployments`` rows."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: DeploymentRow) -> DeploymentRow:
        """Stage a new deployment row for insertion at the next flush."""
        self.session.add(row)
        return row

    def get(self, deployment_id: str) -> DeploymentRow:
        """The deployment, or UnknownModelError naming the id."""
        row = self.session.get(DeploymentRow, deployment_id)
        if row is None:
            raise UnknownModelError(f"no deployment {deployment_id!r}")
        return row

    def get_many(self, deployment_ids: Iterable[str]) -> dict[str, DeploymentRow]:
        """The deployments of these ids that exist, in one query (a tick over many); a later
        ``get`` of one of them reads no more."""
        ids = sorted(set(deployment_ids))
        of = functools.partial(among, self.session, DeploymentRow.deployment_id)
        found = [
            r for p in chunks(ids) for r in self.session.scalars(select(DeploymentRow).where(of(p)))
        ]
        return {row.deployment_id: row for row in found}

    def versions(self, deployment_ids: Iterable[str]) -> dict[str, str]:
        """The model version each of these deployments serves (those that exist), in one read
        of two columns (no row objects)."""
        ids = sorted(set(deployment_ids))
        query = select(DeploymentRow.deployment_id, DeploymentRow.model_version)
        of = functools.partial(among, self.session, DeploymentRow.deployment_id)
        return {d: v for p in chunks(ids) for d, v in self.session.execute(query.where(of(p)))}

    def change_marks(
        self, deployment_ids: Iterable[str]
    ) -> dict[str, tuple[str | None, datetime | None]]:
        """Each of these deployments' change mark (run id, since), those that exist."""
        return tick_reads.change_marks(self.session, deployment_ids)

    def list(
        self,
        model_name: str | None = None,
        statuses: Iterable[DeploymentStatus] | None = None,
        status: DeploymentStatus | None = None,
    ) -> Sequence[DeploymentRow]:
        """Deployments, oldest first, optionally of one model and in one or several statuses."""
        if status is not None:
            statuses = [status, *(statuses or ())]
        query = select(DeploymentRow).order_by(
            DeploymentRow.deployed_at, DeploymentRow.deployment_id
        )
        if model_name is not None:
            query = query.where(DeploymentRow.model_name == model_name)
        if statuses is not None:
            query = query.where(DeploymentRow.status.in_([s.value for s in statuses]))
        return self.session.scalars(query).all()

    def facts(self, model_name: str | None = None) -> builtins.list[DeploymentFacts]:
        """``list(model_name)`` as ``DeploymentFacts`` (the monitoring tick's read)."""
        return tick_reads.facts(self.session, model_name)

    def model_names(self, statuses: Iterable[DeploymentStatus]) -> builtins.list[str]:
        """The models with a deployment in one of ``statuses``, sorted: one read of one
        column (no row objects: a tick over 1,000 models asks this)."""
        query = (
            select(DeploymentRow.model_name)
            .where(DeploymentRow.status.in_([s.value for s in statuses]))
            .distinct()
            .order_by(DeploymentRow.model_name)
        )
        return list(self.session.scalars(query))


class VersionRecordRepository:
    """``version_records``: the history of stage changes."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: VersionRecordRow) -> VersionRecordRow:
        """Stage a new record for insertion at the next flush."""
        self.session.add(row)
        return row

    def list_for(self, model_name: str, version: str | None = None) -> Sequence[VersionRecordRow]:
        """A model's (or one version's) stage changes, oldest first."""
        query = select(VersionRecordRow).where(VersionRecordRow.model_name == model_name)
        if version is not None:
            query = query.where(VersionRecordRow.version == version)
        order = (VersionRecordRow.changed_at, VersionRecordRow.id)
        return self.session.scalars(query.order_by(*order)).all()


class ApprovalRepository:
    """``approvals``: pending and decided requests."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: ApprovalRow) -> ApprovalRow:
        """Stage a new approval request for insertion at the next flush."""
        self.session.add(row)
        return row

    def get(self, approval_id: str) -> ApprovalRow:
        """The approval, or UnknownModelError naming the id."""
        row = self.session.get(ApprovalRow, approval_id)
        if row is None:
            raise UnknownModelError(f"no approval {approval_id!r}")
        return row

    def decide(
        self, approval_id: str, state: str, approver: str, comment: str, now: datetime
    ) -> bool:
        """Move a pending approval to ``state`` (approved or rejected) by compare-and-set:
        ``UPDATE ... WHERE state = 'pending'``. True when this call moved it; False when it was
        no longer pending (another decision won: read the row for what it says). Of two
        concurrent deciders exactly one gets True, on SQLite (one writer at a time) and on
        PostgreSQL (the second UPDATE waits for the first's row lock, then finds no pending
        row)."""
        moved = self.session.execute(
            update(ApprovalRow)
            .where(ApprovalRow.approval_id == approval_id, ApprovalRow.state == "pending")
            .values(
                state=state,
                approver=approver,
                comment=comment,
                decided_at=now,
                row_version=ApprovalRow.row_version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        self.session.expire_all()
        return getattr(moved, "rowcount", 0) == 1

    def list(self, state: str | None = "pending") -> Sequence[ApprovalRow]:
        """Approvals in ``state`` (None: all), oldest request first."""
        query = select(ApprovalRow).order_by(ApprovalRow.requested_at, ApprovalRow.approval_id)
        if state is not None:
            query = query.where(ApprovalRow.state == state)
        return self.session.scalars(query).all()


class OperationRepository:
    """``agent_operations``: completed side effects by idempotency key."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, key: str) -> AgentOperationRow | None:
        """The completed operation with this key, or None."""
        return self.session.get(AgentOperationRow, key)

    def add(self, row: AgentOperationRow) -> AgentOperationRow:
        """Stage the record of a completed operation (a second one with the key conflicts)."""
        self.session.add(row)
        return row


class RolloutRepository:
    """``rollouts``: the monitor's part of each canary, blue-green and shadow deployment."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: RolloutRow) -> RolloutRow:
        """Stage a new rollout (one per deployment)."""
        self.session.add(row)
        return row

    def find(self, deployment_id: str) -> RolloutRow | None:
        """The rollout of a deployment, or None."""
        return self.session.get(RolloutRow, deployment_id)

    def find_many(self, deployment_ids: Iterable[str]) -> dict[str, RolloutRow]:
        """The rollouts of these deployments that have one, in one query; a later ``find`` of
        one of them reads no more."""
        ids = sorted(set(deployment_ids))
        of = functools.partial(among, self.session, RolloutRow.deployment_id)
        found = [
            r for p in chunks(ids) for r in self.session.scalars(select(RolloutRow).where(of(p)))
        ]
        return {row.deployment_id: row for row in found}

    def last_messages(self, deployment_ids: Iterable[str]) -> dict[str, str]:
        """What each of these deployments' rollouts (those that have one) said last."""
        return tick_reads.last_messages(self.session, deployment_ids)

    def set_messages(self, messages: Mapping[str, str]) -> None:
        """Set each rollout's ``last_message`` (by deployment id) in one statement: a tick's
        words about the rollouts it held, which no other writer reads to decide anything."""
        if not messages:
            return
        table = cast(Table, RolloutRow.__table__)
        said = (
            update(table)
            .where(table.c.deployment_id == bindparam("id"))
            .values(last_message=bindparam("said"), updated_at=utcnow())
        )  # its row_version stays: a message is no change another writer must be told of
        self.session.execute(said, [{"id": d, "said": m} for d, m in messages.items()])

    def in_phases(
        self, phases: Iterable[str], model_name: str | None = None
    ) -> Sequence[RolloutRow]:
        """Rollouts in any of ``phases`` (of one model, or all), oldest deployment first."""
        return self.session.scalars(_in_phases(select(RolloutRow), phases, model_name)).all()

    def read_in_phases(
        self, phases: Iterable[str], model_name: str | None = None
    ) -> Sequence[Row[Any]]:
        """``in_phases`` as plain rows of the monitor's columns (``tick_reads.OPEN_ROLLOUT``)."""
        return self.session.execute(_in_phases(select(*OPEN_ROLLOUT), phases, model_name)).all()


def _in_phases(query: Select[Any], phases: Iterable[str], model_name: str | None) -> Select[Any]:
    query = query.where(RolloutRow.phase.in_(list(phases))).order_by(
        RolloutRow.model_name, RolloutRow.deployment_id
    )
    return query if model_name is None else query.where(RolloutRow.model_name == model_name)


class HealthCheckRepository:
    """``health_checks``: the monitor's judgements, newest last."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: HealthCheckRow) -> HealthCheckRow:
        """Stage one judgement."""
        self.session.add(row)
        return row

    def list(
        self,
        deployment_id: str | None = None,
        model_name: str | None = None,
        limit: int = 100,
        actions: Iterable[str] | None = None,
    ) -> builtins.list[HealthCheckRow]:
        """The latest ``limit`` judgements (of a deployment or a model, with one of ``actions``),
        oldest first."""
        query = select(HealthCheckRow).order_by(HealthCheckRow.id.desc()).limit(limit)
        if deployment_id is not None:
            query = query.where(HealthCheckRow.deployment_id == deployment_id)
        if model_name is not None:
            query = query.where(HealthCheckRow.model_name == model_name)
        if actions is not None:
            query = query.where(HealthCheckRow.action.in_(builtins.list(actions)))
        return list(reversed(self.session.scalars(query).all()))

    def add_many(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Insert these judgements (each its columns' values) in one statement, a tick's, one
        per deployment: as values, not row objects the insert would only read back."""
        values = list(rows)
        if values:
            self.session.execute(insert(cast(Table, HealthCheckRow.__table__)), values)

    def count_since(self, deployment_id: str, after: datetime) -> int:
        """How many judgements of a deployment were made after ``after`` (the monitor's ticks
        that saw it since then)."""
        query = select(func.count()).where(
            HealthCheckRow.deployment_id == deployment_id, HealthCheckRow.checked_at > after
        )
        return int(self.session.scalar(query) or 0)


class AuditLog:
    """The append-only audit log."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(
        self, actor: str, action: str, subject: str, payload: dict[str, Any] | None = None
    ) -> AuditEventRow:
        """Append one event inside the current transaction; it commits with everything else."""
        return append_event(self.session, actor, action, subject, payload)

    def list(self, subject: str | None = None) -> Sequence[AuditEventRow]:
        """Events in chain order, optionally about one subject."""
        query = select(AuditEventRow).order_by(AuditEventRow.id)
        if subject is not None:
            query = query.where(AuditEventRow.subject == subject)
        return self.session.scalars(query).all()

    def verify(self) -> AuditVerification:
        """Check the whole chain and its head; see ``verify_audit_chain``."""
        return verify_audit_chain(self.session)
