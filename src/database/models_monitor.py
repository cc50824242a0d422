"""Tables of issue 15's monitor agent: its decisions, and the watch's checks that failed.

Same ``Base`` as ``database.models``; ``database/__init__.py`` imports this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from database.models import Base
from database.types import JSONDocument


class MonitorDecisionRow(Base):
    """``monitor_decisions``: one decision of the monitor agent about one model (``nothing``,
    ``alert``, ``rollback``, ``retrain``), its reasons, the figures it was made on, who asked,
    and what it handed over. Written only when it differs from the model's last one
    (``signature``), so a quiet model adds no row per tick."""

    __tablename__ = "monitor_decisions"
    __table_args__ = (Index(None, "model_name", "decided_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column()
    action: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str | None] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[Any] = mapped_column(JSONDocument)
    """A list of one-line reasons."""
    evidence: Mapped[dict[str, Any]] = mapped_column()
    """The figures it was decided on (``lifecycle.watch_decisions.Evidence`` as JSON)."""
    signature: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))
    handoff: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    """The ``lifecycle.handoff.Handoff`` it carried, if any."""
    retraining_run_id: Mapped[str | None] = mapped_column(String(64))


class CheckFailureRow(Base):
    """``check_failures``: a drift or quality check of the watch that raised instead of
    judging; the monitor agent reads the ones newer than the kind's last check and alerts."""

    __tablename__ = "check_failures"
    __table_args__ = (Index(None, "model_name", "failed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    failed_at: Mapped[datetime] = mapped_column()
    message: Mapped[str] = mapped_column(Text)
