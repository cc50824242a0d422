"""The monitor agent's rows: its decisions, the watch's failed checks, and the evidence it
decides on, read from the watch's tables into ``lifecycle.watch_decisions.Evidence``.

Built over a unit of work's session (``MonitorRepository(uow.session)``), like the feedback and
drift repositories: the rules are the agent's and ``lifecycle.watch_decisions``'; this module
only reads and writes rows.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from database.models_monitor import CheckFailureRow, MonitorDecisionRow
from database.monitor_evidence import STALE_LOOKBACK, evidence_many, latest_per_model
from database.repositories import DeploymentRepository
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.stages import LIVE_STATUSES
from lifecycle.watch_decisions import Evidence

__all__ = ["STALE_LOOKBACK", "MonitorRepository", "record_failure"]


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
        return DeploymentRepository(self.session).model_names(LIVE_STATUSES)

    def evidence(self, model_name: str, now: datetime) -> Evidence:
        """What the watch knows about ``model_name`` now (``evidence_many`` of one model)."""
        return self.evidence_many([model_name], now)[model_name]

    def evidence_many(self, models: Iterable[str], now: datetime) -> dict[str, Evidence]:
        """What the watch knows about each of ``models`` now, from one read of each table
        (``database.monitor_evidence``): as many statements for 1,000 models as for one."""
        return evidence_many(self.session, models, now)

    def last_signatures(self, models: Iterable[str]) -> dict[str, str]:
        """Each model's newest decision's signature (a model without one is left out)."""
        names, signature = sorted(set(models)), MonitorDecisionRow.signature
        rows = latest_per_model(self.session, MonitorDecisionRow, names, columns=[signature])
        return {m: row.signature for m, row in rows.items()}


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
