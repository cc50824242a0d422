"""record_stage_change against an in-memory unit of work: the rules, without a database."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import pytest

from database.audit import AuditVerification
from database.models import (
    ApprovalRow,
    AuditEventRow,
    DeploymentRow,
    ModelVersionRow,
    VersionRecordRow,
)
from database.protocols import UnitOfWork
from database.services import record_stage_change
from lifecycle.errors import InvalidPromotionPathError, UnknownModelError
from lifecycle.records import model_version_id
from lifecycle.stages import DeploymentStatus, ModelStage


class FakeModels:
    def __init__(self) -> None:
        self.rows: dict[str, ModelVersionRow] = {}

    def add(self, row: ModelVersionRow) -> ModelVersionRow:
        self.rows[row.model_version_id] = row
        return row

    def find(self, model_name: str, version: str) -> ModelVersionRow | None:
        return self.rows.get(model_version_id(model_name, version))

    def get(self, model_name: str, version: str) -> ModelVersionRow:
        row = self.find(model_name, version)
        if row is None:
            raise UnknownModelError(f"{model_name} has no version {version!r}")
        return row

    def list(
        self, model_name: str | None = None, stage: ModelStage | None = None
    ) -> Sequence[ModelVersionRow]:
        return [
            r
            for r in self.rows.values()
            if model_name in (None, r.model_name) and (stage is None or r.stage == stage.value)
        ]

    def latest_in(self, stage: ModelStage) -> dict[str, str]:
        rows = sorted(self.list(None, stage), key=lambda r: (r.model_name, int(r.version)))
        return {r.model_name: r.version for r in rows}

    def list_model_names(self) -> builtins.list[str]:
        return sorted({r.model_name for r in self.rows.values()})


class FakeDeployments:
    def __init__(self) -> None:
        self.rows: dict[str, DeploymentRow] = {}

    def add(self, row: DeploymentRow) -> DeploymentRow:
        self.rows[row.deployment_id] = row
        return row

    def get(self, deployment_id: str) -> DeploymentRow:
        return self.rows[deployment_id]

    def list(
        self,
        model_name: str | None = None,
        statuses: Iterable[DeploymentStatus] | None = None,
        status: DeploymentStatus | None = None,
    ) -> Sequence[DeploymentRow]:
        return list(self.rows.values())


class FakeVersionRecords:
    def __init__(self) -> None:
        self.rows: list[VersionRecordRow] = []

    def add(self, row: VersionRecordRow) -> VersionRecordRow:
        self.rows.append(row)
        return row

    def list_for(self, model_name: str, version: str | None = None) -> Sequence[VersionRecordRow]:
        return [r for r in self.rows if r.model_name == model_name]


class FakeApprovals:
    def __init__(self) -> None:
        self.rows: dict[str, ApprovalRow] = {}

    def add(self, row: ApprovalRow) -> ApprovalRow:
        self.rows[row.approval_id] = row
        return row

    def get(self, approval_id: str) -> ApprovalRow:
        return self.rows[approval_id]

    def decide(
        self, approval_id: str, state: str, approver: str, comment: str, now: datetime
    ) -> bool:
        row = self.rows[approval_id]
        if row.state != "pending":
            return False
        row.state, row.approver, row.comment, row.decided_at = state, approver, comment, now
        return True

    def list(self, state: str | None = "pending") -> Sequence[ApprovalRow]:
        return [r for r in self.rows.values() if state in (None, r.state)]


class FakeAudit:
    def __init__(self) -> None:
        self.events: list[AuditEventRow] = []

    def append(
        self, actor: str, action: str, subject: str, payload: dict[str, Any] | None = None
    ) -> AuditEventRow:
        event = AuditEventRow(
            id=len(self.events) + 1, actor=actor, action=action, subject=subject, payload=payload
        )
        self.events.append(event)
        return event

    def list(self, subject: str | None = None) -> Sequence[AuditEventRow]:
        return [e for e in self.events if subject in (None, e.subject)]

    def verify(self) -> AuditVerification:
        return AuditVerification(True, len(self.events))


class FakeUnitOfWork:
    """Keeps everything in memory; ``committed`` tells whether the caller committed."""

    def __init__(self) -> None:
        self.what = "this record"
        self.committed = False
        self.models = FakeModels()
        self.deployments = FakeDeployments()
        self.version_records = FakeVersionRecords()
        self.approvals = FakeApprovals()
        self.audit = FakeAudit()

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def flush(self) -> None:
        pass

    def commit(self) -> None:
        self.committed = True

    def rollback(self) -> None:
        pass


def unit_of_work(stage: ModelStage) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.models.add(
        ModelVersionRow(
            model_version_id="fraud_detector/2",
            model_name="fraud_detector",
            version="2",
            stage=stage.value,
            metrics={"accuracy": 0.93},
        )
    )
    return uow


def test_the_fake_has_the_shape_services_accept() -> None:
    uow: UnitOfWork = FakeUnitOfWork()  # mypy checks this line if it ever reads tests
    assert uow.what == "this record"


def test_a_stage_change_moves_the_stage_and_writes_a_record_and_an_event() -> None:
    uow = unit_of_work(ModelStage.STAGING)
    record = record_stage_change(
        uow, "fraud_detector", "2", ModelStage.SHADOW, "alice", reason="offline eval ok"
    )
    assert (record.from_stage, record.to_stage) == (ModelStage.STAGING, ModelStage.SHADOW)
    assert record.metrics == {"accuracy": 0.93}
    assert uow.models.get("fraud_detector", "2").stage == "shadow"
    assert [r.to_stage for r in uow.version_records.rows] == ["shadow"]
    [event] = uow.audit.events
    assert (event.action, event.subject, event.actor) == (
        "stage_changed",
        "fraud_detector/2",
        "alice",
    )
    assert event.payload["from"] == "staging"


def test_the_caller_commits_not_the_service() -> None:
    uow = unit_of_work(ModelStage.DEVELOPMENT)
    record_stage_change(uow, "fraud_detector", "2", ModelStage.STAGING, "alice")
    assert not uow.committed


def test_a_conflict_would_name_the_version_being_moved() -> None:
    uow = unit_of_work(ModelStage.DEVELOPMENT)
    record_stage_change(uow, "fraud_detector", "2", ModelStage.STAGING, "alice")
    assert uow.what == "fraud_detector v2"


def test_metrics_given_at_promotion_are_recorded_instead_of_the_registered_ones() -> None:
    uow = unit_of_work(ModelStage.SHADOW)
    record = record_stage_change(
        uow,
        "fraud_detector",
        "2",
        ModelStage.PRODUCTION,
        "bob",
        metrics={"accuracy": 0.95, "shadow_agreement": 0.99},
        approval_id="apr-1",
    )
    assert record.metrics == {"accuracy": 0.95, "shadow_agreement": 0.99}
    assert record.approval_id == "apr-1"


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (ModelStage.DEVELOPMENT, ModelStage.PRODUCTION),
        (ModelStage.STAGING, ModelStage.ARCHIVED),
        (ModelStage.ARCHIVED, ModelStage.STAGING),
    ],
    ids=["no skipping to production", "staging cannot be archived", "archived is final"],
)
def test_a_move_outside_the_transition_table_writes_nothing(
    start: ModelStage, target: ModelStage
) -> None:
    uow = unit_of_work(start)
    with pytest.raises(InvalidPromotionPathError):
        record_stage_change(uow, "fraud_detector", "2", target, "alice")
    assert uow.models.get("fraud_detector", "2").stage == start.value
    assert uow.version_records.rows == []
    assert uow.audit.events == []


def test_an_unknown_version_is_refused() -> None:
    uow = unit_of_work(ModelStage.STAGING)
    with pytest.raises(UnknownModelError):
        record_stage_change(uow, "fraud_detector", "9", ModelStage.SHADOW, "alice")
