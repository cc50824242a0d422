"""Quality from feedback: ground-truth labels joined to captured predictions, as pure decisions.

A label arrives after the prediction (``deployer feedback import``, ``POST .../feedback``). Paired
with the prediction the same request got (``predictions.output``), the pairs of a window give a
rolling metric per deployment: accuracy and macro F1 for a classifier, mean absolute error for a
regressor. ``judge`` compares it with the metric the version was approved on (its registry row's
metrics) and calls a drop only beyond an absolute ``margin`` and with at least ``min_labelled``
pairs; with fewer the verdict is ``inconclusive``, never ``ok``.

The task type is the model's setting when there is one (``DEPLOYER_QUALITY_TASKS``), else it is
read from the version's metrics (``infer_task``): ``accuracy``/``f1*``/``precision``/``recall``/
``auc`` say classification, ``mae``/``rmse``/``mse``/``r2`` say regression.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lifecycle.capture import output_predictions
from lifecycle.durations import parse_duration
from lifecycle.errors import BadInputError, RefusedError

Label = str | float
"""A label as stored and compared: a finite number, or a class name."""

MAX_LABEL_CHARS = 200


class LabelConflictError(RefusedError):
    """A request already has a different label; nothing was written (``--replace`` replaces)."""


class TaskType(StrEnum):
    """What the model predicts, which decides the metric."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


class QualityVerdict(StrEnum):
    """A rolling metric against the approved one."""

    OK = "ok"
    DROP = "drop"
    INCONCLUSIVE = "inconclusive"


CLASSIFICATION_HINTS = ("accuracy", "f1", "precision", "recall", "auc", "log_loss")
REGRESSION_HINTS = ("mae", "rmse", "mse", "r2", "mean_absolute_error", "mape")


def parse_task(text: str) -> TaskType:
    """``"Regression "`` -> TaskType.REGRESSION; anything else is bad input."""
    try:
        return TaskType(text.strip().lower())
    except ValueError:
        names = ", ".join(t.value for t in TaskType)
        raise BadInputError(f"unknown task type {text!r}; expected one of: {names}") from None


