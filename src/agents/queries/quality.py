"""What ``deployer feedback show`` and ``GET /v1/models/{name}/quality`` report, and what the
watcher judges: each deployment's rolling quality over a window of labelled predictions (the
captured predictions joined to their feedback, ``FeedbackRepository.labelled_predictions``)
against the metric its version was approved on (``lifecycle.quality.judge``).

The task type is the model's ``DEPLOYER_QUALITY_TASKS`` entry, else what the version's registry
metrics say (``lifecycle.quality.infer_task``); the predicted label is the captured answer's one
prediction (an answer to a batch of rows has no single label and is counted as ``unusable``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agents.ports import Services
from agents.settings import Settings
from database.feedback import FeedbackRepository, LabelledPrediction
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import BadInputError, UnknownModelError
from lifecycle.quality import (
    MAX_WINDOW_SECONDS,
    Label,
    QualityJudgement,
    TaskType,
    check_label,
    infer_task,
    judge,
    predicted_label,
    rolling_metrics,
)
from lifecycle.records import utcnow


@dataclass(frozen=True)
class Assessment:
    """One deployment's rolling quality over the window."""

    deployment_id: str
    version: str
    task: TaskType | None
    metrics: dict[str, float]
    unusable: int
    judgement: QualityJudgement

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        j = self.judgement
        return {
            "deployment_id": self.deployment_id,
            "version": self.version,
            "task": self.task.value if self.task else None,
            "metric": j.metric,
            "observed": j.observed,
            "approved": j.approved,
            "labelled": j.labelled,
            "unusable": self.unusable,
            "metrics": self.metrics,
            "verdict": j.verdict.value,
            "summary": j.summary,
        }


def pairs_of(rows: list[LabelledPrediction]) -> tuple[list[tuple[Label, Label]], int]:
    """(predicted, label) pairs of the rows whose answer holds one prediction; the others'
    count."""
    pairs: list[tuple[Label, Label]] = []
    for row in rows:
        predicted = predicted_label(row.output)
        try:
            label = check_label(row.label, "stored label")
        except BadInputError:
            predicted = None
        if predicted is None:
            continue
        pairs.append((predicted, label))
    return pairs, len(rows) - len(pairs)


def assess(
    uow: SqlAlchemyUnitOfWork, settings: Settings, model_name: str, since: datetime
) -> list[Assessment]:
    """Each deployment with labelled predictions captured since ``since``, judged."""
    feedback = FeedbackRepository(uow.session)
    grouped: dict[tuple[str, str], list[LabelledPrediction]] = defaultdict(list)
    for row in feedback.labelled_predictions(model_name, since):
        grouped[(row.deployment_id, row.version)].append(row)
    setting = settings.quality_tasks.get(model_name)
    out = []
    for (deployment_id, version), rows in sorted(grouped.items()):
        version_row = uow.models.find(model_name, version)
        approved = {k: float(v) for k, v in (version_row.metrics if version_row else {}).items()}
        task = infer_task(approved, setting)
        pairs, unusable = pairs_of(rows)
        metrics = rolling_metrics(task, pairs) if task else {}
        judged = judge(
            task,
            metrics,
            approved,
            len(pairs),
            settings.quality_margin,
            settings.quality_min_labelled,
        )
        out.append(Assessment(deployment_id, version, task, metrics, unusable, judged))
    return out


def check_window(seconds: float) -> float:
    """A window of 1 s to a year."""
    if not 1 <= seconds <= MAX_WINDOW_SECONDS:
        raise BadInputError(f"the window must be 1 s to 366 days, not {seconds:g} s")
    return seconds


def quality_report(c: Services, model_name: str, window_seconds: float) -> dict[str, Any]:
    """The model's deployments' rolling quality over the last ``window_seconds``."""
    window = check_window(window_seconds)
    settings = c.settings
    with c.reader() as uow:
        if model_name not in uow.models.list_model_names():
            raise UnknownModelError(f"no model named {model_name!r} is registered")
        found = assess(uow, settings, model_name, utcnow() - timedelta(seconds=window))
    return {
        "model_name": model_name,
        "window_seconds": window,
        "margin": settings.quality_margin,
        "min_labelled": settings.quality_min_labelled,
        "deployments": [a.to_dict() for a in found],
    }
