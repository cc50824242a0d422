"""Retraining: a model's policy (how to train it, what triggers it) and a run's statuses.

Shared vocabulary of issue 15's monitor agent (which decides when a trigger fires) and the
retraining agent (which runs the MLflow Project). The decisions themselves live in their own
pure modules; this one holds only the records both read.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class Trigger(StrEnum):
    """What asked for a retraining."""

    DRIFT = "drift"
    """Drift on at least ``drift_features`` features."""
    QUALITY = "quality"
    """Quality from feedback dropped by more than ``quality_drop``."""
    SCHEDULE = "schedule"
    """The policy's cron ``schedule`` came due."""
    MANUAL = "manual"
    """A person asked (``deployer retrain NAME``)."""


class RunStatus(StrEnum):
    """Where a retraining run is. At most one run per model is active at a time."""

    REQUESTED = "requested"
    AWAITING_APPROVAL = "awaiting_approval"
    """The policy says training is expensive: a person approves before it starts."""
    RUNNING = "running"
    """The MLflow Project runs."""
    EVALUATING = "evaluating"
    """The new version is registered and being evaluated against production."""
    HANDED_OVER = "handed_over"
    """It beat or matched production and went to the deployer (staging, then shadow)."""
    NOT_BETTER = "not_better"
    """It was worse than production on the same held-out data; registered, not handed over."""
    REJECTED = "rejected"
    """The approval of an expensive training was refused."""
    FAILED = "failed"


ACTIVE_RUN_STATUSES = frozenset(
    {RunStatus.REQUESTED, RunStatus.AWAITING_APPROVAL, RunStatus.RUNNING, RunStatus.EVALUATING}
)
"""A model with a run in one of these has its retraining in progress: no other starts."""


class RetrainingPolicy(BaseModel):
    """How a model is retrained and what triggers it (``deployer retraining set NAME ...``)."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model_name: str
    project: str
    """The MLflow Project: a directory with an ``MLproject`` file (or a git URI)."""
    entry_point: str = "main"
    params: dict[str, JsonValue] = Field(default_factory=dict)
    """Fixed ``--param KEY=VALUE`` of the entry point; the agent adds the data window's."""
    drift_features: int | None = None
    """Retrain when at least this many features drift (None: drift never triggers)."""
    quality_drop: float | None = None
    """Retrain when a quality metric drops by more than this margin (None: never)."""
    schedule: str | None = None
    """A cron expression (``0 3 * * 1``) in UTC (None: no schedule)."""
    cooldown_seconds: float = 6 * 3600
    """No automatic retraining sooner than this after the last one began."""
    expensive: bool = False
    """Training costs enough that a person approves each automatic run first."""
    data_window_seconds: float = 7 * 86400
    """How much recent captured, labelled traffic a run trains on."""


RETRAINING_ALERTS = (
    ("retraining_failed", 2),
    ("retraining_not_better", 2),
    ("retraining_handed_over", 1),
    ("retraining_stalled", 2),
    ("retraining_resumed", 1),
)
"""The audit events of a run's end that raise an alert, with their severity (2 warning, 1 info;
``lifecycle.alerts.Severity``): failed, not better and stalled (failed after its resumes) warn,
a handover and a resume of a run cut short inform."""


def _alert_summary(payload: Mapping[str, Any], target: Any) -> str:
    return str(payload.get("summary") or payload.get("error") or f"{target.model}'s retraining")


def _alert_action(_payload: Mapping[str, Any], target: Any) -> str:
    return f"deployer retraining runs {target.model}"


RETRAINING_TEXTS = (_alert_summary, _alert_action)
"""An alert's summary (the event's own) and action (``deployer retraining runs MODEL``)."""
