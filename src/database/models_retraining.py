"""Tables of issue 15's retraining: each model's policy and every retraining run.

Same ``Base`` as ``database.models``; ``database/__init__.py`` imports this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from database.models import Base


class RetrainingPolicyRow(Base):
    """``retraining_policies``: how one model is retrained and what triggers it
    (``lifecycle.retraining.RetrainingPolicy``; ``deployer retraining set``)."""

    __tablename__ = "retraining_policies"

    model_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    project: Mapped[str] = mapped_column(Text)
    entry_point: Mapped[str] = mapped_column(String(100), default="main")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    drift_features: Mapped[int | None] = mapped_column(Integer)
    quality_drop: Mapped[float | None] = mapped_column()
    schedule: Mapped[str | None] = mapped_column(String(100))
    cooldown_seconds: Mapped[float] = mapped_column()
    expensive: Mapped[bool] = mapped_column(default=False)
    data_window_seconds: Mapped[float] = mapped_column()
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column()


class RetrainingRunRow(Base):
    """``retraining_runs``: one retraining of one model and what became of it
    (``lifecycle.retraining.RunStatus``).

    ``active_model`` holds the model's name while the run is active and NULL after: its unique
    constraint is how at most one retraining of a model runs at a time, on SQLite and
    PostgreSQL alike (NULLs never collide)."""

    __tablename__ = "retraining_runs"
    __table_args__ = (
        UniqueConstraint("active_model"),
        Index(None, "model_name", "requested_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200))
    active_model: Mapped[str | None] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    data_since: Mapped[datetime | None] = mapped_column()
    data_until: Mapped[datetime | None] = mapped_column()
    parent_version: Mapped[str | None] = mapped_column(String(50))
    new_version: Mapped[str | None] = mapped_column(String(50))
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    thread_id: Mapped[str | None] = mapped_column(String(100))
    approval_id: Mapped[str | None] = mapped_column(String(64))
    evaluation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The candidate and the production version on the same held-out data:
    ``{"rows": n, "candidate": {metric: value}, "production": {"version": v, metric: value}}``."""
    error: Mapped[str] = mapped_column(Text, default="")
    progress_at: Mapped[datetime | None] = mapped_column()
    """The run's heartbeat: when it started or a keyed step of it last committed. An active
    run without progress for ``DEPLOYER_RETRAINING_STALE_SECONDS`` was cut short
    (``lifecycle.retraining_stall``). None: a run from before 0016 (its start counts)."""
    resume_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How often a stalled run was taken up again from its checkpoint."""