def infer_task(metrics: Mapping[str, float], setting: str | None = None) -> TaskType | None:
    """The task type: the setting when given, else what the version's metric names say (None
    when they say nothing or contradict each other)."""
    if setting:
        return parse_task(setting)
    names = [name.lower() for name in metrics]
    says_classes = any(n.startswith(CLASSIFICATION_HINTS) for n in names)
    says_numbers = any(n.startswith(REGRESSION_HINTS) for n in names)
    if says_classes == says_numbers:
        return None
    return TaskType.CLASSIFICATION if says_classes else TaskType.REGRESSION


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""Control characters (C0, DEL, C1): never in a label (PostgreSQL's JSONB refuses NUL)."""
LABEL_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
"""A class name as the ops API's schema states it (what ``as_label`` accepts as text)."""
REQUEST_ID = re.compile(r"[!-~]{1,64}")
"""A request id: 1-64 printable ASCII characters, no spaces (``X-Request-Id``'s column)."""
MAX_WINDOW_SECONDS = 366 * 86400


def check_request_id(value: Any, where: str) -> str:
    """A request id as the gateway writes it (surrounding blanks dropped)."""
    text = value.strip() if isinstance(value, str) else ""
    if not REQUEST_ID.fullmatch(text):
        raise BadInputError(
            f"{where}: {value!r} is not a request id (1-64 printable characters, no spaces)"
        )
    return text


def parse_window(text: str) -> float:
    """``"90s"``, ``"30m"``, ``"1h"``, ``"7d"`` or a number of seconds -> seconds (1 s to 366
    days, ``lifecycle.durations``); anything else is bad input."""
    return parse_duration(text, MAX_WINDOW_SECONDS)


def as_label(value: Any) -> Label | None:
    """``value`` as a label: a finite number, or a class name (1-200 characters, no control
    character, surrounding blanks dropped; a
    string holding a number is that number, so ``"1"`` from a CSV file and ``1`` from JSON are
    the same label); None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float
            return None
        return number if math.isfinite(number) else None
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_LABEL_CHARS or CONTROL.search(text):
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def check_label(value: Any, where: str) -> Label:
    """``as_label(value)``, or bad input naming ``where``."""
    label = as_label(value)
    if label is None:
        raise BadInputError(f"{where}: {value!r} is not a label (a class name or a number)")
    return label


def check_batch(rows: Iterable[tuple[str, Any, Any]]) -> dict[str, Label]:
    """``(where, request_id, label)`` rows -> {request_id: label}; the first malformed row, or a
    request id given two different labels, is bad input naming where it is."""
    labels: dict[str, Label] = {}
    for where, raw_id, raw_label in rows:
        request_id, label = check_request_id(raw_id, where), check_label(raw_label, where)
        if labels.get(request_id, label) != label:
            raise BadInputError(f"{where}: request {request_id} is given two different labels")
        labels[request_id] = label
    if not labels:
        raise BadInputError("no feedback given: expected rows of request_id and label")
    return labels


def shown(label: Label) -> str:
    """A label as a person writes it: ``2`` (not ``2.0``), ``0.25``, ``'setosa'``."""
    if isinstance(label, float):
        return repr(label).removesuffix(".0")
    return repr(label)


@dataclass(frozen=True)
class FeedbackPlan:
    """What recording a batch does: new labels, replaced ones, the unchanged."""

    added: dict[str, Label]
    replaced: dict[str, Label]
    unchanged: tuple[str, ...]


def plan_feedback(
    given: Mapping[str, Label], stored: Mapping[str, Label], replace: bool
) -> FeedbackPlan:
    """Compare a batch with the labels already stored: the same label again is a no-op, a
    different one is refused (LabelConflictError, naming the first) unless ``replace``."""
    added = {r: lab for r, lab in given.items() if r not in stored}
    differing = {r: lab for r, lab in given.items() if r in stored and stored[r] != lab}
    if differing and not replace:
        first = next(iter(differing))
        raise LabelConflictError(
            f"request {first} already has label {shown(stored[first])},"
            f" not {shown(differing[first])}"
            f" ({len(differing)} such); nothing was written; --replace replaces them"
        )
    unchanged = tuple(r for r in given if r in stored and stored[r] == given[r])
    return FeedbackPlan(added, differing, unchanged)


def predicted_label(output: Any) -> Label | None:
    """The one prediction of a captured answer (``{"predictions": [x]}``), or None when the
    answer holds none, several (a batch request has no single label) or no usable value."""
    values = output_predictions(output)
    if len(values) != 1:
        return None
    value = values[0][0] if isinstance(values[0], list) and len(values[0]) == 1 else values[0]
    return as_label(value)


def classification_metrics(pairs: Sequence[tuple[Label, Label]]) -> dict[str, float]:
    """Accuracy and macro F1 of ``(predicted, label)`` pairs (F1 over every class seen in
    either, as scikit-learn's ``f1_score(average="macro")``)."""
    if not pairs:
        return {}
    hits: Counter[Label] = Counter(p for p, t in pairs if p == t)
    predicted: Counter[Label] = Counter(p for p, _ in pairs)
    actual: Counter[Label] = Counter(t for _, t in pairs)
    classes = set(predicted) | set(actual)
    # per class: F1 = 2tp / (2tp + fp + fn) = 2tp / (predicted + actual)
    scores = [2 * hits[c] / (predicted[c] + actual[c]) for c in classes]
    return {"accuracy": sum(hits.values()) / len(pairs), "f1": sum(scores) / len(scores)}


def regression_metrics(pairs: Sequence[tuple[Label, Label]]) -> dict[str, float]:
    """Mean absolute error of the numeric ``(predicted, label)`` pairs (others are skipped)."""
    numeric = [(p, t) for p, t in pairs if isinstance(p, float) and isinstance(t, float)]
    if not numeric:
        return {}
    return {"mae": sum(abs(p - t) for p, t in numeric) / len(numeric)}


def rolling_metrics(task: TaskType, pairs: Sequence[tuple[Label, Label]]) -> dict[str, float]:
    """The task's metrics over the pairs ({} when there are none)."""
    if task is TaskType.REGRESSION:
        return regression_metrics(pairs)
    return classification_metrics(pairs)


APPROVED_NAMES = {
    "accuracy": ("accuracy",),
    "f1": ("f1", "f1_macro", "f1_score"),
    "mae": ("mae", "mean_absolute_error"),
}
"""The registry metric names each rolling metric is compared with, first found wins."""
LOWER_IS_BETTER = frozenset({"mae"})


def approved_metric(task: TaskType, approved: Mapping[str, float]) -> tuple[str, float] | None:
    """The metric to judge and the value the version was approved on: accuracy (else F1) for a
    classifier, MAE for a regressor; None when the version has none of them."""
    order = ("mae",) if task is TaskType.REGRESSION else ("accuracy", "f1")
    for metric in order:
        for name in APPROVED_NAMES[metric]:
            if name in approved and math.isfinite(float(approved[name])):
                return metric, float(approved[name])
    return None


@dataclass(frozen=True)
class QualityJudgement:
    """One deployment's rolling quality against its approval."""

    verdict: QualityVerdict
    metric: str | None
    observed: float | None
    approved: float | None
    labelled: int
    summary: str


def judge(
    task: TaskType | None,
    observed: Mapping[str, float],
    approved: Mapping[str, float],
    labelled: int,
    margin: float,
    min_labelled: int,
) -> QualityJudgement:
    """Drop when the rolling metric is worse than the approved one by more than ``margin``
    (absolute), with at least ``min_labelled`` labelled predictions; else ok or inconclusive."""
    if task is None:
        return QualityJudgement(
            QualityVerdict.INCONCLUSIVE, None, None, None, labelled, "task type unknown"
        )
    found = approved_metric(task, approved)
    if found is None:
        return QualityJudgement(
            QualityVerdict.INCONCLUSIVE, None, None, None, labelled, "no approved metric"
        )
    metric, limit = found
    value = observed.get(metric)
    if labelled < min_labelled or value is None:
        text = f"{labelled} labelled predictions, {min_labelled} needed"
        return QualityJudgement(QualityVerdict.INCONCLUSIVE, metric, value, limit, labelled, text)
    worse = value > limit + margin if metric in LOWER_IS_BETTER else value < limit - margin
    verdict = QualityVerdict.DROP if worse else QualityVerdict.OK
    words = "dropped to" if worse else "is"
    text = (
        f"{metric} {words} {value:.4f} over {labelled} labelled predictions"
        f" (approved {limit:.4f}, margin {margin:g})"
    )
    return QualityJudgement(verdict, metric, value, limit, labelled, text)


def is_new_drop(previous: QualityVerdict | None, current: QualityVerdict) -> bool:
    """Alert on a drop only when the last conclusive verdict was not already one."""
    return current is QualityVerdict.DROP and previous is not QualityVerdict.DROP
