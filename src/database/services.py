"""Writes that must happen together, done inside the caller's unit of work."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from database.models import DeploymentRow, VersionRecordRow
from database.protocols import UnitOfWork
from lifecycle.records import VersionRecord, utcnow
from lifecycle.stages import (
    LIVE_STATUSES,
    DeploymentStatus,
    ModelStage,
    change_status,
    restore_for_rollback,
    transition,
)


def record_stage_change(
    uow: UnitOfWork,
    model_name: str,
    version: str,
    to_stage: ModelStage,
    actor: str,
    reason: str = "",
    metrics: Mapping[str, float] | None = None,
    approval_id: str | None = None,
    rollback: bool = False,
) -> VersionRecord:
    """Move a version's stage, and write its version record and audit event, in one transaction.

    The stage update carries the row's optimistic version, so of two racing writers only one
    commits; the other's ``uow.commit()`` raises ConflictError and writes nothing.
    ``rollback=True`` is a rollback restoring this version to production (the one move outside
    ALLOWED_TRANSITIONS; see ``restore_for_rollback``). The caller commits; validation errors
    (unknown version, a move ALLOWED_TRANSITIONS does not permit) are raised before anything
    is written.
    """
    uow.what = f"{model_name} v{version}"
    row = uow.models.get(model_name, version)
    from_stage = row.model_stage
    if rollback and to_stage is ModelStage.PRODUCTION:
        restore_for_rollback(from_stage)
    else:
        transition(from_stage, to_stage)
    now = utcnow()
    row.stage, row.stage_changed_at = to_stage.value, now
    evidence = dict(metrics if metrics is not None else row.metrics)
    record = VersionRecordRow(
        model_version_id=row.model_version_id,
        model_name=model_name,
        version=version,
        from_stage=from_stage.value,
        to_stage=to_stage.value,
        metrics=evidence,
        changed_by=actor,
        changed_at=now,
        reason=reason,
        approval_id=approval_id,
    )
    uow.version_records.add(record)
    uow.flush()  # the optimistic check runs here, before the audit chain is touched
    uow.audit.append(
        actor,
        "stage_restored" if rollback and to_stage is ModelStage.PRODUCTION else "stage_changed",
        row.model_version_id,
        {
            "from": from_stage.value,
            "to": to_stage.value,
            "reason": reason,
            "approval_id": approval_id,
        },
    )
    return record.to_record()


class DbPackageLedger:
    """Packaging as the state DB sees it: the version must be known; its bento tag and a
    ``packaged`` audit event are written in one transaction."""

    def __init__(self, uow: Callable[[], UnitOfWork]) -> None:
        self.uow = uow

    def require_known(self, model_name: str, version: str) -> None:
        with self.uow() as uow:
            uow.models.get(model_name, version)  # registered through us (or synced): else unknown

    def record_packaged(
        self, model_name: str, version: str, bento_tag: str, reused: bool, actor: str
    ) -> None:
        with self.uow() as uow:
            row = uow.models.get(model_name, version)
            row.bento_tag = bento_tag
            uow.audit.append(
                actor, "packaged", row.model_version_id, {"bento_tag": bento_tag, "reused": reused}
            )
            uow.commit()


def retire(
    row: DeploymentRow, now: datetime, status: DeploymentStatus = DeploymentStatus.ROLLED_BACK
) -> None:
    """Take ``row`` out of service (its server was stopped before; the one retire routine):
    ``status`` unless it has already ended, no traffic, and the time it was rolled back (a
    failure keeps none)."""
    if DeploymentStatus(row.status) in LIVE_STATUSES:
        row.status = change_status(DeploymentStatus(row.status), status)
    if status is DeploymentStatus.ROLLED_BACK:
        row.rolled_back_at = now
    row.traffic_percentage = 0.0
