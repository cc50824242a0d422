"""Retraining rows in the state database: each model's policy and its retraining runs.

The rules (who may set a policy, when a trigger fires, what a run does) are the use cases' and
the agents'; this module only reads and writes rows. ``uow.retraining`` is one of these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from database.among import among, chunks
from database.models import ApprovalRow
from database.models_retraining import RetrainingPolicyRow, RetrainingRunRow
from lifecycle.errors import ConflictError
from lifecycle.retraining import ACTIVE_RUN_STATUSES, RetrainingPolicy, RunStatus, Trigger


class RetrainingInProgressError(ConflictError):
    """The model already has an active retraining run; at most one runs at a time."""


def policy_of(row: RetrainingPolicyRow) -> RetrainingPolicy:
    """The stored policy as the domain's record."""
    return RetrainingPolicy(
        model_name=row.model_name,
        project=row.project,
        entry_point=row.entry_point,
        params=dict(row.params),
        drift_features=row.drift_features,
        quality_drop=row.quality_drop,
        schedule=row.schedule,
        cooldown_seconds=row.cooldown_seconds,
        expensive=row.expensive,
        data_window_seconds=row.data_window_seconds,
    )


class RetrainingRepository:
    """``retraining_policies`` and ``retraining_runs``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def policy(self, model_name: str) -> RetrainingPolicy | None:
        """The model's policy (None: it has none and is never retrained automatically)."""
        row = self.session.get(RetrainingPolicyRow, model_name)
        return policy_of(row) if row is not None else None

    def policies(self) -> list[RetrainingPolicy]:
        """Every model's policy, by model."""
        rows = self.session.scalars(
            select(RetrainingPolicyRow).order_by(RetrainingPolicyRow.model_name)
        ).all()
        return [policy_of(row) for row in rows]

    def set_policy(self, policy: RetrainingPolicy, actor: str, now: datetime) -> None:
        """Stage the model's policy (replacing any)."""
        row = self.session.get(RetrainingPolicyRow, policy.model_name)
        if row is None:
            row = RetrainingPolicyRow(model_name=policy.model_name)
            self.session.add(row)
        row.project, row.entry_point = policy.project, policy.entry_point
        row.params = dict(policy.params)
        row.drift_features, row.quality_drop = policy.drift_features, policy.quality_drop
        row.schedule, row.cooldown_seconds = policy.schedule, policy.cooldown_seconds
        row.expensive, row.data_window_seconds = policy.expensive, policy.data_window_seconds
        row.updated_by, row.updated_at = actor, now

    def clear_policy(self, model_name: str) -> bool:
        """Stage the removal of the model's policy; whether it had one."""
        row = self.session.get(RetrainingPolicyRow, model_name)
        if row is None:
            return False
        self.session.delete(row)
        return True

    def open_run(
        self,
        run_id: str,
        model_name: str,
        trigger: Trigger,
        requested_by: str,
        now: datetime,
        reason: str = "",
    ) -> RetrainingRunRow:
        """Add a ``requested`` run, flushed at once: RetrainingInProgressError when the model
        already has an active one (the unique ``active_model`` decides, even between two
        processes). Call it in the unit of work that commits it."""
        active = self.active_run(model_name)
        if active is not None:
            raise RetrainingInProgressError(
                f"{model_name} is already being retrained (run {active.id}, {active.status})"
            )
        row = RetrainingRunRow(
            id=run_id,
            model_name=model_name,
            active_model=model_name,
            trigger=trigger.value,
            status=RunStatus.REQUESTED.value,
            reason=reason,
            requested_by=requested_by,
            requested_at=now,
            evaluation={},
            error="",
        )
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError as exc:
            raise RetrainingInProgressError(
                f"{model_name} is already being retrained by another run"
            ) from exc
        return row

    def run(self, run_id: str) -> RetrainingRunRow | None:
        return self.session.get(RetrainingRunRow, run_id)

    def active_run(self, model_name: str) -> RetrainingRunRow | None:
        """The model's active run, if one is in progress."""
        return self.session.scalars(
            select(RetrainingRunRow).where(RetrainingRunRow.active_model == model_name)
        ).first()

    def active_runs(self) -> Sequence[RetrainingRunRow]:
        """Every active run (one per model at most), oldest request first."""
        query = select(RetrainingRunRow).where(RetrainingRunRow.active_model.is_not(None))
        return self.session.scalars(query.order_by(RetrainingRunRow.requested_at)).all()

    def runs(self, model_name: str | None = None, limit: int = 50) -> Sequence[RetrainingRunRow]:
        """Runs, newest request first (one model's, or every model's)."""
        query = select(RetrainingRunRow).order_by(
            RetrainingRunRow.requested_at.desc(), RetrainingRunRow.id.desc()
        )
        if model_name is not None:
            query = query.where(RetrainingRunRow.model_name == model_name)
        return self.session.scalars(query.limit(limit)).all()

    def policies_of(self, models: Iterable[str]) -> dict[str, RetrainingPolicy]:
        """The policies of ``models`` that have one, in one read (``policy`` of each)."""
        names = sorted(set(models))
        query = select(RetrainingPolicyRow)
        return {
            row.model_name: policy_of(row)
            for p in chunks(names)
            for row in self.session.scalars(
                query.where(among(self.session, RetrainingPolicyRow.model_name, p))
            )
        }

    def last_requested(self, models: Iterable[str]) -> dict[str, datetime]:
        """When each of ``models``' most recently requested run was requested (``last_run``
        of each, in one read; a model without a run is left out)."""
        names = sorted(set(models))
        query = select(RetrainingRunRow.model_name, func.max(RetrainingRunRow.requested_at))
        found: dict[str, datetime] = {}
        for p in chunks(names):
            rows = self.session.execute(
                query.where(among(self.session, RetrainingRunRow.model_name, p)).group_by(
                    RetrainingRunRow.model_name
                )
            )
            found.update({m: at for m, at in rows.tuples() if at is not None})
        return found

    def last_run(self, model_name: str) -> RetrainingRunRow | None:
        """The model's most recently requested run (the cool-down counts from it)."""
        runs = self.runs(model_name, limit=1)
        return runs[0] if runs else None

    def set_status(
        self, row: RetrainingRunRow, status: RunStatus, now: datetime, error: str = ""
    ) -> None:
        """Stage a status change (progress: the heartbeat moves); a run that leaves the active
        statuses frees its model."""
        row.status = status.value
        row.progress_at = now
        if status is RunStatus.RUNNING and row.started_at is None:
            row.started_at = now
        if status not in ACTIVE_RUN_STATUSES:
            row.active_model = None
            row.finished_at = now
        if error:
            row.error = error

    def mark_progress(self, run_id: str, now: datetime) -> None:
        """Stage the run's heartbeat (a keyed step of it committed)."""
        self.session.execute(
            update(RetrainingRunRow).where(RetrainingRunRow.id == run_id).values(progress_at=now)
        )

    def claim_resume(self, run_id: str, attempts: int, now: datetime) -> bool:
        """Stage the take-up of a stalled run: one more resume attempt and a fresh heartbeat,
        only if nobody took it up since ``attempts`` was read (compare and set, so two workers
        never both resume it). Whether this caller got it."""
        claimed = self.session.execute(
            update(RetrainingRunRow)
            .where(
                RetrainingRunRow.id == run_id,
                RetrainingRunRow.resume_attempts == attempts,
                RetrainingRunRow.active_model.is_not(None),
            )
            .values(resume_attempts=attempts + 1, progress_at=now)
            .execution_options(synchronize_session="fetch")
        )
        return bool(getattr(claimed, "rowcount", 0) == 1)

    def await_approval(
        self, row: RetrainingRunRow, actor: str, now: datetime, version: str = ""
    ) -> ApprovalRow:
        """Stage the run's wait for a person (an expensive training): status
        ``awaiting_approval`` and a pending ``approvals`` row with action ``retrain``
        (``target_stage`` empty, ``run_id`` the retraining run's id, ``version`` the production
        version it would replace, if any). ``deployer approve ID`` (four-eyes) moves the run
        to ``requested``; a rejection to ``rejected``."""
        approval = ApprovalRow(
            approval_id=f"apr-{row.id.removeprefix('rt-')[:12]}",
            model_name=row.model_name,
            version=version,
            target_stage="",
            action="retrain",
            requested_by=actor,
            requested_at=now,
            reason=row.reason,
            state="pending",
            run_id=row.id,
        )
        self.session.add(approval)
        row.approval_id = approval.approval_id
        self.set_status(row, RunStatus.AWAITING_APPROVAL, now)
        return approval
