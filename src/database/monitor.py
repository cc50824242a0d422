"""The monitor agent's rows: its decisions, the watch's failed checks, and the evidence it
decides on, read from the watch's tables into ``lifecycle.watch_decisions.Evidence``.

Built over a unit of work's session (``MonitorRepository(uow.session)``), like the feedback and
drift repositories: the rules are the agent's and ``lifecycle.watch_decisions``'; this module
only reads and writes rows.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from database.models import DeploymentRow, HealthCheckRow
from database.models_drift import DriftCheckRow
from database.models_feedback import QualityCheckRow
from database.models_monitor import CheckFailureRow, MonitorDecisionRow
from database.models_retraining import RetrainingPolicyRow
from database.models_slo import SloStateRow
from database.repositories import DeploymentRepository, RolloutRepository
from database.retraining import RetrainingRepository
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.monitor import OPEN_PHASES
from lifecycle.shadow_watch import ShadowEvidence, failed_gates
from lifecycle.stages import LIVE_STATUSES, DeploymentStatus
from lifecycle.strategies import StrategyName
from lifecycle.watch_decisions import (
    CheckFailure,
    DriftEvidence,
    Evidence,
    QualityEvidence,
    SloEvidence,
)

STALE_LOOKBACK = timedelta(hours=1)
"""How far back stale-figure judgements count when the model has no decision yet."""

_CONCLUSIVE = ("ok", "drop")


class MonitorRepository:
    """``monitor_decisions`` and ``check_failures``, and the evidence of one model."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_decision(self, row: MonitorDecisionRow) -> MonitorDecisionRow:
        """Stage a decision, flushed (its id names the episode and the alert)."""
        self.session.add(row)
        self.session.flush()
        return row

    def last_decision(self, model_name: str) -> MonitorDecisionRow | None:
        """The model's newest decision."""
        query = (
            select(MonitorDecisionRow)
            .where(MonitorDecisionRow.model_name == model_name)
            .order_by(MonitorDecisionRow.id.desc())
            .limit(1)
        )
        return self.session.scalars(query).first()

    def decisions(self, model_name: str | None = None, limit: int = 50) -> list[MonitorDecisionRow]:
        """Decisions, newest first (one model's, or every model's)."""
        query = select(MonitorDecisionRow).order_by(MonitorDecisionRow.id.desc()).limit(limit)
        if model_name:
            query = query.where(MonitorDecisionRow.model_name == model_name)
        return list(self.session.scalars(query).all())

    def add_failure(self, model_name: str, kind: str, message: str, now: datetime) -> None:
        """Stage a failed check (``drift`` or ``quality``), one line of why."""
        line = " ".join(message.split())[:500] or "failed"
        self.session.add(CheckFailureRow(model_name=model_name, kind=kind, failed_at=now,
                                         message=line))  # fmt: skip

    def last_mark(self, model_name: str, kinds: tuple[str, ...]) -> str | None:
        """The kind of ``model_name``'s newest ``check_failures`` row among ``kinds``."""
        query = (
            select(CheckFailureRow.kind)
            .where(CheckFailureRow.model_name == model_name, CheckFailureRow.kind.in_(kinds))
            .order_by(CheckFailureRow.id.desc())
            .limit(1)
        )
        return self.session.scalars(query).first()

    def open_marks(self, failed: str, kinds: tuple[str, ...]) -> builtins.list[CheckFailureRow]:
        """Per scope, the newest row among ``kinds`` when it is a ``failed`` one, by scope."""
        newest = (
            select(func.max(CheckFailureRow.id))
            .where(CheckFailureRow.kind.in_(kinds))
            .group_by(CheckFailureRow.model_name)
        )
        query = (
            select(CheckFailureRow)
            .where(CheckFailureRow.id.in_(newest), CheckFailureRow.kind == failed)
            .order_by(CheckFailureRow.model_name)
        )
        return list(self.session.scalars(query).all())

    def watched_models(self) -> builtins.list[str]:
        """Every model with a live deployment, by name."""
        rows = DeploymentRepository(self.session).list(statuses=LIVE_STATUSES)
        return sorted({row.model_name for row in rows})

    def evidence(self, model_name: str, now: datetime) -> Evidence:
        """What the watch knows about ``model_name`` now."""
        last = self.last_decision(model_name)
        policy = self.session.get(RetrainingPolicyRow, model_name)
        return Evidence(
            model_name=model_name,
            slo=tuple(self._slo(model_name)),
            drift=self._drift(model_name),
            quality=self._quality(model_name),
            stale=tuple(self._stale(model_name, last.decided_at if last else now - STALE_LOOKBACK)),
            failures=tuple(self._failures(model_name)),
            active_run=self._active_run(model_name),
            policy_set_at=policy.updated_at if policy is not None else None,
            shadows=tuple(self._shadows(model_name)),
        )

    def _shadows(self, model_name: str) -> builtins.list[ShadowEvidence]:
        """Each live shadow deployment and what its last judgement's promotion gates failed."""
        found = []
        for row in DeploymentRepository(self.session).list(model_name, statuses=LIVE_STATUSES):
            if row.strategy != StrategyName.SHADOW.value:
                continue
            checks = self._observed(row.deployment_id, limit=1)
            failed = failed_gates(checks[0].metrics) if checks else ()
            found.append(ShadowEvidence(deployment_id=row.deployment_id,
                                        version=row.model_version, failed=failed))  # fmt: skip
        return found

    def _active_run(self, model_name: str) -> str | None:
        run = RetrainingRepository(self.session).active_run(model_name)
        return run.id if run is not None else None

    def _slo(self, model_name: str) -> builtins.list[SloEvidence]:
        deployments = {
            d.deployment_id: d
            for d in DeploymentRepository(self.session).list(model_name, statuses=LIVE_STATUSES)
        }
        states: Sequence[SloStateRow] = self.session.scalars(
            select(SloStateRow).where(SloStateRow.model_name == model_name)
        ).all()
        found = []
        for state in sorted(states, key=lambda s: s.deployment_id):
            row = deployments.get(state.deployment_id)
            if row is None or row.status == DeploymentStatus.DRAINING.value:
                continue
            checks = self._observed(state.deployment_id)
            latest = checks[0].metrics.get("slo", {}) if checks else {}
            rollout = RolloutRepository(self.session).find(state.deployment_id)
            found.append(
                SloEvidence(
                    deployment_id=state.deployment_id,
                    version=row.model_version,
                    status=state.status,
                    failed_checks=_in_a_row(checks),
                    guard=str(latest.get("guard") or "none"),
                    in_rollout=rollout is not None and rollout.phase in OPEN_PHASES,
                    warm_target=_warm(deployments.values(), state.deployment_id),
                    breaches=tuple(_breaches(checks)),
                )
            )
        return found

    def _observed(self, deployment_id: str, limit: int = 10) -> builtins.list[HealthCheckRow]:
        """The deployment's latest judgements, newest first."""
        query = (
            select(HealthCheckRow)
            .where(HealthCheckRow.deployment_id == deployment_id)
            .order_by(HealthCheckRow.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(query).all())

    def _drift(self, model_name: str) -> DriftEvidence | None:
        query = (
            select(DriftCheckRow)
            .where(DriftCheckRow.model_name == model_name)
            .order_by(DriftCheckRow.id.desc())
            .limit(1)
        )
        row = self.session.scalars(query).first()
        if row is None:
            return None
        columns = [c for c in (row.columns or []) if isinstance(c, dict)]
        drifted = tuple(str(name) for name in row.drifted or [])
        figures: dict[str, Any] = {
            str(c.get("name")): {
                "p_value": c.get("adjusted_p_value", c.get("p_value")),
                "psi": c.get("psi"),
            }
            for c in columns
            if c.get("name") in drifted
        }
        return DriftEvidence(
            version=row.version,
            checked_at=row.checked_at,
            verdict=row.verdict,
            drifted=drifted,
            features=sum(1 for c in columns if c.get("role", "feature") != "output"),
            figures=figures,
        )

    def _quality(self, model_name: str) -> QualityEvidence | None:
        query = (
            select(QualityCheckRow)
            .where(
                QualityCheckRow.model_name == model_name,
                QualityCheckRow.verdict.in_(_CONCLUSIVE),
                QualityCheckRow.metric.is_not(None),
                QualityCheckRow.observed.is_not(None),
                QualityCheckRow.approved.is_not(None),
            )
            .order_by(QualityCheckRow.id.desc())
            .limit(1)
        )
        row = self.session.scalars(query).first()
        if row is None or row.metric is None or row.observed is None or row.approved is None:
            return None
        return QualityEvidence(
            version=row.version,
            checked_at=row.checked_at,
            verdict=row.verdict,
            metric=row.metric,
            observed=row.observed,
            approved=row.approved,
            labelled=row.labelled,
        )

    def _stale(self, model_name: str, since: datetime) -> builtins.list[str]:
        query = (
            select(HealthCheckRow)
            .where(
                HealthCheckRow.model_name == model_name,
                HealthCheckRow.checked_at > since,
                HealthCheckRow.message.like("figures stale%"),
            )
            .order_by(HealthCheckRow.id.desc())
        )
        seen: dict[str, str] = {}
        for row in self.session.scalars(query):
            seen.setdefault(row.deployment_id, f"{row.deployment_id}: {row.message.split(';')[0]}")
        return [seen[d] for d in sorted(seen)]

    def _failures(self, model_name: str) -> builtins.list[CheckFailure]:
        """Failed checks newer than the last check of their kind that judged."""
        found = []
        for kind, table in (("drift", DriftCheckRow), ("quality", QualityCheckRow)):
            judged = self.session.scalars(
                select(table.checked_at)
                .where(table.model_name == model_name)
                .order_by(table.id.desc())
                .limit(1)
            ).first()
            query = (
                select(CheckFailureRow)
                .where(CheckFailureRow.model_name == model_name, CheckFailureRow.kind == kind)
                .order_by(CheckFailureRow.id.desc())
                .limit(1)
            )
            if judged is not None:
                query = query.where(CheckFailureRow.failed_at > judged)
            row = self.session.scalars(query).first()
            if row is not None:
                found.append(CheckFailure(kind=kind, failed_at=row.failed_at, message=row.message))
        return found


def _in_a_row(checks: Sequence[HealthCheckRow]) -> int:
    """Failed SLO judgements in a row, newest first."""
    count = 0
    for check in checks:
        if check.metrics.get("slo", {}).get("status") != "failed":
            break
        count += 1
    return count


def _breaches(checks: Sequence[HealthCheckRow]) -> builtins.list[str]:
    if not checks or checks[0].metrics.get("slo", {}).get("status") != "failed":
        return []
    parts = [p.strip() for p in checks[0].message.split(";")]
    return [p for p in parts if p and not p.startswith("SLO breach")][:3]


def _warm(rows: Iterable[DeploymentRow], deployment_id: str) -> str | None:
    """The newest other deployment of the model still kept warm (draining)."""
    warm = sorted(
        (r for r in rows if r.deployment_id != deployment_id
         and r.status == DeploymentStatus.DRAINING.value),
        key=lambda r: (r.drained_at or r.deployed_at, r.deployment_id),
    )  # fmt: skip
    return warm[-1].deployment_id if warm else None


def record_failure(
    uow_of: Callable[[], SqlAlchemyUnitOfWork],
    model: str,
    kind: str,
    exc: BaseException,
    now: datetime,
) -> None:
    """Record that the watch's ``kind`` check of ``model`` raised ``exc`` (its own unit of
    work): evidence the monitor agent alerts on. Recording it may fail too (the caller logs)."""
    with uow_of() as uow:
        MonitorRepository(uow.session).add_failure(model, kind, f"{type(exc).__name__}: {exc}", now)
        uow.commit()
